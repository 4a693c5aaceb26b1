//! Pack order: where each object sits in its pack file, read from the pack indexes
//! (`.idx` version 2). Reading objects in pack order makes a delta's base the object read just
//! before it, still in libgit2's delta base cache, instead of inflating its chain again.

use std::path::{Path, PathBuf};

use git2::Oid;

/// One parsed pack index.
pub struct PackIndex {
    data: Vec<u8>,
    n: usize,
    /// The pack file it indexes (none in tests that only look up offsets).
    pack: Option<PathBuf>,
}

impl PackIndex {
    const HEADER: usize = 8 + 256 * 4;

    /// Parses a version 2 pack index; `None` if it is not one or is too short for its count.
    pub fn parse(data: Vec<u8>) -> Option<PackIndex> {
        if data.len() < Self::HEADER || data[..8] != [0xff, b't', b'O', b'c', 0, 0, 0, 2] {
            return None;
        }
        let n = be32(&data, 8 + 255 * 4) as usize;
        // ids (20) + crc (4) + offset (4) per object, plus the two trailing checksums.
        if data.len() < Self::HEADER + n.checked_mul(28)? {
            return None;
        }
        Some(PackIndex {
            data,
            n,
            pack: None,
        })
    }

    /// The offset of `id` in the pack, if the index lists it.
    pub fn offset(&self, id: &[u8]) -> Option<u64> {
        if id.len() != 20 {
            return None;
        }
        let first = id[0] as usize;
        let lo = if first == 0 {
            0
        } else {
            be32(&self.data, 8 + (first - 1) * 4) as usize
        };
        let hi = (be32(&self.data, 8 + first * 4) as usize).min(self.n);
        let (mut lo, mut hi) = (lo.min(hi), hi);
        while lo < hi {
            let mid = (lo + hi) / 2;
            let at = Self::HEADER + mid * 20;
            match self.data[at..at + 20].cmp(id) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return self.offset_at(mid),
            }
        }
        None
    }

    /// The offset of the object at position `i` of the index.
    fn offset_at(&self, i: usize) -> Option<u64> {
        let offsets = Self::HEADER + self.n * 24;
        let v = be32(&self.data, offsets + i * 4);
        if v & 0x8000_0000 == 0 {
            return Some(u64::from(v));
        }
        let at = (offsets + self.n * 4).checked_add((v & 0x7fff_ffff) as usize * 8)?;
        let b = self.data.get(at..at.checked_add(8)?)?;
        Some(u64::from_be_bytes(b.try_into().ok()?))
    }

    /// The id of the object at position `i` of the index.
    fn id_at(&self, i: usize) -> [u8; 20] {
        let at = Self::HEADER + i * 20;
        self.data[at..at + 20].try_into().expect("20 bytes")
    }

    /// The commits this pack holds, in pack order, told by each object's header (a delta's
    /// type is its base's, which sits earlier in the pack). The pack is read through a
    /// window, never whole. An object whose type cannot be told (a damaged header, a base
    /// outside the pack) is left out: this is a read-ahead, and the walk reads what it lacks.
    pub(crate) fn commits(&self) -> Vec<[u8; 20]> {
        let Some(file) = self.pack.as_ref().and_then(|p| std::fs::File::open(p).ok()) else {
            return Vec::new();
        };
        let mut order: Vec<(u64, u32)> = (0..self.n)
            .filter_map(|i| Some((self.offset_at(i)?, i as u32)))
            .collect();
        order.sort_unstable();
        let mut window = Window::new(file);
        let mut kinds = vec![0u8; order.len()];
        let mut commits = Vec::new();
        for (k, &(offset, i)) in order.iter().enumerate() {
            let kind = match window.at(offset).and_then(header) {
                Some(Header::Whole(t)) => t,
                Some(Header::OfsDelta(back)) => offset
                    .checked_sub(back)
                    .and_then(|b| order[..k].binary_search_by_key(&b, |o| o.0).ok())
                    .map_or(0, |b| kinds[b]),
                Some(Header::RefDelta(base)) => self
                    .offset(&base)
                    .and_then(|b| order[..k].binary_search_by_key(&b, |o| o.0).ok())
                    .map_or(0, |b| kinds[b]),
                None => 0,
            };
            kinds[k] = kind;
            if kind == COMMIT {
                commits.push(self.id_at(i as usize));
            }
        }
        commits
    }
}

/// The type number of a commit in a pack.
const COMMIT: u8 = 1;

