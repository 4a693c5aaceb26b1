//! Checks on the value itself, whatever surrounds it: is this string something a generator
//! made, or something a person typed — a placeholder (`your_applivery_app_token`), a run
//! (`AAAA…`), a sequence (`aBcDeFgH…`), an identifier made of words
//! (`APPLIVERY_TOKEN_RELEASE1`), an id in hex?
//!
//! Every test here is designed to almost never reject a uniformly random token: a value named
//! by an Applivery key must not be dropped for its shape (the property test in
//! `tests/it/property.rs` measures it over a million tokens). A stricter test for values that
//! nothing names (`weak_ok`) trades a little of that for precision.

use std::sync::OnceLock;

use rustc_hash::FxHashSet;

use crate::rules::{Rule, Shape};

/// Common words of identifiers and prose, lower case: an identifier is made of them, a
/// random token almost never is.
pub(super) struct Words {
    words: FxHashSet<&'static str>,
    short: FxHashSet<&'static str>,
}

const WORDS: &str = include_str!("../detect-words.txt");

/// Short segments that identifiers use: acronyms, prepositions, version letters.
const SHORT: &[&str] = &[
    "ci", "cd", "qa", "id", "v", "my", "to", "of", "in", "on", "by", "ui", "io", "os", "db", "a",
    "an", "is", "it", "at", "no", "k", "x", "s", "t", "sdk", "api", "app", "key", "for", "the",
    "and", "dev", "env", "url", "ios", "uat", "new", "old", "get", "set", "add",
];

/// Values that mark a placeholder when they are a word of the value.
const PLACEHOLDER: &[&str] = &[
    "your",
    "example",
    "sample",
    "placeholder",
    "changeme",
    "dummy",
    "redacted",
    "insert",
    "replace",
    "fake",
    "todo",
    "fixme",
    "mock",
    "here",
    "xxxx",
    "masked",
    "hidden",
];

impl Words {
    /// The word list, built on first use: only a value that passed the cheaper checks is
    /// looked up, so a scan that finds no candidate (a clean pre-commit run) never builds it.
    pub(super) fn get() -> &'static Words {
        static WORDS_SET: OnceLock<Words> = OnceLock::new();
        WORDS_SET.get_or_init(|| Words {
            words: WORDS
                .lines()
                .map(str::trim)
                .filter(|w| !w.is_empty())
                .collect(),
            short: SHORT.iter().copied().collect(),
        })
    }

    fn known(&self, seg: &str) -> bool {
        if seg.bytes().all(|b| b.is_ascii_digit()) {
            return seg.len() <= 4;
        }
        if seg.len() <= 3 && self.short.contains(seg) {
            return true;
        }
        seg.len() >= 3
            && (self.words.contains(seg)
                || seg
                    .strip_suffix('s')
                    .is_some_and(|s| s.len() >= 3 && self.words.contains(s)))
    }

    /// True if `v` is made of words: every segment (split at separators, case changes and
    /// digits) is a known word, a short acronym or a small number, and there are at least two
    /// (`ApplicationTokenProvider`, `APPLIVERY_TOKEN_RELEASE1`, `fake-applivery-token-0001`).
    pub(super) fn is_identifier(&self, segs: &[&str], names: &[String]) -> bool {
        segs.len() >= 2
            && segs
                .iter()
                .all(|s| self.known(s) || names.iter().any(|n| n == s))
    }

    /// True if most of `v` (60% of its characters) is words of three letters or more, or it
    /// contains a rule's name: a path, a URL, a sentence, never a generated token.
    fn wordy(&self, v: &[u8], segs: &[&str], names: &[String]) -> bool {
        if segs.iter().any(|s| names.iter().any(|n| contains(s, n))) {
            return true;
        }
        let covered: usize = segs
            .iter()
            .filter(|s| s.len() >= 3 && s.bytes().all(|b| b.is_ascii_alphabetic()) && self.known(s))
            .map(|s| s.len())
            .sum();
        covered * 10 >= v.len() * 6
    }

    /// True if a segment of `v` marks a placeholder (`your_app_token`, `REPLACE_WITH_TOKEN`)
    /// and most of it is words.
    fn is_placeholder(
        &self,
        v: &[u8],
        segs: &[&str],
        stopwords: &[String],
        names: &[String],
    ) -> bool {
        // No marker is shorter than this: the one- and two-letter segments of a random token
        // are passed over without a comparison.
        let shortest = stopwords.iter().map(String::len).fold(4, usize::min);
        let marked = segs.iter().any(|s| {
            s.len() >= shortest && (PLACEHOLDER.contains(s) || stopwords.iter().any(|w| w == s))
        });
        if !marked {
            return false;
        }
        // Words of three letters or more, not digits: a random token has few.
        let known: usize = segs
            .iter()
            .filter(|s| s.len() >= 3 && s.bytes().all(|b| b.is_ascii_alphabetic()))
            .filter(|s| self.known(s) || names.iter().any(|n| n == *s) || PLACEHOLDER.contains(s))
            .map(|s| s.len())
            .sum();
        known * 2 >= v.len()
    }
}

