//! The detector: bytes in, candidate secrets out. It is pure — no I/O, no globals — so it is
//! shared by every thread and every source (directory, git history, staged changes, stdin).
//!
//! Applivery tokens have no vendor prefix, so a regex alone would drown users in false alarms.
//! Each candidate passes, in order of cost:
//! 1. the keyword prefilter: one pass over the whole blob for every rule's keywords at once
//!    (ASCII case-insensitive); rules whose keywords do not occur are never run (almost every
//!    file stops here);
//! 2. the rule regex and its `secret` group;
//! 3. checks on the secret itself: length, shape (random-looking, not an identifier),
//!    entropy, placeholder stopwords and allowlist regexes;
//! 4. context: the words that name the secret (`APPLIVERY_TOKEN=`, `Bearer`, `app_token:`),
//!    the `near` patterns within a window of lines, and the URL hosts of the command it is in.

use std::borrow::Cow;

use crate::rules::{Context, Decode, Rule, Shape};

/// A candidate secret: which rule matched and where the secret lies in the haystack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    pub rule: usize,
    pub start: usize,
    pub end: usize,
}

/// How far before the secret the detector looks for the word that names it.
const SIGNAL_LOOKBACK: usize = 96;
/// The longest previous line consulted when the secret's own line names nothing
/// (`<key>AppliveryToken</key>` above `<string>…</string>`).
const PREVIOUS_LINE_MAX: usize = 256;

pub struct Detector {
    rules: Vec<Rule>,
    /// One alternation of every rule's keywords, ASCII case-insensitive. The regex engine's
    /// literal search (SIMD "Teddy" over the case variants of the keywords' prefixes, as in
    /// ripgrep) runs at memory speed; an Aho-Corasick automaton with ASCII case folding falls
    /// back to a rare-byte prefilter that stops on every `v`/`y` and ran at a third of it.
    keywords: Option<regex::bytes::Regex>,
    /// The lower-cased keyword of each alternative, in order.
    patterns: Vec<String>,
    /// For each keyword pattern, the rules it activates.
    keyword_rules: Vec<Vec<usize>>,
    /// Rules without keywords run on every blob.
    always: Vec<usize>,
    /// Per rule, its keywords lower-cased: the service a key or parent must mention.
    names: Vec<Vec<String>>,
}

impl Detector {
    pub fn new(rules: Vec<Rule>) -> Detector {
        let mut patterns: Vec<String> = Vec::new();
        let mut keyword_rules: Vec<Vec<usize>> = Vec::new();
        let mut always = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            if r.keywords.is_empty() {
                always.push(i);
            }
            for k in &r.keywords {
                let k = k.to_ascii_lowercase();
                match patterns.iter().position(|p| p == &k) {
                    Some(p) => keyword_rules[p].push(i),
                    None => {
                        patterns.push(k);
                        keyword_rules.push(vec![i]);
                    }
                }
            }
        }
        let keywords = if patterns.is_empty() {
            None
        } else {
            let alternation: Vec<String> = patterns.iter().map(|p| regex::escape(p)).collect();
            Some(
                regex::bytes::RegexBuilder::new(&format!("(?i){}", alternation.join("|")))
                    .unicode(false)
                    .size_limit(64 << 20)
                    .build()
                    .expect("keyword regex builds"),
            )
        };
        let names = rules
            .iter()
            .map(|r| r.keywords.iter().map(|k| k.to_ascii_lowercase()).collect())
            .collect();
        Detector {
            names,
            rules,
            keywords,
            patterns,
            keyword_rules,
            always,
        }
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// How many bytes around a match can influence whether it is reported. Chunked scans
    /// overlap by at least this much on each side so a chunk boundary never changes results.
    pub fn margin(&self) -> usize {
        let context = self
            .rules
            .iter()
            .filter_map(|r| r.context.as_ref().map(|c| c.max_distance))
            .max()
            .unwrap_or(0);
        context.max(LINE_LIMIT) + LINE_LIMIT + SIGNAL_LOOKBACK + PREVIOUS_LINE_MAX + MAX_MATCH_LEN
    }

    /// True if any rule could match: the cheap question asked before reading a whole blob.
    pub fn prefilter(&self, hay: &[u8]) -> bool {
        !self.always.is_empty() || self.keywords.as_ref().is_some_and(|k| k.is_match(hay))
    }

    /// Finds every candidate secret in `hay`, sorted by position. Candidates of different
    /// rules that overlap are reported once, for the rule listed first.
    pub fn detect(&self, hay: &[u8]) -> Vec<Candidate> {
        let hits = self.keyword_hits(hay);
        let mut out = Vec::new();
        for ri in 0..self.rules.len() {
            let rule = &self.rules[ri];
            if rule.keywords.is_empty() {
                self.run_rule(ri, hay, 0, hay.len(), &[], &mut out);
                continue;
            }
            let mine: Vec<(usize, usize)> = hits
                .iter()
                .filter(|h| self.keyword_rules[h.2].contains(&ri))
                .map(|h| (h.0, h.1))
                .collect();
            if mine.is_empty() {
                continue;
            }
            match rule.context.as_ref().filter(|c| c.keyword_near) {
                // The keyword must be within `max_distance` of the secret: run the regex
                // only on the regions around keyword occurrences (plus slack so the regex
                // sees whole matches); a megabyte bundle that mentions the keyword once
                // costs a few kilobytes of regex.
                Some(ctx) => {
                    let reach = ctx.max_distance + REGION_SLACK;
                    let mut regions: Vec<(usize, usize)> = Vec::new();
                    for &(ks, ke) in &mine {
                        let (rs, re) = (ks.saturating_sub(reach), (ke + reach).min(hay.len()));
                        match regions.last_mut() {
                            Some(last) if rs <= last.1 => last.1 = last.1.max(re),
                            _ => regions.push((rs, re)),
                        }
                    }
                    for (rs, re) in regions {
                        self.run_rule(ri, hay, rs, re, &mine, &mut out);
                    }
                }
                None => self.run_rule(ri, hay, 0, hay.len(), &mine, &mut out),
            }
        }
        out.sort_by_key(|c| (c.start, c.rule));
        let mut kept: Vec<Candidate> = Vec::with_capacity(out.len());
        for c in out {
            match kept.last() {
                Some(k) if c.start < k.end => {
                    if c.rule < k.rule {
                        *kept.last_mut().unwrap() = c;
                    }
                }
                _ => kept.push(c),
            }
        }
        kept
    }

