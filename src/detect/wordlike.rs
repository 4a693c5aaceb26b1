//! Word-likeness: is this value a name a person wrote (`RPScreenRecorderDelegate`,
//! `EXPORTABLE_CONFIG_STORES`, `modules/compliance/complianceJobs.ts`,
//! `audiences-view-pub-users`) or a string a generator made?
//!
//! The answer is a likelihood ratio, in bits. A uniformly random token of `n` characters
//! from a 64-letter alphabet costs `6n` bits to write down (`4n` if it is hex). A *name
//! model* writes the same value as people write names: runs of letters in one case
//! (`screen`, `RECORDER`, `Delegate`), each a dictionary word, a concatenation of words, a
//! trigram-likely syllable string or, at worst, uniform letters with an overhead; runs of
//! digits; separators; and a price for every change of case or separator style. The margin
//! is `random bits - name bits`: how many bits cheaper the name model says the value is.
//!
//! Random tokens are expensive for the name model (their case flips every couple of
//! letters, their letter runs are no words), so their margin is strongly negative; names are
//! cheap (a dictionary word costs 12–17 bits however long it is). A value is *word-like*
//! when its margin reaches [`THRESHOLD`]. `examples/bench_wordlike.rs` measures both sides:
//! the share of uniformly random tokens called word-like, and the share of real names
//! harvested from source code that are not.
//!
//! The dictionary is the SCOWL American English list (`words/english.txt`, see
//! `words/README.md`) plus the code vocabulary of `detect-words.txt`; the trigram model is
//! trained on the same lists. Both are built on first use, so a scan that never judges a
//! value (most pre-commit runs) never pays for them.

use std::sync::OnceLock;

use rustc_hash::{FxHashMap, FxHashSet};

/// Margins at or above this are word-like. Tuned on uniformly random 24-character base64url
/// tokens (about 1 in 100,000 reach it) against names from real code (docs/rules.md).
pub const THRESHOLD: f64 = 14.0;

/// Margins at or above this are names beyond doubt: no uniformly random token of ten
/// million reaches it (the highest is about 25), while names of three words or more do. A
/// value that strong evidence names (`APPLIVERY_APP_TOKEN=`) is still dropped above it.
pub const CERTAIN: f64 = 30.0;

const ENGLISH: &str = include_str!("words/english.txt");
const CODE: &str = include_str!("../detect-words.txt");

/// Costs, in bits, of the name model's choices.
const UNIFORM_LETTER: f64 = 4.7; // log2(26)
const UNIFORM_OVERHEAD: f64 = 3.0;
const SAME_CASE: f64 = 0.15;
const CAMEL: f64 = 2.5;
const SWITCH: f64 = 6.0;
const DIGIT: f64 = 3.32; // log2(10)
const LETTER_DIGIT: f64 = 2.0;
const SEPARATOR: f64 = 2.0;
const NEW_SEPARATOR: f64 = 2.0;
const ENDS: f64 = 2.0;
const CODE_WORD: f64 = 12.0;
const ENGLISH_WORD: f64 = 17.0;
const SPLIT: f64 = 1.0;
/// Add-k smoothing of the trigram counts.
const SMOOTHING: f64 = 0.1;

/// The dictionary and the trigram model, built once.
struct Model {
    /// Every word of either list and what it costs (a code word less than an English one):
    /// one lookup per slice the dictionary split tries.
    words: FxHashMap<&'static [u8], f64>,
    /// -log2 P(next | two before), indexed `[(a * 28 + b) * 27 + c]`: `a`, `b` in
    /// `0..28` (`^` start = 26, `a..z`), `c` in `0..27` (`a..z`, 26 = end).
    trigram: Vec<f32>,
    /// The longest word of either list, plus one for a plural `s`: no longer slice of a run
    /// can be a word, so the dictionary split looks at no more.
    longest: usize,
}

fn model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(Model::new)
}

