//! Constants across the files of one project: `Keys.swift` defines
//! `static let uploadToken = "…"` and `AppDelegate.swift` calls
//! `Applivery.shared.start(token: Keys.uploadToken, …)`. The keys file never says Applivery;
//! the use does. The detector judges one blob at a time, so this takes two steps:
//!
//! 1. while judging a blob that mentions Applivery, the detector logs the names it sees used
//!    at an Applivery sink — an argument of a call on an Applivery receiver, a token-named
//!    argument on a line that names Applivery, an identifier spliced into a `Bearer` header
//!    next to Applivery — when the blob does not define them itself (the in-file flow of
//!    `context::Flow` covers those);
//! 2. a source that knows the project's other blobs (`dir`) asks for the log after its walk
//!    and, only if it is not empty, judges again the blobs that mention one of the names,
//!    with `Detector::with_project`: there a constant of that name is an Applivery value.
//!
//! A name written with a qualifier (`Keys.uploadToken`, `BuildKeys.DISTRIBUTION`) counts only
//! in blobs whose text or path names the qualifier too, so `uploadToken` in an unrelated
//! file is not taken for it.

use std::collections::BTreeSet;
use std::sync::Mutex;

use anyhow::Result;

use super::keywords::Hit;
use super::text::{
    contains_ci, find_ci, hosts_ok, is_key, line_bounds_near, split_words, LINE_LIMIT,
};
use super::Detector;

/// A name used at an Applivery sink, the qualifier written before it, if any, and the
/// extension of the file that uses it (lower case; empty if unknown).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SinkName {
    pub name: Vec<u8>,
    pub qualifier: Option<Vec<u8>>,
    pub ext: Vec<u8>,
}

/// At most this many names are logged: a generated file full of sinks must not turn the
/// second step into a search for thousands of words.
const MAX_NAMES: usize = 256;

/// The names logged while judging blobs.
#[derive(Debug, Default)]
pub(super) struct SinkLog(Mutex<BTreeSet<SinkName>>);

impl SinkLog {
    fn add(&self, names: Vec<SinkName>) {
        if names.is_empty() {
            return;
        }
        let mut set = crate::sync::lock(&self.0);
        for n in names {
            if set.len() >= MAX_NAMES {
                break;
            }
            set.insert(n);
        }
    }

    pub(super) fn take(&self) -> Vec<SinkName> {
        std::mem::take(&mut *crate::sync::lock(&self.0))
            .into_iter()
            .collect()
    }
}

/// The names used at Applivery sinks elsewhere in the project.
pub(super) struct Project {
    names: Vec<SinkName>,
    /// One literal search for every name.
    search: regex::bytes::Regex,
}

impl Project {
    pub(super) fn new(names: Vec<SinkName>) -> Result<Project> {
        let alternatives: Vec<String> = names
            .iter()
            .map(|n| regex::escape(&String::from_utf8_lossy(&n.name)))
            .collect();
        let search = regex::bytes::RegexBuilder::new(&alternatives.join("|"))
            .unicode(false)
            .build()?;
        Ok(Project { names, search })
    }

    /// True if a file at `path` may define one of the names: it is of the language family
    /// of a file that uses one, or some name was used in a file of unknown family.
    pub(super) fn reads(&self, path: &[u8]) -> bool {
        let ext = extension(path);
        let name = path.rsplit(|&b| b == b'/').next().unwrap_or(path);
        let env = name.starts_with(b".env");
        self.names.iter().any(|n| {
            let mut known = false;
            for f in FAMILIES.iter().filter(|f| f.contains(&n.ext.as_slice())) {
                known = true;
                if f.contains(&ext.as_slice()) || (env && f.contains(&&b"env"[..])) {
                    return true;
                }
            }
            !known
        })
    }

    /// True if `hay` mentions one of the names.
    pub(super) fn any(&self, hay: &[u8]) -> bool {
        self.search.is_match(hay)
    }

