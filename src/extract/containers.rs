//! Containers: what holds members — the zip family (zip, jar, apk, aab, ipa), tar, and the
//! gzip, bzip2 and xz streams around them — recognised by their magic bytes, never by
//! their names. Zips are read through a seekable reader (a file stays on disk: a 200 MB
//! APK is never loaded whole); streams are read front to back. Every member's bytes pass
//! through a `limits::Bounded` reader.

use std::cell::Cell;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::rc::Rc;

use super::limits::{Bounded, Compressed, Counting, RATIO_FLOOR};
use super::{Kind, Walker};
use crate::haystack::BINARY_PROBE;

/// What a blob or member is, by its first bytes.
pub(crate) fn sniff(head: &[u8]) -> Kind {
    let at = |o: usize, m: &[u8]| head.len() >= o + m.len() && &head[o..o + m.len()] == m;
    if at(0, b"PK\x03\x04") || at(0, b"PK\x05\x06") || at(0, b"PK\x07\x08") {
        Kind::Zip
    } else if at(0, b"\x1f\x8b\x08") {
        Kind::Gzip
    } else if at(0, b"BZh") && head.len() > 3 && (b'1'..=b'9').contains(&head[3]) {
        Kind::Bzip2
    } else if at(0, b"\xfd7zXZ\x00") {
        Kind::Xz
    } else if at(257, b"ustar") {
        Kind::Tar
    } else if at(0, b"dex\n") && at(7, b"\0") {
        Kind::Dex
    } else if at(0, b"\x03\x00\x08\x00") {
        Kind::Axml
    } else if at(0, b"\x02\x00\x0c\x00") {
        Kind::Arsc
    } else if at(0, b"bplist00") {
        Kind::Bplist
    } else if super::native::is_native(head) {
        Kind::Strings
    } else if crate::haystack::is_binary(head) {
        Kind::Binary
    } else {
        Kind::Text
    }
}

/// Whether a kind holds members.
pub(crate) fn is_container(k: Kind) -> bool {
    matches!(
        k,
        Kind::Zip | Kind::Tar | Kind::Gzip | Kind::Bzip2 | Kind::Xz
    )
}

/// The number of entries a zip's end-of-central-directory record announces, read before
/// the zip crate builds its index of every entry (whose memory grows with that number).
fn zip_entries<R: Read + Seek>(r: &mut R) -> io::Result<Option<u64>> {
    let len = r.seek(SeekFrom::End(0))?;
    let tail = len.min(22 + 65535);
    r.seek(SeekFrom::Start(len - tail))?;
    let mut buf = vec![0u8; tail as usize];
    r.read_exact(&mut buf)?;
    let Some(eocd) = memchr::memmem::rfind(&buf, b"PK\x05\x06") else {
        return Ok(None);
    };
    if buf.len() < eocd + 22 {
        return Ok(None);
    }
    let n = u16::from_le_bytes([buf[eocd + 10], buf[eocd + 11]]) as u64;
    if n != 0xFFFF || eocd < 20 || &buf[eocd - 20..eocd - 16] != b"PK\x06\x07" {
        return Ok(Some(n));
    }
    // Zip64: the locator points at the zip64 record, whose entry count is at offset 32.
    let at = u64::from_le_bytes(buf[eocd - 12..eocd - 4].try_into().unwrap());
    let mut rec = [0u8; 40];
    r.seek(SeekFrom::Start(at))?;
    if r.read_exact(&mut rec).is_err() || &rec[..4] != b"PK\x06\x06" {
        return Ok(None);
    }
    Ok(Some(u64::from_le_bytes(rec[32..40].try_into().unwrap())))
}

struct Entry {
    index: usize,
    name: String,
    size: u64,
    compressed: u64,
    data: (u64, u64),
    dir: bool,
    encrypted: bool,
}

