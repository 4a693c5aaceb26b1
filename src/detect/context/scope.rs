//! Scopes: who owns the structure around a value — the brackets on its line, the command
//! and its hosts, the less-indented parent lines, the section header — and who is the nearest
//! owner named on the lines around it.

use super::super::text::{
    indentation, is_word_byte, line_bounds_near, line_key, split_words, word_before, LINE_LIMIT,
};
use super::{names_owner, Judge, Scope};
use crate::detect::EvidenceKind;
use crate::rules::Context;

/// What decided a structure's owner: the kind of structure and the text that names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Decider {
    pub kind: EvidenceKind,
    pub span: (usize, usize),
}

/// Words too common in prose and code to name an owner when they merely appear on a line
/// (they still do as parts of a key: `MATCH_PASSWORD`, `maps.key`).
const AMBIGUOUS: &[&str] = &[
    "here",
    "branch",
    "box",
    "graph",
    "split",
    "parse",
    "connect",
    "play",
    "match",
    "teams",
    "linear",
    "segment",
    "checkout",
    "square",
    "session",
    "mail",
    "email",
    "geo",
    "weather",
    "blob",
    "cdn",
    "registry",
    "analytics",
    "signing",
    "certificate",
    "cert",
    "cookie",
    "database",
    "db",
    "vault",
    "jwt",
    "oauth",
    "smtp",
    "csrf",
    "provisioning",
    "keystore",
    "realm",
    "adjust",
    "maps",
    "store_password",
    "storepassword",
    "p12",
    "drone",
    "travis",
    "eas",
    "cm",
    "gh",
    "fb",
    "asc",
    "play",
    "parse",
    "graph",
];