fn words(list: &'static str) -> impl Iterator<Item = &'static str> {
    list.lines()
        .map(str::trim)
        .filter(|w| w.len() >= 2 && w.bytes().all(|b| b.is_ascii_lowercase()))
}

impl Model {
    fn new() -> Model {
        // Built on first use, in a few milliseconds: a fast hash, sized once.
        let mut code = FxHashSet::default();
        code.reserve(4096);
        code.extend(words(CODE).map(str::as_bytes));
        let mut english = FxHashSet::default();
        english.reserve(80_000);
        english.extend(words(ENGLISH).filter(|w| w.len() >= 3).map(str::as_bytes));
        let mut counts = vec![0u32; 28 * 28 * 27];
        let mut add = |w: &[u8], times: u32| {
            let (mut a, mut b) = (26usize, 26usize);
            for c in w.iter().map(|c| (c - b'a') as usize).chain([26]) {
                counts[(a * 28 + b) * 27 + c] += times;
                (a, b) = (b, c.min(27));
            }
        };
        for w in &english {
            add(w, 1);
        }
        for w in &code {
            add(w, 3);
        }
        let mut trigram = vec![0f32; counts.len()];
        for ctx in 0..28 * 28 {
            let row = &counts[ctx * 27..ctx * 27 + 27];
            let total: f64 = row.iter().map(|&c| f64::from(c)).sum();
            for (c, &n) in row.iter().enumerate() {
                let p = (f64::from(n) + SMOOTHING) / (total + SMOOTHING * 27.0);
                trigram[ctx * 27 + c] = (-p.log2()) as f32;
            }
        }
        let longest = code
            .iter()
            .chain(&english)
            .map(|w| w.len())
            .max()
            .unwrap_or(0)
            + 1;
        let mut words = FxHashMap::default();
        words.reserve(code.len() + english.len());
        words.extend(english.iter().map(|&w| (w, ENGLISH_WORD)));
        words.extend(code.iter().map(|&w| (w, CODE_WORD)));
        Model {
            words,
            trigram,
            longest,
        }
    }

    fn word(&self, w: &[u8]) -> Option<f64> {
        if let Some(&bits) = self.words.get(w) {
            return Some(bits);
        }
        let stem = w.strip_suffix(b"s").filter(|s| s.len() >= 3)?;
        self.words.contains_key(stem).then_some(ENGLISH_WORD + 1.0)
    }

    /// The cheapest way to write a lower-case run as dictionary words, if there is one: never
    /// less than `CODE_WORD` (every word costs at least that, every split adds to it).
    fn dictionary(&self, run: &[u8]) -> Option<f64> {
        let n = run.len();
        // best[i]: cheapest split of run[i..]; on the stack for the runs values are made of.
        let mut stack = [None; 65];
        let mut heap = Vec::new();
        let best: &mut [Option<f64>] = if n < stack.len() {
            &mut stack[..=n]
        } else {
            heap.resize(n + 1, None);
            &mut heap
        };
        best[n] = Some(-SPLIT);
        for i in (0..n).rev() {
            for j in i + 2..=n.min(i + self.longest) {
                let (Some(w), Some(rest)) = (self.word(&run[i..j]), best[j]) else {
                    continue;
                };
                let c = w + rest + SPLIT;
                if best[i].is_none_or(|b| c < b) {
                    best[i] = Some(c);
                }
            }
        }
        best[0]
    }

    fn trigram(&self, run: &[u8]) -> f64 {
        let (mut a, mut b) = (26usize, 26usize);
        let mut bits = 0.0;
        for c in run.iter().map(|&c| (c - b'a') as usize).chain([26]) {
            bits += f64::from(self.trigram[(a * 28 + b) * 27 + c]);
            (a, b) = (b, c.min(27));
        }
        bits
    }

    /// Bits to write a run of letters (lower-cased) in the cheapest of three ways.
    fn letters(&self, run: &[u8]) -> f64 {
        let uniform = UNIFORM_LETTER * run.len() as f64 + UNIFORM_OVERHEAD;
        let cheaper = uniform.min(self.trigram(run));
        // A split into words costs at least one code word: when the other two ways cost no
        // more (the short runs of a random token), the dictionary cannot win.
        if cheaper <= CODE_WORD {
            return cheaper;
        }
        cheaper.min(self.dictionary(run).unwrap_or(f64::INFINITY))
    }
}

/// What a run of a value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Run {
    Lower,
    Upper,
    /// One capital and lower-case letters: a word of CamelCase.
    Capital,
    Digits,
    Separators,
}

/// The value cut into runs: lower-case letters, capitals, a capitalised word, digits, other
/// bytes. An iterator: every judged value is cut, and a vector per value cost more than the
/// pricing of its runs.
fn runs(v: &[u8]) -> Runs<'_> {
    Runs { v, i: 0 }
}

