//! A haystack is one blob being scanned: a file, a git blob, standard input. This module feeds
//! it to the detector — whole when it is small, in overlapping chunks when it is large, so a
//! 2 GiB file needs no more memory than one chunk — and turns byte offsets into lines and
//! columns. Binary blobs (a NUL byte in the first 8 KiB) are recognised and not scanned.

use std::borrow::Cow;
use std::io::{self, Read};

use crate::detect::{Candidate, Detector, MAX_MATCH_LEN};
use crate::redact::Known;
use crate::utf16::{self, Utf16};

/// How much of a blob is read at once.
pub const CHUNK: usize = 8 << 20;
/// A NUL byte within this prefix marks a binary blob.
pub const BINARY_PROBE: usize = 8 << 10;
/// Context lines longer than this are cut around the secret.
const CONTEXT_MAX: usize = 160;

/// A secret found in a haystack, located for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub rule: usize,
    pub secret: String,
    pub line: u64,
    pub column: u64,
    pub end_line: u64,
    pub end_column: u64,
    pub context: String,
    /// `context` with every candidate secret on the line redacted — this one and any other,
    /// as matched (a base64-encoded token is redacted as written, not as decoded).
    pub context_redacted: String,
    /// The secret's line carries an inline allow marker.
    pub inline_allowed: bool,
    /// How the text was decoded into the secret (`base64`, `url`, …), outermost first.
    pub decoded: Vec<&'static str>,
    /// Private-tenant Applivery hosts named anywhere in the blob (see [`tenant_hosts`]).
    pub tenant_hosts: Vec<String>,
    /// The archive members from the blob to the text the hit is in (`extract`); empty when
    /// it is in the blob itself.
    pub members: Vec<String>,
}

/// Markers that, anywhere on a secret's line, mark it as deliberately allowed.
pub const INLINE_MARKERS: &[&[u8]] = &[b"applivery-leaks:allow", b"gitleaks:allow"];

#[derive(Debug, PartialEq, Eq)]
pub enum Scanned {
    Text { bytes: u64, hits: Vec<Hit> },
    Binary { bytes: u64 },
}

/// What the first bytes of a blob say it holds.
enum Kind {
    Text,
    Utf16(Utf16),
    Binary,
}

fn kind(data: &[u8]) -> Kind {
    let probe = &data[..data.len().min(BINARY_PROBE)];
    if let Some(enc) = utf16::sniff(probe) {
        Kind::Utf16(enc)
    } else if memchr::memchr(0, probe).is_some() {
        Kind::Binary
    } else {
        Kind::Text
    }
}

/// True for a blob the detector does not read: a NUL byte in the first 8 KiB, and not UTF-16
/// text (which is decoded and scanned).
pub fn is_binary(data: &[u8]) -> bool {
    matches!(kind(data), Kind::Binary)
}

/// Scans a blob held in memory; `path` (relative to the scan root, empty if unknown) is
/// evidence too: `ci/applivery.sh` is about Applivery whatever it says.
pub fn scan_slice(det: &Detector, data: &[u8], path: &[u8]) -> Scanned {
    match kind(data) {
        Kind::Binary => Scanned::Binary {
            bytes: data.len() as u64,
        },
        Kind::Utf16(enc) => match scan_text(det, &utf16::decode(data, enc), path) {
            Scanned::Text { hits, .. } => Scanned::Text {
                bytes: data.len() as u64,
                hits,
            },
            // A NUL character in the decoded text.
            Scanned::Binary { .. } => Scanned::Binary {
                bytes: data.len() as u64,
            },
        },
        Kind::Text => scan_text(det, data, path),
    }
}

/// Scans text (UTF-8 or anything ASCII-compatible) held in memory.
fn scan_text(det: &Detector, data: &[u8], path: &[u8]) -> Scanned {
    if is_binary(data) {
        return Scanned::Binary {
            bytes: data.len() as u64,
        };
    }
    let mut hits = Vec::new();
    if det.prefilter(data, path) {
        locate(det, data, path, (1, 0), 0, data.len(), &mut hits);
    }
    if !hits.is_empty() {
        let mut hosts = Vec::new();
        tenant_hosts(data, &mut hosts);
        give_hosts(&mut hits, hosts);
    }
    Scanned::Text {
        bytes: data.len() as u64,
        hits,
    }
}

