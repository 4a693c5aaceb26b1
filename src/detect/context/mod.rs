//! Evidence: whose value is this? The detector weighs, nearest first:
//! 1. the **name** of the value — the key, call or header word before it (`APPLIVERY_TOKEN=`,
//!    `Applivery.init(`, `Bearer`), else the line above (`<key>…</key>`), else a trailing
//!    comment. A name that mentions Applivery decides for it; one that names another owner
//!    (`SENTRY_AUTH_TOKEN`, `nonce:`, `appId:`) decides against it;
//! 2. the **scope** around it: brackets on its line (`{"sentry":{…}}`, `Applivery.start(…`,
//!    `[Instabug startWithToken:…]`), the command it is in and the hosts that command
//!    calls, parent lines (`applivery:` above `  token:`, `variable "applivery_token" {`),
//!    the section header (`[applivery]`, `## Applivery`, `<summary>`), the file's path, and
//!    where its constant is used (`Bearer "+uploadToken` next to an Applivery URL);
//! 3. the **nearest owner** named on the lines around it, above first: within an Applivery
//!    scope a token-shaped value is a finding unless evidence names another owner.

mod flow;
mod name;
mod scope;

pub(crate) use flow::Flow;

use super::secret;
use super::text::{
    contains_ci, is_word_byte, line_bounds_near, line_key, logical_line, split_words, urls, Urls,
    LINE_LIMIT,
};
use super::{Detector, Evidence, EvidenceKind, PREVIOUS_LINE_MAX};
use crate::rules::{Context, Words};

/// What the blob's surroundings say before its text is read: its path names Applivery (or
/// it was decoded from a value in an Applivery scope).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outer {
    /// The path names Applivery.
    Ours,
    /// The path names Applivery and a credential (`ci/applivery-token.txt`,
    /// `secrets/applivery.env`), or the blob was decoded from a value vouched for.
    Secret,
    Unknown,
}

impl Outer {
    pub(crate) fn ours(self) -> bool {
        self != Outer::Unknown
    }
}

/// What a name says about the value it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Mentions the rule's service (`APPLIVERY_TOKEN`, `Applivery.shared.start`).
    Ours,
    /// Names another owner (`GITHUB_TOKEN`, `sentry`).
    Foreign,
    /// Names a value that is no secret (`appId`, `cacheKey`, `listener`) — unless the value
    /// is used at an Applivery sink (`BetaChannelToken` passed to `AppliveryUnity.Init`).
    NotSecret,
    /// Secret-like, made of generic words (`token`, `Bearer`, `app_token`).
    Generic,
    /// Generic words only, not secret-like (`value`, `default`, `with`).
    Neutral,
    /// Secret-like, with a word that names something we do not know (`DISTRO_TOKEN`).
    Qualified,
    /// Not secret-like, with an unknown word (`description`, `storeFile`).
    Other,
}

/// Whose scope a value sits in, judged from the structure around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Ours,
    Foreign,
    Unknown,
}

/// The checks of one rule on one candidate.
pub(crate) struct Judge<'a> {
    pub det: &'a Detector,
    pub ri: usize,
    pub hay: &'a [u8],
    pub outer: Outer,
    pub flow: &'a Flow,
    /// The rule's keyword occurrences in `hay`.
    pub hits: &'a [(usize, usize)],
}