    /// The names that may be defined in `hay` at `path`: those it mentions, and whose
    /// qualifier (if any) its text or path names.
    pub(super) fn names_for(&self, hay: &[u8], path: &[u8]) -> Vec<Vec<u8>> {
        if !self.any(hay) {
            return Vec::new();
        }
        self.names
            .iter()
            .filter(|n| memchr::memmem::find(hay, &n.name).is_some())
            .filter(|n| match &n.qualifier {
                Some(q) => contains_ci(path, q) || has_word(hay, q),
                None => true,
            })
            .map(|n| n.name.clone())
            .collect()
    }
}

/// Logs the names used at Applivery sinks around `hits` (plain keyword occurrences) that
/// `hay` (at `path`) does not define.
pub(super) fn log_sinks(det: &Detector, hay: &[u8], hits: &[Hit], path: &[u8]) {
    let mut found: Vec<SinkName> = Vec::new();
    // Each line is looked at once, however many hits it has, and each byte is searched for
    // `Bearer` once: text dense in the keyword costs time linear in its size.
    let mut line_end = 0;
    let mut bearer_done = 0;
    for h in hits.iter().filter(|h| !h.encoded) {
        call_arguments(hay, h.end, &mut found);
        if h.start < line_end {
            continue;
        }
        let (ls, le) = line_bounds_near(hay, h.start, h.end, LINE_LIMIT);
        line_end = le;
        keyed(hay, ls, le, &mut found);
        block(hay, ls, le, &mut found);
        bearer_done = bearer_near(det, hay, ls, le, bearer_done, &mut found);
    }
    // Each check below searches the blob: bound how many names a blob can ask for (a file
    // of a hundred thousand sinks must not make this quadratic).
    found.sort();
    found.dedup();
    found.truncate(MAX_NAMES);
    found.retain(|n| usable(det, hay, n));
    let ext = extension(path);
    for n in &mut found {
        n.ext = ext.clone();
    }
    found.sort();
    found.dedup();
    det.sinks.add(found);
}

