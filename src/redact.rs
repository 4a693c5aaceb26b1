//! Hiding secrets in the text reports show. A finding's own secret is redacted where the
//! detector found it; this module finds the *other* places a found secret appears — the same
//! token a second time on a line under a key no rule vouches for, or a token found in one
//! file sitting in the context of a finding in another — so that no context line prints a
//! secret the scan knows about, whichever key owns that copy.

use std::hash::{BuildHasher, RandomState};

use rustc_hash::FxHashSet;

/// A set of known secrets, searched for in short texts (context lines).
///
/// The search looks only at runs of bytes that occur in some known secret, and within a run
/// only at the lengths known secrets have, so its cost follows the length of the text, not
/// the number of secrets: a context line full of ordinary words costs next to nothing.
///
/// It keeps a 64-bit fingerprint of each secret (SipHash under a key drawn for the set), not
/// the secret: a million secrets are a table of eight-byte numbers, probed without following
/// a pointer to compare bytes. Two texts with one fingerprint (about 1 in 10^13 lookups for a
/// million secrets) make a harmless extra redaction, never a secret shown.
#[derive(Default)]
pub struct Known {
    set: FxHashSet<u64>,
    key: RandomState,
    /// Distinct lengths, longest first (the longest match wins).
    lengths: Vec<usize>,
    alphabet: Alphabet,
}

/// Bytes that occur in at least one known secret.
struct Alphabet([bool; 256]);

impl Default for Alphabet {
    fn default() -> Alphabet {
        Alphabet([false; 256])
    }
}

/// Secrets shorter than this are not searched for elsewhere: a three-letter match of a custom
/// rule would redact ordinary words all over the report and protect nothing.
const MIN_LEN: usize = 8;

impl Known {
    /// A set sized for `n` secrets: a million are hashed once, not again at every growth.
    pub fn with_capacity(n: usize) -> Known {
        let mut set = FxHashSet::default();
        set.reserve(n);
        Known {
            set,
            ..Known::default()
        }
    }

    pub fn insert(&mut self, secret: &[u8]) {
        let n = secret.len();
        if n < MIN_LEN {
            return;
        }
        // A copy already known changes neither the alphabet nor the lengths: no lookup
        // before the insert (hashing each of a million secrets once, not twice).
        for &b in secret.iter() {
            self.alphabet.0[b as usize] = true;
        }
        if !self.lengths.contains(&n) {
            self.lengths.push(n);
            self.lengths.sort_unstable_by(|a, b| b.cmp(a));
        }
        self.set.insert(self.key.hash_one(secret));
    }

    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    /// The longest known secret, in bytes.
    pub fn max_len(&self) -> usize {
        self.lengths.first().copied().unwrap_or(0)
    }

    /// Appends to `out` every occurrence of a known secret inside `hay[lo..hi]`, leftmost
    /// first, longest at each position, not overlapping one another.
    pub fn find(&self, hay: &[u8], lo: usize, hi: usize, out: &mut Vec<(usize, usize)>) {
        let Some(&shortest) = self.lengths.last() else {
            return;
        };
        let mut i = lo;
        while i < hi {
            if !self.alphabet.0[hay[i] as usize] {
                i += 1;
                continue;
            }
            let run_start = i;
            while i < hi && self.alphabet.0[hay[i] as usize] {
                i += 1;
            }
            let run_end = i;
            let mut at = run_start;
            'run: while at + shortest <= run_end {
                for &n in &self.lengths {
                    if at + n <= run_end && self.set.contains(&self.key.hash_one(&hay[at..at + n]))
                    {
                        out.push((at, at + n));
                        at += n;
                        continue 'run;
                    }
                }
                at += 1;
            }
        }
    }

    /// `text` with every occurrence of a known secret replaced by its redacted form.
    pub fn redact_in(&self, text: &str) -> Option<String> {
        let mut found = Vec::new();
        self.find(text.as_bytes(), 0, text.len(), &mut found);
        if found.is_empty() {
            return None;
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (s, e) in found {
            // A valid UTF-8 secret found in UTF-8 text starts and ends on character
            // boundaries; a byte string that is not UTF-8 could match mid-character.
            if !text.is_char_boundary(s) || !text.is_char_boundary(e) {
                continue;
            }
            out.push_str(&text[at..s]);
            out.push_str(&crate::finding::redact(&text[s..e]));
            at = e;
        }
        out.push_str(&text[at..]);
        Some(out)
    }
}

/// Redacts, in every finding's shown context, every secret any finding of the report holds:
/// a token found in one place and written again elsewhere under a key no rule vouches for is
/// still the same secret. Call before suppression, so allowed findings' secrets are hidden too.
pub fn redact_known(findings: &mut [crate::finding::Finding]) {
    let mut known = Known::with_capacity(findings.len());
    for f in findings.iter() {
        known.insert(f.secret.as_bytes());
    }
    if !known.is_empty() {
        for f in findings.iter_mut() {
            if let Some(r) = known.redact_in(&f.context_redacted) {
                f.context_redacted = r;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(secrets: &[&str]) -> Known {
        let mut k = Known::default();
        for s in secrets {
            k.insert(s.as_bytes());
        }
        k
    }

    #[test]
    fn finds_every_copy_longest_first() {
        let k = known(&["abcdefgh1234", "abcdefgh12345678", "short"]);
        let text = "x=abcdefgh12345678 y=abcdefgh1234, z=abcdefgh1234abcdefgh1234";
        let mut out = Vec::new();
        k.find(text.as_bytes(), 0, text.len(), &mut out);
        let got: Vec<&str> = out.iter().map(|&(s, e)| &text[s..e]).collect();
        assert_eq!(
            got,
            [
                "abcdefgh12345678",
                "abcdefgh1234",
                "abcdefgh1234",
                "abcdefgh1234"
            ]
        );
        // Too short to be searched for: ordinary words stay.
        assert!(k.redact_in("a short word").is_none());
    }

    #[test]
    fn redacts_inside_longer_runs_and_keeps_unicode() {
        let k = known(&["Zk3qP9xVb2LmN7wQe4RtY6uA"]);
        assert_eq!(
            k.redact_in("é=xxZk3qP9xVb2LmN7wQe4RtY6uAyy …").unwrap(),
            "é=xxZk3q…yy …"
        );
    }
}
