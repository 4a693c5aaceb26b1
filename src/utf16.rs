//! UTF-16 text: PowerShell scripts, `.reg` exports and the output of many Windows tools are
//! saved that way, with or without a byte order mark. Every other character of such text is
//! a NUL byte, so a NUL-byte binary check alone calls it binary and nothing in it is scanned.
//! This module recognises UTF-16 from a blob's first bytes and decodes it to UTF-8 for the
//! detector; lines and columns are then counted in characters of the decoded text, as an
//! editor shows them.

use std::io::{self, Read};

/// The byte order of UTF-16 text, and the length of its byte order mark (0 or 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Utf16 {
    pub big_endian: bool,
    pub bom: usize,
}

/// Says whether `probe` (the first bytes of a blob) starts UTF-16 text.
///
/// A byte order mark decides (except `FF FE 00 00`, UTF-32). Without one, the text must look
/// like UTF-16 of mostly Latin script: NUL bytes on one side of the 16-bit units in at least
/// a quarter of them and hardly ever on the other, and the units must decode to text — no NUL
/// character, no control character but whitespace, no unpaired surrogate. Binary data fails
/// the last test within a few units.
pub fn sniff(probe: &[u8]) -> Option<Utf16> {
    match probe {
        [0xFF, 0xFE, 0, 0, ..] => return None,
        [0xFF, 0xFE, ..] => {
            return Some(Utf16 {
                big_endian: false,
                bom: 2,
            })
        }
        [0xFE, 0xFF, ..] => {
            return Some(Utf16 {
                big_endian: true,
                bom: 2,
            })
        }
        _ => {}
    }
    let units = probe.len() / 2;
    if units < 2 {
        return None;
    }
    // Without a NUL byte it cannot be UTF-16 of Latin text (below): almost every file, found
    // at memchr's speed instead of counting byte by byte.
    memchr::memchr(0, probe)?;
    let (mut even, mut odd) = (0, 0);
    for pair in probe.chunks_exact(2) {
        even += usize::from(pair[0] == 0);
        odd += usize::from(pair[1] == 0);
    }
    // Zeros first in a unit: the high byte comes first, big-endian.
    let (big_endian, zeros, other) = if even > odd {
        (true, even, odd)
    } else {
        (false, odd, even)
    };
    if zeros * 4 < units || other * 8 > zeros {
        return None;
    }
    let enc = Utf16 { big_endian, bom: 0 };
    let mut decoded = char::decode_utf16(code_units(&probe[..units * 2], enc)).peekable();
    while let Some(c) = decoded.next() {
        match c {
            Ok(c) if c == '\0' || (c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\x0c')) => {
                return None
            }
            Ok(_) => {}
            // A surrogate pair cut by the end of the probe is fine; any other is not text.
            Err(_) if decoded.peek().is_none() => {}
            Err(_) => return None,
        }
    }
    Some(enc)
}

fn code_units(bytes: &[u8], enc: Utf16) -> impl Iterator<Item = u16> + '_ {
    bytes.chunks_exact(2).map(move |p| {
        if enc.big_endian {
            u16::from_be_bytes([p[0], p[1]])
        } else {
            u16::from_le_bytes([p[0], p[1]])
        }
    })
}

/// Decodes a whole UTF-16 blob (its byte order mark dropped) to UTF-8.
pub fn decode(data: &[u8], enc: Utf16) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    Decoder::new(data, enc)
        .read_to_end(&mut out)
        .expect("reading a slice cannot fail");
    out
}

/// A reader of UTF-8 over a reader of UTF-16, for large files and streams scanned in chunks.
/// Invalid units (an unpaired surrogate, a trailing odd byte) become U+FFFD.
pub struct Decoder<R> {
    inner: R,
    enc: Utf16,
    /// Bytes of the byte order mark still to drop.
    skip: usize,
    raw: Vec<u8>,
    /// `raw[..raw_len]` holds bytes read and not yet decoded (at most one odd byte).
    raw_len: usize,
    /// A high surrogate waiting for its low half.
    high: Option<u16>,
    out: Vec<u8>,
    out_at: usize,
    eof: bool,
    /// UTF-16 bytes read so far: the size of the blob, as reports count it.
    pub raw_bytes: u64,
}

impl<R: Read> Decoder<R> {
    pub fn new(inner: R, enc: Utf16) -> Decoder<R> {
        Decoder {
            inner,
            enc,
            skip: enc.bom,
            raw: vec![0; 64 << 10],
            raw_len: 0,
            high: None,
            out: Vec::new(),
            out_at: 0,
            eof: false,
            raw_bytes: 0,
        }
    }

    fn push(&mut self, c: char) {
        let mut b = [0; 4];
        self.out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
    }

