//! Both sides of the word-likeness benchmark (`examples/bench_wordlike.rs`, and its bounded CI
//! form in `tests/it/wordlike.rs`, which includes `examples/common` by path): uniformly random
//! base64url tokens, which must not read as names, and names people wrote, harvested from
//! source code on this machine, which must.
//!
//! The names: a source is a list of directory roots.
//! From every file under a root it takes:
//! - the file's path relative to the root (`src/detect/wordlike.rs`);
//! - in code (`.rs .c .h .py .js .ts .go .java .kt .swift .m .rb .sh`), once comments and
//!   string literals are blanked out (so test vectors, base64 blobs and hex in strings are not
//!   taken for names): identifiers, and member chains joined by `.`, `->` or `::` (the whole
//!   chain, `::` written as `/`, and each part). An identifier that follows a digit is the
//!   tail of a number (`0xFFu64`, `1e10f32`) and is skipped;
//! - in Markdown, the slug of every heading outside fenced code.
//!
//! Only names of 16–64 bytes are kept, never a pure hex string; duplicates are dropped (the
//! first source that has a name owns it).

// The example and the test each use part of it.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use regex::bytes::Regex;

use super::Rng;

pub const BASE64URL: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

impl Rng {
    /// A uniformly random 24-character base64url token (ten characters per draw).
    pub fn token24(&mut self) -> [u8; 24] {
        let mut t = [0u8; 24];
        for chunk in t.chunks_mut(10) {
            let mut r = self.next();
            for c in chunk {
                *c = BASE64URL[(r & 63) as usize];
                r >>= 6;
            }
        }
        t
    }
}

/// The margins of `n` random tokens (seeded; the same on every machine and thread count),
/// and the tokens `is_word_like` accepts.
pub fn random_margins(n: u64, seed: u64) -> (Vec<f32>, Vec<String>) {
    random_margins_range(0, n, seed)
}

/// Tokens per chunk of the random stream; each chunk has its own seed.
pub const RANDOM_CHUNK: u64 = 1 << 14;

/// Tokens `from..to` of the stream `random_margins(to, seed)` draws (`from` a multiple of
/// `RANDOM_CHUNK`), so a run in batches checks exactly the tokens of one run of them all.
pub fn random_margins_range(from: u64, to: u64, seed: u64) -> (Vec<f32>, Vec<String>) {
    const CHUNK: u64 = RANDOM_CHUNK;
    assert_eq!(from % CHUNK, 0, "a batch starts at a chunk");
    let n = to.saturating_sub(from);
    let parts: Vec<(Vec<f32>, Vec<String>)> = (from / CHUNK..to.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            let mut rng = Rng(seed ^ c.wrapping_mul(0xD1B5_4A32_D192_ED03));
            let mut margins = Vec::with_capacity(CHUNK as usize);
            let mut hits = Vec::new();
            for _ in c * CHUNK..to.min((c + 1) * CHUNK) {
                let t = rng.token24();
                margins.push(applivery_leaks::detect::word_margin(&t) as f32);
                if applivery_leaks::detect::is_word_like(&t) {
                    hits.push(String::from_utf8_lossy(&t).into_owned());
                }
            }
            (margins, hits)
        })
        .collect();
    let mut margins = Vec::with_capacity(n as usize);
    let mut hits = Vec::new();
    for (m, h) in parts {
        margins.extend(m);
        hits.extend(h);
    }
    (margins, hits)
}

/// What part of the code a name came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// One identifier.
    Ident,
    /// A member chain: `Type.member`, `a->b`, `std/mem/swap` (from `std::mem::swap`).
    Chain,
    /// A file's path relative to its root.
    Path,
    /// A Markdown heading's slug.
    Slug,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::Ident => "identifier",
            Kind::Chain => "member chain",
            Kind::Path => "file path",
            Kind::Slug => "heading slug",
        }
    }
}

/// A named list of roots to walk.
pub struct Source {
    pub label: String,
    pub roots: Vec<PathBuf>,
}