/// Scans a stream in chunks of `CHUNK` bytes that overlap by twice the detector's margin,
/// so a secret (with its context) that straddles a boundary is seen whole exactly once.
/// `buf` is reused between calls to avoid an allocation per file.
pub fn scan_reader<R: Read>(
    det: &Detector,
    mut r: R,
    path: &[u8],
    buf: &mut Vec<u8>,
) -> io::Result<Scanned> {
    scan_reader_chunked(det, &mut r, path, buf, CHUNK)
}

pub fn scan_reader_chunked<R: Read + ?Sized>(
    det: &Detector,
    r: &mut R,
    path: &[u8],
    buf: &mut Vec<u8>,
    chunk: usize,
) -> io::Result<Scanned> {
    let margin = det.margin();
    let chunk = chunk.max(4 * margin);
    // `buf[..filled]` holds data; the rest of `buf` is initialised scratch space kept from
    // earlier blobs, so reading never zeroes memory again (zeroing 8 MiB for every stdin scan
    // or large file cost more than the scan of a small input).
    let mut filled = 0;
    let mut total: u64 = 0;
    let mut base_line: u64 = 1;
    // Characters of the buffer's first line that were in earlier chunks (a line longer than
    // a chunk), so columns count from the real start of the line.
    let mut base_column: u64 = 0;
    let mut report_from = 0;
    let mut hits = Vec::new();
    let mut hosts = Vec::new();
    let mut first = true;
    loop {
        let want = chunk + 2 * margin;
        let eof = fill(r, buf, &mut filled, want, &mut total)?;
        let data = &buf[..filled];
        if first {
            first = false;
            match kind(data) {
                Kind::Text => {}
                // Stop here: reading the rest of a 500 MB archive only to count it is waste.
                // `bytes` is what was read; a caller that knows the size reports that.
                Kind::Binary => return Ok(Scanned::Binary { bytes: total }),
                Kind::Utf16(enc) => {
                    // Start again on the decoded stream: what was read, then the rest.
                    let head = io::Cursor::new(data.to_vec());
                    let mut decoded = utf16::Decoder::new(head.chain(r), enc);
                    let scanned = scan_reader_chunked(
                        det,
                        &mut decoded as &mut dyn Read,
                        path,
                        &mut Vec::new(),
                        chunk,
                    )?;
                    return Ok(match scanned {
                        Scanned::Text { hits, .. } => Scanned::Text {
                            bytes: decoded.raw_bytes,
                            hits,
                        },
                        Scanned::Binary { .. } => Scanned::Binary {
                            bytes: decoded.raw_bytes,
                        },
                    });
                }
            }
        }
        let report_to = if eof { filled } else { filled - margin };
        if det.prefilter(data, path) {
            locate(
                det,
                data,
                path,
                (base_line, base_column),
                report_from,
                report_to,
                &mut hits,
            );
            // Every chunk that could hold a secret could name a host; which of them matter
            // is known only at the end, when it is known whether the blob had hits.
            tenant_hosts(data, &mut hosts);
        }
        if eof {
            break;
        }
        let keep_from = filled - 2 * margin;
        base_line += memchr::memchr_iter(b'\n', &data[..keep_from]).count() as u64;
        base_column = match memchr::memrchr(b'\n', &data[..keep_from]) {
            Some(p) => chars(&data[p + 1..keep_from]),
            None => base_column + chars(&data[..keep_from]),
        };
        buf.copy_within(keep_from..filled, 0);
        filled -= keep_from;
        report_from = report_to - keep_from;
    }
    give_hosts(&mut hits, hosts);
    Ok(Scanned::Text { bytes: total, hits })
}

/// At most this many tenant hosts are kept per blob: a file naming thousands of them must
/// not turn into thousands of requests per secret.
pub const MAX_TENANT_HOSTS: usize = 4;

