//! Native code — ELF (`.so`, Linux binaries), Mach-O (an iOS app's executable, frameworks,
//! universal binaries) and Java class files — read as `strings` would: every run of at
//! least `MIN_RUN` printable ASCII characters, and every such run in UTF-16LE, in file
//! order, each in a section of its own (after a `---` line): symbol tables put unrelated
//! names side by side, so neighbours are not taken as a string's key or owner. Keyless
//! strings are judged by the binary's own Applivery context instead (see `extract`).
//!
//! Strings shaped exactly like an App token are also handed back as candidates for the
//! artefact-context check (see the module above).

use std::io::{self, Read};

/// Shorter runs are noise (opcodes and addresses that happen to be printable).
const MIN_RUN: usize = 6;
/// Longer runs are cut into lines of this many bytes.
const MAX_LINE: usize = 4096;
/// Token-shaped strings kept per binary.
const MAX_TOKENS: usize = 2_000;

/// Whether `head` starts native code this module reads.
pub(crate) fn is_native(head: &[u8]) -> bool {
    is_machine_code(head) || is_java_class(head)
}

/// A Java class file: its constant pool is read as strings, but it has fields with names
/// for its constants, so its keyless strings are not token candidates.
pub(crate) fn is_java_class(head: &[u8]) -> bool {
    head.len() >= 8
        && head[..4] == [0xCA, 0xFE, 0xBA, 0xBE]
        && (45..=100).contains(&u16::from_be_bytes([head[6], head[7]]))
        && u16::from_be_bytes([head[4], head[5]]) < 0x100
}

/// ELF or Mach-O (single or universal).
fn is_machine_code(head: &[u8]) -> bool {
    if head.len() < 8 {
        return false;
    }
    let m = [head[0], head[1], head[2], head[3]];
    match &m {
        b"\x7fELF" => true,
        [0xFE, 0xED, 0xFA, 0xCE | 0xCF] | [0xCE | 0xCF, 0xFA, 0xED, 0xFE] => true,
        // A universal Mach-O lists a handful of architectures; a Java class, which starts
        // with the same CAFEBABE, has its version there instead.
        [0xCA, 0xFE, 0xBA, 0xBE | 0xBF] => {
            (1..=32).contains(&u32::from_be_bytes([head[4], head[5], head[6], head[7]]))
        }
        _ => false,
    }
}