/// One distinct name and where it was first seen.
pub struct Name {
    pub text: Vec<u8>,
    pub kind: Kind,
    /// Index into the sources given to [`harvest`].
    pub source: usize,
}

/// Per-source counts: distinct names found there, and how many of them no earlier source had.
pub struct Count {
    pub label: String,
    pub files: usize,
    pub distinct: usize,
    pub new: usize,
}

pub struct Harvest {
    pub names: Vec<Name>,
    pub counts: Vec<Count>,
}

pub const MIN_LEN: usize = 16;
pub const MAX_LEN: usize = 64;
/// Larger files are generated data, not code people wrote.
const MAX_FILE: u64 = 2_000_000;

/// The crate sources under `$CARGO_HOME/registry/src` (default `~/.cargo`), as two sources:
/// the crates, and libgit2-sys apart (it vendors libgit2's C sources). Missing: empty roots.
pub fn crate_sources() -> Vec<Source> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))
        .unwrap_or_default();
    let (mut crates, mut libgit2) = (Vec::new(), Vec::new());
    // One directory per registry index, then one per crate version.
    for index in dirs(&home.join("registry").join("src")) {
        for krate in dirs(&index) {
            let name = krate.file_name().unwrap_or_default().to_string_lossy();
            if name.starts_with("libgit2-sys-") {
                libgit2.push(krate);
            } else {
                crates.push(krate);
            }
        }
    }
    vec![
        Source {
            label: "crate sources (~/.cargo/registry/src)".into(),
            roots: crates,
        },
        Source {
            label: "libgit2-sys (vendored libgit2 C)".into(),
            roots: libgit2,
        },
    ]
}

fn dirs(p: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(p)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    v
}

/// Walks every source and returns the distinct names, in the order first seen.
pub fn harvest(sources: &[Source]) -> Harvest {
    let mut seen: HashSet<Vec<u8>> = HashSet::new();
    let mut names = Vec::new();
    let mut counts = Vec::new();
    for (si, src) in sources.iter().enumerate() {
        let files: Vec<(PathBuf, String)> = src.roots.iter().flat_map(|r| walk(r)).collect();
        let found: Vec<Vec<(Vec<u8>, Kind)>> = files
            .par_iter()
            .map(|(path, rel)| names_of_file(path, rel))
            .collect();
        let mut here: HashMap<Vec<u8>, Kind> = HashMap::new();
        for (text, kind) in found.into_iter().flatten() {
            here.entry(text).or_insert(kind);
        }
        let distinct = here.len();
        let mut fresh: Vec<(Vec<u8>, Kind)> = here
            .into_iter()
            .filter(|(t, _)| !seen.contains(t))
            .collect();
        fresh.sort();
        let new = fresh.len();
        for (text, kind) in fresh {
            seen.insert(text.clone());
            names.push(Name {
                text,
                kind,
                source: si,
            });
        }
        counts.push(Count {
            label: src.label.clone(),
            files: files.len(),
            distinct,
            new,
        });
    }
    Harvest { names, counts }
}

/// Every file under `root` (no hidden files, no `target` or `node_modules`), with its path
/// relative to `root`.
fn walk(root: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let walker = ignore::WalkBuilder::new(root)
        .hidden(true)
        .filter_entry(|e| {
            let n = e.file_name();
            n != "target" && n != "node_modules"
        })
        .build();
    for e in walker.flatten() {
        if !e.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let rel = e.path().strip_prefix(root).unwrap_or(e.path());
        out.push((e.path().to_path_buf(), rel.to_string_lossy().into_owned()));
    }
    out
}

/// The comment and string syntax of a language.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lang {
    Rust,
    /// C, Objective-C, Java, Kotlin, Swift, Go, JavaScript, TypeScript.
    CLike,
    Python,
    Ruby,
    Shell,
}