/// Appends to `out` the private-tenant Applivery hosts (`<name>.<tenant>.applivery.io`) named
/// in `data`: lower-cased, distinct, in order of first appearance, at most
/// [`MAX_TENANT_HOSTS`]. Verification may check a secret of this blob against that tenant's
/// API; it never takes any other host from scanned content, so a hostile repository cannot
/// make the scanner send tokens to a server of its choosing.
pub fn tenant_hosts(data: &[u8], out: &mut Vec<String>) {
    static DOMAIN: std::sync::OnceLock<regex::bytes::Regex> = std::sync::OnceLock::new();
    static HOST: std::sync::OnceLock<regex::bytes::Regex> = std::sync::OnceLock::new();
    // The host pattern starts with a character class, so the regex engine has no literal
    // to skip ahead with and walks every byte of the blob; the domain is a literal. Find it
    // first, then read the host that ends there (at most 8 labels of 63 characters).
    let domain = DOMAIN.get_or_init(|| {
        regex::bytes::Regex::new(r"(?i-u)applivery\.io").expect("domain pattern compiles")
    });
    let re = HOST.get_or_init(|| {
        regex::bytes::Regex::new(r"(?i-u)(?:[a-z0-9-]{1,63}\.){2,8}applivery\.io")
            .expect("tenant host pattern compiles")
    });
    let label = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
    for d in domain.find_iter(data) {
        let lo = d.start().saturating_sub(8 * 64);
        let Some(m) = re
            .find_iter(&data[lo..d.end()])
            .find(|m| lo + m.end() == d.end())
        else {
            continue;
        };
        let (start, end) = (lo + m.start(), d.end());
        if out.len() >= MAX_TENANT_HOSTS {
            return;
        }
        // `x.acme.applivery.io.evil.example` is a host under evil.example, not Applivery's;
        // a sentence's full stop after the host is fine.
        let rest = &data[end..];
        let longer = match rest {
            [b, ..] if label(*b) => true,
            [b'.', b, ..] if label(*b) => true,
            _ => false,
        };
        if longer || (start > 0 && label(data[start - 1])) {
            continue;
        }
        let host = String::from_utf8_lossy(&data[start..end]).to_ascii_lowercase();
        if !out.contains(&host) {
            out.push(host);
        }
    }
}

fn give_hosts(hits: &mut [Hit], hosts: Vec<String>) {
    if hosts.is_empty() {
        return;
    }
    for h in hits.iter_mut() {
        h.tenant_hosts = hosts.clone();
    }
}

