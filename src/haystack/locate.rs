//! Where a candidate is, for people: its line and columns (in characters), and the context
//! line a report shows, cut around the secret and with every secret found on it redacted.

use super::{Hit, CONTEXT_MAX, INLINE_MARKERS};

use crate::detect::{Candidate, Detector, MAX_MATCH_LEN};
use crate::finding::Reason;
use crate::redact::Known;

/// Runs the detector over `data` and locates candidates that start in `from..to`.
///
/// One pass, in candidate order: line, column and line end are carried from one candidate to
/// the next, and each context looks only at the candidates near its secret, so a file with a
/// million findings (on a million lines or on one) costs time linear in its size.
pub(super) fn locate(
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
    let mut known = Known::with_capacity(candidates.len());
    for c in &candidates {
        known.insert(&data[c.start..c.end]);
        if let Some(decoded) = &c.secret {
            known.insert(decoded);
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
            evidence: reasons(data, c, line, &known),
        });
    }
}

/// The candidate's evidence for people: each with its line (counted from the secret's, a
/// few lines away at most) and every known secret in its text redacted.
fn reasons(data: &[u8], c: &Candidate, line: u64, known: &Known) -> Vec<Reason> {
    c.evidence
        .iter()
        .map(|ev| {
            let line = ev.at.map(|a| {
                if a < c.start {
                    line - memchr::memchr_iter(b'\n', &data[a..c.start]).count() as u64
                } else {
                    line + memchr::memchr_iter(b'\n', &data[c.start..a.min(data.len())]).count()
                        as u64
                }
            });
            Reason {
                kind: ev.kind.as_str().to_string(),
                text: known.redact_in(&ev.text).unwrap_or_else(|| ev.text.clone()),
                line,
            }
        })
        .collect()
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
pub(super) fn chars(b: &[u8]) -> u64 {
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
