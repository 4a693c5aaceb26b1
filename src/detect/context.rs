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

use std::collections::HashSet;

use super::engine::Hit;
use super::secret;
use super::text::{
    contains_ci, hosts_ok, indentation, is_key, is_word_byte, line_bounds_near, line_key,
    logical_line, split_words, starts_line, word_before, LINE_LIMIT,
};
use super::{Detector, PREVIOUS_LINE_MAX, SIGNAL_LOOKBACK};
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
    /// Names another owner (`GITHUB_TOKEN`, `sentry`) or a value that is no secret (`appId`).
    Foreign,
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

/// Values named at an Applivery sink — `Bearer "+uploadToken`, `token: Secrets.key` — on the
/// lines around a keyword: a constant assigned one of these names anywhere in the blob is
/// an Applivery value.
pub(crate) struct Flow {
    names: HashSet<Vec<u8>>,
    /// Where those names are defined (`uploadToken = …`): regions the rules must run in.
    pub(crate) anchors: Vec<(usize, usize)>,
}

/// Words around a sink that are never the name of a value.
const NOT_NAMES: &[&str] = &[
    "bearer",
    "authorization",
    "auth",
    "self",
    "this",
    "string",
    "let",
    "var",
    "val",
    "const",
    "new",
    "null",
    "nil",
    "true",
    "false",
    "env",
    "process",
    "http",
    "https",
    "str",
    "format",
    "header",
    "headers",
    "value",
    "content",
    "type",
    "application",
    "json",
];

impl Flow {
    pub(crate) fn new(det: &Detector, hay: &[u8], hits: &[Hit]) -> Flow {
        let mut names: HashSet<Vec<u8>> = HashSet::new();
        let mut seen_lines = HashSet::new();
        for h in hits.iter().filter(|h| !h.encoded) {
            let (ls, le) = line_bounds_near(hay, h.start, h.end, LINE_LIMIT);
            let (mut a, mut b) = (ls, le);
            for _ in 0..15 {
                if a == 0 || h.start - a > 4096 {
                    break;
                }
                a = line_bounds_near(hay, a - 1, a - 1, LINE_LIMIT).0;
            }
            for _ in 0..15 {
                if b >= hay.len() || b - h.end > 4096 {
                    break;
                }
                let next = (b + 1).min(hay.len());
                b = line_bounds_near(hay, next, next, LINE_LIMIT).1;
            }
            let mut at = a;
            while at < b {
                let (s, e) = line_bounds_near(hay, at, at, LINE_LIMIT);
                if seen_lines.insert(s) {
                    sink_names(&hay[s..e], &mut names);
                }
                at = e + 1;
            }
        }
        let _ = det;
        let mut anchors = Vec::new();
        // The first 64 occurrences of each name, as one search per name would find them
        // (leftmost, not overlapping each other), in one pass over the blob for all names:
        // a file of a hundred thousand `token = <value>` lines has as many names, and a
        // pass per name was quadratic in its findings.
        let list: Vec<&Vec<u8>> = names.iter().collect();
        let mut taken = vec![(0u8, 0usize); list.len()];
        let mut anchor = |n: &[u8], p: usize| {
            let after = &hay[p + n.len()..(p + n.len() + 8).min(hay.len())];
            let whole = (p == 0 || !is_word_byte(hay[p - 1]) || hay[p - 1] == b'.')
                && !after.first().is_some_and(|&b| is_word_byte(b) && b != b'.');
            if whole && is_key(after) {
                anchors.push((p, p + n.len()));
            }
        };
        // The plain NFA: built in one pass, and searched once, a faster automaton would not
        // repay its construction.
        let ac = aho_corasick::AhoCorasick::builder()
            .kind(Some(aho_corasick::AhoCorasickKind::NoncontiguousNFA))
            .build(&list);
        match ac {
            Ok(ac) if !list.is_empty() => {
                for m in ac.find_overlapping_iter(hay) {
                    let (count, end) = &mut taken[m.pattern().as_usize()];
                    if *count < 64 && m.start() >= *end {
                        *count += 1;
                        *end = m.end();
                        anchor(list[m.pattern().as_usize()], m.start());
                    }
                }
            }
            _ => {
                for n in &list {
                    for p in memchr::memmem::find_iter(hay, n.as_slice()).take(64) {
                        anchor(n, p);
                    }
                }
            }
        }
        anchors.sort_unstable();
        Flow { names, anchors }
    }