/// What an object's header in a pack says.
enum Header {
    /// Stored whole, with its type number.
    Whole(u8),
    /// A delta against the object this many bytes earlier.
    OfsDelta(u64),
    /// A delta against the object with this id.
    RefDelta([u8; 20]),
}

/// Parses the header at the start of `d` (git's pack format: type and size in a varint,
/// then a delta's base).
fn header(d: &[u8]) -> Option<Header> {
    let mut it = d.iter().copied();
    let first = it.next()?;
    let kind = (first >> 4) & 7;
    let mut more = first & 0x80 != 0;
    while more {
        more = it.next()? & 0x80 != 0;
    }
    match kind {
        1..=4 => Some(Header::Whole(kind)),
        6 => {
            let mut b = it.next()?;
            let mut back = u64::from(b & 0x7f);
            while b & 0x80 != 0 {
                b = it.next()?;
                back = back.checked_add(1)?.checked_mul(128)? | u64::from(b & 0x7f);
            }
            Some(Header::OfsDelta(back))
        }
        7 => {
            let id: Vec<u8> = it.take(20).collect();
            Some(Header::RefDelta(id.try_into().ok()?))
        }
        _ => None,
    }
}

/// Reads a file a megabyte at a time, for the headers of objects visited in offset order.
struct Window {
    file: std::fs::File,
    start: u64,
    buf: Vec<u8>,
}

impl Window {
    const SIZE: usize = 1 << 20;
    /// The most a header needs: type and size varint, then a base offset or id.
    const HEADER: usize = 40;

    fn new(file: std::fs::File) -> Window {
        Window {
            file,
            start: 0,
            buf: Vec::new(),
        }
    }

    /// The bytes from `offset` on (up to `HEADER` of them, fewer at the end of the file).
    fn at(&mut self, offset: u64) -> Option<&[u8]> {
        use std::os::unix::fs::FileExt;
        let end = self.start + self.buf.len() as u64;
        if offset < self.start || offset + Self::HEADER as u64 > end {
            self.buf.resize(Self::SIZE, 0);
            let mut got = 0;
            while got < Self::SIZE {
                match self.file.read_at(&mut self.buf[got..], offset + got as u64) {
                    Ok(0) => break,
                    Ok(k) => got += k,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
            self.buf.truncate(got);
            self.start = offset;
        }
        let from = usize::try_from(offset - self.start).ok()?;
        let d = self.buf.get(from..)?;
        (!d.is_empty()).then(|| &d[..d.len().min(Self::HEADER)])
    }
}

fn be32(d: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([d[at], d[at + 1], d[at + 2], d[at + 3]])
}

/// The pack indexes of an object directory, in file name order; unreadable or unknown ones
/// are left out (objects they hold sort last, which only costs speed).
pub(crate) fn load(objects: &Path) -> Vec<PackIndex> {
    let mut indexes = Vec::new();
    if let Ok(dir) = std::fs::read_dir(objects.join("pack")) {
        let mut paths: Vec<PathBuf> = dir
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "idx"))
            .collect();
        paths.sort();
        for p in paths {
            if let Some(mut ix) = std::fs::read(&p).ok().and_then(PackIndex::parse) {
                ix.pack = Some(p.with_extension("pack"));
                indexes.push(ix);
            }
        }
    }
    indexes
}