    /// Every keyword occurrence: start, end, keyword index.
    fn keyword_hits(&self, hay: &[u8]) -> Vec<(usize, usize, usize)> {
        let Some(kw) = &self.keywords else {
            return Vec::new();
        };
        kw.find_iter(hay)
            .filter_map(|m| {
                let p = self
                    .patterns
                    .iter()
                    .position(|p| p.as_bytes().eq_ignore_ascii_case(m.as_bytes()))?;
                Some((m.start(), m.end(), p))
            })
            .collect()
    }

    /// Runs rule `ri` over `hay[from..to]` (the regex sees `to` as the end of input; the
    /// checks see all of `hay`). `hits` are the rule's keyword occurrences.
    fn run_rule(
        &self,
        ri: usize,
        hay: &[u8],
        from: usize,
        to: usize,
        hits: &[(usize, usize)],
        out: &mut Vec<Candidate>,
    ) {
        let rule = &self.rules[ri];
        let mut locs = rule.regex.capture_locations();
        let region = &hay[..to];
        let mut at = from;
        while at <= region.len() {
            let Some(m) = rule.regex.captures_read_at(&mut locs, region, at) else {
                break;
            };
            let Some((s, e)) = locs.get(rule.secret_group) else {
                // The secret group is optional in this regex and did not take part.
                at = next_start(m.start(), m.end());
                continue;
            };
            // Resume right after the secret, not after the whole match: rule regexes often
            // consume one delimiter after the secret that may start the next candidate.
            at = if e > m.start() { e } else { m.end() + 1 };
            if self.accept(ri, hay, s, e, hits) {
                out.push(Candidate {
                    rule: ri,
                    start: s,
                    end: e,
                });
            }
        }
    }

    fn accept(&self, ri: usize, hay: &[u8], s: usize, e: usize, hits: &[(usize, usize)]) -> bool {
        let rule = &self.rules[ri];
        if let Some(ctx) = rule.context.as_ref().filter(|c| c.keyword_near) {
            // A keyword wholly within `max_distance` bytes of the secret (hits are sorted).
            let lo = s.saturating_sub(ctx.max_distance);
            let hi = e + ctx.max_distance;
            let i = hits.partition_point(|h| h.0 < lo);
            if !hits.get(i).is_some_and(|h| h.1 <= hi) {
                return false;
            }
        }
        let check = &rule.secret;
        let decoded;
        let secret: &[u8] = match check.decode {
            Decode::None => &hay[s..e],
            Decode::Base64 => match decode_base64(&hay[s..e]) {
                Some(d) => {
                    decoded = d;
                    &decoded
                }
                None => return false,
            },
        };
        if secret.len() < check.min_len || secret.len() > check.max_len {
            return false;
        }
        if let Some(re) = &check.regex {
            if !re.is_match(secret) {
                return false;
            }
        }
        if check.shape == Shape::Random && !looks_random(secret) {
            return false;
        }
        if let Some(min) = check.min_entropy {
            if shannon_entropy(secret) < min {
                return false;
            }
        }
        let lower = secret.to_ascii_lowercase();
        if rule
            .allowlist
            .stopwords
            .iter()
            .any(|w| contains(&lower, w.as_bytes()))
        {
            return false;
        }
        if rule.allowlist.regexes.iter().any(|r| r.is_match(secret)) {
            return false;
        }
        let (ls, le) = line_bounds_near(hay, s, e, LINE_LIMIT);
        if rule
            .allowlist
            .lines
            .iter()
            .any(|r| r.is_match(&hay[ls..le]))
        {
            return false;
        }
        match &rule.context {
            None => true,
            Some(ctx) => Ctx {
                ctx,
                names: &self.names[ri],
                hay,
            }
            .ok(s, e),
        }
    }

    /// The secret a candidate stands for: the matched bytes, or their decoding for rules
    /// with `secret.decode` (a base64 value in a Kubernetes Secret reports the token itself,
    /// so its hash and verification match the plain token found elsewhere).
    pub fn secret<'h>(&self, c: &Candidate, hay: &'h [u8]) -> Cow<'h, [u8]> {
        let raw = &hay[c.start..c.end];
        match self.rules[c.rule].secret.decode {
            Decode::None => Cow::Borrowed(raw),
            Decode::Base64 => decode_base64(raw).map_or(Cow::Borrowed(raw), Cow::Owned),
        }
    }
}

/// Extra bytes around keyword regions, longer than any match, so a regex started at a
/// region's edge is back in step with a whole-blob scan before it reaches a secret that a
/// keyword can vouch for.
const REGION_SLACK: usize = 4096;

/// The longest secret a chunk overlap must be able to hold whole.
pub const MAX_MATCH_LEN: usize = 4096;

fn next_start(start: usize, end: usize) -> usize {
    if end > start {
        end
    } else {
        end + 1
    }
}