/// `s.contains(n)`, without building a substring searcher for a needle longer than `s` (the
/// usual case: a segment of a value and a rule's name).
fn contains(s: &str, n: &str) -> bool {
    n.is_empty() || (s.len() >= n.len() && s.as_bytes().windows(n.len()).any(|w| w == n.as_bytes()))
}

/// Lower-case segments of a value: split at non-alphanumerics, lower-to-upper changes, the
/// last capital of an acronym before a lower-case word, and letter/digit changes. They are
/// slices of one lower-cased copy, `buf` (a value is judged for every candidate: one buffer,
/// not a string per segment).
pub(super) fn segments<'b>(v: &[u8], buf: &'b mut String) -> Vec<&'b str> {
    buf.clear();
    buf.reserve(v.len());
    let mut ends = Vec::with_capacity(v.len() / 2 + 1);
    for (i, &b) in v.iter().enumerate() {
        if !b.is_ascii_alphanumeric() {
            if ends.last().is_none_or(|&e| e < buf.len()) {
                ends.push(buf.len());
            }
            continue;
        }
        if let Some(&p) = i.checked_sub(1).and_then(|j| v.get(j)) {
            let split = (p.is_ascii_lowercase() && b.is_ascii_uppercase())
                || (p.is_ascii_digit() != b.is_ascii_digit() && p.is_ascii_alphanumeric())
                || (p.is_ascii_uppercase()
                    && b.is_ascii_uppercase()
                    && v.get(i + 1).is_some_and(u8::is_ascii_lowercase));
            if split && ends.last().is_none_or(|&e| e < buf.len()) {
                ends.push(buf.len());
            }
        }
        buf.push(b.to_ascii_lowercase() as char);
    }
    if ends.last().is_none_or(|&e| e < buf.len()) {
        ends.push(buf.len());
    }
    let buf: &'b str = buf;
    let mut start = 0;
    let mut segs: Vec<&'b str> = Vec::with_capacity(ends.len());
    for e in ends.into_iter().filter(|&e| e > 0) {
        segs.push(&buf[start..e]);
        start = e;
    }
    segs
}

/// The checks every candidate of `rule` must pass, on its (decoded) value. Cheapest first:
/// most candidates near a keyword are random strings that pass them all, so the order
/// matters only for cost.
pub(super) fn value_ok(rule: &Rule, v: &[u8], words: &Words, names: &[String]) -> bool {
    let check = &rule.secret;
    if v.len() < check.min_len || v.len() > check.max_len {
        return false;
    }
    if let Some(re) = &check.regex {
        if !re.is_match(v) {
            return false;
        }
    }
    let token = matches!(check.shape, Shape::Token | Shape::Random);
    if token && !generated(v) {
        return false;
    }
    if check.shape == Shape::Random && hex_only(v) {
        return false;
    }
    if let Some(min) = check.min_entropy {
        if entropy_below(v, min) {
            return false;
        }
    }
    if rule.allowlist.regexes.iter().any(|r| r.is_match(v)) {
        return false;
    }
    let mut buf = String::new();
    let segs = segments(v, &mut buf);
    if words.is_placeholder(v, &segs, &rule.allowlist.stopwords, names) {
        return false;
    }
    // Paths and dotted names (`ios-app/Pods/Applivery/Sources`, `com.acme.shop.release`),
    // identifiers made of words.
    !(token && (words.is_identifier(&segs, names) || words.wordy(v, &segs, names)))
}