impl Walker<'_> {
    /// Reads the members of a zip.
    pub(super) fn zip<R: Read + Seek>(&mut self, mut r: R, chain: &mut Vec<String>, depth: usize) {
        let s = self.settings;
        match zip_entries(&mut r) {
            Ok(Some(n)) if n > s.max_members => {
                self.skip(
                    chain,
                    format!(
                        "archive of {n} members, more than the limit of {}",
                        s.max_members
                    ),
                );
                return;
            }
            Err(e) => {
                self.damaged(chain, format!("damaged zip archive: {e}"));
                return;
            }
            _ => {}
        }
        if r.seek(SeekFrom::Start(0)).is_err() {
            return;
        }
        let mut zip = match zip::ZipArchive::new(r) {
            Ok(z) => z,
            Err(e) => {
                self.damaged(chain, format!("damaged zip archive: {e}"));
                return;
            }
        };
        let mut entries = Vec::with_capacity(zip.len());
        for index in 0..zip.len() {
            match zip.by_index_raw(index) {
                Ok(f) => entries.push(Entry {
                    index,
                    name: String::from_utf8_lossy(f.name_raw()).into_owned(),
                    size: f.size(),
                    compressed: f.compressed_size(),
                    data: (f.data_start(), f.data_start() + f.compressed_size()),
                    dir: f.is_dir(),
                    encrypted: f.encrypted(),
                }),
                Err(e) => {
                    self.damaged(chain, format!("damaged zip archive: member {index}: {e}"));
                    return;
                }
            }
        }
        // Members whose data overlap are how a zip bomb expands one kernel of compressed
        // data many times over; no tool writes them.
        let mut spans: Vec<(u64, u64)> = entries
            .iter()
            .filter(|e| e.compressed > 0)
            .map(|e| e.data)
            .collect();
        spans.sort_unstable();
        if spans.windows(2).any(|w| w[1].0 < w[0].1) {
            self.skip(
                chain,
                "zip members overlap (a zip bomb): not read".to_string(),
            );
            return;
        }
        for e in entries {
            if e.dir {
                continue;
            }
            if !self.take_member(chain) {
                return;
            }
            chain.push(e.name.clone());
            self.zip_member(&mut zip, &e, chain, depth);
            chain.pop();
            if self.budget.exhausted.get() {
                return;
            }
        }
    }

    fn zip_member<R: Read + Seek>(
        &mut self,
        zip: &mut zip::ZipArchive<R>,
        e: &Entry,
        chain: &mut Vec<String>,
        depth: usize,
    ) {
        let s = self.settings;
        if self.is_excluded(chain) {
            return;
        }
        if e.encrypted {
            self.skip(chain, "encrypted member".into());
            return;
        }
        if e.size > s.max_member_size {
            self.skip(
                chain,
                format!(
                    "member of {} bytes, larger than --max-member-size ({} bytes)",
                    e.size, s.max_member_size
                ),
            );
            return;
        }
        if e.size > RATIO_FLOOR && e.size / e.compressed.max(1) > s.max_ratio {
            self.skip(
                chain,
                format!(
                    "compression ratio {}:1 over --max-archive-ratio ({}:1): a zip bomb or \
                     padding, not read",
                    e.size / e.compressed.max(1),
                    s.max_ratio
                ),
            );
            return;
        }
        let file = match zip.by_index(e.index) {
            Ok(f) => f,
            Err(zip::result::ZipError::UnsupportedArchive(m)) => {
                self.skip(chain, format!("unsupported zip member: {m}"));
                return;
            }
            Err(err) => {
                self.damaged(chain, format!("damaged zip member: {err}"));
                return;
            }
        };
        let budget = self.budget;
        let mut r = Bounded::member(file, budget, s, Compressed::Known(e.compressed));
        let res = self.stream(&mut r, chain, depth + 1);
        self.finish_member(chain, res, r.stopped.take(), "zip member");
    }

    /// Reads the members of a tar stream.
    pub(super) fn tar(&mut self, r: &mut dyn Read, chain: &mut Vec<String>, depth: usize) {
        let s = self.settings;
        let mut archive = tar::Archive::new(r);
        let entries = match archive.entries() {
            Ok(e) => e,
            Err(e) => {
                self.damaged(chain, format!("damaged tar archive: {e}"));
                return;
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    self.damaged(chain, format!("damaged tar archive: {e}"));
                    return;
                }
            };
            if !entry.header().entry_type().is_file() {
                continue;
            }
            if !self.take_member(chain) {
                return;
            }
            let size = entry.size();
            chain.push(String::from_utf8_lossy(&entry.path_bytes()).into_owned());
            if self.is_excluded(chain) {
            } else if size > s.max_member_size {
                self.skip(
                    chain,
                    format!(
                        "member of {size} bytes, larger than --max-member-size ({} bytes)",
                        s.max_member_size
                    ),
                );
            } else {
                let budget = self.budget;
                let mut r = Bounded::view(entry, budget, s);
                let res = self.stream(&mut r, chain, depth + 1);
                self.finish_member(chain, res, r.stopped.take(), "tar member");
            }
            chain.pop();
            if self.budget.exhausted.get() {
                return;
            }
        }
    }

    /// Decompresses a gzip, bzip2 or xz stream and reads what it holds.
    pub(super) fn decompress(
        &mut self,
        kind: Kind,
        r: &mut dyn Read,
        chain: &mut Vec<String>,
        depth: usize,
    ) {
        let count = Rc::new(Cell::new(0));
        let input = BufReader::new(Counting {
            inner: r,
            count: count.clone(),
        });
        let (decoder, what): (Box<dyn Read + '_>, &str) = match kind {
            Kind::Gzip => (
                Box::new(flate2::bufread::MultiGzDecoder::new(input)),
                "gzip",
            ),
            Kind::Bzip2 => (
                Box::new(bzip2::bufread::MultiBzDecoder::new(input)),
                "bzip2",
            ),
            _ => (
                Box::new(liblzma::bufread::XzDecoder::new_multi_decoder(input)),
                "xz",
            ),
        };
        let budget = self.budget;
        let mut r = Bounded::layer(decoder, budget, self.settings, Compressed::Counted(count));
        // A compressed tar is one archive (`.tar.gz`): its members are one level down, and
        // name themselves. Anything else compressed is a level of its own, named by the
        // archive's name without the compression suffix (`config.json.gz` holds
        // `config.json`), so a gzip inside a gzip still counts against the depth limit.
        let mut head = Vec::with_capacity(BINARY_PROBE);
        let res = match (&mut r).take(BINARY_PROBE as u64).read_to_end(&mut head) {
            Ok(_) => {
                let mut whole = io::Cursor::new(&head[..]).chain(&mut r);
                if sniff(&head) == Kind::Tar {
                    self.tar(&mut whole, chain, depth);
                    Ok(())
                } else {
                    let inner =
                        decompressed_name(chain.last().map_or(self.name.as_str(), String::as_str));
                    self.stream_as(&mut whole, chain, depth + 1, Some(inner))
                }
            }
            Err(e) => Err(e),
        };
        let stopped = r.stopped.take();
        self.finish_member(chain, res, stopped, &format!("{what} stream"));
    }
}