/// Start and end (exclusive, before `\r\n`) of the line holding `s..e`.
pub fn line_bounds(hay: &[u8], s: usize, e: usize) -> (usize, usize) {
    line_bounds_near(hay, s, e, usize::MAX)
}

/// How far the detector looks for the ends of a line. Every check it makes is bounded by
/// this (or by `max_distance`), so a megabyte-long minified line full of candidates costs
/// time linear in its length, and chunked scans that overlap by `margin()` agree with
/// whole-blob scans.
pub const LINE_LIMIT: usize = 4096;

/// Like `line_bounds`, but looks at most `limit` bytes before `s` and after `e`; a line
/// longer than that is cut there (`starts_line` tells a real line start from a cut).
pub fn line_bounds_near(hay: &[u8], s: usize, e: usize, limit: usize) -> (usize, usize) {
    let lo = s.saturating_sub(limit);
    let start = memchr::memrchr(b'\n', &hay[lo..s]).map_or(lo, |p| lo + p + 1);
    let hi = e.saturating_add(limit).min(hay.len());
    let mut end = memchr::memchr(b'\n', &hay[e..hi]).map_or(hi, |p| e + p);
    if end > start && end > e && hay[end - 1] == b'\r' {
        end -= 1;
    }
    (start, end)
}

/// True if `at` is the first byte of a line (not a cut made by `line_bounds_near`).
fn starts_line(hay: &[u8], at: usize) -> bool {
    at == 0 || hay[at - 1] == b'\n'
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// Shannon entropy in bits per byte.
pub fn shannon_entropy(b: &[u8]) -> f64 {
    if b.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &x in b {
        counts[x as usize] += 1;
    }
    let n = b.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

/// True if `s` looks generated rather than written by a person: it mixes upper and lower
/// case, has no run of four equal characters (`xxxx`), and is not an identifier made of
/// words (`ApplicationTokenProvider`, `APPLIVERY_TOKEN_RELEASE`, `my-app-token-name`).
/// A random 24-character base64url token fails this with a probability below 1e-4.
pub fn looks_random(s: &[u8]) -> bool {
    let upper = s.iter().any(u8::is_ascii_uppercase);
    let lower = s.iter().any(u8::is_ascii_lowercase);
    if !(upper && lower) {
        return false;
    }
    if s.windows(4).any(|w| w.iter().all(|&c| c == w[0])) {
        return false;
    }
    !is_word_identifier(s)
}

/// `CamelCaseWords`, `snake_case_words`, `kebab-case-words`, optionally ending in digits.
fn is_word_identifier(s: &[u8]) -> bool {
    let mut i = 0;
    let mut words = 0;
    while i < s.len() {
        let c = s[i];
        if c == b'_' || c == b'-' || c == b'.' {
            i += 1;
            continue;
        }
        if c.is_ascii_digit() {
            // Digits only as a version or counter suffix of a word: `Release2`, `v1`.
            let j = s[i..]
                .iter()
                .position(|b| !b.is_ascii_digit())
                .map_or(s.len(), |p| i + p);
            if j - i > 2 {
                return false;
            }
            i = j;
            continue;
        }
        if !c.is_ascii_alphabetic() {
            return false;
        }
        // A word: one capital then 2+ lower case letters, or 2+ lower case letters,
        // or an all-caps run (acronym or SNAKE_CASE word).
        let mut j = i + 1;
        if c.is_ascii_uppercase() {
            let caps = s[i..].iter().take_while(|b| b.is_ascii_uppercase()).count();
            if caps >= 2 {
                // ACRONYM; when followed by lower case the last capital starts the next word.
                let after = i + caps;
                if after < s.len() && s[after].is_ascii_lowercase() {
                    j = after - 1;
                } else {
                    j = after;
                }
                if j - i < 2 && !(after < s.len() && s[after].is_ascii_lowercase()) {
                    return false;
                }
                words += 1;
                i = j;
                continue;
            }
        }
        let lows = s[j..].iter().take_while(|b| b.is_ascii_lowercase()).count();
        j += lows;
        if j - i < 3 {
            return false;
        }
        words += 1;
        i = j;
    }
    words >= 2
}

/// Decodes standard or URL-safe base64 (padding optional) and drops one trailing newline
/// (`echo $TOKEN | base64` encodes it). None if `b` is not base64.
pub fn decode_base64(b: &[u8]) -> Option<Vec<u8>> {
    fn val(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        } as u32)
    }
    let body = b
        .strip_suffix(b"==")
        .or_else(|| b.strip_suffix(b"="))
        .unwrap_or(b);
    if body.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    for chunk in body.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= val(c)? << (18 - 6 * i);
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..chunk.len() - 1]);
    }
    if out.ends_with(b"\r\n") {
        out.truncate(out.len() - 2);
    } else if out.ends_with(b"\n") {
        out.truncate(out.len() - 1);
    }
    Some(out)
}

/// The context checks of one rule for one haystack.
struct Ctx<'a> {
    ctx: &'a Context,
    /// The rule's keywords, lower-cased: the name of the service (`applivery`). A key or a
    /// parent that contains one names this rule's service.
    names: &'a [String],
    hay: &'a [u8],
}

/// What the key in front of a secret says about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Naming {
    /// The key names this rule's service (`APPLIVERY_TOKEN=`, `Applivery.init(`).
    Ours,
    /// The key is made of generic words (`token:`, `Bearer`, `app_token`): the context decides.
    Generic,
    /// The key names another service (`GITHUB_TOKEN`, `nonce:`).
    Foreign,
    /// Nothing before the secret names it.
    Nothing,
}