fn ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The identifier path starting at `at` (`Keys.uploadToken`, `BuildKeys::DISTRIBUTION`,
/// `self.config.key`) as its last segment and the one before, or None if there is none or it
/// is called or indexed (`getenv(…)`, `ENV["…"]`): only a constant is defined elsewhere.
fn ident_path(hay: &[u8], mut at: usize) -> Option<SinkName> {
    let mut segs: Vec<&[u8]> = Vec::new();
    loop {
        let s = at;
        if !hay.get(at).copied().is_some_and(ident_start) {
            return None;
        }
        while hay.get(at).copied().is_some_and(ident_byte) {
            at += 1;
        }
        segs.push(&hay[s..at]);
        if segs.len() > 6 {
            return None;
        }
        let rest = &hay[at..];
        let sep = [&b"?."[..], b"!.", b"::", b"->", b"."]
            .into_iter()
            .find(|p| rest.starts_with(p) && rest.get(p.len()).copied().is_some_and(ident_start));
        match sep {
            Some(p) => at += p.len(),
            None => break,
        }
    }
    let next = hay[at..].iter().find(|b| !matches!(b, b' ' | b'\t'));
    if matches!(next, Some(b'(' | b'[' | b'{')) {
        return None;
    }
    // Environment lookups (`process.env.X`, `env.X`, `ENV.X`) are not constants of the
    // project; an object of the project named `Env` holding constants is.
    const ENVIRONMENT: &[&[u8]] = &[b"env", b"ENV", b"environ", b"environment", b"process"];
    if segs.iter().any(|s| ENVIRONMENT.contains(s)) {
        return None;
    }
    let name = segs.last()?.to_vec();
    let qualifier = (segs.len() >= 2).then(|| segs[segs.len() - 2].to_vec());
    Some(SinkName {
        name,
        qualifier,
        ext: Vec::new(),
    })
}

/// The arguments of a call whose callee holds the keyword occurrence ending at `end`
/// (`Applivery.init(this, BuildKeys.DISTRIBUTION, false)`, `AppliveryFlutter.init(appToken:
/// distributionToken)`), labels dropped.
fn call_arguments(hay: &[u8], end: usize, out: &mut Vec<SinkName>) {
    let mut i = end;
    while hay
        .get(i)
        .copied()
        .is_some_and(|b| ident_byte(b) || b == b'.')
    {
        i += 1;
    }
    while matches!(hay.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    if hay.get(i) != Some(&b'(') {
        return;
    }
    let stop = (i + 1024).min(hay.len());
    let mut depth = 0usize;
    let mut arg = i + 1;
    let mut quote: Option<u8> = None;
    for j in i + 1..stop {
        let b = hay[j];
        if let Some(q) = quote {
            if b == q && hay[j - 1] != b'\\' {
                quote = None;
            }
            continue;
        }
        match b {
            b'"' | b'\'' | b'`' => quote = Some(b),
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' if depth > 0 => depth -= 1,
            b',' | b')' if depth == 0 => {
                argument(hay, arg, j, out);
                if b == b')' {
                    return;
                }
                arg = j + 1;
            }
            _ => {}
        }
    }
}

/// One argument `hay[s..e]`: `label: value`, `label = value` or `value`.
fn argument(hay: &[u8], s: usize, e: usize, out: &mut Vec<SinkName>) {
    let text = &hay[s..e];
    let lead = text.iter().take_while(|b| b.is_ascii_whitespace()).count();
    let mut at = s + lead;
    let label = hay[at..e].iter().take_while(|&&b| ident_byte(b)).count();
    let after = &hay[at + label..e];
    let sep = after
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t'))
        .count();
    if label > 0 && matches!(after.get(sep), Some(b':' | b'=')) && after.get(sep + 1) != Some(&b'=')
    {
        at += label + sep + 1;
        while at < e && hay[at].is_ascii_whitespace() {
            at += 1;
        }
    }
    if let Some(n) = ident_path(hay, at) {
        // The whole argument must be the path: `Keys.token + suffix` is no constant.
        let tail = &hay[at..e];
        let len = tail
            .iter()
            .take_while(|&&b| ident_byte(b) || matches!(b, b'.' | b':' | b'-' | b'>' | b'?' | b'!'))
            .count();
        if tail[len..].iter().all(|b| b.is_ascii_whitespace()) {
            out.push(n);
        }
    }
}

/// A key that names a credential: `token:`, `appToken =`, `startWithToken:`, `apiKey:`,
/// `Authorization:`.
fn credential_key(key: &[u8]) -> bool {
    let lower = String::from_utf8_lossy(key).to_ascii_lowercase();
    lower.contains("token")
        || lower.contains("secret")
        || lower.ends_with("key")
        || lower == "authorization"
}

/// `key: Ident` / `key = Ident` pairs in `hay[ls..le]` whose key names a credential.
fn keyed(hay: &[u8], ls: usize, le: usize, out: &mut Vec<SinkName>) {
    for p in memchr::memchr2_iter(b':', b'=', &hay[ls..le]) {
        let at = ls + p;
        // `==`, `:=`'s first half, `::` paths, `=>` arrows are not pairs of this kind.
        if matches!(hay.get(at + 1), Some(b'=' | b':')) || (at > ls && hay[at - 1] == b':') {
            continue;
        }
        let mut k = at;
        while k > ls && matches!(hay[k - 1], b' ' | b'\t' | b'"' | b'\'') {
            k -= 1;
        }
        let ke = k;
        while k > ls && ident_byte(hay[k - 1]) {
            k -= 1;
        }
        if k == ke || !credential_key(&hay[k..ke]) {
            continue;
        }
        let mut v = at + 1;
        while v < le && matches!(hay[v], b' ' | b'\t') {
            v += 1;
        }
        // Only a qualified name (`Keys.token`): an unqualified word after `token:` or
        // `TOKEN=` is as often a literal value of YAML, `.env` or properties as a name.
        if let Some(n) = ident_path(hay, v).filter(|n| n.qualifier.is_some()) {
            out.push(n);
        }
    }
}

/// The lines of a block opened on the line `ls..le` (`applivery {`, `Applivery.start(`):
/// their credential-named pairs are the block's arguments.
fn block(hay: &[u8], ls: usize, le: usize, out: &mut Vec<SinkName>) {
    let t = hay[ls..le].trim_ascii_end();
    if !matches!(t.last(), Some(b'{' | b'(')) {
        return;
    }
    let mut at = le;
    for _ in 0..10 {
        if at >= hay.len() {
            break;
        }
        let next = at + 1;
        let (ns, ne) = line_bounds_near(hay, next, next, LINE_LIMIT);
        let line = hay[ns..ne].trim_ascii();
        if line.starts_with(b"}") || line.starts_with(b")") {
            break;
        }
        keyed(hay, ns, ne, out);
        at = ne;
    }
}

/// Identifiers spliced into a `Bearer` header on the lines around `ls..le` (three each side)
/// whose command names no other host: `"Bearer " + uploadToken`, `` `Bearer ${uploadKey}` ``,
/// `"Bearer \(Keys.token)"`, `"Bearer #{TOKEN}"`, `f"Bearer {token}"`, `"Bearer $TOKEN"`.
fn bearer_near(
    det: &Detector,
    hay: &[u8],
    ls: usize,
    le: usize,
    done: usize,
    out: &mut Vec<SinkName>,
) -> usize {
    let (mut a, mut b) = (ls, le);
    for _ in 0..3 {
        if a > 0 {
            a = line_bounds_near(hay, a - 1, a - 1, LINE_LIMIT).0;
        }
        if b < hay.len() {
            b = line_bounds_near(hay, b + 1, b + 1, LINE_LIMIT).1;
        }
    }
    let hosts = &det.hosts;
    // A `bearer` that straddles `done` is found again; names are deduplicated later.
    let mut from = a.max(done.saturating_sub(5)).min(b);
    while let Some(p) = find_ci(&hay[from..b], b"bearer") {
        let at = from + p + 6;
        from = at;
        let (cs, ce) = line_bounds_near(hay, at, at, LINE_LIMIT);
        if !hosts.is_empty() && hosts_ok(&hay[cs..ce], hosts) == Some(false) {
            continue;
        }
        let mut i = at;
        while matches!(hay.get(i), Some(b' ')) {
            i += 1;
        }
        let spliced = match hay.get(i) {
            // `"Bearer " + x`, `'Bearer ' . $x`, `"Bearer " <> x`
            Some(b'"' | b'\'') => {
                i += 1;
                while matches!(hay.get(i), Some(b' ' | b'\t')) {
                    i += 1;
                }
                let op = [&b"<>"[..], b"..", b"+", b"."]
                    .into_iter()
                    .find(|o| hay[i..].starts_with(o));
                match op {
                    Some(o) => {
                        i += o.len();
                        while matches!(hay.get(i), Some(b' ' | b'\t' | b'$')) {
                            i += 1;
                        }
                        true
                    }
                    None => false,
                }
            }
            // `${x}`, `$x`, `#{x}`, `\(x)`, `{x}`
            Some(b'$' | b'#' | b'\\' | b'{') => {
                while matches!(hay.get(i), Some(b'$' | b'#' | b'\\' | b'{' | b'(')) {
                    i += 1;
                }
                // `{{x}}` is a template variable, not a name of the code.
                !hay[at..i].windows(2).any(|w| w == b"{{")
            }
            _ => false,
        };
        if spliced {
            if let Some(n) = ident_path(hay, i) {
                out.push(n);
            }
        }
    }
    b
}

/// Words that are never the name of a constant of the project.
const NOT_NAMES: &[&str] = &[
    "this",
    "self",
    "true",
    "false",
    "nil",
    "null",
    "none",
    "undefined",
    "it",
    "context",
    "app",
    "application",
    "options",
    "launchoptions",
    "args",
    "default",
    "bearer",
    "string",
    "str",
    "let",
    "var",
    "val",
    "const",
    "new",
    "token",
    "key",
    "secret",
    "value",
];

/// Whether a name is worth looking for elsewhere: not a word of the language, not one that
/// names Applivery (a blob defining it is judged anyway), not a single generic word without
/// a qualifier (`token`), and not defined in `hay` itself.
fn usable(det: &Detector, hay: &[u8], n: &SinkName) -> bool {
    let name = &n.name;
    if name.len() < 3 || !name.iter().any(u8::is_ascii_alphabetic) {
        return false;
    }
    let lower = String::from_utf8_lossy(name).to_ascii_lowercase();
    if NOT_NAMES.contains(&lower.as_str()) {
        return false;
    }
    // A value the rules would take for a token is a token written bare, not a name.
    if (0..det.rules.len()).any(|ri| det.value_ok(ri, name)) {
        return false;
    }
    if det
        .names
        .iter()
        .flatten()
        .any(|k| lower.contains(k.as_str()))
    {
        return false;
    }
    let generic = |w: &String| {
        det.rules
            .iter()
            .filter_map(|r| r.context.as_ref())
            .any(|c| c.generic_key_words.contains(w))
    };
    let words = split_words(name);
    if n.qualifier.is_none() && words.len() <= 1 && words.iter().all(generic) {
        return false;
    }
    !defines(hay, name)
}

/// True if `hay` assigns `name` (`name = …`, `name: …`, `"name": …`) as a whole word.
pub(super) fn defines(hay: &[u8], name: &[u8]) -> bool {
    memchr::memmem::find_iter(hay, name).take(64).any(|p| {
        let before = p.checked_sub(1).map(|i| hay[i]);
        let after = &hay[p + name.len()..(p + name.len() + 8).min(hay.len())];
        !before.is_some_and(ident_byte)
            && !after.first().copied().is_some_and(ident_byte)
            && is_key(after)
            && !after.starts_with(b"==")
    })
}

/// True if `word` occurs in `hay` as a whole word, ignoring case.
fn has_word(hay: &[u8], word: &[u8]) -> bool {
    let mut from = 0;
    while let Some(p) = find_ci(&hay[from..], word) {
        let at = from + p;
        let before = at.checked_sub(1).map(|i| hay[i]);
        let after = hay.get(at + word.len()).copied();
        if !before.is_some_and(ident_byte) && !after.is_some_and(ident_byte) {
            return true;
        }
        from = at + 1;
    }
    false
}

/// The extension of the file at `path`, lower case (`Keys.swift` → `swift`).
fn extension(path: &[u8]) -> Vec<u8> {
    let name = path.rsplit(|&b| b == b'/').next().unwrap_or(path);
    match name.iter().rposition(|&b| b == b'.') {
        Some(i) if i > 0 => name[i + 1..].to_ascii_lowercase(),
        _ => Vec::new(),
    }
}

/// Files where the `$VAR`s of scripts and CI files are defined.
const SCRIPTS: &[&[u8]] = &[
    b"sh",
    b"bash",
    b"zsh",
    b"fish",
    b"ps1",
    b"bat",
    b"cmd",
    b"env",
    b"yml",
    b"yaml",
    b"properties",
    b"xcconfig",
    b"toml",
    b"ini",
    b"cfg",
    b"conf",
    b"json",
    b"mk",
    b"",
];

const JVM: &[&[u8]] = &[
    b"kt",
    b"kts",
    b"java",
    b"gradle",
    b"groovy",
    b"scala",
    b"properties",
];
const WEB: &[&[u8]] = &[
    b"js", b"jsx", b"ts", b"tsx", b"mjs", b"cjs", b"mts", b"cts", b"json", b"vue", b"svelte",
];
const APPLE: &[&[u8]] = &[b"swift", b"h", b"m", b"mm", b"xcconfig", b"plist"];
const NET: &[&[u8]] = &[b"cs", b"fs", b"vb", b"json", b"config", b"xml"];

/// Languages and the files that share their constants: a name used in a file of one family
/// is looked for in files of the same family (a file of no family: in every file).
const FAMILIES: &[&[&[u8]]] = &[
    JVM,
    WEB,
    APPLE,
    NET,
    &[b"dart", b"yaml", b"json"],
    &[b"py", b"toml", b"ini", b"cfg", b"env"],
    &[b"rb", b"yml", b"yaml", b"env"],
    &[b"go"],
    &[b"php", b"env"],
    &[b"rs", b"toml"],
    &[b"ex", b"exs"],
    SCRIPTS,
];