struct Runs<'a> {
    v: &'a [u8],
    i: usize,
}

impl<'a> Iterator for Runs<'a> {
    type Item = (Run, &'a [u8]);

    fn next(&mut self) -> Option<(Run, &'a [u8])> {
        let (v, i) = (self.v, self.i);
        let n = v.len();
        if i >= n {
            return None;
        }
        let take = |mut j: usize, f: fn(&u8) -> bool| {
            while j < n && f(&v[j]) {
                j += 1;
            }
            j
        };
        let c = v[i];
        let (kind, j) = if c.is_ascii_digit() {
            (Run::Digits, take(i, u8::is_ascii_digit))
        } else if c.is_ascii_lowercase() {
            (Run::Lower, take(i, u8::is_ascii_lowercase))
        } else if c.is_ascii_uppercase() {
            let j = take(i, u8::is_ascii_uppercase);
            if j < n && v[j].is_ascii_lowercase() {
                if j - i > 1 {
                    // The capitals before a capitalised word (`RPScreen`: `RP`, then
                    // `Screen` on the next call).
                    (Run::Upper, j - 1)
                } else {
                    (Run::Capital, take(i + 1, u8::is_ascii_lowercase))
                }
            } else {
                (Run::Upper, j)
            }
        } else {
            (Run::Separators, take(i, |b| !b.is_ascii_alphanumeric()))
        };
        self.i = j;
        Some((kind, &v[i..j]))
    }
}

/// Bits the name model needs to write `v`, or infinity as soon as they pass `cap` (every
/// choice costs bits, none gives any back: a value that passes the cap halfway is judged
/// without pricing the rest).
fn name_bits(m: &Model, v: &[u8], cap: f64) -> f64 {
    let mut bits = ENDS;
    let mut prev: Option<Run> = None;
    let mut prev_letters: Option<Run> = None;
    let mut prev_sep: Option<&[u8]> = None;
    // A run lower-cased, on the stack (values are short; a longer run takes the heap).
    let mut stack = [0u8; 64];
    let mut heap = Vec::new();
    for (kind, t) in runs(v) {
        match kind {
            Run::Separators => {
                bits += SEPARATOR * t.len() as f64;
                if prev_sep.is_some_and(|p| p != t) {
                    bits += NEW_SEPARATOR;
                }
                prev_sep = Some(t);
            }
            Run::Digits => {
                bits += DIGIT * t.len() as f64;
                if !matches!(prev, None | Some(Run::Separators)) {
                    bits += LETTER_DIGIT;
                }
            }
            _ => {
                let lower: &mut [u8] = if t.len() <= stack.len() {
                    &mut stack[..t.len()]
                } else {
                    heap.clear();
                    heap.resize(t.len(), 0);
                    &mut heap
                };
                lower.copy_from_slice(t);
                lower.make_ascii_lowercase();
                let letters = m.letters(lower);
                let case = match kind {
                    Run::Capital => SAME_CASE * t.len().saturating_sub(2) as f64,
                    _ => SAME_CASE * t.len().saturating_sub(1) as f64,
                };
                let after_sep = prev == Some(Run::Separators);
                let mut step = match prev_letters {
                    None => 1.0,
                    Some(p) if kind == Run::Capital && matches!(p, Run::Lower | Run::Capital) => {
                        CAMEL
                    }
                    Some(p) if p == kind => 0.5,
                    Some(_) if after_sep => CAMEL,
                    Some(_) => SWITCH,
                };
                if prev == Some(Run::Digits) {
                    step += LETTER_DIGIT;
                }
                bits += letters + case + step;
                prev_letters = Some(kind);
            }
        }
        prev = Some(kind);
        if bits > cap {
            return f64::INFINITY;
        }
    }
    bits
}

/// Bits a uniformly random string of `v`'s length and alphabet costs: 4 per character for
/// hex of one case, else 6 (base64 and base64url).
fn random_bits(v: &[u8]) -> f64 {
    let hex = v
        .iter()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
        || v.iter()
            .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(b));
    v.len() as f64 * if hex { 4.0 } else { 6.0 }
}

/// How many bits cheaper the name model writes `v` than a random generator would: positive
/// for names, strongly negative for random tokens.
pub fn margin(v: &[u8]) -> f64 {
    random_bits(v) - name_bits(model(), v, f64::INFINITY)
}