/// Whose scope a secret sits in, judged from the structure around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Ours,
    Foreign,
    Unknown,
}

/// Words: letters, digits, `_`, `-`, `.` (`api.applivery.io`, `Applivery.shared.start`).
fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.'
}

/// An HTTP request line (`.http` files, raw requests): the headers below it go to its URL.
const HTTP_METHODS: &[&[u8]] = &[
    b"GET ",
    b"POST ",
    b"PUT ",
    b"PATCH ",
    b"DELETE ",
    b"HEAD ",
    b"OPTIONS ",
];

impl Ctx<'_> {
    fn ok(&self, s: usize, e: usize) -> bool {
        let hay = self.hay;
        let ctx = self.ctx;
        let (ls, le) = line_bounds_near(hay, s, e, LINE_LIMIT);
        // 1. The key that names the secret.
        let mut naming = Naming::Generic;
        if let Some(signal) = &ctx.signal {
            let from = ls.max(s.saturating_sub(SIGNAL_LOOKBACK));
            naming = self.naming(signal, from, s);
            if naming == Naming::Nothing {
                // A trailing comment may name it (`<token>  # applivery upload token`), or
                // the key sits on the line above (`<key>AppliveryToken</key>` over
                // `<string>…</string>`, `- name: appliveryToken` over `value: …`).
                let after = &hay[e..le.min(e + SIGNAL_LOOKBACK).max(e)];
                if after
                    .split(|&b| !is_word_byte(b))
                    .any(|w| signal.is_match(w) && self.mentions(w))
                {
                    naming = Naming::Ours;
                } else if ls == 0 || !starts_line(hay, ls) {
                    return false;
                } else {
                    let (ps, pe) = line_bounds_near(hay, ls - 1, ls - 1, LINE_LIMIT);
                    let ps = ps.max(pe.saturating_sub(PREVIOUS_LINE_MAX));
                    naming = self.naming(signal, ps, pe);
                }
            }
            if matches!(naming, Naming::Foreign | Naming::Nothing) {
                return false;
            }
        }
        let (cs, ce) = logical_line(hay, ls, le, ctx.max_distance, s, e);
        // 2. A generic key is judged by the structure that holds it.
        if naming != Naming::Ours && self.scope(s, ls, cs, ce) == Scope::Foreign {
            return false;
        }
        // 3. Every `near` pattern within the window of lines around the secret.
        if !ctx.near.is_empty() {
            let (ws, we) = self.window(s, e, ls, le);
            let window = &hay[ws..we];
            if !ctx.near.iter().all(|r| r.is_match(window)) {
                return false;
            }
        }
        // 4. URLs of the command (or HTTP request) that carries the secret must include an
        // expected host.
        if !ctx.hosts.is_empty() {
            match hosts_ok(&hay[cs..ce], &ctx.hosts) {
                Some(ok) => return ok,
                None => {
                    if let Some((rs, re)) = self.request_line(cs) {
                        return hosts_ok(&hay[rs..re], &ctx.hosts) != Some(false);
                    }
                }
            }
        }
        true
    }

    /// True if `text` contains one of the rule's names (`applivery`), ignoring case.
    fn mentions(&self, text: &[u8]) -> bool {
        self.names.iter().any(|n| {
            !n.is_empty()
                && text
                    .windows(n.len())
                    .any(|w| w.eq_ignore_ascii_case(n.as_bytes()))
        })
    }

    fn is_generic(&self, word: &[u8]) -> bool {
        let parts = split_words(word);
        !parts.is_empty()
            && parts
                .iter()
                .all(|p| self.ctx.generic_key_words.iter().any(|g| g == p))
    }

    /// Looks at the words in `from..to`, last first, for the key that names what follows.
    /// A word the signal matches decides (`APPLIVERY_TOKEN` ours, `token` generic,
    /// `GITHUB_TOKEN` foreign); another key (`nonce:`, `cacheKey=`) means the value is
    /// something else; other words (arguments such as `this`) are passed over.
    fn naming(&self, signal: &regex::bytes::Regex, from: usize, to: usize) -> Naming {
        let hay = self.hay;
        let mut i = to;
        while i > from {
            if !is_word_byte(hay[i - 1]) {
                i -= 1;
                continue;
            }
            let end = i;
            while i > from && is_word_byte(hay[i - 1]) {
                i -= 1;
            }
            let mut w = &hay[i..end];
            // A method call names nothing by its method: `appToken.set(`, `applivery.setToken(`
            // are judged by what they are called on (`sentry.auth.token=` is not a call).
            let mut call = false;
            if hay.get(end) == Some(&b'(') {
                if let Some(dot) = w.iter().rposition(|&b| b == b'.') {
                    w = &w[..dot];
                    call = true;
                }
            }
            if !w.iter().any(u8::is_ascii_alphabetic) {
                continue;
            }
            if signal.is_match(w) {
                return if self.mentions(w) {
                    Naming::Ours
                } else if self.is_generic(w) {
                    Naming::Generic
                } else {
                    Naming::Foreign
                };
            }
            // Another key (`nonce:`), or a call on another object (`sentry.setToken(`).
            if (call || is_key(&hay[end..to])) && !self.is_generic(w) && !self.mentions(w) {
                return Naming::Foreign;
            }
        }
        Naming::Nothing
    }

    /// The innermost enclosing key of the secret decides whose it is: first brackets on its
    /// line (`{"sentry":{"authToken":"…"}}`, `Applivery.shared.start(token: …)`), then the
    /// command itself (`curl … https://upload.applivery.io …`), then less-indented lines
    /// above (`sentry:` over `  auth_token: …`). Keyless openers (`[{`, `- `), block scalars
    /// (`run: |`) and lines that are not `key:` are passed over; a parent that mentions the
    /// service wins; the first keyed parent decides: generic words leave it open, any other
    /// key names another service.
    fn scope(&self, s: usize, ls: usize, cs: usize, ce: usize) -> Scope {
        let hay = self.hay;
        let lo = ls.max(s.saturating_sub(self.ctx.max_distance));
        let mut depth = 0usize;
        let mut i = s;
        while i > lo {
            i -= 1;
            match hay[i] {
                b'}' | b']' | b')' => depth += 1,
                b'{' | b'[' | b'(' if depth > 0 => depth -= 1,
                b'{' | b'[' | b'(' => {
                    let mut key = word_before(hay, lo, i);
                    if hay[i] == b'(' {
                        // A call is judged by what it is called on (`Sentry.init(`,
                        // `Applivery.shared.start(`, `appToken.set(`); a plain function
                        // name (`configure(`) says nothing about the service.
                        key = key
                            .iter()
                            .rposition(|&b| b == b'.')
                            .map_or(&[][..], |d| &key[..d]);
                    }
                    if key.is_empty() {
                        continue;
                    }
                    return self.classify(key);
                }
                _ => {}
            }
        }
        if self.mentions(&hay[cs..ce]) {
            return Scope::Ours;
        }
        // Less-indented lines above the command.
        let mut indent = indentation(&hay[cs..ce]);
        let lo = cs.saturating_sub(self.ctx.max_distance);
        let mut at = cs;
        let mut lines = 0;
        while indent > 0 && at > lo && lines < self.ctx.lines_before {
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
            if self.mentions(line) {
                return Scope::Ours;
            }
            match line_key(line) {
                None => continue,
                Some(key) => return self.classify(key),
            }
        }
        Scope::Unknown
    }

    fn classify(&self, key: &[u8]) -> Scope {
        if self.mentions(key) {
            Scope::Ours
        } else if self.is_generic(key) {
            Scope::Unknown
        } else {
            Scope::Foreign
        }
    }

    /// The lines around the secret in which every `near` pattern must match: up to
    /// `lines_before`/`lines_after` lines and `max_distance` bytes each side, and not across
    /// a `section_break` line (`---`, `### next request`, `[table]`); a break line above is
    /// part of the window, since it often names the section.
    fn window(&self, s: usize, e: usize, ls: usize, le: usize) -> (usize, usize) {
        let hay = self.hay;
        let ctx = self.ctx;
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
            if we >= hi {
                break;
            }
            let next = (we + 1).min(hay.len());
            let next = if hay.get(we) == Some(&b'\r') {
                (we + 2).min(hay.len())
            } else {
                next
            };
            if next >= hay.len() {
                we = hay.len();
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
    fn request_line(&self, cs: usize) -> Option<(usize, usize)> {
        let hay = self.hay;
        let lo = cs.saturating_sub(self.ctx.max_distance);
        let mut at = cs;
        for _ in 0..self.ctx.lines_before {
            if at == 0 || at <= lo {
                break;
            }
            let (ps, pe) = line_bounds_near(hay, at - 1, at - 1, LINE_LIMIT);
            at = ps;
            let line = &hay[ps..pe];
            if line.iter().all(u8::is_ascii_whitespace) {
                return None;
            }
            if HTTP_METHODS.iter().any(|m| line.starts_with(m)) {
                return Some((ps, pe));
            }
        }
        None
    }
}

/// True if the text after a word makes it a key: `key: v`, `"key": v`, `key = v`, `key => v`.
fn is_key(after: &[u8]) -> bool {
    let rest = after
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'"' | b'\'' | b'\\' | b'`'))
        .map_or(&[][..], |p| &after[p..]);
    matches!(rest.first(), Some(b':' | b'='))
}

