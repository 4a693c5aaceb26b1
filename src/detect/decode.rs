//! Values as written are not always the secret: base64 (standard or URL-safe, padded or not)
//! under any key, a base64 document (`.env`, JSON) holding one — nested up to three deep —,
//! `%XX` URL-encoding, `\u002d` escapes, a value split over lines by `\` continuations or
//! built from string literals (`"abc" + "def"`). This pass finds such text around the
//! keywords (and wherever base64 of a keyword occurs), decodes it, and runs the rules on the
//! result. A finding keeps the position of the text as written and says how it was decoded.

use super::context::{Flow, Judge, Outer};
use super::keywords::Hit;
use super::{Candidate, Detector, Evidence, EvidenceKind};

/// One decoding pass over a haystack.
pub(super) struct Pass<'a> {
    pub det: &'a Detector,
    pub hay: &'a [u8],
    pub outer: Outer,
    pub depth: usize,
    pub flow: &'a Flow,
    pub hits: &'a [Hit],
    /// Scans a decoded document as a blob of its own (`engine::detect`): handed down, as
    /// decoding sits below the engine that calls it.
    pub rescan: Rescan,
}

/// `engine::detect`'s signature: detector, text, outer scope, depth, project names, path.
pub(super) type Rescan = fn(&Detector, &[u8], Outer, usize, &[Vec<u8>], &[u8]) -> Vec<Candidate>;

/// The longest text decoded as one value.
const MAX_ENCODED: usize = 1 << 20;

/// Per byte: bit 1 a base64 character (standard or URL-safe), bit 2 a token character. The
/// decoding pass reads every byte of the regions around keywords; a table lookup is its
/// cheapest test.
const CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        if c.is_ascii_alphanumeric() || c == b'-' || c == b'_' {
            t[b] = B64 | TOKEN;
        } else if c == b'+' || c == b'/' {
            t[b] = B64;
        }
        b += 1;
    }
    t
};
const B64: u8 = 1;
const TOKEN: u8 = 2;

fn b64_byte(b: u8) -> bool {
    CLASS[b as usize] & B64 != 0
}

fn token_byte(b: u8) -> bool {
    CLASS[b as usize] & TOKEN != 0
}