/// The name of what a compressed file holds: `config.json.gz` holds `config.json`.
fn decompressed_name(outer: &str) -> String {
    let base = outer.rsplit('/').next().unwrap_or(outer);
    for (ext, to) in [
        (".tgz", ".tar"),
        (".gz", ""),
        (".bz2", ""),
        (".xz", ""),
        (".txz", ".tar"),
        (".tbz2", ".tar"),
    ] {
        if let Some(stem) = base.strip_suffix(ext) {
            if !stem.is_empty() {
                return format!("{stem}{to}");
            }
        }
    }
    "<decompressed>".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_by_magic_bytes() {
        assert_eq!(sniff(b"PK\x03\x04rest"), Kind::Zip);
        assert_eq!(sniff(b"\x1f\x8b\x08\x00"), Kind::Gzip);
        assert_eq!(sniff(b"BZh91AY&SY"), Kind::Bzip2);
        assert_eq!(sniff(b"\xfd7zXZ\x00\x00"), Kind::Xz);
        assert_eq!(sniff(b"dex\n035\0...."), Kind::Dex);
        assert_eq!(sniff(b"bplist00\xd1"), Kind::Bplist);
        assert_eq!(sniff(b"\x7fELF\x02\x01\x01\0"), Kind::Strings);
        assert_eq!(sniff(b"plain text\n"), Kind::Text);
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0"), Kind::Binary);
        let mut tar = vec![0u8; 512];
        tar[257..262].copy_from_slice(b"ustar");
        assert_eq!(sniff(&tar), Kind::Tar);
        assert_eq!(decompressed_name("a/b/config.json.gz"), "config.json");
        assert_eq!(decompressed_name("logs.tgz"), "logs.tar");
        assert_eq!(decompressed_name("blob"), "<decompressed>");
    }
}