impl Judge<'_> {
    fn ctx(&self) -> Option<&Context> {
        self.det.rules[self.ri].context.as_ref()
    }

    fn names(&self) -> &[String] {
        &self.det.names[self.ri]
    }

    /// Whether the candidate at `s..e`, whose (decoded) value is `value`, is reported, and on
    /// what evidence. Two steps: gather what the surroundings say (`facts`), then decide
    /// once from that list (`decide`).
    pub(crate) fn accept(&self, s: usize, e: usize, value: &[u8]) -> Option<Vec<Evidence>> {
        let rule = &self.det.rules[self.ri];
        let (ls, le) = line_bounds_near(self.hay, s, e, LINE_LIMIT);
        // Out of a keyword's reach, only a constant used at a sink can make it ours: most
        // candidates of a region end here, before the checks on the value.
        if let Some(ctx) = self.ctx() {
            if ctx.keyword_near
                && !self.outer.ours()
                && !self.near_keyword(ctx, s, e)
                && !self
                    .flow
                    .named_in(&self.hay[ls.saturating_sub(PREVIOUS_LINE_MAX + 1)..s])
            {
                return None;
            }
        }
        // A path or a dotted name is never a value of a rule that always checks the words
        // (`decide` would say so too, after the costlier checks): code full of URLs and
        // member chains ends here.
        if rule.secret.words == Words::Always
            && self.ctx().is_some()
            && (crate::detect::wordlike::dotted(value) || path_or_dotted(value))
        {
            return None;
        }
        if !secret::value_ok(rule, value, secret::Words::get(), self.names()) {
            return None;
        }
        if rule
            .allowlist
            .lines
            .iter()
            .any(|r| r.is_match(&self.hay[ls..le]))
        {
            return None;
        }
        let Some(ctx) = self.ctx() else {
            return Some(Vec::new());
        };
        let facts = self.facts(ctx, s, e, ls, le)?;
        self.decide(ctx, &facts, s, e, ls, le, value)
    }

    /// Whether the structure around `s..e` says it is ours, for a value decoded from there
    /// (a base64 document under `applivery:`).
    pub(crate) fn vouches(&self, s: usize, e: usize) -> bool {
        let Some(ctx) = self.ctx() else { return false };
        let (ls, le) = line_bounds_near(self.hay, s, e, LINE_LIMIT);
        let (name, _) = self.name(ctx, s, e, ls, le);
        if name == Some(Class::Ours) {
            return true;
        }
        if matches!(name, Some(Class::Foreign | Class::NotSecret)) {
            return false;
        }
        let (cs, ce) = logical_line(self.hay, ls, le, ctx.max_distance, s, e);
        match self.structure(ctx, s, ls, cs, ce).0 {
            Scope::Ours => true,
            Scope::Foreign => false,
            Scope::Unknown => self.outer.ours() || self.owner(ctx, s, e, ls, le) == Scope::Ours,
        }
    }

    /// True if a keyword occurs within `max_distance` of `s..e`.
    fn near_keyword(&self, ctx: &Context, s: usize, e: usize) -> bool {
        let lo = s.saturating_sub(ctx.max_distance);
        let hi = e + ctx.max_distance;
        let i = self.hits.partition_point(|h| h.0 < lo);
        self.hits.get(i).is_some_and(|h| h.1 <= hi)
    }

    /// Gathers the evidence about a candidate, each kind from its own small function; `None`
    /// when one of them already rules it out (a name that names another owner, a URL to
    /// another host, no keyword in reach, a `near` pattern missing).
    fn facts(&self, ctx: &Context, s: usize, e: usize, ls: usize, le: usize) -> Option<Facts> {
        let hay = self.hay;
        if is_name_position(hay, s, e) {
            return None;
        }
        let (name, key) = self.name(ctx, s, e, ls, le);
        if name == Some(Class::Foreign) {
            return None;
        }
        // The key that opens the value's line names another owner (`slack: acme:<token>`,
        // where the workspace happens to be called like the service): a word inside the
        // same scalar does not make the value ours.
        if self.line_key_foreign(ctx, ls, key) {
            return None;
        }
        let flow = key.is_some_and(|(a, b)| self.flow.has(&hay[a..b]));
        // A key that names no secret is outweighed only by a use of the value at an Applivery
        // sink in another file: the words gathered around sinks in this one are too loose.
        if name == Some(Class::NotSecret)
            && !key.is_some_and(|(a, b)| self.flow.project_has(&hay[a..b]))
        {
            return None;
        }
        // A keyword (or the path, or a use of the value's name at an Applivery sink) must
        // be within reach.
        if ctx.keyword_near && !self.outer.ours() && !flow && !self.near_keyword(ctx, s, e) {
            return None;
        }
        let (cs, ce) = logical_line(hay, ls, le, ctx.max_distance, s, e);
        // URLs of the command (or HTTP request) that carries the value: a Bearer token sent
        // to api.github.com is GitHub's, even in a script that also uploads to Applivery.
        let host = if ctx.hosts.is_empty() {
            Urls::None
        } else {
            match urls(&hay[cs..ce], &ctx.hosts) {
                Urls::None => self
                    .request_line(ctx, cs)
                    .map_or(Urls::None, |(rs, re)| urls(&hay[rs..re], &ctx.hosts)),
                u => u,
            }
        };
        if host == Urls::Others {
            return None;
        }
        // After the hosts: the window's lines are each asked whether they break a section.
        if !ctx.near.is_empty() {
            let (ws, we) = self.window(ctx, s, e, ls, le);
            if !ctx.near.iter().all(|r| r.is_match(&hay[ws..we])) {
                return None;
            }
        }
        let (structure, decider) = self.structure(ctx, s, ls, cs, ce);
        if structure == Scope::Foreign {
            return None;
        }
        // A key on the value's own line that says what the value is: `listener:`, `let
        // index =` (not a parent over a bare value, which is weighed as structure).
        let own_line = key.is_some_and(|(a, _)| a >= ls && in_key_position(hay, ls, a));
        Some(Facts {
            name,
            key,
            own_line,
            flow,
            host,
            structure: (structure == Scope::Ours).then_some(decider).flatten(),
            path: self.outer.ours(),
        })
    }

    /// The decision, from the facts alone. Strong evidence (an Applivery key, an Applivery
    /// call or host, a credential key in an Applivery block, a constant used at a sink)
    /// reports any token-shaped value; weaker evidence (a generic key with Applivery only
    /// named nearby, a qualified key, a value with no name at all) also needs a value that
    /// does not read as words; and a value without a name is reported only where the
    /// structure is about credentials.
    #[allow(clippy::too_many_arguments)]
    fn decide(
        &self,
        ctx: &Context,
        f: &Facts,
        s: usize,
        e: usize,
        ls: usize,
        le: usize,
        value: &[u8],
    ) -> Option<Vec<Evidence>> {
        let hay = self.hay;
        let rule = &self.det.rules[self.ri];
        let mut ev: Vec<Evidence> = Vec::new();
        let key_ev = |k: (usize, usize)| {
            let kind = if hay.get(k.1) == Some(&b'(') {
                EvidenceKind::Call
            } else {
                EvidenceKind::Key
            };
            Evidence::at(kind, hay, k)
        };
        // The rule's words for a name (a legacy key is a key, never a password): a call the
        // value is passed to (`Applivery.init(`) is a position, not a name.
        if let (Some(re), Some((a, b))) = (&ctx.key, f.key) {
            if hay.get(b) != Some(&b'(') && !re.is_match(&hay[a..b]) {
                return None;
            }
        }
        let host_ev = || match &f.host {
            Urls::Ours(h) => Some(Evidence {
                kind: EvidenceKind::Host,
                text: String::from_utf8_lossy(h).into_owned(),
                at: None,
            }),
            _ => None,
        };
        let struct_ev = || f.structure.map(|d| Evidence::at(d.kind, hay, d.span));
        let path_ev = || Evidence {
            kind: EvidenceKind::Path,
            text: "the file's path names Applivery".into(),
            at: None,
        };
        let flow_ev = |k: (usize, usize)| Evidence {
            kind: EvidenceKind::Flow,
            text: format!(
                "{} is used at an Applivery sink",
                String::from_utf8_lossy(&hay[k.0..k.1])
            ),
            at: Some(k.0),
        };
        // The stricter check on the value: it must not read as words (nor, for rules that
        // always check, be a path or a dotted name).
        let strict = |v: &[u8]| {
            let words = crate::detect::wordlike::is_word_like(v);
            let path = rule.secret.words == Words::Always && path_or_dotted(v);
            !(words || path)
        };
        if rule.secret.words == Words::Always && !strict(value) {
            return None;
        }
        // Even an Applivery key does not make a class name a token.
        if crate::detect::wordlike::is_surely_words(value) {
            return None;
        }
        if f.name == Some(Class::Ours) {
            ev.push(key_ev(f.key?));
            ev.extend(host_ev());
            return Some(ev);
        }
        let hosted = matches!(f.host, Urls::Ours(_));
        match f.name {
            Some(Class::Generic) => {
                let k = f.key?;
                ev.push(key_ev(k));
                if hosted {
                    ev.extend(host_ev());
                } else if f.flow {
                    ev.push(flow_ev(k));
                } else if let Some(d) = struct_ev() {
                    ev.push(d);
                } else if f.path {
                    ev.push(path_ev());
                } else {
                    // Only a mention nearby: the value itself must not read as words.
                    let (o, span) = self.owner_at(ctx, s, e, ls, le);
                    if o != Scope::Ours || !strict(value) {
                        return None;
                    }
                    ev.push(Evidence::at(EvidenceKind::Nearby, hay, span));
                }
                Some(ev)
            }
            Some(Class::Qualified) | Some(Class::Other) | Some(Class::Neutral) | None => {
                if f.name == Some(Class::Other) && f.own_line && !f.flow {
                    return None;
                }
                if !secret::weak_ok(value) || !strict(value) {
                    return None;
                }
                if f.name.is_none() && !literal(hay, s, e, ls, le) {
                    return None;
                }
                let named = matches!(f.name, Some(Class::Qualified));
                if let Some(k) = f.key.filter(|_| named || f.name == Some(Class::Neutral)) {
                    ev.push(key_ev(k));
                }
                if hosted {
                    ev.extend(host_ev());
                    return Some(ev);
                }
                if f.flow {
                    ev.push(flow_ev(f.key?));
                    return Some(ev);
                }
                match f.structure {
                    // A value passed to an Applivery call, listed in an Applivery block,
                    // or under a section or command that is about a credential (`##
                    // Applivery token`): the structure vouches for it. A mere mention of
                    // Applivery in the command or the section header does not.
                    Some(d)
                        if d.kind == EvidenceKind::Call
                            || named
                            || (!ctx.named
                                && (d.kind == EvidenceKind::Block
                                    || self.credential(ctx, &hay[d.span.0..d.span.1]))) =>
                    {
                        if named && self.owner(ctx, s, e, ls, le) == Scope::Foreign {
                            return None;
                        }
                        ev.push(Evidence::at(d.kind, hay, d.span));
                        return Some(ev);
                    }
                    _ => {}
                }
                if ctx.named {
                    return None;
                }
                // A file about Applivery whose name says it holds a credential
                // (`applivery-token.txt`, `secrets/applivery.env`).
                if self.outer == Outer::Secret {
                    ev.push(path_ev());
                    return Some(ev);
                }
                None
            }
            // A key that names no secret, used at an Applivery sink in another file
            // (`BetaChannelToken` passed to `AppliveryUnity.Init`).
            Some(Class::NotSecret) if f.flow => {
                let k = f.key?;
                Some(vec![key_ev(k), flow_ev(k)])
            }
            Some(Class::Ours | Class::Foreign | Class::NotSecret) => None,
        }
    }

    /// True if the key that opens line `ls` names another owner and is not the value's own
    /// name (`slack: acme:<token>`).
    fn line_key_foreign(&self, ctx: &Context, ls: usize, key: Option<(usize, usize)>) -> bool {
        let hay = self.hay;
        let (_, le) = line_bounds_near(hay, ls, ls, LINE_LIMIT);
        // A commented-out line keeps its key (`#   slack: acme:<token>`).
        let mut line = hay[ls..le].trim_ascii_start();
        for m in [&b"#"[..], b"//", b"--", b";"] {
            if let Some(rest) = line.strip_prefix(m) {
                line = rest;
                break;
            }
        }
        let Some(k) = line_key(line) else {
            return false;
        };
        let at = k.as_ptr() as usize - hay.as_ptr() as usize;
        if key.is_some_and(|(a, _)| a == at) {
            return false;
        }
        self.key_owner(ctx, k) == Scope::Foreign && !self.mentions(k)
    }

    /// True if a word of `text` other than the service's name is secret-like (`token`,
    /// `Authorization`, `api_key`).
    pub(super) fn credential(&self, ctx: &Context, text: &[u8]) -> bool {
        ctx.signal.as_ref().is_some_and(|r| {
            text.split(|&b| !is_word_byte(b))
                .flat_map(split_words)
                .any(|w| !self.names().contains(&w) && r.is_match(w.as_bytes()))
        })
    }

    /// True if `text` mentions one of the rule's names (`applivery`), ignoring case.
    fn mentions(&self, text: &[u8]) -> bool {
        self.names().iter().any(|n| contains_ci(text, n.as_bytes()))
    }
}