    fn has(&self, name: &[u8]) -> bool {
        !name.is_empty() && self.names.contains(name)
    }
}

/// The identifiers that follow a secret-like word on a line (`"Bearer "+uploadToken`,
/// `Bearer \(Self.key)`, `token: Secrets.key`, `bearer_auth(TOKEN)`); the last segment of a
/// dotted name.
fn sink_names(line: &[u8], out: &mut HashSet<Vec<u8>>) {
    const SINKS: &[&[u8]] = &[b"bearer", b"token", b"authorization"];
    for sink in SINKS {
        let mut from = 0;
        while let Some(p) = super::text::find_ci(&line[from..], sink) {
            let start = from + p + sink.len();
            from = start;
            let end = (start + 48).min(line.len());
            let mut i = start;
            let mut taken = 0;
            while i < end && taken < 2 {
                if is_word_byte(line[i]) {
                    let ws = i;
                    while i < end && (is_word_byte(line[i])) {
                        i += 1;
                    }
                    let word = &line[ws..i];
                    // A quoted word is a string (`"token": …`), a tag is markup: no variable.
                    let quoted = ws > 0
                        && (matches!(line[ws - 1], b'"' | b'\'' | b'<' | b'/')
                            && matches!(line.get(i), Some(b'"' | b'\'' | b'>')));
                    if quoted {
                        taken += 1;
                        continue;
                    }
                    let last = word.rsplit(|&b| b == b'.').next().unwrap_or(word);
                    let lower = String::from_utf8_lossy(last).to_ascii_lowercase();
                    if last.len() >= 2
                        && last.iter().any(u8::is_ascii_alphabetic)
                        && !NOT_NAMES.contains(&lower.as_str())
                        && !line[ws.saturating_sub(1)..ws].starts_with(b"-")
                    {
                        out.insert(last.to_vec());
                    }
                    taken += 1;
                } else {
                    i += 1;
                }
            }
        }
    }
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
        if !secret::value_ok(rule, value, &self.det.words, self.names()) {
            return false;
        }
        let (ls, le) = line_bounds_near(self.hay, s, e, LINE_LIMIT);
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
        if name == Some(Class::Foreign) {
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
        // A keyword (or the path, or a use of the value's name at an Applivery sink) must
        // be within reach.
        if ctx.keyword_near && self.outer != Outer::Ours && !flow {
            let lo = s.saturating_sub(ctx.max_distance);
            let hi = e + ctx.max_distance;
            let i = self.hits.partition_point(|h| h.0 < lo);
            if self.hits.get(i).is_none_or(|h| h.1 > hi) {
                return false;
            }
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
        if hosts == Some(true) || structure == Scope::Ours || self.outer == Outer::Ours || flow {
            return true;
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

    fn classify(&self, ctx: &Context, w: &[u8]) -> Class {
        let parts = split_words(w);
        let secretish = |p: &String| {
            !self.names().contains(p)
                && ctx
                    .signal
                    .as_ref()
                    .is_some_and(|r| r.is_match(p.as_bytes()))
        };
        let not_secret = parts.iter().any(|p| ctx.not_secret_words.contains(p));
        let any_secret = parts.iter().any(secretish);
        if self.mentions(w) {
            return if not_secret && !any_secret {
                Class::Foreign
            } else {
                Class::Ours
            };
        }
        if parts.iter().any(|p| ctx.other_owners.contains(p)) {
            return Class::Foreign;
        }
        if not_secret {
            // `cacheKey`, `tokenHash`, `appId`: a key of something that is no secret.
            return Class::Foreign;
        }
        let unknown = parts.iter().any(|p| {
            p.len() > 1
                && !ctx.generic_key_words.contains(p)
                && !secretish(p)
                && !p
                    .strip_suffix('s')
                    .is_some_and(|q| ctx.generic_key_words.iter().any(|g| g == q))
        });
        match (unknown, any_secret) {
            (false, true) => Class::Generic,
            (false, false) => Class::Neutral,
            (true, true) => Class::Qualified,
            (true, false) => Class::Other,
        }
    }

    /// The name of the value and where that name is: on its line, else the line above, else
    /// a trailing comment.
    fn name(
        &self,
        ctx: &Context,
        s: usize,
        e: usize,
        ls: usize,
        le: usize,
    ) -> (Option<Class>, Option<(usize, usize)>) {
        let hay = self.hay;
        let from = ls.max(s.saturating_sub(SIGNAL_LOOKBACK));
        let (mut class, mut key) = self.naming(ctx, from, s);
        if matches!(class, None | Some(Class::Neutral)) {
            // A trailing comment (`<token>  # applivery upload token`).
            let after = &hay[e..le.min(e + SIGNAL_LOOKBACK).max(e)];
            if after
                .split(|&b| !is_word_byte(b))
                .any(|w| self.mentions(w) && ctx.signal.as_ref().is_some_and(|r| r.is_match(w)))
            {
                return (Some(Class::Ours), key);
            }
            // The key on the line above (`<key>AppliveryAppToken</key>` over `<string>`,
            // `- name: appliveryToken` over `value: …`, `TOKEN =` over a literal).
            if ls > 0 && starts_line(hay, ls) {
                let (ps, pe) = line_bounds_near(hay, ls - 1, ls - 1, LINE_LIMIT);
                let ps = ps.max(pe.saturating_sub(PREVIOUS_LINE_MAX));
                let (c, k) = self.naming(ctx, ps, pe);
                let decisive = matches!(c, Some(Class::Ours | Class::Foreign | Class::Generic));
                if decisive || (class.is_none() && c.is_some() && !has_words(&hay[ls..s])) {
                    class = c;
                    key = k;
                }
            }
        }
        (class, key)
    }

    /// Looks at the words in `from..to`, last first, for the name of what follows. A
    /// secret-like or owner-naming word decides; a neutral key (`value=`, `default:`) is
    /// passed over; another key (`description:`) names the value as something else.
    fn naming(
        &self,
        ctx: &Context,
        from: usize,
        to: usize,
    ) -> (Option<Class>, Option<(usize, usize)>) {
        let hay = self.hay;
        let mut i = to;
        let mut neutral: Option<(usize, usize)> = None;
        while i > from {
            if !is_word_byte(hay[i - 1]) {
                i -= 1;
                continue;
            }
            let end = i;
            while i > from && is_word_byte(hay[i - 1]) {
                i -= 1;
            }
            let w = &hay[i..end];
            if !w.iter().any(u8::is_ascii_alphabetic) {
                continue;
            }
            // A closing tag (`</key>`) names nothing.
            if i >= 2 && &hay[i - 2..i] == b"</" {
                continue;
            }
            let class = self.classify(ctx, w);
            let keyed = is_key(&hay[end..to])
                || hay.get(end) == Some(&b'(')
                || (hay.get(end) == Some(&b'>') && i > 0 && hay[i - 1] == b'<');
            match class {
                Class::Ours | Class::Foreign | Class::Generic => {
                    return (Some(class), Some((i, end)));
                }
                Class::Neutral => {
                    if keyed && neutral.is_none() {
                        neutral = Some((i, end));
                    }
                }
                Class::Qualified | Class::Other => {
                    if keyed && !(class == Class::Other && hay.get(end) == Some(&b'(')) {
                        return (Some(class), Some((i, end)));
                    }
                }
            }
        }
        match neutral {
            Some(k) => (Some(Class::Neutral), Some(k)),
            None => (None, None),
        }
    }

    /// Who a structural key (a parent, a bracket's key, a call's receiver) names as owner:
    /// `applivery:` us, `sentry:` another service; `name:`, `with:`, `release:` nobody.
    fn key_owner(&self, ctx: &Context, key: &[u8]) -> Scope {
        if self.mentions(key) {
            Scope::Ours
        } else if split_words(key)
            .iter()
            .any(|p| ctx.other_owners.contains(p))
        {
            Scope::Foreign
        } else {
            Scope::Unknown
        }
    }

    /// Who owns a line: Applivery if it mentions it, another owner if a word of it names
    /// one, else nobody.
    fn line_owner(&self, ctx: &Context, line: &[u8]) -> Scope {
        if self.mentions(line) {
            return Scope::Ours;
        }
        let foreign = line.split(|&b| !is_word_byte(b)).any(|w| {
            !w.is_empty()
                && split_words(w)
                    .iter()
                    .any(|p| ctx.other_owners.contains(p) && !AMBIGUOUS.contains(&p.as_str()))
        });
        if foreign {
            Scope::Foreign
        } else {
            Scope::Unknown
        }
    }

    /// The innermost enclosing structure that names an owner: brackets on the line (a call
    /// by what it is called on, an Objective-C message by its receiver), the command, parent
    /// lines (less indented), the section header.
    fn structure(&self, ctx: &Context, s: usize, ls: usize, cs: usize, ce: usize) -> Scope {
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
                        owner => return owner,
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
            return Scope::Ours;
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
            match self.line_owner(ctx, line) {
                Scope::Unknown => {}
                owner => return owner,
            }
            if let Some(key) = line_key(line) {
                if self.key_owner(ctx, key) == Scope::Foreign {
                    return Scope::Foreign;
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
                return self.line_owner(ctx, line);
            }
        }
        Scope::Unknown
    }

    /// The nearest owner named around the value: its own line first (words before it, then
    /// after it), then the lines above, then the lines below, within its section.
    fn owner(&self, ctx: &Context, s: usize, e: usize, ls: usize, le: usize) -> Scope {
        let hay = self.hay;
        for part in [&hay[ls..s], &hay[e..le]] {
            match self.line_owner(ctx, part) {
                Scope::Unknown => {}
                o => return o,
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
                o => return o,
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
                o => return o,
            }
            at = ne;
        }
        Scope::Unknown
    }

    /// The lines around the value in which every `near` pattern must match: up to
    /// `lines_before`/`lines_after` lines and `max_distance` bytes each side, not across a
    /// `section_break` line (a break line above is part of it: it often names the section).
    fn window(&self, ctx: &Context, s: usize, e: usize, ls: usize, le: usize) -> (usize, usize) {
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
    fn request_line(&self, ctx: &Context, cs: usize) -> Option<(usize, usize)> {
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
fn is_header(line: &[u8], ctx: &Context) -> bool {
    let t = line.trim_ascii();
    (t.starts_with(b"#") && t.get(1).is_some_and(|&b| b == b' ' || b == b'#'))
        || (t.starts_with(b"[") && t.ends_with(b"]") && !t.contains(&b','))
        || t.starts_with(b"<summary")
        || (t.len() > 3 && t.starts_with(b"<h") && t[2].is_ascii_digit())
        || ctx.section_break.as_ref().is_some_and(|r| r.is_match(line))
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
            Some(b'{' | b'(' | b'[' | b':' | b'=' | b'>' | b',' | b'|')
        )
        || line_key(t).is_some_and(|_| t.ends_with(b":"))
        || t.ends_with(b"do")
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