/// (pack number, offset) of an object; loose objects sort last.
pub(crate) fn key(indexes: &[PackIndex], oid: Oid) -> (u32, u64) {
    indexes
        .iter()
        .enumerate()
        .find_map(|(i, ix)| ix.offset(oid.as_bytes()).map(|o| (i as u32, o)))
        .unwrap_or((u32::MAX, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A version 2 index of `ids` (sorted) at the given 64-bit offsets.
    fn index(ids: &[[u8; 20]], offsets: &[u64]) -> Vec<u8> {
        let mut d = vec![0xff, b't', b'O', b'c', 0, 0, 0, 2];
        for b in 0..256usize {
            let n = ids.iter().filter(|i| (i[0] as usize) <= b).count() as u32;
            d.extend_from_slice(&n.to_be_bytes());
        }
        for i in ids {
            d.extend_from_slice(i);
        }
        d.extend(std::iter::repeat_n(0, 4 * ids.len()));
        let mut large = Vec::new();
        for &o in offsets {
            if o < 0x8000_0000 {
                d.extend_from_slice(&(o as u32).to_be_bytes());
            } else {
                let v = 0x8000_0000 | (large.len() as u32);
                d.extend_from_slice(&v.to_be_bytes());
                large.push(o);
            }
        }
        for o in large {
            d.extend_from_slice(&o.to_be_bytes());
        }
        d.extend(std::iter::repeat_n(0, 40));
        d
    }

    /// Every commit of a real pack (deltas of commits too), and nothing else, by the headers.
    #[test]
    fn commits_of_a_real_pack() {
        let dir = tempfile::tempdir().unwrap();
        let git = |args: &[&str]| {
            let out = std::process::Command::new("git")
                .arg("-C")
                .arg(dir.path())
                .args(["-c", "user.name=T", "-c", "user.email=t@example.com"])
                .args(args)
                .output()
                .unwrap();
            assert!(out.status.success(), "git {args:?}: {out:?}");
            String::from_utf8(out.stdout).unwrap()
        };
        git(&["init", "-q"]);
        for i in 0..30 {
            let body: String = (0..50)
                .map(|l| format!("line {l} of version {i}\n"))
                .collect();
            std::fs::write(dir.path().join("f.txt"), body).unwrap();
            git(&["add", "f.txt"]);
            // Long, nearly equal messages: pack-objects stores some commits as deltas.
            let msg = format!(
                "{}{i}",
                "a long commit message that repeats itself ".repeat(20)
            );
            git(&["commit", "-q", "-m", &msg]);
        }
        git(&[
            "repack",
            "-a",
            "-d",
            "-q",
            "-f",
            "--depth=50",
            "--window=250",
        ]);
        let packs = load(&dir.path().join(".git/objects"));
        assert_eq!(packs.len(), 1);
        let mut got: Vec<String> = packs[0]
            .commits()
            .iter()
            .map(|id| id.iter().map(|b| format!("{b:02x}")).collect())
            .collect();
        got.sort();
        let mut want: Vec<String> = git(&["rev-list", "--all"])
            .lines()
            .map(String::from)
            .collect();
        want.sort();
        assert_eq!(got, want);
    }

    #[test]
    fn headers_parse_and_damage_is_none() {
        // A commit of size 0x1f5 (two size bytes).
        assert!(matches!(header(&[0x95, 0x1f]), Some(Header::Whole(1))));
        // An offset delta 0x80 + 0x05 = ((0 + 1) << 7) + 5 = 133 bytes back.
        assert!(matches!(
            header(&[0x60, 0x80, 0x05]),
            Some(Header::OfsDelta(133))
        ));
        let mut r = vec![0x70];
        r.extend_from_slice(&[9; 20]);
        assert!(matches!(header(&r), Some(Header::RefDelta(id)) if id == [9; 20]));
        assert!(header(&[]).is_none());
        assert!(header(&[0x95]).is_none(), "size continues past the end");
        assert!(
            header(&[0x60, 0x80]).is_none(),
            "offset continues past the end"
        );
        assert!(header(&[0x70, 1, 2]).is_none(), "short base id");
        assert!(header(&[0x50]).is_none(), "type 5 is reserved");
        assert!(
            header(&[0x60, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])
                .is_none()
        );
    }

    #[test]
    fn offsets_small_and_large() {
        let ids = [[1u8; 20], [7u8; 20], [200u8; 20]];
        let ix = PackIndex::parse(index(&ids, &[12, 5_000_000_000, 99])).unwrap();
        assert_eq!(ix.offset(&[1u8; 20]), Some(12));
        assert_eq!(ix.offset(&[7u8; 20]), Some(5_000_000_000));
        assert_eq!(ix.offset(&[200u8; 20]), Some(99));
        assert_eq!(ix.offset(&[8u8; 20]), None);
        assert_eq!(ix.offset(&[1u8; 3]), None);
    }

    #[test]
    fn damaged_indexes_are_refused_or_answer_none() {
        assert!(PackIndex::parse(vec![0; 10]).is_none());
        let mut d = index(&[[1u8; 20]], &[5_000_000_000]);
        // A count larger than the file.
        d[8 + 255 * 4..8 + 256 * 4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(PackIndex::parse(d.clone()).is_none());
        // A large-offset entry pointing past the end.
        let mut d = index(&[[1u8; 20]], &[5_000_000_000]);
        let at = 8 + 256 * 4 + 24;
        d[at..at + 4].copy_from_slice(&0xffff_ffffu32.to_be_bytes());
        let ix = PackIndex::parse(d).unwrap();
        assert_eq!(ix.offset(&[1u8; 20]), None);
    }
}