/// What the surroundings of one candidate say, gathered before the decision.
struct Facts {
    /// What the value's name says, and where the name is.
    name: Option<Class>,
    key: Option<(usize, usize)>,
    /// The name is a key on the value's own line (not a parent above a bare value).
    own_line: bool,
    /// The name is used at an Applivery sink.
    flow: bool,
    /// The hosts of the command or request that carries the value.
    host: Urls,
    /// The structure around the value is Applivery's, and what says so.
    structure: Option<scope::Decider>,
    /// The file's path names Applivery.
    path: bool,
}

impl Evidence {
    /// Evidence whose text is `hay[span]`, cut to a readable length on one line.
    fn at(kind: EvidenceKind, hay: &[u8], span: (usize, usize)) -> Evidence {
        const MAX: usize = 80;
        let (a, b) = span;
        let mut t = hay[a..b].trim_ascii();
        if let Some(nl) = memchr::memchr(b'\n', t) {
            t = &t[..nl];
        }
        let cut = t.len() > MAX;
        let t = &t[..t.len().min(MAX)];
        let mut text = String::from_utf8_lossy(t).into_owned();
        if cut {
            text.push('…');
        }
        Evidence {
            kind,
            text,
            at: Some(a + (hay[a..b].len() - hay[a..b].trim_ascii_start().len())),
        }
    }
}