/// Not a run, a sequence, or a handful of characters repeated.
fn generated(v: &[u8]) -> bool {
    // Without padding (almost every candidate) the value is its own body: no copy.
    let owned: Vec<u8>;
    let body: &[u8] = if v.contains(&b'=') {
        owned = v.iter().copied().filter(|&b| b != b'=').collect();
        &owned
    } else {
        v
    };
    if body.windows(6).any(|w| w.iter().all(|&c| c == w[0])) {
        return false;
    }
    if longest_sequence(body) >= 8 {
        return false;
    }
    let mut seen = [false; 256];
    for &b in body {
        seen[b as usize] = true;
    }
    let distinct = seen.iter().filter(|&&x| x).count();
    !(body.len() >= 16 && distinct <= 8)
}

/// Ids and hashes: only hex digits, of one case.
fn hex_only(v: &[u8]) -> bool {
    v.iter()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
        || v.iter()
            .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(b))
}

/// The longest run of characters that each follow the previous one (`abcdef`, `aBcDeF`,
/// `12345`), ignoring case.
fn longest_sequence(v: &[u8]) -> usize {
    let mut best = 1;
    let mut run = 1;
    for w in v.windows(2) {
        let (a, b) = (w[0].to_ascii_lowercase(), w[1].to_ascii_lowercase());
        if a.is_ascii_alphanumeric() && b == a.wrapping_add(1) {
            run += 1;
            best = best.max(run);
        } else {
            run = 1;
        }
    }
    best
}

/// The stricter test for a value that no key names (a bare literal in an Applivery section):
/// it must mix upper and lower case, and not be made of capitalised word-like runs
/// (`FeedbackViewController2`). A random token fails it with a probability near 1e-4.
pub(super) fn weak_ok(v: &[u8]) -> bool {
    let upper = v.iter().any(u8::is_ascii_uppercase);
    let lower = v.iter().any(u8::is_ascii_lowercase);
    upper && lower && !looks_like_words(v)
}

/// `CamelCaseWords`, `snake_case_words`, `kebab-case-words`, optionally ending in digits,
/// where every word has a vowel.
fn looks_like_words(s: &[u8]) -> bool {
    let mut buf = String::new();
    let segs = segments(s, &mut buf);
    let vowel = |w: &str| w.bytes().any(|b| b"aeiouy".contains(&b));
    segs.len() >= 2
        && segs.iter().all(|w| {
            if w.bytes().all(|b| b.is_ascii_digit()) {
                w.len() <= 2
            } else {
                w.len() >= 2 && vowel(w)
            }
        })
}

/// True if `s` looks generated rather than written by a person (the historical shape test,
/// kept for callers outside the detector): mixes upper and lower case, no run of four equal
/// characters, not an identifier of capitalised words.
pub fn looks_random(s: &[u8]) -> bool {
    weak_ok(s) && !s.windows(4).any(|w| w.iter().all(|&c| c == w[0]))
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

/// `shannon_entropy(v) < min`, decided without a logarithm per value: entropy is
/// `log2(n) - sum(c * log2(c)) / n` over the counts `c`, built from a table as the value is
/// read. Within a hair of `min` (where the two sums could round apart) the exact sum decides.
pub(super) fn entropy_below(v: &[u8], min: f64) -> bool {
    static TABLE: OnceLock<Vec<f64>> = OnceLock::new();
    const MAX: usize = 1024;
    if v.is_empty() || v.len() > MAX {
        return shannon_entropy(v) < min;
    }
    // For every count c: c * log2(c) - (c-1) * log2(c-1), what the sum gains when a byte is
    // seen for the c-th time (the sum is built as the value is read); then log2(c).
    let table = TABLE.get_or_init(|| {
        let f = |c: usize| {
            if c == 0 {
                0.0
            } else {
                c as f64 * (c as f64).log2()
            }
        };
        let gain = (0..=MAX).map(|c| if c == 0 { 0.0 } else { f(c) - f(c - 1) });
        let log2 = (0..=MAX).map(|c| if c == 0 { 0.0 } else { (c as f64).log2() });
        gain.chain(log2).collect()
    });
    let (gain, log2) = table.split_at(MAX + 1);
    let mut counts = [0u16; 256];
    let mut sum = 0.0;
    for &x in v {
        let c = &mut counts[x as usize];
        *c += 1;
        sum += gain[*c as usize];
    }
    let n = v.len();
    let approx = log2[n] - sum / n as f64;
    if (approx - min).abs() < 1e-9 {
        return shannon_entropy(v) < min;
    }
    approx < min
}