fn lang_of(path: &str) -> Option<Lang> {
    let ext = path.rsplit_once('.')?.1;
    Some(match ext {
        "rs" => Lang::Rust,
        "c" | "h" | "js" | "ts" | "go" | "java" | "kt" | "swift" | "m" => Lang::CLike,
        "py" => Lang::Python,
        "rb" => Lang::Ruby,
        "sh" => Lang::Shell,
        _ => return None,
    })
}

fn keep(t: &[u8]) -> bool {
    (MIN_LEN..=MAX_LEN).contains(&t.len()) && !t.iter().all(u8::is_ascii_hexdigit)
}

/// The names of one file.
fn names_of_file(path: &Path, rel: &str) -> Vec<(Vec<u8>, Kind)> {
    let mut out = Vec::new();
    let rel_b = rel.as_bytes();
    if keep(rel_b) {
        out.push((rel_b.to_vec(), Kind::Path));
    }
    let lang = lang_of(rel);
    let md = rel.ends_with(".md");
    if lang.is_none() && !md {
        return out;
    }
    if std::fs::metadata(path).map_or(true, |m| m.len() > MAX_FILE) {
        return out;
    }
    let Ok(data) = std::fs::read(path) else {
        return out;
    };
    match lang {
        Some(l) => code_names(&strip(&data, l), &mut out),
        None => slugs(&data, &mut out),
    }
    out
}

/// Identifiers and member chains of code whose comments and strings are blanked.
fn code_names(code: &[u8], out: &mut Vec<(Vec<u8>, Kind)>) {
    use std::sync::OnceLock;
    static IDENT: OnceLock<Regex> = OnceLock::new();
    static JOIN: OnceLock<Regex> = OnceLock::new();
    let ident = IDENT.get_or_init(|| {
        Regex::new(r"[A-Za-z_$][A-Za-z0-9_$]*(?:(?:\.|::|->)[A-Za-z_$][A-Za-z0-9_$]*)*").unwrap()
    });
    let join = JOIN.get_or_init(|| Regex::new(r"::|->").unwrap());
    let mut add = |t: &[u8], k: Kind| {
        if keep(t) {
            out.push((t.to_vec(), k));
        }
    };
    for m in ident.find_iter(code) {
        // The tail of a number: 0xFFu64, 1e10f32.
        if m.start() > 0 && code[m.start() - 1].is_ascii_digit() {
            continue;
        }
        let t = m.as_bytes();
        if join.is_match(t) {
            for part in join.split(t) {
                add(
                    part,
                    if part.contains(&b'.') {
                        Kind::Chain
                    } else {
                        Kind::Ident
                    },
                );
            }
            let slashed = t
                .windows(2)
                .position(|w| w == b"::")
                .map(|_| {
                    let s = String::from_utf8_lossy(t).replace("::", "/");
                    s.into_bytes()
                })
                .unwrap_or_else(|| t.to_vec());
            add(&slashed, Kind::Chain);
        } else if t.contains(&b'.') {
            add(t, Kind::Chain);
            for part in t.split(|&b| b == b'.') {
                add(part, Kind::Ident);
            }
        } else {
            add(t, Kind::Ident);
        }
    }
}

/// GitHub-style slugs of Markdown headings outside fenced code.
fn slugs(md: &[u8], out: &mut Vec<(Vec<u8>, Kind)>) {
    let mut fenced = false;
    for line in md.split(|&b| b == b'\n') {
        let l = line.trim_ascii();
        if l.starts_with(b"```") || l.starts_with(b"~~~") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        let hashes = line.iter().take_while(|&&b| b == b'#').count();
        if !(1..=6).contains(&hashes) || !line.get(hashes).is_some_and(|b| b.is_ascii_whitespace())
        {
            continue;
        }
        let slug: Vec<u8> = line[hashes..]
            .trim_ascii()
            .to_ascii_lowercase()
            .into_iter()
            .filter(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b" _-".contains(b))
            .map(|b| if b == b' ' { b'-' } else { b })
            .collect();
        if keep(&slug) {
            out.push((slug, Kind::Slug));
        }
    }
}

