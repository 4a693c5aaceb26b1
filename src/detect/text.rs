//! Text helpers of the detector: lines and their bounded ends, commands joined over line
//! continuations, keys and the words they are made of, URLs and their hosts. Every
//! look-around is bounded, so a megabyte-long minified line costs linear time.

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
pub(crate) fn starts_line(hay: &[u8], at: usize) -> bool {
    at == 0 || hay[at - 1] == b'\n'
}

/// Words: letters, digits, `_`, `-`, `.` (`api.applivery.io`, `Applivery.shared.start`).
pub(crate) fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.'
}

/// True if the text after a word makes it a key: `key: v`, `"key": v`, `key = v`, `key => v`.
pub(crate) fn is_key(after: &[u8]) -> bool {
    let rest = after
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'"' | b'\'' | b'\\' | b'`'))
        .map_or(&[][..], |p| &after[p..]);
    matches!(rest.first(), Some(b':' | b'='))
}

/// The word just before an opening bracket (`"sentry": {` → `sentry`, `start(` → `start`).
pub(crate) fn word_before(hay: &[u8], lo: usize, mut i: usize) -> &[u8] {
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
pub(crate) fn line_key(line: &[u8]) -> Option<&[u8]> {
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

pub(crate) fn indentation(line: &[u8]) -> usize {
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
pub(crate) fn logical_line(
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

/// What the URLs of a command say about its hosts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Urls {
    /// No http(s) URL.
    None,
    /// A URL on one of the hosts (the first such host, lower case).
    Ours(Vec<u8>),
    /// URLs, none on the hosts.
    Others,
}

/// The hosts of the http(s) URLs in `text`, matched against `hosts` (a host or any of its
/// subdomains).
pub(crate) fn urls(text: &[u8], hosts: &[String]) -> Urls {
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
            return Urls::Ours(host);
        }
    }
    if saw_url {
        Urls::Others
    } else {
        Urls::None
    }
}

/// Whether the URLs in `text` go to one of `hosts`: `None` without URLs.
pub(crate) fn hosts_ok(text: &[u8], hosts: &[String]) -> Option<bool> {
    match urls(text, hosts) {
        Urls::None => None,
        Urls::Ours(_) => Some(true),
        Urls::Others => Some(false),
    }
}

/// The first occurrence of `needle` in `hay`, ignoring ASCII case.
pub(crate) fn find_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    // Candidates hold the needle's rarest letter (in either case) at its place; memchr2 finds
    // them fast. The first letter (`t` of `token`) is everywhere in code and stopped the
    // search every few bytes; `k` rarely does.
    let r = rarest(needle);
    let (a, b) = (
        needle[r].to_ascii_lowercase(),
        needle[r].to_ascii_uppercase(),
    );
    let last = hay.len() - needle.len();
    memchr::memchr2_iter(a, b, &hay[r..=last + r])
        .find(|&p| hay[p..p + needle.len()].eq_ignore_ascii_case(needle))
}

/// The index of the letter of `needle` rarest in English text and code (the first byte if it
/// has no letter).
fn rarest(needle: &[u8]) -> usize {
    // Letters from rarest to most common.
    const ORDER: &[u8; 26] = b"zqxjkvbpygfwmucldrhsnioate";
    let rank = |c: u8| {
        let c = c.to_ascii_lowercase();
        ORDER.iter().position(|&o| o == c).unwrap_or(usize::MAX)
    };
    (0..needle.len())
        .min_by_key(|&i| rank(needle[i]))
        .unwrap_or(0)
}

pub(crate) fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    find_ci(hay, needle).is_some()
}
