//! Pack order: where each object sits in its pack file, read from the pack indexes
//! (`.idx` version 2). Reading objects in pack order makes a delta's base the object read just
//! before it, still in libgit2's delta base cache, instead of inflating its chain again.

use std::path::{Path, PathBuf};

use git2::Oid;

/// One parsed pack index.
pub struct PackIndex {
    data: Vec<u8>,
    n: usize,
    /// The pack file this index describes (empty when parsed from bytes alone).
    pack: PathBuf,
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
            pack: PathBuf::new(),
        })
    }

    /// The pack file this index describes.
    pub(crate) fn pack_path(&self) -> &Path {
        &self.pack
    }

    /// Every object's offset in the pack with its id, in pack order; `None` if an offset
    /// points outside the index.
    pub(crate) fn by_offset(&self) -> Option<Vec<(u64, [u8; 20])>> {
        let mut all = (0..self.n)
            .map(|i| {
                let at = Self::HEADER + i * 20;
                let id: [u8; 20] = self.data[at..at + 20].try_into().ok()?;
                Some((self.offset_at(i)?, id))
            })
            .collect::<Option<Vec<_>>>()?;
        all.sort_unstable_by_key(|&(o, _)| o);
        Some(all)
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
                ix.pack = p.with_extension("pack");
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