impl Pass<'_> {
    pub(super) fn run(
        &self,
        regions: &[(usize, usize)],
        encoded: &[(usize, usize)],
        out: &mut Vec<Candidate>,
    ) {
        let hay = self.hay;
        let mut runs: Vec<(usize, usize)> = Vec::new();
        for &(rs, re) in regions {
            let mut i = rs;
            while i < re {
                if !b64_byte(hay[i]) || (i > 0 && b64_byte(hay[i - 1]) && i > rs) {
                    i += 1;
                    continue;
                }
                let start = i;
                while i < hay.len() && b64_byte(hay[i]) {
                    i += 1;
                }
                let mut end = i;
                while end < hay.len() && end - i < 2 && hay[end] == b'=' {
                    end += 1;
                }
                if end - start >= 32 && end - start <= MAX_ENCODED {
                    runs.push((start, end));
                }
                // The run's leading token characters (a token character is a base64 one),
                // read once for both of the checks below.
                let plain = start + hay[start..i].iter().take_while(|&&b| token_byte(b)).count();
                self.escaped(start, plain, out);
                self.joined(start, plain, out);
                i = end.max(start + 1);
            }
        }
        // Base64 of a keyword: the whole run around it is a document to decode.
        for &(s, e) in encoded {
            let mut a = s;
            while a > 0 && b64_byte(hay[a - 1]) && s - a < MAX_ENCODED {
                a -= 1;
            }
            let mut b = e;
            while b < hay.len() && b64_byte(hay[b]) && b - e < MAX_ENCODED {
                b += 1;
            }
            while b < hay.len() && hay[b] == b'=' && b < e + MAX_ENCODED {
                b += 1;
            }
            runs.push((a, b));
        }
        runs.sort_unstable();
        runs.dedup();
        for (s, e) in runs {
            self.base64(s, e, out);
        }
    }

    fn judge(&self, ri: usize) -> Judge<'_> {
        Judge {
            det: self.det,
            ri,
            hay: self.hay,
            outer: self.outer,
            flow: self.flow,
            hits: &[],
        }
    }

    /// Runs every rule's regex on a decoded value standing for `s..e`; a whole-value match is
    /// a candidate judged where the encoded text stands.
    fn value(
        &self,
        s: usize,
        e: usize,
        value: &[u8],
        how: Vec<&'static str>,
        out: &mut Vec<Candidate>,
    ) {
        for (ri, rule) in self.det.rules.iter().enumerate() {
            let Some(caps) = rule.regex.captures(value) else {
                continue;
            };
            let Some(m) = caps.get(rule.secret_group()) else {
                continue;
            };
            if m.start() != 0 || m.end() != value.len() {
                continue;
            }
            let hits: Vec<(usize, usize)> = self
                .hits
                .iter()
                .filter(|h| !h.encoded)
                .map(|h| (h.start, h.end))
                .collect();
            let judge = Judge {
                hits: &hits,
                ..self.judge(ri)
            };
            if let Some(evidence) = judge.accept(s, e, value) {
                out.push(Candidate {
                    rule: ri,
                    start: s,
                    end: e,
                    secret: Some(value.to_vec()),
                    decoded: how.clone(),
                    evidence,
                });
            }
        }
    }

    fn base64(&self, s: usize, e: usize, out: &mut Vec<Candidate>) {
        let Some(mut decoded) = decode_base64(&self.hay[s..e]) else {
            return;
        };
        if decoded.is_empty() || !printable(&decoded) {
            return;
        }
        if !decoded.iter().any(|b| b.is_ascii_whitespace()) && decoded.len() <= 600 {
            self.value(s, e, &decoded, vec!["base64"], out);
            // Base64 of base64 goes on as a document.
            if decoded.len() < 32 || !decoded.iter().all(|&b| b64_byte(b) || b == b'=') {
                return;
            }
        }
        // A document: judge it on its own, vouched for by where it stands.
        let outer = if self.outer.ours() || self.judge(0).vouches(s, e) {
            Outer::Secret
        } else {
            Outer::Unknown
        };
        decoded.push(b'\n');
        for c in (self.rescan)(self.det, &decoded, outer, self.depth + 1, &[], b"") {
            let secret = self.det.secret(&c, &decoded).into_owned();
            let mut how = vec!["base64"];
            how.extend(c.decoded);
            // The inner evidence lies in the decoded text, not here: kept as words.
            let mut evidence = vec![Evidence {
                kind: EvidenceKind::Decoded,
                text: "a base64 document".into(),
                at: Some(s),
            }];
            evidence.extend(c.evidence.into_iter().map(|x| Evidence { at: None, ..x }));
            out.push(Candidate {
                rule: c.rule,
                start: s,
                end: e,
                secret: Some(secret),
                decoded: how,
                evidence,
            });
        }
    }

    /// `%2D`, `\u002d`, `\x2d` inside a token-shaped run; `plain` is where the run's token
    /// characters from `s` end.
    fn escaped(&self, s: usize, plain: usize, out: &mut Vec<Candidate>) {
        let hay = self.hay;
        if s > 0 && (token_byte(hay[s - 1]) || hay[s - 1] == b'%' || hay[s - 1] == b'\\') {
            return;
        }
        // Most runs end without an escape: nothing to decode.
        if !matches!(hay.get(plain), Some(b'%' | b'\\')) {
            return;
        }
        let mut i = s;
        let mut value = Vec::new();
        let mut how = None;
        while i < hay.len() && value.len() <= 512 {
            let b = hay[i];
            if token_byte(b) {
                value.push(b);
                i += 1;
                continue;
            }
            let esc = match b {
                b'%' => hex_at(hay, i + 1, 2).map(|v| (v, 3, "url")),
                b'\\' if hay.get(i + 1) == Some(&b'u') => {
                    hex_at(hay, i + 2, 4).map(|v| (v, 6, "escape"))
                }
                b'\\' if hay.get(i + 1) == Some(&b'x') => {
                    hex_at(hay, i + 2, 2).map(|v| (v, 4, "escape"))
                }
                _ => None,
            };
            match esc {
                Some((v, n, kind)) if v < 128 && token_byte(v as u8) => {
                    value.push(v as u8);
                    how = Some(kind);
                    i += n;
                }
                _ => break,
            }
        }
        if let Some(kind) = how {
            self.value(s, i, &value, vec![kind], out);
        }
    }

    /// A value split by `\`-newline continuations, or built from adjacent or concatenated
    /// string literals (`"abc" + "def"`, `"abc" "def"`, `'abc' . 'def'`); `s..end` is the run of
    /// token characters that starts the chain.
    fn joined(&self, s: usize, end: usize, out: &mut Vec<Candidate>) {
        let hay = self.hay;
        // Only maximal runs of token characters start a chain.
        if s > 0 && token_byte(hay[s - 1]) {
            return;
        }
        if end == s {
            return;
        }
        let quoted = s > 0 && matches!(hay[s - 1], b'"' | b'\'');
        // Most runs are not followed by a continuation or another literal.
        if connector(hay, end, quoted).is_none() {
            return;
        }
        let mut value = hay[s..end].to_vec();
        let mut kind = None;
        let mut at = end;
        for _ in 0..8 {
            let Some((next, k)) = connector(hay, at, quoted) else {
                break;
            };
            let mut stop = next;
            while stop < hay.len() && token_byte(hay[stop]) {
                stop += 1;
            }
            if stop == next || value.len() + (stop - next) > 512 {
                break;
            }
            value.extend_from_slice(&hay[next..stop]);
            kind = Some(match (kind, k) {
                (None, k) | (Some("continuation"), k) => k,
                (Some(k0), _) => k0,
            });
            at = stop;
        }
        if let Some(k) = kind {
            if (16..=512).contains(&value.len()) {
                self.value(s, at, &value, vec![k], out);
            }
        }
    }
}