impl Judge<'_> {
    /// Who a structural key (a parent, a bracket's key, a call's receiver) names as owner:
    /// `applivery:` us, `sentry:` another service; `name:`, `with:`, `release:` nobody.
    pub(super) fn key_owner(&self, ctx: &Context, key: &[u8]) -> Scope {
        if self.mentions(key) {
            Scope::Ours
        } else if names_owner(&split_words(key), |w| ctx.other_owners.contains(w)) {
            Scope::Foreign
        } else {
            Scope::Unknown
        }
    }

    /// Who owns a line: Applivery if it mentions it, another owner if a word of it names
    /// one, else nobody.
    pub(super) fn line_owner(&self, ctx: &Context, line: &[u8]) -> Scope {
        if self.mentions(line) {
            return Scope::Ours;
        }
        let foreign = line.split(|&b| !is_word_byte(b)).any(|w| {
            !w.is_empty()
                && names_owner(&split_words(w), |p| {
                    ctx.other_owners.contains(p) && !AMBIGUOUS.contains(&p)
                })
        });
        if foreign {
            Scope::Foreign
        } else {
            Scope::Unknown
        }
    }

    /// The innermost enclosing structure that names an owner: brackets on the line (a call
    /// by what it is called on, an Objective-C message by its receiver), the command, parent
    /// lines (less indented), the section header; and what decided it.
    pub(super) fn structure(
        &self,
        ctx: &Context,
        s: usize,
        ls: usize,
        cs: usize,
        ce: usize,
    ) -> (Scope, Option<Decider>) {
        let hay = self.hay;
        let lo = ls.max(s.saturating_sub(ctx.max_distance));
        let mut depth = 0usize;
        let mut i = s;
        while i > lo {
            i -= 1;
            match hay[i] {
                b'}' | b']' | b')' => depth += 1,
                b'{' | b'[' | b'(' if depth > 0 => depth -= 1,
                b'{' | b'[' | b'(' => {
                    let mut key = word_before(hay, lo, i);
                    if key.is_empty() && hay[i] == b'[' {
                        // `[Instabug startWithToken:…]`, `[[Applivery shared] start…]`.
                        let mut j = i + 1;
                        while j < s && (hay[j] == b'[' || hay[j] == b' ') {
                            j += 1;
                        }
                        let k = j;
                        while j < s && is_word_byte(hay[j]) {
                            j += 1;
                        }
                        // A message send: a receiver, a space, a selector.
                        if hay.get(j) == Some(&b' ')
                            && hay
                                .get(j + 1)
                                .is_some_and(|&b| is_word_byte(b) || b == b'[')
                        {
                            key = &hay[k..j];
                        }
                    }
                    if key.is_empty() {
                        continue;
                    }
                    match self.key_owner(ctx, key) {
                        Scope::Unknown => {}
                        owner => {
                            let at = key.as_ptr() as usize - hay.as_ptr() as usize;
                            let d = Decider {
                                kind: EvidenceKind::Call,
                                span: (at, at + key.len()),
                            };
                            return (owner, Some(d));
                        }
                    }
                }
                _ => {}
            }
        }
        // The command (a minified bundle is one long line: only its part near the value).
        let (ms, me) = (
            cs.max(s.saturating_sub(COMMAND_REACH)),
            ce.min(s + COMMAND_REACH),
        );
        if self.mentions(&hay[ms..me]) {
            let d = Decider {
                kind: EvidenceKind::Command,
                span: (ms, me),
            };
            return (Scope::Ours, Some(d));
        }
        // Less-indented lines above the command.
        let mut indent = indentation(&hay[cs..ce]);
        let lo = cs.saturating_sub(ctx.max_distance);
        let mut at = cs;
        let mut lines = 0;
        while indent > 0 && at > lo && lines < 2 * ctx.lines_before {
            let (ps, pe) = line_bounds_near(hay, at - 1, at - 1, LINE_LIMIT);
            at = ps;
            lines += 1;
            let line = &hay[ps..pe];
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let ind = indentation(line);
            if ind >= indent {
                continue;
            }
            indent = ind;
            if !opens_block(line) {
                continue;
            }
            let d = Decider {
                kind: EvidenceKind::Block,
                span: (ps, pe),
            };
            match self.line_owner(ctx, line) {
                Scope::Unknown => {}
                owner => return (owner, Some(d)),
            }
            if let Some(key) = line_key(line) {
                if self.key_owner(ctx, key) == Scope::Foreign {
                    return (Scope::Foreign, Some(d));
                }
            }
        }
        // The section header above: `[applivery]`, `## Applivery`, `<summary>…`.
        let mut at = cs;
        let lo = cs.saturating_sub(2 * ctx.max_distance);
        for _ in 0..4 * ctx.lines_before {
            if at == 0 || at <= lo {
                break;
            }
            let (ps, pe) = line_bounds_near(hay, at - 1, at - 1, LINE_LIMIT);
            at = ps;
            let line = &hay[ps..pe];
            if is_header(line, ctx) {
                let d = Decider {
                    kind: EvidenceKind::Section,
                    span: (ps, pe),
                };
                return (self.line_owner(ctx, line), Some(d));
            }
        }
        (Scope::Unknown, None)
    }

    /// The nearest owner named around the value: its own line first (words before it, then
    /// after it), then the lines above, then the lines below, within its section.
    pub(super) fn owner(&self, ctx: &Context, s: usize, e: usize, ls: usize, le: usize) -> Scope {
        self.owner_at(ctx, s, e, ls, le).0
    }

    /// `owner`, and the line (or part of the value's own line) that names it.
    pub(super) fn owner_at(
        &self,
        ctx: &Context,
        s: usize,
        e: usize,
        ls: usize,
        le: usize,
    ) -> (Scope, (usize, usize)) {
        let hay = self.hay;
        for (a, b) in [(ls, s), (e, le)] {
            match self.line_owner(ctx, &hay[a..b]) {
                Scope::Unknown => {}
                o => return (o, (a, b)),
            }
        }
        let is_break = |a: usize, b: usize| {
            ctx.section_break
                .as_ref()
                .is_some_and(|r| r.is_match(&hay[a..b]))
                || is_header(&hay[a..b], ctx)
        };
        let lo = s.saturating_sub(ctx.max_distance);
        let mut at = ls;
        for _ in 0..ctx.lines_before {
            if at == 0 || at <= lo {
                break;
            }
            let (ps, pe) = line_bounds_near(hay, at - 1, at - 1, LINE_LIMIT);
            at = ps;
            match self.line_owner(ctx, &hay[ps..pe]) {
                Scope::Unknown => {}
                o => return (o, (ps, pe)),
            }
            if is_break(ps, pe) {
                break;
            }
        }
        let hi = (e + ctx.max_distance).min(hay.len());
        let mut at = le;
        for _ in 0..ctx.lines_after {
            let next = at + if hay.get(at) == Some(&b'\r') { 2 } else { 1 };
            if next >= hi {
                break;
            }
            let (ns, ne) = line_bounds_near(hay, next, next, LINE_LIMIT);
            if is_break(ns, ne) {
                break;
            }
            match self.line_owner(ctx, &hay[ns..ne]) {
                Scope::Unknown => {}
                o => return (o, (ns, ne)),
            }
            at = ne;
        }
        (Scope::Unknown, (s, s))
    }

    /// The lines around the value in which every `near` pattern must match: up to
    /// `lines_before`/`lines_after` lines and `max_distance` bytes each side, not across a
    /// `section_break` line (a break line above is part of it: it often names the section).
    pub(super) fn window(
        &self,
        ctx: &Context,
        s: usize,
        e: usize,
        ls: usize,
        le: usize,
    ) -> (usize, usize) {
        let hay = self.hay;
        let is_break = |a: usize, b: usize| {
            ctx.section_break
                .as_ref()
                .is_some_and(|r| r.is_match(&hay[a..b]))
        };
        let lo = s.saturating_sub(ctx.max_distance);
        let hi = (e + ctx.max_distance).min(hay.len());
        let mut ws = ls;
        if !is_break(ls, le) {
            for _ in 0..ctx.lines_before {
                if ws <= lo || ws == 0 {
                    break;
                }
                let (ps, pe) = line_bounds_near(hay, ws - 1, ws - 1, LINE_LIMIT);
                ws = ps;
                if is_break(ps, pe) {
                    break;
                }
            }
        }
        let mut we = le;
        for _ in 0..ctx.lines_after {
            let next = we + if hay.get(we) == Some(&b'\r') { 2 } else { 1 };
            if next >= hi {
                we = we.max(hi.min(hay.len()));
                break;
            }
            let (ns, ne) = line_bounds_near(hay, next, next, LINE_LIMIT);
            if is_break(ns, ne) {
                break;
            }
            we = ne;
        }
        (ws.max(lo), we.min(hi))
    }

    /// The HTTP request line (`POST https://…`) of the header block that holds `cs`, if any.
    pub(super) fn request_line(&self, ctx: &Context, cs: usize) -> Option<(usize, usize)> {
        const METHODS: &[&[u8]] = &[
            b"GET ",
            b"POST ",
            b"PUT ",
            b"PATCH ",
            b"DELETE ",
            b"HEAD ",
            b"OPTIONS ",
        ];
        let hay = self.hay;
        let lo = cs.saturating_sub(ctx.max_distance);
        let mut at = cs;
        for _ in 0..ctx.lines_before {
            if at == 0 || at <= lo {
                break;
            }
            let (ps, pe) = line_bounds_near(hay, at - 1, at - 1, LINE_LIMIT);
            at = ps;
            let line = &hay[ps..pe];
            if line.iter().all(u8::is_ascii_whitespace) {
                return None;
            }
            if METHODS.iter().any(|m| line.starts_with(m)) {
                return Some((ps, pe));
            }
        }
        None
    }
}