/// Reads until `buf[..filled]` holds `want` bytes or the stream ends; returns true at end of
/// stream. `buf` grows geometrically from 64 KiB, so a small input touches little memory.
fn fill<R: Read + ?Sized>(
    r: &mut R,
    buf: &mut Vec<u8>,
    filled: &mut usize,
    want: usize,
    total: &mut u64,
) -> io::Result<bool> {
    while *filled < want {
        if buf.len() <= *filled {
            let grown = (buf.len() * 2).max(64 << 10).min(want);
            buf.resize(grown, 0);
        }
        let end = buf.len().min(want);
        match r.read(&mut buf[*filled..end]) {
            Ok(0) => return Ok(true),
            Ok(n) => {
                *filled += n;
                *total += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(false)
}

/// Runs the detector over `data` and locates candidates that start in `from..to`.
///
/// One pass, in candidate order: line, column and line end are carried from one candidate to
/// the next, and each context looks only at the candidates near its secret, so a file with a
/// million findings (on a million lines or on one) costs time linear in its size.
fn locate(
    det: &Detector,
    data: &[u8],
    path: &[u8],
    (base_line, base_column): (u64, u64),
    from: usize,
    to: usize,
    hits: &mut Vec<Hit>,
) {
    let candidates = det.detect(data, path);
    if candidates.is_empty() {
        return;
    }
    // Every secret found here, as written and as decoded: its other copies are redacted
    // from every context line too, whichever key owns them.
    let mut known = Known::default();
    for c in &candidates {
        known.insert(Cow::Borrowed(&data[c.start..c.end]));
        if let Some(decoded) = &c.secret {
            known.insert(Cow::Borrowed(decoded));
        }
    }
    let mut line = base_line;
    // `data[..counted]` is accounted for: `line_start` is the start of its last line and
    // `column` the characters from there to `counted`.
    let mut counted = 0;
    let mut line_start = 0;
    let mut column: u64 = 0;
    // The newline (or end of data) that ends the line at `line_start`, once looked up, and
    // whether the line carries an allow marker (looked up once per line: a one-line bundle
    // may hold a million secrets).
    let mut newline: Option<(usize, bool)> = None;
    let mut spans = Vec::new();
    for (i, c) in candidates.iter().enumerate() {
        if c.start < from || c.start >= to {
            continue;
        }
        let seg = &data[counted..c.start];
        match memchr::memrchr(b'\n', seg) {
            Some(p) => {
                line += memchr::memchr_iter(b'\n', seg).count() as u64;
                line_start = counted + p + 1;
                column = chars(&data[line_start..c.start]);
                newline = None;
            }
            None => column += chars(seg),
        }
        counted = c.start;
        let (nl, allowed) = match newline {
            Some((n, allowed)) if n >= c.end => (n, allowed),
            _ => {
                let n = memchr::memchr(b'\n', &data[c.end..]).map_or(data.len(), |p| c.end + p);
                let line = &data[line_start..n];
                let allowed = INLINE_MARKERS
                    .iter()
                    .any(|m| memchr::memmem::find(line, m).is_some());
                newline = Some((n, allowed));
                (n, allowed)
            }
        };
        let (ls, le) = (line_start, line_end(data, line_start, nl, c.end));
        let col = column + 1 + if ls == 0 { base_column } else { 0 };
        // A value joined over lines ends on a later line.
        let breaks = memchr::memchr_iter(b'\n', &data[c.start..c.end]).count() as u64;
        let end_column = match memchr::memrchr(b'\n', &data[c.start..c.end]) {
            Some(p) => chars(&data[c.start + p + 1..c.end]) + 1,
            None => col + chars(&data[c.start..c.end]),
        };
        let (a, b) = cut(data, ls, le, c.start, c.end);
        redaction_spans(data, (ls, le), (a, b), &candidates, i, &known, &mut spans);
        hits.push(Hit {
            rule: c.rule,
            secret: String::from_utf8_lossy(&det.secret(c, data)).into_owned(),
            line,
            column: col,
            end_line: line + breaks,
            end_column,
            context: context_line(data, (ls, le), (a, b), &[]),
            context_redacted: context_line(data, (ls, le), (a, b), &spans),
            inline_allowed: allowed,
            decoded: c.decoded.clone(),
            tenant_hosts: Vec::new(),
            members: Vec::new(),
        });
    }
}

/// The end of a line (before `\r\n`) given its newline, as `line_bounds` computes it.
fn line_end(data: &[u8], ls: usize, nl: usize, e: usize) -> usize {
    if nl > ls && nl > e && data[nl - 1] == b'\r' {
        nl - 1
    } else {
        nl
    }
}

/// Counts code points, treating each invalid byte as one.
fn chars(b: &[u8]) -> u64 {
    b.iter().filter(|&&x| !(0x80..0xC0).contains(&x)).count() as u64
}

/// The part of the line `ls..le` shown around the secret `s..e`: all of it, or, when it is
/// long, `CONTEXT_MAX / 2` bytes each side of the secret (on character boundaries).
fn cut(data: &[u8], ls: usize, le: usize, s: usize, e: usize) -> (usize, usize) {
    let (mut a, mut b) = (ls, le);
    if le - ls > CONTEXT_MAX + (e - s) {
        let side = CONTEXT_MAX / 2;
        if s - ls > side {
            a = s - side;
            while a < s && (0x80..0xC0).contains(&data[a]) {
                a += 1;
            }
        }
        if le - e > side {
            b = e + side;
            while b > e && b < le && (0x80..0xC0).contains(&data[b]) {
                b -= 1;
            }
        }
    }
    (a, b)
}

/// The spans to redact in the cut `a..b` of the line `ls..le` around candidate `i`: the
/// candidates on the line that reach into the cut, and every other copy of a known secret
/// there (or straddling the cut, which then widens to hide it whole). Sorted, disjoint.
fn redaction_spans(
    data: &[u8],
    (ls, le): (usize, usize),
    (a, b): (usize, usize),
    candidates: &[Candidate],
    i: usize,
    known: &Known,
    spans: &mut Vec<(usize, usize)>,
) {
    spans.clear();
    // No secret is longer than MAX_MATCH_LEN, so none starting before this reaches `a`.
    let lo = a.saturating_sub(MAX_MATCH_LEN).max(ls);
    let first = candidates[..=i].partition_point(|o| o.start < lo);
    for o in &candidates[first..] {
        if o.start >= b {
            break;
        }
        if o.end > a && o.start >= ls && o.end <= le {
            spans.push((o.start, o.end));
        }
    }
    if known.is_empty() {
        return;
    }
    // Copies in the gaps between those spans, including one straddling either end of the cut.
    let reach = known.max_len();
    let (wide_a, wide_b) = (a.saturating_sub(reach).max(ls), (b + reach).min(le));
    let mut extra = Vec::new();
    let mut at = wide_a;
    for &(x, y) in spans.iter().chain(std::iter::once(&(wide_b, wide_b))) {
        if x > at {
            known.find(data, at, x.min(wide_b), &mut extra);
        }
        at = at.max(y);
    }
    if extra.is_empty() {
        return;
    }
    spans.extend(extra.into_iter().filter(|&(x, y)| y > a && x < b));
    spans.sort_unstable();
}

/// The cut `a..b` of the line `ls..le`, with each span in `redact` (sorted, disjoint) replaced
/// by its redacted form and `…` where the line was cut. A span the cut falls inside is shown
/// whole (redacted), so no part of a secret beyond its first characters is ever shown.
fn context_line(
    data: &[u8],
    (ls, le): (usize, usize),
    (mut a, mut b): (usize, usize),
    redact: &[(usize, usize)],
) -> String {
    let prefix = if a > ls { "…" } else { "" };
    let suffix = if b < le { "…" } else { "" };
    for &(x, y) in redact {
        if x < a && a < y {
            a = x;
        }
        if x < b && b < y {
            b = y;
        }
    }
    let mut text = String::new();
    let mut at = a;
    for &(x, y) in redact.iter().filter(|&&(x, y)| x >= a && y <= b) {
        if x < at {
            continue; // overlapping spans: the first one covered it
        }
        text.push_str(&String::from_utf8_lossy(&data[at..x]));
        text.push_str(&crate::finding::redact(&String::from_utf8_lossy(
            &data[x..y],
        )));
        at = y;
    }
    text.push_str(&String::from_utf8_lossy(&data[at..b]));
    format!("{prefix}{}{suffix}", text.trim())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::default_rules;

    const T: &str = "Zk3qP9xVb2LmN7wQe4RtY6uA";
    const T2: &str = "Qw8rT5yU1iO3pA6sD9fG2hJk"; // applivery-leaks:allow

    #[test]
    fn chunk_boundaries_do_not_change_results() {
        let det = Detector::new(default_rules()).unwrap();
        let mut text = String::new();
        for i in 0..400 {
            text.push_str(&format!("line {i} filler text here\n"));
            if i % 37 == 0 {
                text.push_str(&format!("APPLIVERY_APP_TOKEN={T}\n"));
            }
        }
        let whole = scan_slice(&det, text.as_bytes(), b"");
        let margin = det.margin();
        for chunk in [4 * margin, 4 * margin + 1, 4 * margin + 4099] {
            let mut buf = Vec::new();
            let mut r = std::io::Cursor::new(text.repeat(3).into_bytes());
            let got = scan_reader_chunked(&det, &mut r, b"", &mut buf, chunk).unwrap();
            let Scanned::Text { hits, .. } = got else {
                panic!()
            };
            let Scanned::Text { hits: w, .. } = &whole else {
                panic!()
            };
            assert_eq!(hits.len(), 3 * w.len(), "chunk {chunk}");
            let per = text.lines().count() as u64;
            for (i, h) in hits.iter().enumerate() {
                let orig = &w[i % w.len()];
                assert_eq!(h.line, orig.line + per * (i / w.len()) as u64);
                assert_eq!(h.column, orig.column);
            }
        }
    }

    #[test]
    fn redacted_context_hides_every_secret_on_the_line_as_written() {
        let det = Detector::new(default_rules()).unwrap();
        // Two tokens on one line, and a long line cut near a third one.
        let text = format!("APPLIVERY_APP_TOKEN={T} APPLIVERY_TOKEN_2={T2}\n");
        let Scanned::Text { hits, .. } = scan_slice(&det, text.as_bytes(), b"") else {
            panic!()
        };
        assert_eq!(hits.len(), 2);
        for h in &hits {
            assert_eq!(
                h.context_redacted,
                "APPLIVERY_APP_TOKEN=Zk3q… APPLIVERY_TOKEN_2=Qw8r…"
            );
        }
        // A base64-encoded token is redacted as written, not only as decoded.
        let b64 = "WmszcVA5eFZiMkxtTjd3UWU0UnRZNnVB"; // base64 of T (applivery-leaks:allow)
        let text = format!(
            "kind: Secret\nmetadata:\n  name: applivery\ndata:\n  APPLIVERY_APP_TOKEN: {b64}\n"
        );
        let Scanned::Text { hits, .. } = scan_slice(&det, text.as_bytes(), b"") else {
            panic!()
        };
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].secret, T);
        assert_eq!(
            hits[0].context_redacted,
            "APPLIVERY_APP_TOKEN: WmVz…".replace("WmVz", &b64[..4])
        );
        // A cut of a long line never falls inside another secret.
        let text = format!(
            "applivery_token={T}{}x applivery.token={T2} {}\n",
            " ".repeat(52),
            "trailing words ".repeat(8)
        );
        let Scanned::Text { hits, .. } = scan_slice(&det, text.as_bytes(), b"") else {
            panic!()
        };
        assert_eq!(hits.len(), 2);
        assert!(hits[0].context.ends_with('…'), "the line is cut");
        assert!(
            hits.iter()
                .all(|h| !h.context_redacted.contains(&T2[..5])
                    && !h.context_redacted.contains(&T[..5])),
            "{hits:?}"
        );
    }

    #[test]
    fn other_copies_of_a_found_secret_are_redacted_in_every_context() {
        let det = Detector::new(default_rules()).unwrap();
        // The second copy belongs to a key no rule vouches for; the third sits where a long
        // line is cut; the fourth is on another line, next to another finding.
        let text = format!(
            "APPLIVERY_APP_TOKEN={T} BACKUP={T}\nAPPLIVERY_TOKEN_2={T2} {} old={T} {}\nx={T} applivery_token={T2}\n",
            "w".repeat(60),
            "tail ".repeat(40)
        );
        let Scanned::Text { hits, .. } = scan_slice(&det, text.as_bytes(), b"") else {
            panic!()
        };
        assert!(hits.len() >= 3, "{hits:?}");
        for h in &hits {
            assert!(
                !h.context_redacted.contains(&T[4..]) && !h.context_redacted.contains(&T2[4..]),
                "{h:?}"
            );
            for part in [&T[8..20], &T2[8..20]] {
                assert!(!h.context_redacted.contains(part), "{h:?}");
            }
        }
        assert_eq!(
            hits[0].context_redacted,
            "APPLIVERY_APP_TOKEN=Zk3q… BACKUP=Zk3q…"
        );
    }

    #[test]
    fn utf16_is_decoded_whole_and_in_chunks_with_the_same_lines_and_columns() {
        let det = Detector::new(default_rules()).unwrap();
        let mut text = String::new();
        for i in 0..12000 {
            text.push_str(&format!("# ligne {i} — é😀\r\n"));
            if i % 1201 == 0 {
                text.push_str(&format!("$env:APPLIVERY_APP_TOKEN = \"{T}\"\r\n"));
            }
        }
        let Scanned::Text { hits: want, .. } = scan_slice(&det, text.as_bytes(), b"") else {
            panic!()
        };
        assert_eq!(want.len(), 10);
        assert!(text.len() > 2 * 4 * det.margin(), "several chunks");
        let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        let with_bom = [&[0xFF, 0xFE][..], &le].concat();
        for data in [&le, &be, &with_bom] {
            let Scanned::Text { hits, bytes } = scan_slice(&det, data, b"") else {
                panic!("UTF-16 taken for binary")
            };
            assert_eq!(bytes, data.len() as u64);
            assert_eq!(hits, want);
            for chunk in [4 * det.margin(), 4 * det.margin() + 333] {
                let mut r = io::Cursor::new(data.as_slice());
                let got = scan_reader_chunked(&det, &mut r, b"", &mut Vec::new(), chunk).unwrap();
                assert_eq!(
                    got,
                    Scanned::Text {
                        bytes: data.len() as u64,
                        hits: want.clone()
                    },
                    "chunk {chunk}"
                );
            }
        }
    }

    #[test]
    fn binary_stream_is_not_read_past_the_first_chunk() {
        struct Fails;
        impl Read for Fails {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("read past the binary check"))
            }
        }
        let det = Detector::new(default_rules()).unwrap();
        let mut r = io::Cursor::new(vec![0u8; 2 * CHUNK]).chain(Fails);
        let got = scan_reader(&det, &mut r, b"", &mut Vec::new()).unwrap();
        assert!(matches!(got, Scanned::Binary { bytes } if bytes < 2 * CHUNK as u64));
    }

    #[test]
    fn binary_is_skipped() {
        let det = Detector::new(default_rules()).unwrap();
        let mut data = b"applivery_token=".to_vec();
        data.extend_from_slice(T.as_bytes());
        data.push(0);
        assert_eq!(scan_slice(&det, &data, b""), Scanned::Binary { bytes: 41 });
    }

    #[test]
    fn columns_count_characters() {
        let det = Detector::new(default_rules()).unwrap();
        let text = format!("é applivery_token={T}\n");
        let Scanned::Text { hits, .. } = scan_slice(&det, text.as_bytes(), b"") else {
            panic!()
        };
        assert_eq!(hits[0].column, 19);
        assert_eq!(hits[0].end_column, 43);
    }

    #[test]
    fn tokens_straddling_chunk_boundaries_on_one_long_line() {
        // No newline at all: line starts are cut by the detector's bounded look-around, which
        // must give the same answer whichever chunk a token falls in.
        let det = Detector::new(default_rules()).unwrap();
        let margin = det.margin();
        let mut text = String::new();
        let mut planted = 0;
        while text.len() < 12 * margin {
            text.push_str("filler,words;and(some)symbols{x:1},");
            if text.len() % 997 < 40 {
                text.push_str(&format!("\"appliveryToken\":\"{T}\","));
                planted += 1;
            }
        }
        let Scanned::Text { hits: whole, .. } = scan_slice(&det, text.as_bytes(), b"") else {
            panic!()
        };
        assert_eq!(whole.len(), planted);
        for chunk in [4 * margin, 4 * margin + 7, 5 * margin + 333] {
            let mut buf = Vec::new();
            let mut r = std::io::Cursor::new(text.as_bytes());
            let Scanned::Text { hits, .. } =
                scan_reader_chunked(&det, &mut r, b"", &mut buf, chunk).unwrap()
            else {
                panic!()
            };
            assert_eq!(hits.len(), whole.len(), "chunk {chunk}");
            for (h, w) in hits.iter().zip(&whole) {
                assert_eq!(
                    (h.line, h.column, h.end_column, &h.secret),
                    (w.line, w.column, w.end_column, &w.secret),
                    "chunk {chunk}"
                );
            }
        }
    }

    #[test]
    fn tenant_hosts_are_applivery_hosts_only() {
        let mut got = Vec::new();
        tenant_hosts(
            b"upload: https://upload.Acme.applivery.io/v1 api.applivery.io \
              https://api.beta.applivery.io. x.evil.applivery.io.attacker.example \
              api.gamma.applivery.io:443 https://api.gamma.applivery.io/ a_b.delta.applivery.io \
              https://applivery.io.evil.example http://127.0.0.1/api.applivery.io",
            &mut got,
        );
        assert_eq!(
            got,
            [
                "upload.acme.applivery.io",
                "api.beta.applivery.io",
                "api.gamma.applivery.io"
            ]
        );
        let mut many = Vec::new();
        let text: String = (0..50).map(|i| format!("api.t{i}.applivery.io ")).collect();
        tenant_hosts(text.as_bytes(), &mut many);
        assert_eq!(many.len(), MAX_TENANT_HOSTS);
    }

    /// Hands out at most 7 bytes per read, like a pipe under load.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = out.len().min(7).min(self.0.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn short_reads_and_a_dirty_reused_buffer_change_nothing() {
        let det = Detector::new(default_rules()).unwrap();
        let mut text = String::new();
        for i in 0..3000 {
            text.push_str(&format!("row {i}\r\n"));
            if i % 401 == 0 {
                text.push_str(&format!("APPLIVERY_APP_TOKEN={T}\r\n"));
            }
        }
        let Scanned::Text { hits: whole, .. } = scan_slice(&det, text.as_bytes(), b"") else {
            panic!()
        };
        // A buffer left full of another blob's bytes, as the directory walker hands it over.
        let mut buf = vec![b'x'; 3 * det.margin()];
        let got =
            scan_reader_chunked(&det, &mut Trickle(text.as_bytes()), b"", &mut buf, 0).unwrap();
        assert_eq!(
            got,
            Scanned::Text {
                bytes: text.len() as u64,
                hits: whole
            }
        );
    }
}