/// The word just before an opening bracket (`"sentry": {` → `sentry`, `start(` → `start`).
fn word_before(hay: &[u8], lo: usize, mut i: usize) -> &[u8] {
    while i > lo
        && matches!(
            hay[i - 1],
            b' ' | b'\t' | b':' | b'=' | b'"' | b'\'' | b'\\'
        )
    {
        i -= 1;
    }
    let end = i;
    while i > lo && is_word_byte(hay[i - 1]) {
        i -= 1;
    }
    &hay[i..end]
}

/// The key a line opens (`  sentry:`, `- "credentials": {`, `android {`), or None for
/// lines that are not keys (`curl …`, `func f() {`) and block scalars (`run: |`), whose
/// contents are text rather than structure.
fn line_key(line: &[u8]) -> Option<&[u8]> {
    let mut t = line.trim_ascii_start();
    if let Some(r) = t.strip_prefix(b"- ") {
        t = r.trim_ascii_start();
    }
    let t = t.strip_prefix(b"\"").or(t.strip_prefix(b"'")).unwrap_or(t);
    let n = t.iter().take_while(|&&b| is_word_byte(b)).count();
    if n == 0 {
        return None;
    }
    let key = &t[..n];
    let rest = t[n..].strip_prefix(b"\"").or(t[n..].strip_prefix(b"'"));
    let rest = rest.unwrap_or(&t[n..]).trim_ascii_start();
    match rest.first() {
        Some(b':') => {
            let v = rest[1..].trim_ascii();
            if v.starts_with(b"|") || v.starts_with(b">") {
                None
            } else {
                Some(key)
            }
        }
        Some(b'=' | b'{' | b'(') => Some(key),
        _ => None,
    }
}

fn indentation(line: &[u8]) -> usize {
    line.iter()
        .take_while(|&&b| b == b' ' || b == b'\t')
        .count()
}