/// A path (`modules/x/yJobs.ts`, `../a/b.service`) or a dotted name (`Type.memberName`):
/// separated parts that each read as words, or end in a file extension.
fn path_or_dotted(v: &[u8]) -> bool {
    let parts: Vec<&[u8]> = v
        .split(|&b| b == b'/' || b == b'.')
        .filter(|p| !p.is_empty())
        .collect();
    if parts.len() < 2 {
        return false;
    }
    let wordy = parts
        .iter()
        .filter(|p| {
            p.len() <= 4 && p.iter().all(u8::is_ascii_alphabetic)
                || crate::detect::wordlike::margin(p) >= 0.0
        })
        .count();
    wordy * 4 >= parts.len() * 3
}

/// True if `s..e` is itself a name, not a value: a key (`X=`, `X:`, `"X":`) or an XML tag.
fn is_name_position(hay: &[u8], s: usize, e: usize) -> bool {
    if s > 0 && (hay[s - 1] == b'<' || (s > 1 && &hay[s - 2..s] == b"</")) {
        return true;
    }
    let mut i = e;
    if matches!(hay.get(i), Some(b'"' | b'\'')) {
        i += 1;
    }
    while matches!(hay.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    match hay.get(i) {
        Some(b'=') => hay.get(i + 1) != Some(&b'='),
        Some(b':') => matches!(
            hay.get(i + 1),
            None | Some(b' ' | b'\t' | b'\n' | b'\r' | b'"' | b'\'')
        ),
        _ => false,
    }
}

/// Words that declare the name after them (`let listener =`, `private const val X =`,
/// `public static final String X =`, `export X=`, Dockerfile `ENV X=`).
const DECLARATIONS: &[&str] = &[
    "let",
    "var",
    "val",
    "const",
    "static",
    "final",
    "private",
    "public",
    "protected",
    "internal",
    "fileprivate",
    "open",
    "override",
    "lateinit",
    "readonly",
    "export",
    "def",
    "string",
    "str",
    "int",
    "auto",
    "dim",
    "set",
    "env",
    "arg",
    "declare",
    "local",
    "my",
    "our",
    "field",
    "property",
];

/// True if the word at `a` stands where a key stands, not inside prose ("the migration is
/// done: …"): first on its line (after indentation, a list marker, quotes or brackets),
/// after a separator of pairs (`{`, `,`, `;`, `(`), after another attribute's quoted value,
/// or after words that declare it.
fn in_key_position(hay: &[u8], ls: usize, a: usize) -> bool {
    let mut i = a;
    // The key's own opening quote (`"lastRequest": …`).
    if i > ls && matches!(hay[i - 1], b'"' | b'\'' | b'`') {
        i -= 1;
    }
    loop {
        while i > ls && matches!(hay[i - 1], b' ' | b'\t') {
            i -= 1;
        }
        if i == ls
            || matches!(
                hay[i - 1],
                b'{' | b',' | b';' | b'(' | b'[' | b'-' | b'*' | b'|' | b'"' | b'\''
            )
        {
            return true;
        }
        // The word before: a declaration (`let`, `val`), a type after one (`String`), an
        // annotation (`@State`).
        let end = i;
        while i > ls && (hay[i - 1].is_ascii_alphanumeric() || hay[i - 1] == b'_') {
            i -= 1;
        }
        if i == end {
            return false;
        }
        let word = String::from_utf8_lossy(&hay[i..end]).to_ascii_lowercase();
        if i > ls && hay[i - 1] == b'@' {
            i -= 1;
        } else if !DECLARATIONS.contains(&word.as_str()) {
            return false;
        }
    }
}

/// True if a word of `parts`, or two adjacent words joined (`OneSignal` → `one` `signal` →
/// `onesignal`, `storePassword` → `storepassword`), is one of `owners`.
pub(super) fn names_owner(parts: &[String], owner: impl Fn(&str) -> bool) -> bool {
    if parts.iter().any(|p| owner(p)) {
        return true;
    }
    let mut joined = String::new();
    parts.windows(2).any(|w| {
        joined.clear();
        joined.push_str(&w[0]);
        joined.push_str(&w[1]);
        owner(&joined)
    })
}

/// True if the text has a word with a letter.
fn has_words(t: &[u8]) -> bool {
    t.split(|&b| !is_word_byte(b))
        .any(|w| w.iter().any(u8::is_ascii_alphabetic))
}

/// A value that stands as a literal, not a word inside code: quoted, between XML tags, in a
/// Markdown code span, or alone on its line (a list item, a line of a block scalar).
fn literal(hay: &[u8], s: usize, e: usize, ls: usize, le: usize) -> bool {
    let before = hay[..s].last().copied();
    let after = hay.get(e).copied();
    let quote = |b: Option<u8>| matches!(b, Some(b'"' | b'\'' | b'`'));
    if quote(before) && quote(after) {
        return true;
    }
    if before == Some(b'>') && after == Some(b'<') {
        return true;
    }
    let head = hay[ls..s].trim_ascii();
    let head = head.strip_prefix(b"-").unwrap_or(head).trim_ascii();
    let tail = hay[e..le].trim_ascii();
    head.is_empty() && matches!(tail, b"" | b"," | b";")
}
