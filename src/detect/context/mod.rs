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
    contains_ci, hosts_ok, is_word_byte, line_bounds_near, logical_line, LINE_LIMIT,
};
use super::{Detector, PREVIOUS_LINE_MAX};
use crate::rules::Context;

/// What the blob's surroundings say before its text is read: its path names Applivery (or
/// it was decoded from a value in an Applivery scope).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outer {
    Ours,
    Unknown,
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

    /// Whether the candidate at `s..e`, whose (decoded) value is `value`, is reported.
    pub(crate) fn accept(&self, s: usize, e: usize, value: &[u8]) -> bool {
        let rule = &self.det.rules[self.ri];
        let (ls, le) = line_bounds_near(self.hay, s, e, LINE_LIMIT);
        // Out of a keyword's reach, only a constant used at a sink can make it ours: most
        // candidates of a region end here, before the checks on the value.
        if let Some(ctx) = self.ctx() {
            if ctx.keyword_near
                && self.outer != Outer::Ours
                && !self.near_keyword(ctx, s, e)
                && !self
                    .flow
                    .named_in(&self.hay[ls.saturating_sub(PREVIOUS_LINE_MAX + 1)..s])
            {
                return false;
            }
        }
        if !secret::value_ok(rule, value, &self.det.words, self.names()) {
            return false;
        }
        if rule
            .allowlist
            .lines
            .iter()
            .any(|r| r.is_match(&self.hay[ls..le]))
        {
            return false;
        }
        match self.ctx() {
            None => true,
            Some(ctx) => self.context(ctx, s, e, ls, le, value),
        }
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
        match self.structure(ctx, s, ls, cs, ce) {
            Scope::Ours => true,
            Scope::Foreign => false,
            Scope::Unknown => {
                self.outer == Outer::Ours || self.owner(ctx, s, e, ls, le) == Scope::Ours
            }
        }
    }

    /// True if a keyword occurs within `max_distance` of `s..e`.
    fn near_keyword(&self, ctx: &Context, s: usize, e: usize) -> bool {
        let lo = s.saturating_sub(ctx.max_distance);
        let hi = e + ctx.max_distance;
        let i = self.hits.partition_point(|h| h.0 < lo);
        self.hits.get(i).is_some_and(|h| h.1 <= hi)
    }

    fn context(
        &self,
        ctx: &Context,
        s: usize,
        e: usize,
        ls: usize,
        le: usize,
        value: &[u8],
    ) -> bool {
        let hay = self.hay;
        if is_name_position(hay, s, e) {
            return false;
        }
        let (name, key) = self.name(ctx, s, e, ls, le);
        if name == Some(Class::Foreign) {
            return false;
        }
        let flow = key.is_some_and(|(a, b)| self.flow.has(&hay[a..b]));
        // A key that names no secret is outweighed only by a use of the value at an Applivery
        // sink in another file: the words gathered around sinks in this one are too loose.
        if name == Some(Class::NotSecret)
            && !key.is_some_and(|(a, b)| self.flow.project_has(&hay[a..b]))
        {
            return false;
        }
        // A keyword (or the path, or a use of the value's name at an Applivery sink) must
        // be within reach.
        if ctx.keyword_near && self.outer != Outer::Ours && !flow && !self.near_keyword(ctx, s, e) {
            return false;
        }
        if !ctx.near.is_empty() {
            let (ws, we) = self.window(ctx, s, e, ls, le);
            if !ctx.near.iter().all(|r| r.is_match(&hay[ws..we])) {
                return false;
            }
        }
        let (cs, ce) = logical_line(hay, ls, le, ctx.max_distance, s, e);
        // URLs of the command (or HTTP request) that carries the value: a Bearer token sent
        // to api.github.com is GitHub's, even in a script that also uploads to Applivery.
        let hosts = if ctx.hosts.is_empty() {
            None
        } else {
            hosts_ok(&hay[cs..ce], &ctx.hosts).or_else(|| {
                self.request_line(ctx, cs)
                    .and_then(|(rs, re)| hosts_ok(&hay[rs..re], &ctx.hosts))
            })
        };
        if hosts == Some(false) {
            return false;
        }
        if name == Some(Class::Ours) {
            return true;
        }
        let structure = self.structure(ctx, s, ls, cs, ce);
        if structure == Scope::Foreign {
            return false;
        }
        // A key on the value's own line that says what the value is, and that is not a
        // credential (`listener:`, `buildWriter:`, `let index =`), decides against it even
        // in an Applivery scope: only a use of the value at a sink outweighs it. A name
        // taken from the line above a bare value (`targets:` over `- …`) is a parent, and
        // is weighed as structure like any keyless value.
        let own_line = key.is_some_and(|(a, _)| a >= ls && in_key_position(hay, ls, a));
        if name == Some(Class::Other) && own_line && !flow {
            return false;
        }
        let weak = matches!(
            name,
            None | Some(Class::Other) | Some(Class::Qualified) | Some(Class::Neutral)
        );
        if weak && !secret::weak_ok(value) {
            return false;
        }
        if name.is_none() && !literal(hay, s, e, ls, le) {
            return false;
        }
        if hosts == Some(true) || self.outer == Outer::Ours || flow {
            return true;
        }
        if structure == Scope::Ours {
            // A key that qualifies a secret word with a word we do not know (`DEVICE_TOKEN`,
            // `previewKey`) needs the nearest owner named around it to agree: a mention of
            // another service between the Applivery scope and the value makes it theirs.
            return name != Some(Class::Qualified)
                || self.owner(ctx, s, e, ls, le) != Scope::Foreign;
        }
        // Nothing structural: the nearest owner named around it decides, for names that
        // leave it open.
        // A key of generic words that are not secret-like (`build =`, `value:`) needs more
        // than a mention nearby.
        match name {
            Some(Class::Generic) | None => self.owner(ctx, s, e, ls, le) == Scope::Ours,
            _ => false,
        }
    }

    /// True if `text` mentions one of the rule's names (`applivery`), ignoring case.
    fn mentions(&self, text: &[u8]) -> bool {
        self.names().iter().any(|n| contains_ci(text, n.as_bytes()))
    }
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
    parts.iter().any(|p| owner(p))
        || parts
            .windows(2)
            .any(|w| owner(&format!("{}{}", w[0], w[1])))
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