/// Splits `APPLIVERY_APP_TOKEN`, `appliveryAppToken`, `applivery.app-token` into lower-case
/// words.
pub fn split_words(key: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for &b in key {
        if !b.is_ascii_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if b.is_ascii_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        prev_lower = b.is_ascii_lowercase() || b.is_ascii_digit();
        cur.push(b.to_ascii_lowercase() as char);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out.retain(|w| !w.bytes().all(|b| b.is_ascii_digit()));
    out
}

/// The command the line belongs to: joined across `\` (shell), `` ` `` (PowerShell) and
/// `^` (cmd) line continuations, bounded to `max` bytes each side of the secret.
fn logical_line(
    hay: &[u8],
    ls: usize,
    le: usize,
    max: usize,
    s: usize,
    e: usize,
) -> (usize, usize) {
    let continues = |end: usize| {
        let mut i = end;
        let stop = end.saturating_sub(64);
        while i > stop && (hay[i - 1] == b'\r' || hay[i - 1] == b' ' || hay[i - 1] == b'\t') {
            i -= 1;
        }
        i > 0 && matches!(hay[i - 1], b'\\' | b'`' | b'^')
    };
    let lo = s.saturating_sub(max);
    let hi = (e + max).min(hay.len());
    let mut cs = ls;
    while cs > lo && starts_line(hay, cs) && cs > 0 {
        // `cs - 1` is the '\n' ending the previous line.
        let prev_end = cs - 1;
        if !continues(prev_end) {
            break;
        }
        cs = memchr::memrchr(b'\n', &hay[lo..prev_end]).map_or(lo, |p| lo + p + 1);
    }
    let mut ce = le;
    while ce < hi && continues(ce) {
        let from = (ce + 1).min(hi);
        ce = memchr::memchr(b'\n', &hay[from..hi]).map_or(hi, |p| from + p);
    }
    (cs.max(lo), ce.min(hi))
}

/// None if `text` names no http(s) URL; else whether one of them has an allowed host.
fn hosts_ok(text: &[u8], hosts: &[String]) -> Option<bool> {
    let mut saw_url = false;
    let mut i = 0;
    while let Some(p) = find_ci(&text[i..], b"://") {
        let at = i + p;
        i = at + 3;
        let scheme = &text[at.saturating_sub(5)..at];
        let scheme_ok = scheme.len() >= 4
            && (scheme[scheme.len() - 4..].eq_ignore_ascii_case(b"http")
                || scheme.eq_ignore_ascii_case(b"https"));
        if !scheme_ok {
            continue;
        }
        let host: Vec<u8> = text[i..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'.' || **b == b'-')
            .map(u8::to_ascii_lowercase)
            .collect();
        if host.is_empty() {
            continue;
        }
        saw_url = true;
        if hosts.iter().any(|h| {
            host == h.as_bytes()
                || (host.len() > h.len()
                    && host.ends_with(h.as_bytes())
                    && host[host.len() - h.len() - 1] == b'.')
        }) {
            return Some(true);
        }
    }
    saw_url.then_some(false)
}

fn find_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::default_rules;

    fn det() -> Detector {
        Detector::new(default_rules())
    }

    fn secrets(text: &str) -> Vec<String> {
        let d = det();
        d.detect(text.as_bytes())
            .into_iter()
            .map(|c| text[c.start..c.end].to_string())
            .collect()
    }

    const T: &str = "Zk3qP9xVb2LmN7wQe4RtY6uA"; // obviously fake, correctly shaped

    #[test]
    fn service_account_token_assigned_in_env_file() {
        // The `=` before the value once kept the Service Account rule from matching.
        let sa = "Xk3qP9xVb2LmN7wQe4RtY6uAZk3qP9xVb2LmN7wQe4RtY6uA1b";
        assert_eq!(
            secrets(&format!("APPLIVERY_SERVICE_ACCOUNT_TOKEN={sa}\n")),
            vec![sa]
        );
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzYSJ9.Xk3qP9xVb2LmN7wQe4RtY6uAZk3qP9x";
        assert_eq!(
            secrets(&format!(
                "# applivery service account sa@5f1a.iam.applivery.io\nAPPLIVERY_SA_TOKEN={jwt}\n"
            )),
            vec![jwt]
        );
    }

    #[test]
    fn env_assignment() {
        assert_eq!(secrets(&format!("APPLIVERY_APP_TOKEN={T}\n")), vec![T]);
    }

    #[test]
    fn token_at_start_and_end_of_file() {
        assert_eq!(secrets(&format!("{T} # applivery token")), vec![T]);
        assert_eq!(secrets(&format!("applivery_token: {T}")), vec![T]);
    }

    #[test]
    fn crlf_lines() {
        assert_eq!(
            secrets(&format!("applivery:\r\n  app_token: \"{T}\"\r\n")),
            vec![T]
        );
    }

    #[test]
    fn other_service_keys_are_not_reported() {
        assert!(secrets(&format!("# applivery\nGITHUB_TOKEN={T}\n")).is_empty());
        assert!(secrets(&format!("# applivery\nsentry.auth.token={T}\n")).is_empty());
    }

    #[test]
    fn bearer_to_other_host_is_not_reported() {
        let s = format!(
            "# upload to applivery later\ncurl -H \"Authorization: Bearer {T}\" https://api.github.com/repos\n"
        );
        assert!(secrets(&s).is_empty());
        let s = format!(
            "curl -X POST https://upload.applivery.io/v1/integrations/builds \\\n  -H \"Authorization: Bearer {T}\" \\\n  -F build=@app.ipa\n"
        );
        assert_eq!(secrets(&s), vec![T]);
    }

    #[test]
    fn identifiers_and_placeholders_are_not_secrets() {
        for v in [
            "YOUR_APPLIVERY_APP_TOKEN",
            "ApplicationTokenProvider",
            "xxxxxxxxxxxxxxxxxxxxxxxx",
            "5f1a2b3c4d5e6f7a8b9c0d1e",
            "APPLIVERY_TOKEN_RELEASE1",
            "my-applivery-token-value",
        ] {
            assert!(
                secrets(&format!("APPLIVERY_TOKEN={v}\n")).is_empty(),
                "{v} reported"
            );
        }
        assert!(secrets("APPLIVERY_TOKEN=${APPLIVERY_TOKEN_FOR_RELEASES}\n").is_empty());
        assert!(secrets("applivery_token: $APPLIVERY_API_TOKEN_PROD_X\n").is_empty());
    }

    #[test]
    fn no_context_no_finding() {
        assert!(secrets(&format!("token = \"{T}\"\n")).is_empty());
    }

    #[test]
    fn invalid_utf8_around_the_token() {
        let mut b = b"\xff\xfe applivery_token=".to_vec();
        b.extend_from_slice(T.as_bytes());
        b.extend_from_slice(b"\xff\n");
        let c = det().detect(&b);
        assert_eq!(c.len(), 1);
        assert_eq!(&b[c[0].start..c[0].end], T.as_bytes());
    }

    #[test]
    fn very_long_line() {
        let mut s = "a".repeat(1 << 20);
        s.push_str(&format!(" applivery.token={T} "));
        s.push_str(&"b".repeat(1 << 20));
        assert_eq!(secrets(&s), vec![T]);
    }

    #[test]
    fn entropy_and_words() {
        assert!(shannon_entropy(b"aaaa") < 0.1);
        assert_eq!(
            split_words(b"appliveryAppToken"),
            vec!["applivery", "app", "token"]
        );
        assert_eq!(
            split_words(b"APPLIVERY_APP_TOKEN"),
            vec!["applivery", "app", "token"]
        );
        assert!(looks_random(T.as_bytes()));
        assert!(!looks_random(b"ApplicationTokenProvider"));
    }

    #[test]
    fn parents_decide_for_generic_keys() {
        // Indentation: the innermost keyed parent names the service.
        assert_eq!(
            secrets(&format!("applivery:\n  upload:\n    token: {T}\n")),
            vec![T]
        );
        assert!(secrets(&format!("applivery:\n  x: 1\nsentry:\n  auth_token: {T}\n")).is_empty());
        // Brackets on one line (minified JSON).
        let ok = format!("{{\"applivery\":{{\"appToken\":\"{T}\"}}}}");
        assert_eq!(secrets(&ok), vec![T]);
        let foreign = format!("{{\"applivery\":{{}},\"sentry\":{{\"authToken\":\"{T}\"}}}}");
        assert!(secrets(&foreign).is_empty());
        // A block scalar's parent is not a key: the step name decides.
        let gha = format!(
            "      - name: Upload to Applivery\n        run: |\n          curl -H \"Authorization: Bearer {T}\" \"$URL\"\n"
        );
        assert_eq!(secrets(&gha), vec![T]);
        // A call of the SDK names it.
        assert_eq!(
            secrets(&format!("  Applivery.shared.start(token: \"{T}\")\n")),
            vec![T]
        );
    }

    #[test]
    fn nearest_key_decides() {
        // Keys of other things next to applivery mentions.
        assert!(secrets(&format!(
            "x={{url:\"https://api.applivery.io\",nonce:\"{T}\"}}"
        ))
        .is_empty());
        // Arguments before the value do not hide the call that names it.
        assert_eq!(
            secrets(&format!("Applivery.init(this, \"{T}\", false)\n")),
            vec![T]
        );
    }

    #[test]
    fn sections_bound_the_window() {
        let toml = format!("[applivery]\nid = 1\n\n[sentry]\ntoken = \"{T}\"\n");
        assert!(secrets(&toml).is_empty());
        let toml = format!("[applivery]\ntoken = \"{T}\"\n[sentry]\nx = 1\n");
        assert_eq!(secrets(&toml), vec![T]);
        let yaml = format!("name: applivery\n---\nkind: Secret\nstringData:\n  token: {T}\n");
        assert!(secrets(&yaml).is_empty());
    }

    #[test]
    fn http_request_line_is_the_url() {
        let ok = format!("### applivery\nPOST https://upload.applivery.io/v1/integrations/builds\nAuthorization: Bearer {T}\n");
        assert_eq!(secrets(&ok), vec![T]);
        let other = format!("# applivery uploads are elsewhere\nGET https://api.github.com/user\nAuthorization: Bearer {T}\n");
        assert!(secrets(&other).is_empty());
    }

    #[test]
    fn base64_values_are_decoded() {
        assert_eq!(decode_base64(b"aGVsbG8=").unwrap(), b"hello");
        assert_eq!(decode_base64(b"aGVsbG8K").unwrap(), b"hello");
        assert_eq!(decode_base64(b"aGVsbG8").unwrap(), b"hello");
        assert!(decode_base64(b"a").is_none());
        assert!(decode_base64(b"aGV*bG8=").is_none());
        // Kubernetes Secret data: the finding is at the base64 text, the secret is the token.
        let b64 = "WmszcVA5eFZiMkxtTjd3UWU0UnRZNnVB"; // base64 of T
        let text = format!("kind: Secret\ndata:\n  APPLIVERY_APP_TOKEN: {b64}\r\n");
        let d = det();
        let c = d.detect(text.as_bytes());
        assert_eq!(c.len(), 1);
        assert_eq!(&text[c[0].start..c[0].end], b64);
        assert_eq!(&*d.secret(&c[0], text.as_bytes()), T.as_bytes());
        // Base64 of a look-alike is still a look-alike.
        let text = "APPLIVERY_APP_TOKEN: eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4\n"; // 24 x
        assert!(det().detect(text.as_bytes()).is_empty());
    }

    #[test]
    fn crlf_everywhere() {
        let s = format!(
            "curl -X POST https://upload.applivery.io/v1/integrations/builds \\\r\n  -H \"Authorization: Bearer {T}\" \\\r\n  -F build=@a.ipa\r\n"
        );
        assert_eq!(secrets(&s), vec![T]);
        let s = format!("<key>AppliveryAppToken</key>\r\n\t<string>{T}</string>\r\n");
        assert_eq!(secrets(&s), vec![T]);
    }

    #[test]
    fn token_alone_at_start_or_end() {
        // At offset 0 and at the very end, named by the line above or a trailing comment.
        assert_eq!(secrets(&format!("{T}  # applivery app token\n")), vec![T]);
        assert_eq!(secrets(&format!("applivery_token:\n{T}")), vec![T]);
        assert!(secrets(T).is_empty());
    }

    #[test]
    fn long_minified_line_with_many_candidates() {
        // 1 MiB of 24-character look-alikes on one line around one real leak.
        let mut s = String::from("var cfg={");
        for i in 0..40_000 {
            s.push_str(&format!(
                "k{i}:\"{}\",",
                &"AbCdEfGhIjKlMnOpQrStUvWxYz"[i % 3..i % 3 + 24]
            ));
        }
        s.push_str(&format!("appliveryToken:\"{T}\"}};"));
        assert_eq!(secrets(&s), vec![T]);
    }

    #[test]
    fn keyword_regions_give_the_same_findings_as_whole_scans() {
        // The same rules without `keyword_near` scan the whole blob; with it, only regions
        // around "applivery". Findings must not differ.
        let whole_rules = crate::rules::DEFAULT_RULES.replace("keyword_near = true", "");
        let whole = Detector::new(crate::rules::parse_rules(&whole_rules, "t").unwrap());
        let near = det();
        let mut seed = 7u64;
        let mut text = String::new();
        for i in 0..3000 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let tok: String = (0..24)
                .map(|k| {
                    b"AbCdEfGhJkMnPqRsTuVwXyZ0123456789_-aBcDeFgH"
                        [((seed >> (k + 20)) % 43) as usize] as char
                })
                .collect();
            match seed % 9 {
                0 => text.push_str(&format!("APPLIVERY_TOKEN={tok}\n")),
                1 => text.push_str(&format!("token: {tok}\n")),
                2 => text.push_str("# applivery\n"),
                3 => text.push_str(&"filler line of text without the word\n".repeat(60)),
                _ => text.push_str(&format!("let v{i} = \"{tok}\";\n")),
            }
        }
        let a = whole.detect(text.as_bytes());
        let b = near.detect(text.as_bytes());
        assert!(a.len() > 50, "{}", a.len());
        assert_eq!(a, b);
    }

    #[test]
    fn random_structure_never_panics() {
        // Fragments that drive every branch of the context checks, shuffled into short blobs:
        // brackets, keys, continuations, CRLF, section breaks, request lines, URLs, tokens.
        const PARTS: &[&str] = &[
            "\n",
            "\r\n",
            "\r",
            " ",
            "  ",
            "\t",
            "{",
            "}",
            "(",
            ")",
            "[",
            "]",
            ":",
            "=",
            "\"",
            "'",
            "\\",
            "`",
            "^",
            ",",
            "- ",
            "---",
            "###",
            "[applivery]",
            "POST ",
            "GET ",
            "https://",
            "http://",
            "upload.applivery.io",
            "api.github.com",
            "/v1/x",
            "applivery",
            "APPLIVERY_TOKEN",
            "token",
            "Bearer ",
            "run: |",
            "sentry:",
            "value",
            "|",
            "\u{e9}",
            "\u{ff}",
            T,
            "WmszcVA5eFZiMkxtTjd3UWU0UnRZNnVB",
            "Cg==",
            "Zk3qP9xVb2LmN7wQe4RtY6uAZk3qP9xVb2LmN7wQe4Rt",
        ];
        let d = det();
        let mut seed = 0x1234_5678_9abc_def0u64;
        for round in 0..3000 {
            let mut blob = Vec::new();
            let n = 1 + round % 40;
            for _ in 0..n {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                blob.extend_from_slice(PARTS[(seed % PARTS.len() as u64) as usize].as_bytes());
                if seed % 31 == 0 {
                    blob.push(0xC3); // a cut UTF-8 sequence
                }
            }
            for c in d.detect(&blob) {
                assert!(c.start < c.end && c.end <= blob.len());
                let _ = d.secret(&c, &blob);
            }
        }
    }

    #[test]
    fn method_calls_and_type_annotations() {
        assert_eq!(
            secrets(&format!("applivery {{\n    appToken.set(\"{T}\")\n}}\n")),
            vec![T]
        );
        assert_eq!(secrets(&format!("applivery.setToken(\"{T}\")\n")), vec![T]);
        assert_eq!(
            secrets(&format!("APPLIVERY_TOKEN: str = \"{T}\"\n")),
            vec![T]
        );
        assert!(secrets(&format!("# applivery\nsentry.setToken(\"{T}\")\n")).is_empty());
        assert!(secrets(&format!("# applivery\nSentry.init(token: \"{T}\")\n")).is_empty());
    }
}