    fn unit(&mut self, u: u16) {
        if let Some(h) = self.high.take() {
            if (0xDC00..0xE000).contains(&u) {
                let c = 0x10000 + ((u32::from(h) - 0xD800) << 10) + (u32::from(u) - 0xDC00);
                self.push(char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER));
                return;
            }
            self.push(char::REPLACEMENT_CHARACTER);
        }
        match u {
            0xD800..=0xDBFF => self.high = Some(u),
            0xDC00..=0xDFFF => self.push(char::REPLACEMENT_CHARACTER),
            _ => self.push(char::from_u32(u32::from(u)).unwrap_or(char::REPLACEMENT_CHARACTER)),
        }
    }

    /// Reads and decodes the next block of input into `out`.
    fn refill(&mut self) -> io::Result<()> {
        self.out.clear();
        self.out_at = 0;
        let n = loop {
            match self.inner.read(&mut self.raw[self.raw_len..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        };
        self.raw_bytes += n as u64;
        if n == 0 {
            self.eof = true;
            if self.raw_len > 0 || self.high.take().is_some() {
                self.push(char::REPLACEMENT_CHARACTER);
            }
            self.raw_len = 0;
            return Ok(());
        }
        let mut have = self.raw_len + n;
        let mut from = 0;
        if self.skip > 0 {
            from = self.skip.min(have);
            self.skip -= from;
        }
        let whole = from + (have - from) / 2 * 2;
        for i in (from..whole).step_by(2) {
            let p = [self.raw[i], self.raw[i + 1]];
            let u = if self.enc.big_endian {
                u16::from_be_bytes(p)
            } else {
                u16::from_le_bytes(p)
            };
            self.unit(u);
        }
        // Keep an odd byte for the next read.
        self.raw.copy_within(whole..have, 0);
        have -= whole;
        self.raw_len = have;
        Ok(())
    }
}

impl<R: Read> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.out_at == self.out.len() {
            if self.eof {
                return Ok(0);
            }
            self.refill()?;
        }
        let n = buf.len().min(self.out.len() - self.out_at);
        buf[..n].copy_from_slice(&self.out[self.out_at..self.out_at + n]);
        self.out_at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn le(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    fn be(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(u16::to_be_bytes).collect()
    }

    const TEXT: &str = "$env:APPLIVERY_TOKEN = \"abc\"\r\nWrite-Host 'héllo 😀'\r\n";

    #[test]
    fn recognises_both_byte_orders_with_and_without_a_mark() {
        let with_mark = [&[0xFF, 0xFE][..], &le(TEXT)].concat();
        assert_eq!(
            sniff(&with_mark),
            Some(Utf16 {
                big_endian: false,
                bom: 2
            })
        );
        assert_eq!(
            sniff(&[&[0xFE, 0xFF][..], &be(TEXT)].concat()).map(|e| e.big_endian),
            Some(true)
        );
        assert_eq!(
            sniff(&le(TEXT)).map(|e| (e.big_endian, e.bom)),
            Some((false, 0))
        );
        assert_eq!(
            sniff(&be(TEXT)).map(|e| (e.big_endian, e.bom)),
            Some((true, 0))
        );
        // Cut in the middle of a surrogate pair or of a unit: still UTF-16.
        let t = le(TEXT);
        let emoji_at = t.len() - 10;
        assert!(sniff(&t[..emoji_at + 1]).is_some());
        assert!(sniff(&t[..emoji_at + 2]).is_some());
    }

    #[test]
    fn binary_and_plain_text_are_not_utf16() {
        assert_eq!(sniff(b"plain ASCII text, no NUL"), None);
        // NULs everywhere, not on one side of the units.
        assert_eq!(sniff(&[0u8; 64]), None);
        assert_eq!(sniff(b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03\x00>\x00\x01\x00\x00\x00"), None);
        // Units of control characters.
        assert_eq!(sniff(&le("\u{1}\u{2}\u{3}\u{4}\u{5}\u{6}")), None);
        // UTF-32 little-endian byte order mark.
        assert_eq!(sniff(&[0xFF, 0xFE, 0, 0, b'a', 0, 0, 0]), None);
    }

    #[test]
    fn decodes_across_reads_of_any_size() {
        let data = [&[0xFF, 0xFE][..], &le(TEXT)].concat();
        let enc = sniff(&data).unwrap();
        assert_eq!(decode(&data, enc), TEXT.as_bytes());
        // One byte at a time: odd bytes and surrogate halves span reads.
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
                let n = out.len().min(1).min(self.0.len());
                out[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut out = String::new();
        let mut d = Decoder::new(Trickle(&data), enc);
        d.read_to_string(&mut out).unwrap();
        assert_eq!(out, TEXT);
        assert_eq!(d.raw_bytes, data.len() as u64);
        // An unpaired surrogate and a trailing odd byte become U+FFFD.
        let bad = [0x3D, 0xD8, b'a', 0, b'b'];
        let got = String::from_utf8(decode(
            &bad,
            Utf16 {
                big_endian: false,
                bom: 0,
            },
        ))
        .unwrap();
        assert_eq!(got, "\u{FFFD}a\u{FFFD}");
    }
}