/// What joins a piece ending at `at` to the next: `\`-newline (continuation), or a closing
/// quote, an optional operator and an opening quote (concatenation). Returns where the next
/// piece starts.
fn connector(hay: &[u8], at: usize, quoted: bool) -> Option<(usize, &'static str)> {
    let skip_ws = |mut i: usize| {
        while i < hay.len() {
            match hay[i] {
                b' ' | b'\t' | b'\r' | b'\n' => i += 1,
                b'\\' if matches!(hay.get(i + 1), Some(b'\n' | b'\r')) => i += 1,
                _ => break,
            }
        }
        i
    };
    match hay.get(at) {
        Some(b'\\') => {
            let mut i = at + 1;
            if hay.get(i) == Some(&b'\r') {
                i += 1;
            }
            if hay.get(i) != Some(&b'\n') {
                return None;
            }
            i += 1;
            while i < hay.len() && matches!(hay[i], b' ' | b'\t') {
                i += 1;
            }
            hay.get(i).filter(|&&b| token_byte(b))?;
            Some((i, "continuation"))
        }
        Some(b'"' | b'\'') if quoted => {
            let mut i = skip_ws(at + 1);
            for op in [&b"<>"[..], b"++", b"||", b"..", b"+", b".", b"&", b"~"] {
                if hay[i..].starts_with(op) {
                    i = skip_ws(i + op.len());
                    break;
                }
            }
            if !matches!(hay.get(i), Some(b'"' | b'\'')) {
                return None;
            }
            hay.get(i + 1).filter(|&&b| token_byte(b))?;
            Some((i + 1, "concatenation"))
        }
        _ => None,
    }
}

fn hex_at(hay: &[u8], i: usize, n: usize) -> Option<u32> {
    let h = hay.get(i..i + n)?;
    let s = std::str::from_utf8(h).ok()?;
    u32::from_str_radix(s, 16).ok()
}

/// Mostly printable text (a decoded document or value), not binary.
fn printable(b: &[u8]) -> bool {
    let ok = b
        .iter()
        .filter(|&&c| {
            c == b'\n' || c == b'\r' || c == b'\t' || (0x20..0x7f).contains(&c) || c >= 0x80
        })
        .count();
    ok * 100 >= b.len() * 97 && !b.contains(&0)
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