/// A line that heads a section: a TOML/INI table, a Markdown heading, an HTML heading or
/// `<summary>`, or a rule's section break.
pub(super) fn is_header(line: &[u8], ctx: &Context) -> bool {
    let t = line.trim_ascii();
    (t.starts_with(b"#") && t.get(1).is_some_and(|&b| b == b' ' || b == b'#'))
        || (t.starts_with(b"[") && t.ends_with(b"]") && !t.contains(&b','))
        || t.starts_with(b"<summary")
        || (t.len() > 3 && t.starts_with(b"<h") && t[2].is_ascii_digit())
        || ctx.section_break.as_ref().is_some_and(|r| r.is_match(line))
}

/// How far along its command a mention still scopes a value.
const COMMAND_REACH: usize = 320;

/// A line that can hold the lines below it: a key with nothing after it (`applivery:`), a
/// list item, an opening bracket or tag, a block header (`variable "x" {`, `applivery {`).
fn opens_block(line: &[u8]) -> bool {
    let t = line.trim_ascii();
    t.starts_with(b"- ")
        || t.starts_with(b"<")
        || t.starts_with(b"[")
        || matches!(
            t.last(),
            Some(b'{' | b'(' | b'[' | b':' | b'=' | b'>' | b'|')
        )
        || (t.ends_with(b",") && opens_bracket(t))
        || line_key(t).is_some_and(|_| t.ends_with(b":"))
        || t.ends_with(b"do")
}

/// True if `line` opens more brackets than it closes (`Applivery.init(this,`), unlike a
/// whole entry that ends a line with a comma (`"applivery": { "appId": "…" },`).
fn opens_bracket(line: &[u8]) -> bool {
    let mut depth = 0i32;
    for &b in line {
        match b {
            b'{' | b'[' | b'(' => depth += 1,
            b'}' | b']' | b')' => depth -= 1,
            _ => {}
        }
    }
    depth > 0
}