/// True if `s` has the exact shape of an App token: 24 characters of `[A-Za-z0-9_-]`.
pub(crate) fn token_shaped(s: &[u8]) -> bool {
    s.len() == 24
        && s.iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// True if a token-shaped string with no key looks generated rather than named: upper and
/// lower case and a digit, not a mangled symbol, fewer than three word-like runs
/// (`Convert`, `table`) and fewer than two `_`. Binaries are full of 24-character
/// identifiers (`EVP_PKEY_get_attr_by_NID`, `copyDirectoryToDirectory`); this keeps about
/// 92% of uniformly random tokens and drops about 97% of those identifiers (docs/archives.md
/// has the measurement).
pub(crate) fn looks_generated(s: &[u8]) -> bool {
    let has = |f: fn(&u8) -> bool| s.iter().any(f);
    if !(has(u8::is_ascii_digit) && has(u8::is_ascii_uppercase) && has(u8::is_ascii_lowercase)) {
        return false;
    }
    const MANGLED: &[&[u8]] = &[
        b"_Z", b"NSt", b"$s", b"_$s", b"_T", b"N3", b"N4", b"N5", b"N6",
    ];
    if MANGLED.iter().any(|m| s.starts_with(m)) {
        return false;
    }
    if s.iter().filter(|&&b| b == b'_').count() >= 2 {
        return false;
    }
    // A Swift or Objective-C symbol made of words (`G6otaUpdateMessageGSqSS_`,
    // `m2UpdateInteractorOutput`): the word-likeness model says so for any spelling.
    if crate::detect::is_word_like(s) {
        return false;
    }
    // Word-like runs: a capital and three or more lower-case letters, or four or more
    // lower-case letters not after a capital.
    let mut words = 0;
    let mut i = 0;
    while i < s.len() {
        let capital = s[i].is_ascii_uppercase();
        let from = i + usize::from(capital);
        let mut j = from;
        while j < s.len() && s[j].is_ascii_lowercase() {
            j += 1;
        }
        let lower = j - from;
        if (capital && lower >= 3) || (!capital && lower >= 4) {
            words += 1;
        }
        i = j.max(i + 1);
    }
    words < 3
}

fn printable(b: u8) -> bool {
    (0x20..0x7f).contains(&b) || b == b'\t'
}

/// Reads native code and yields its strings as text lines.
pub(crate) struct Strings<R> {
    inner: R,
    /// Keep token candidates (machine code only).
    candidates: bool,
    input: Vec<u8>,
    out: Vec<u8>,
    at: usize,
    eof: bool,
    ascii: Vec<u8>,
    /// UTF-16LE runs, one per byte parity: (run, pending low byte).
    wide: [(Vec<u8>, Option<u8>); 2],
    /// Position of the next input byte in the whole stream.
    pos: u64,
    lines: u64,
    /// Token-shaped strings with their line in the output.
    pub tokens: Vec<(u64, String)>,
}

impl<R: Read> Strings<R> {
    /// `head` is the start of the stream, to tell machine code from a Java class.
    pub fn new(inner: R, head: &[u8]) -> Strings<R> {
        Strings {
            inner,
            candidates: is_machine_code(head),
            input: vec![0; 64 << 10],
            out: Vec::new(),
            at: 0,
            eof: false,
            ascii: Vec::new(),
            wide: [(Vec::new(), None), (Vec::new(), None)],
            pos: 0,
            lines: 0,
            tokens: Vec::new(),
        }
    }

    fn emit(
        out: &mut Vec<u8>,
        lines: &mut u64,
        tokens: &mut Option<&mut Vec<(u64, String)>>,
        run: &[u8],
    ) {
        if run.len() < MIN_RUN {
            return;
        }
        for part in run.chunks(MAX_LINE) {
            // Each string is a section of its own: a symbol table puts unrelated names side
            // by side, so a neighbour is neither a string's key nor its owner. A string that
            // carries its own key (`APPLIVERY_TOKEN=…`) is still judged as it stands.
            out.extend_from_slice(b"---\n");
            *lines += 2;
            if let Some(tokens) = tokens
                .as_deref_mut()
                .filter(|t| t.len() < MAX_TOKENS && token_shaped(part) && looks_generated(part))
            {
                tokens.push((*lines, String::from_utf8_lossy(part).into_owned()));
            }
            out.extend_from_slice(part);
            out.push(b'\n');
        }
    }

    fn process(&mut self, n: usize) {
        for i in 0..n {
            let b = self.input[i];
            let pos = self.pos + i as u64;
            if printable(b) {
                self.ascii.push(b);
            } else if !self.ascii.is_empty() {
                let mut t = self.candidates.then_some(&mut self.tokens);
                Self::emit(&mut self.out, &mut self.lines, &mut t, &self.ascii);
                self.ascii.clear();
            }
            // UTF-16LE: the low byte at an even offset of its parity, then a zero byte.
            for parity in 0..2u64 {
                let (run, pending) = &mut self.wide[parity as usize];
                if (pos + parity).is_multiple_of(2) {
                    *pending = Some(b);
                } else {
                    match pending.take() {
                        Some(low) if b == 0 && printable(low) => run.push(low),
                        _ => {
                            if !run.is_empty() {
                                let mut t = self.candidates.then_some(&mut self.tokens);
                                Self::emit(&mut self.out, &mut self.lines, &mut t, run);
                                run.clear();
                            }
                        }
                    }
                }
            }
        }
        self.pos += n as u64;
    }

    fn flush(&mut self) {
        let ascii = std::mem::take(&mut self.ascii);
        let mut t = self.candidates.then_some(&mut self.tokens);
        Self::emit(&mut self.out, &mut self.lines, &mut t, &ascii);
        for i in 0..2 {
            let run = std::mem::take(&mut self.wide[i].0);
            Self::emit(&mut self.out, &mut self.lines, &mut t, &run);
        }
    }
}

impl<R: Read> Read for Strings<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.out.len() {
            self.out.clear();
            self.at = 0;
            if self.eof {
                return Ok(0);
            }
            let n = match self.inner.read(&mut self.input) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if n == 0 {
                self.eof = true;
                self.flush();
            } else {
                self.process(n);
            }
        }
        let n = buf.len().min(self.out.len() - self.at);
        buf[..n].copy_from_slice(&self.out[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(data: &[u8]) -> (String, Vec<(u64, String)>) {
        let mut s = Strings::new(data, data);
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        (out, s.tokens)
    }

    #[test]
    fn ascii_and_utf16_runs_one_per_line() {
        let mut data = b"\x7fELF\x02\x01\x01\0\0\0".to_vec();
        data.extend_from_slice(b"short\0AppliveryToken\0Zk3qP9xVb2LmN7wQe4RtY6uA\0\x01\x02");
        for c in "wide string here".bytes() {
            data.extend_from_slice(&[c, 0]);
        }
        data.extend_from_slice(b"\x05\x06tail-string");
        let (text, tokens) = strings(&data);
        assert_eq!(
            text,
            "---\nAppliveryToken\n---\nZk3qP9xVb2LmN7wQe4RtY6uA\n---\nwide string here\n---\ntail-string\n"
        );
        assert_eq!(tokens, [(4, "Zk3qP9xVb2LmN7wQe4RtY6uA".to_string())]); // applivery-leaks:allow
                                                                           // Odd parity of a UTF-16 run.
        let mut data = vec![0x01];
        for c in "odd parity text".bytes() {
            data.extend_from_slice(&[c, 0]);
        }
        assert_eq!(strings(&data).0, "---\nodd parity text\n");
    }

    #[test]
    fn keyless_candidates_must_look_generated() {
        for id in [
            "copyDirectoryToDirectory",
            "EVP_PKEY_get_attr_by_NID",
            "_Z10auto_inc_pPK7rtx_def", // applivery-leaks:allow
            "NoClassNameToStringStyle",
            "X509_REQ_get_X509_PUBKEY",
        ] {
            assert!(!looks_generated(id.as_bytes()), "{id}");
        }
        let fakes = ["Zk3qP9xVb2LmN7wQe4RtY6uA", "Qw8rT5yU1iO3pA6sD9fG2hJk"]; // applivery-leaks:allow
        for t in fakes {
            assert!(looks_generated(t.as_bytes()), "{t}");
        }
    }

    /// How many uniformly random tokens `looks_generated` keeps (docs/archives.md):
    /// `cargo test --lib looks_generated_keeps -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn looks_generated_keeps_most_random_tokens() {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let n = 1_000_000;
        let kept = (0..n)
            .filter(|_| {
                let t: Vec<u8> = (0..24)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        A[(x >> 58) as usize]
                    })
                    .collect();
                looks_generated(&t)
            })
            .count();
        println!(
            "looks_generated keeps {:.2}% of {n} random tokens",
            kept as f64 * 100.0 / n as f64
        );
        assert!(kept > n / 2);
    }

    #[test]
    fn native_magic() {
        assert!(is_native(b"\x7fELF\x02\x01\x01\0"));
        assert!(is_native(b"\xcf\xfa\xed\xfe\x07\0\0\x01"));
        assert!(is_native(b"\xca\xfe\xba\xbe\0\0\0\x02"));
        assert!(is_native(b"\xca\xfe\xba\xbe\0\0\0\x34")); // Java 8 class
        assert!(is_java_class(b"\xca\xfe\xba\xbe\0\0\0\x34"));
        assert!(!is_machine_code(b"\xca\xfe\xba\xbe\0\0\0\x34"));
        assert!(!is_native(b"\xca\xfe\xba\xbe\x12\x34\x56\x78"));
        assert!(!is_native(b"plain text"));
    }
}