/// [`margin`] when it may reach `floor`; else minus infinity (the name model stops pricing
/// once the value costs it clearly more than that: the slack keeps rounding from deciding).
fn margin_from(v: &[u8], floor: f64) -> f64 {
    let random = random_bits(v);
    random - name_bits(model(), v, random - floor + 1e-9)
}

/// True if `v` reads as a name people wrote, not a generated token.
pub fn is_word_like(v: &[u8]) -> bool {
    if dotted(v) {
        return true;
    }
    let m = margin_from(v, 0.0);
    m >= THRESHOLD || (m >= 0.0 && one_case_with_separators(v))
}

/// `SNAKE_CASE` or `snake_case` (`CPU_ID_AA64ISAR0`, `lsx_vaddwev_h_bu`): every letter in one
/// case and the words separated. A random base64url token has both cases in all but about 4
/// in a million draws, and a separator as well in fewer still; such a value needs only to be
/// cheaper as a name than as random (margin >= 0), whatever its abbreviations.
fn one_case_with_separators(v: &[u8]) -> bool {
    let letters = v.iter().filter(|b| b.is_ascii_alphabetic()).count();
    let upper = v.iter().filter(|b| b.is_ascii_uppercase()).count();
    let separators = v.iter().filter(|&&b| b == b'_' || b == b'-').count();
    // Names carry a number or two (`AA64ISAR0`); random draws scatter digits everywhere.
    let digit_runs = runs(v).filter(|r| r.0 == Run::Digits).count();
    letters >= 8 && (upper == 0 || upper == letters) && separators >= 1 && digit_runs <= 2
}

/// A dotted name or a file name (`Self.u16x8_bswap`, `t/t3900/eucJP.txt`,
/// `WorkspaceState.mode`): generated tokens have no `.` in them — base64 and base64url have
/// none, hex none — except a JWT, whose three parts are long base64url runs.
pub(super) fn dotted(v: &[u8]) -> bool {
    if !v.contains(&b'.') {
        return false;
    }
    let parts: Vec<&[u8]> = v.split(|&b| b == b'.').collect();
    let jwt = parts.len() == 3
        && parts.iter().all(|p| {
            p.len() >= 8
                && p.iter()
                    .all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    !jwt
}

/// True if `v` is a name beyond doubt (`EXPORTABLE_CONFIG_STORES`), whatever names it.
pub fn is_surely_words(v: &[u8]) -> bool {
    margin_from(v, CERTAIN) >= CERTAIN
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_word_like() {
        for n in [
            "RPScreenRecorderDelegate",
            "EXPORTABLE_CONFIG_STORES",
            "update_soar_collaborator",
            "enableScreenshotFeedback",
            "CreateToolhelp32Snapshot",
            "audiences-view-pub-users",
            "WorkspaceOnboardingModal",
            "modules/compliance/complianceJobs.ts",
            "Owner/Admin/Editor/Viewer/Unassigned",
            "test_calls_get_preview_by_audience_id",
            "WorkspaceState.mtlsSelfServiceMode",
        ] {
            assert!(is_word_like(n.as_bytes()), "{n}: {}", margin(n.as_bytes()));
        }
    }

    #[test]
    fn random_tokens_are_not() {
        // Drawn uniformly (fixtures/gen_tokens.py), never filtered.
        for t in [
            "MNLBLi_i4IWaZlobwc2KhPkF",
            "wCPAMTP9Pb-YDoW9UmgPIMBz",
            "TGI9lFTVsXicq5tCNMoh1l6I",
            "EexZcKraws8PvUTBYhARskKT",
            "i2DG58iChXG0rPDcHEefVnnl",
            "hpWHVq0VViAKPnexWEwea4Bq",
        ] {
            assert!(!is_word_like(t.as_bytes()), "{t}: {}", margin(t.as_bytes()));
        }
    }

    #[test]
    fn runs_follow_case_and_digits() {
        let r: Vec<(Run, &[u8])> = runs(b"RPScreen32x_y").collect();
        let kinds: Vec<Run> = r.iter().map(|x| x.0).collect();
        assert_eq!(
            kinds,
            [
                Run::Upper,
                Run::Capital,
                Run::Digits,
                Run::Lower,
                Run::Separators,
                Run::Lower
            ]
        );
    }
}