/// `code` with every comment and string literal replaced by one space.
fn strip(code: &[u8], lang: Lang) -> Vec<u8> {
    let n = code.len();
    let mut out = Vec::with_capacity(n);
    let mut i = 0;
    let at = |i: usize, s: &[u8]| code[i..].starts_with(s);
    let hash_comments = matches!(lang, Lang::Python | Lang::Ruby | Lang::Shell);
    let slash_comments = matches!(lang, Lang::Rust | Lang::CLike);
    while i < n {
        let c = code[i];
        let prev = if i > 0 { code[i - 1] } else { b'\n' };
        let word_start = !(prev.is_ascii_alphanumeric() || prev == b'_');
        // Comments.
        if slash_comments && at(i, b"//") || hash_comments && c == b'#' && comment_hash(lang, prev)
        {
            i = memchr::memchr(b'\n', &code[i..]).map_or(n, |j| i + j);
            out.push(b' ');
            continue;
        }
        if slash_comments && at(i, b"/*") {
            i = block_comment_end(code, i, lang == Lang::Rust);
            out.push(b' ');
            continue;
        }
        // Rust raw strings: r"…", r#"…"#, br#"…"#.
        if lang == Lang::Rust && word_start && (c == b'r' || at(i, b"br")) {
            let s = if c == b'b' { i + 2 } else { i + 1 };
            let hashes = code[s..].iter().take_while(|&&b| b == b'#').count();
            if code.get(s + hashes) == Some(&b'"') {
                let mut close = vec![b'"'];
                close.extend(std::iter::repeat_n(b'#', hashes));
                i = find(code, s + hashes + 1, &close).map_or(n, |j| j + close.len());
                out.push(b' ');
                continue;
            }
        }
        // Swift raw strings: #"…"#.
        if lang == Lang::CLike && c == b'#' && at(i, b"#\"") {
            i = find(code, i + 2, b"\"#").map_or(n, |j| j + 2);
            out.push(b' ');
            continue;
        }
        // Triple-quoted strings: Python, Kotlin, Swift, Java text blocks.
        if matches!(lang, Lang::Python | Lang::CLike) && (at(i, b"\"\"\"") || at(i, b"'''")) {
            let q = &code[i..i + 3];
            i = find_unescaped(code, i + 3, q).map_or(n, |j| j + 3);
            out.push(b' ');
            continue;
        }
        match c {
            b'"' => {
                // Rust, Ruby and shell strings span lines; elsewhere a newline ends one.
                let multi = matches!(lang, Lang::Rust | Lang::Ruby | Lang::Shell);
                i = string_end(code, i + 1, b'"', multi, true);
                out.push(b' ');
            }
            b'\'' if lang == Lang::Rust => {
                // A char literal ('a', '\n', 'é'), or a lifetime or label ('a, 'outer).
                match char_literal_end(code, i) {
                    Some(j) => {
                        i = j;
                        out.push(b' ');
                    }
                    None => {
                        out.push(c);
                        i += 1;
                    }
                }
            }
            b'\'' => {
                let multi = matches!(lang, Lang::Ruby | Lang::Shell);
                // Shell single quotes have no escapes.
                i = string_end(code, i + 1, b'\'', multi, lang != Lang::Shell);
                out.push(b' ');
            }
            b'`' if lang == Lang::CLike => {
                // Go raw strings and JavaScript template literals.
                i = string_end(code, i + 1, b'`', true, true);
                out.push(b' ');
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// `#` starts a comment: always in Python and Ruby; in shell only at a word's start (not in
/// `$#` or `${#x}`).
fn comment_hash(lang: Lang, prev: u8) -> bool {
    lang != Lang::Shell || prev.is_ascii_whitespace() || prev == b';'
}

fn find(code: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(code.get(from..)?, needle).map(|j| from + j)
}

/// Like `find`, skipping backslash escapes.
fn find_unescaped(code: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    let mut i = from;
    while i < code.len() {
        if code[i] == b'\\' {
            i += 2;
        } else if code[i..].starts_with(needle) {
            return Some(i);
        } else {
            i += 1;
        }
    }
    None
}

/// The index after the quote that closes a string whose body starts at `i`.
fn string_end(code: &[u8], mut i: usize, quote: u8, multi_line: bool, escapes: bool) -> usize {
    while i < code.len() {
        match code[i] {
            b'\\' if escapes => i += 2,
            b'\n' if !multi_line => return i,
            c if c == quote => return i + 1,
            _ => i += 1,
        }
    }
    code.len()
}

/// The index after a block comment starting at `i` (Rust's nest).
fn block_comment_end(code: &[u8], mut i: usize, nests: bool) -> usize {
    let mut depth = 0;
    while i < code.len() {
        if code[i..].starts_with(b"/*") && (nests || depth == 0) {
            depth += 1;
            i += 2;
        } else if code[i..].starts_with(b"*/") {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    code.len()
}

/// The end of a Rust char literal at `i` (`'a'`, `'\u{1F600}'`, `'é'`), or `None` for a
/// lifetime or label.
fn char_literal_end(code: &[u8], i: usize) -> Option<usize> {
    let next = *code.get(i + 1)?;
    if next == b'\\' {
        return Some(string_end(code, i + 1, b'\'', false, true));
    }
    let width = match next {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    };
    (code.get(i + 1 + width) == Some(&b'\'')).then_some(i + 2 + width)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(code: &str, lang: Lang) -> Vec<String> {
        let mut out = Vec::new();
        code_names(&strip(code.as_bytes(), lang), &mut out);
        out.into_iter()
            .map(|(t, _)| String::from_utf8(t).unwrap())
            .collect()
    }

    #[test]
    fn strings_and_comments_are_not_names() {
        let rust = "fn long_function_name<'a>(x: &'a str) -> char { // commentedIdentifierName\n\
                    let v = r#\"QmFzZTY0QmxvYkluQVRlc3RWZWN0b3I\"#; let c = 'x'; \
                    let h = 0xDEADBEEFu64; other_long_identifier }";
        assert_eq!(
            names(rust, Lang::Rust),
            ["long_function_name", "other_long_identifier"]
        );
        let py = "def some_python_function():\n    '''docstringWithLongName'''\n    return \"QmFzZTY0QmxvYkluQVRlc3RWZWN0b3I\"  # trailingCommentName\n";
        assert_eq!(names(py, Lang::Python), ["some_python_function"]);
        let c =
            "#define LONG_MACRO_NAME_HERE 1\nself->priv->member_name_x = \"stringStringString\";";
        assert_eq!(
            names(c, Lang::CLike),
            ["LONG_MACRO_NAME_HERE", "self->priv->member_name_x"]
        );
    }

    #[test]
    fn chains_join_paths_with_slashes() {
        assert_eq!(
            names("use std::collections::HashMap;", Lang::Rust),
            ["std/collections/HashMap"]
        );
    }

    #[test]
    fn slugs_of_headings_outside_code() {
        let md =
            "# Precision on real code\n```sh\n# not a heading at all, a comment\n```\n## Short\n";
        let mut out = Vec::new();
        slugs(md.as_bytes(), &mut out);
        let got: Vec<&[u8]> = out.iter().map(|(t, _)| t.as_slice()).collect();
        assert_eq!(got, [b"precision-on-real-code".as_slice()]);
    }

    #[test]
    fn numbers_and_hex_are_not_names() {
        assert!(names(
            "let x = 0x1234567890abcdefABCDEFu128 + 1e10_f64_long_suffix;",
            Lang::Rust
        )
        .is_empty());
        assert!(!keep(b"0123456789abcdef0123"));
        assert!(keep(b"a_long_enough_name"));
    }
}
