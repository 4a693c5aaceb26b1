//! A reader for git's index file (`Documentation/gitformat-index.txt`): versions 2 to 4,
//! entries and the cache-tree. It returns None for what it does not handle, and the caller
//! falls back to libgit2.
//!
//! A clean `staged` run reads every entry of a large index once, so this pass does little per
//! entry: the file is mapped, not copied (`mapped.rs`); a version 2 or 3 path's length comes
//! from the entry's flags, not a search for its NUL; and the checks that need the paths
//! themselves (sorted order, no empty, absolute or `//` path, depth) are left to the walk of
//! `changes.rs`, which makes them on the entries it reads and no others: an entry inside a
//! directory whose cache-tree matches HEAD is never compared with anything.

use std::io;
use std::ops::Range;
use std::path::Path;

use git2::Oid;

use super::mapped::{self, Bytes};

const OID: usize = 20;
/// ctime, mtime, dev, ino, mode, uid, gid, size, oid, flags.
const FIXED: usize = 40 + OID + 2;

/// One entry: where it starts in the file (version 4: its row in `IndexFile::v4`). Four
/// bytes, read through `IndexFile`: a large index has 100k entries and every clean scan
/// lists them all, so a bigger record costs page faults of its own.
pub struct Entry {
    at: u32,
}

/// A node of the cache-tree: the tree id of a directory as staged, if still valid.
pub struct CacheTree {
    pub name: Vec<u8>,
    pub oid: Option<Oid>,
    /// How many index entries the directory holds (when valid): git's `entry_count`.
    pub count: Option<usize>,
    pub children: Vec<CacheTree>,
}

/// An index file. `entries` holds the stage 0 entries in file order (intent-to-add entries,
/// which the commit will not record, left out); the caller must not assume they are sorted.
pub struct IndexFile {
    data: Bytes,
    /// Version 4 stores each path as a change to the previous one: the paths expanded, and
    /// per entry its offset in the file and its path's start and length there.
    v4: Option<(Vec<u8>, Vec<[u32; 3]>)>,
    pub entries: Vec<Entry>,
    pub tree: Option<CacheTree>,
}

impl IndexFile {
    /// The entry's path (`parse` checked every bound these reads rely on).
    pub fn path(&self, e: &Entry) -> &[u8] {
        let at = e.at as usize;
        match &self.v4 {
            Some((arena, rows)) => {
                let [_, start, len] = rows[at];
                &arena[start as usize..(start + len) as usize]
            }
            None => {
                let flags = be16(&self.data, at + FIXED - 2).unwrap_or(0);
                let p = at + FIXED + if flags & 0x4000 != 0 { 2 } else { 0 };
                let len = usize::from(flags) & NAME_MASK;
                let len = if len < NAME_MASK {
                    len
                } else {
                    let rest = self.data.get(p + NAME_MASK..).unwrap_or_default();
                    NAME_MASK + memchr::memchr(0, rest).unwrap_or(0)
                };
                &self.data[p..p + len]
            }
        }
    }

    fn offset(&self, e: &Entry) -> usize {
        match &self.v4 {
            Some((_, rows)) => rows[e.at as usize][0] as usize,
            None => e.at as usize,
        }
    }

    pub fn oid(&self, e: &Entry) -> Oid {
        let at = self.offset(e) + 40;
        Oid::from_bytes(&self.data[at..at + OID]).expect("20 bytes")
    }

    /// The entry's mode: a file's, a link's, a submodule's, or a sparse index's directory's.
    pub fn mode(&self, e: &Entry) -> u32 {
        be32(&self.data, self.offset(e) + 24).unwrap_or(0)
    }
}

/// Reads the index at `path`; a missing file is an empty index (nothing staged yet).
pub fn read(path: &Path) -> io::Result<Option<IndexFile>> {
    match mapped::open(path) {
        Ok(d) if d.len() < 12 + OID || &d[..4] != b"DIRC" => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not a git index file (bad signature or truncated)",
        )),
        Ok(d) => Ok(parse(d)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Some(IndexFile {
            data: Bytes::Owned(Vec::new()),
            v4: None,
            entries: Vec::new(),
            tree: None,
        })),
        Err(e) => Err(e),
    }
}

fn be32(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(d.get(at..at + 4)?.try_into().ok()?))
}

fn be16(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(d.get(at..at + 2)?.try_into().ok()?))
}

/// Git's offset encoding (not LEB128): each continuation adds one before shifting.
fn varint(d: &[u8], at: &mut usize) -> Option<usize> {
    let mut c = *d.get(*at)?;
    *at += 1;
    let mut v = usize::from(c & 0x7f);
    while c & 0x80 != 0 {
        c = *d.get(*at)?;
        *at += 1;
        v = v.checked_add(1)?.checked_mul(128)? + usize::from(c & 0x7f);
    }
    Some(v)
}

/// The flags' 12-bit name length: the length itself, or this for 4095 bytes and more.
const NAME_MASK: usize = 0xfff;

pub fn parse(data: impl Into<Bytes>) -> Option<IndexFile> {
    let data = data.into();
    let d = &*data;
    if d.len() < 12 + OID || &d[..4] != b"DIRC" || d.len() > u32::MAX as usize {
        return None;
    }
    let version = be32(d, 4)?;
    if !(2..=4).contains(&version) {
        return None;
    }
    let count = be32(d, 8)? as usize;
    let body = &d[..d.len() - OID];
    let mut arena: Option<Vec<u8>> = (version == 4).then(|| Vec::with_capacity(body.len()));
    let mut rows: Vec<[u32; 3]> = Vec::new();
    let mut entries: Vec<Entry> = Vec::with_capacity(count.min(body.len() / FIXED));
    let mut pos = 12;
    let mut prev: Range<usize> = 0..0;
    // Directory entries, which only a sparse index (`sdir`) may hold.
    let mut directories = false;
    let mut sparse = false;
    for _ in 0..count {
        let fixed = body.get(pos..pos + FIXED)?;
        let mode = be32(fixed, 24)?;
        let flags = be16(fixed, 40 + OID)?;
        let at = pos as u32;
        let mut p = pos + FIXED;
        if (flags >> 12) & 3 != 0 {
            return None; // unresolved conflict: let libgit2 report it
        }
        let mut intent_to_add = false;
        let mut skip_worktree = false;
        if flags & 0x4000 != 0 {
            if version < 3 {
                return None;
            }
            let extended = be16(body, p)?;
            intent_to_add = extended & 0x2000 != 0;
            skip_worktree = extended & 0x4000 != 0;
            p += 2;
        }
        let path = match &mut arena {
            Some(a) => {
                let strip = varint(body, &mut p)?;
                let keep = prev.len().checked_sub(strip)?;
                let start = a.len();
                a.extend_from_within(prev.start..prev.start + keep);
                let nul = memchr::memchr(0, body.get(p..)?)?;
                a.extend_from_slice(&body[p..p + nul]);
                pos = p + nul + 1;
                // Path compression that expands past any real index: a crafted file could
                // ask for gigabytes.
                if a.len() > 16 * body.len() + (1 << 20) {
                    return None;
                }
                start..a.len()
            }
            None => {
                let len = usize::from(flags) & NAME_MASK;
                let len = if len < NAME_MASK {
                    if *body.get(p + len)? != 0 {
                        return None;
                    }
                    len
                } else {
                    NAME_MASK + memchr::memchr(0, body.get(p + NAME_MASK..)?)?
                };
                // Entries are padded with 1 to 8 NULs to a multiple of 8 bytes.
                let r = p..p + len;
                pos += (p - pos + len + 8) & !7;
                r
            }
        };
        prev = path.clone();
        if mode == 0o040000 {
            // A sparse index's directory (its path ends with `/`): a tree outside the
            // sparse-checkout cone, which the walk compares tree to tree.
            let paths = arena.as_deref().unwrap_or(d);
            if !skip_worktree || !paths[path.clone()].ends_with(b"/") {
                return None;
            }
            directories = true;
        } else if !matches!(mode, 0o100644 | 0o100755 | 0o120000 | 0o160000) {
            return None; // something unknown
        }
        if intent_to_add {
            continue;
        }
        if arena.is_some() {
            entries.push(Entry {
                at: rows.len() as u32,
            });
            rows.push([at, path.start as u32, path.len() as u32]);
        } else {
            entries.push(Entry { at });
        }
    }
    if pos > body.len() {
        return None; // the last entry's padding runs into the checksum
    }
    let mut tree = None;
    while pos < body.len() {
        let sig = body.get(pos..pos + 4)?;
        let size = be32(body, pos + 4)? as usize;
        let ext = body.get(pos + 8..(pos + 8).checked_add(size)?)?;
        match sig {
            b"TREE" => {
                let mut at = 0;
                tree = Some(cache_tree(ext, &mut at, 0)?);
            }
            // A split index is not handled here.
            b"link" => return None,
            b"sdir" => sparse = true,
            // Other optional extensions (upper-case first letter) can be ignored.
            s if s[0].is_ascii_uppercase() => {}
            _ => return None,
        }
        pos += 8 + size;
    }
    if directories && !sparse {
        return None;
    }
    Some(IndexFile {
        data,
        v4: arena.map(|a| (a, rows)),
        entries,
        tree,
    })
}

fn cache_tree(d: &[u8], at: &mut usize, depth: usize) -> Option<CacheTree> {
    if depth > 4096 {
        return None;
    }
    let rest = d.get(*at..)?;
    let nul = memchr::memchr(0, rest)?;
    let name = rest[..nul].to_vec();
    let rest = &rest[nul + 1..];
    let nl = memchr::memchr(b'\n', rest)?;
    let line = std::str::from_utf8(&rest[..nl]).ok()?;
    let (n, subtrees) = line.split_once(' ')?;
    let entry_count: i64 = n.parse().ok()?;
    let subtrees: usize = subtrees.parse().ok()?;
    *at += nul + 1 + nl + 1;
    let (oid, count) = if entry_count >= 0 {
        let o = Oid::from_bytes(d.get(*at..*at + OID)?).ok()?;
        *at += OID;
        (Some(o), Some(usize::try_from(entry_count).ok()?))
    } else {
        (None, None)
    };
    let mut children = Vec::with_capacity(subtrees.min(1024));
    for _ in 0..subtrees {
        children.push(cache_tree(d, at, depth + 1)?);
    }
    Some(CacheTree {
        name,
        oid,
        count,
        children,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_matches_git() {
        // Examples from git's varint.c encoding: 127 -> 7f, 128 -> 80 00, 16511 -> ff 7f.
        for (bytes, want) in [
            (&[0x7f][..], 127),
            (&[0x80, 0x00][..], 128),
            (&[0xff, 0x7f][..], 16511),
        ] {
            let mut at = 0;
            assert_eq!(varint(bytes, &mut at), Some(want));
            assert_eq!(at, bytes.len());
        }
    }

    fn git(dir: &Path, args: &[&str]) {
        let ok = std::process::Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env_remove("GIT_DIR")
            .env_remove("GIT_INDEX_FILE")
            .status()
            .unwrap()
            .success();
        assert!(ok, "git {args:?}");
    }

    /// The built-in reader must take the indexes git writes (else every scan would
    /// silently take the slow path), and decline a split index.
    #[test]
    fn reads_what_git_writes() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path();
        git(p, &["init", "-q"]);
        for i in 0..50 {
            let f = p.join(format!("d{}/s{}/f{i}", i % 3, i % 5));
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(f, format!("{i}\n")).unwrap();
        }
        git(p, &["add", "."]);
        git(
            p,
            &[
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "commit",
                "-qm",
                "x",
            ],
        );
        let idx = p.join(".git/index");
        for version in ["2", "3", "4"] {
            git(p, &["update-index", "--index-version", version]);
            let i = read(&idx).unwrap().expect("index is readable");
            assert_eq!(i.entries.len(), 50, "version {version}");
            assert_eq!(i.path(&i.entries[0]), b"d0/s0/f0");
            let t = i.tree.as_ref().expect("cache-tree");
            assert!(t.oid.is_some() && t.children.len() == 3);
            assert_eq!(t.count, Some(50));
            let counts: usize = t.children.iter().map(|c| c.count.unwrap()).sum();
            assert_eq!(counts, 50);
        }
        git(p, &["update-index", "--split-index"]);
        assert!(read(&idx).unwrap().is_none());
    }

    /// A version 4 index of `(strip, suffix)` path records.
    pub(in crate::source::staged) fn v4(records: &[(usize, Vec<u8>)]) -> Vec<u8> {
        let mut d = b"DIRC\0\0\0\x04".to_vec();
        d.extend_from_slice(&(records.len() as u32).to_be_bytes());
        for (strip, suffix) in records {
            let mut fixed = vec![0u8; FIXED];
            fixed[24..28].copy_from_slice(&0o100644u32.to_be_bytes());
            d.extend_from_slice(&fixed);
            assert!(*strip < 128);
            d.push(*strip as u8);
            d.extend_from_slice(suffix);
            d.push(0);
        }
        d.extend_from_slice(&[0u8; OID]);
        d
    }

    #[test]
    fn runaway_path_compression_is_declined_not_a_panic() {
        assert!(parse(v4(&[(0, b"a/b".to_vec())])).is_some());
        // Each record keeps the whole previous path and adds a byte: the paths would
        // grow quadratically with the file's size.
        let grow: Vec<(usize, Vec<u8>)> = (0..5000).map(|_| (0, b"a".to_vec())).collect();
        assert!(parse(v4(&grow)).is_none());
    }

    /// Version 2 path lengths come from the flags: a path whose NUL is not where they say,
    /// or runs past the file, is declined; a long one (4095 bytes and more) is found by its
    /// NUL.
    #[test]
    fn v2_name_lengths_follow_the_flags() {
        let v2 = |path: &[u8], len_flag: u16, pad: usize| {
            let mut d = b"DIRC\0\0\0\x02\0\0\0\x01".to_vec();
            let mut fixed = vec![0u8; FIXED];
            fixed[24..28].copy_from_slice(&0o100644u32.to_be_bytes());
            fixed[60..62].copy_from_slice(&len_flag.to_be_bytes());
            d.extend_from_slice(&fixed);
            d.extend_from_slice(path);
            d.extend(std::iter::repeat_n(0u8, pad));
            d.extend_from_slice(&[0u8; OID]);
            d
        };
        let i = parse(v2(b"abc", 3, 7)).expect("well-formed");
        assert_eq!(i.path(&i.entries[0]), b"abc");
        assert!(parse(v2(b"abc", 3, 5)).is_none(), "padding cut short");
        assert!(parse(v2(b"abc", 2, 7)).is_none(), "no NUL after 2 bytes");
        assert!(parse(v2(b"abc", 900, 7)).is_none(), "past the end");
        let long = vec![b'x'; 5000];
        let pad = 8 - (FIXED + long.len()) % 8;
        let i = parse(v2(&long, 0xfff, pad)).expect("long path");
        assert_eq!(i.path(&i.entries[0]).len(), 5000);
    }

    /// A directory entry (a tree) belongs to a sparse index: with its `sdir` extension
    /// and the skip-worktree flag, and a path ending with `/`.
    #[test]
    fn directory_entries_only_in_a_sparse_index() {
        let v3 = |path: &[u8], extended: u16, sdir: bool| {
            let mut d = b"DIRC\0\0\0\x03\0\0\0\x01".to_vec();
            let mut fixed = vec![0u8; FIXED];
            fixed[24..28].copy_from_slice(&0o040000u32.to_be_bytes());
            fixed[60..62].copy_from_slice(&(0x4000 | path.len() as u16).to_be_bytes());
            d.extend_from_slice(&fixed);
            d.extend_from_slice(&extended.to_be_bytes());
            d.extend_from_slice(path);
            d.extend(std::iter::repeat_n(0u8, 8 - (FIXED + 2 + path.len()) % 8));
            if sdir {
                d.extend_from_slice(b"sdir\0\0\0\0");
            }
            d.extend_from_slice(&[0u8; OID]);
            d
        };
        let i = parse(v3(b"dir/", 0x4000, true)).expect("sparse directory");
        assert_eq!(i.mode(&i.entries[0]), 0o040000);
        assert!(parse(v3(b"dir/", 0x4000, false)).is_none(), "no sdir");
        assert!(parse(v3(b"dir/", 0, true)).is_none(), "not skip-worktree");
        assert!(parse(v3(b"dir", 0x4000, true)).is_none(), "no trailing /");
    }

    #[test]
    fn garbage_is_declined_not_a_panic() {
        assert!(parse(Vec::new()).is_none());
        assert!(parse(vec![0u8; 64]).is_none());
        let mut d = b"DIRC\0\0\0\x02\0\0\0\x05".to_vec();
        d.extend_from_slice(&[0xAB; 40]);
        assert!(parse(d).is_none());
        // Every prefix of a real index: none may panic; only the whole is read.
        let real = {
            let mut d = b"DIRC\0\0\0\x02\0\0\0\x02".to_vec();
            for p in [&b"a/b"[..], b"c"] {
                let mut fixed = vec![0u8; FIXED];
                fixed[24..28].copy_from_slice(&0o100644u32.to_be_bytes());
                fixed[60..62].copy_from_slice(&(p.len() as u16).to_be_bytes());
                d.extend_from_slice(&fixed);
                d.extend_from_slice(p);
                d.extend(std::iter::repeat_n(0u8, 8 - (FIXED + p.len()) % 8));
            }
            d.extend_from_slice(b"TREE\0\0\0\x19\x002 0\n");
            d.extend_from_slice(&[7u8; OID]);
            d.extend_from_slice(&[0u8; OID]);
            d
        };
        assert!(parse(real.clone()).unwrap().tree.is_some());
        // Without the extension (8 + 25 bytes) it is still an index.
        let entries_end = real.len() - OID - 33;
        for n in 0..real.len() - OID {
            let mut cut = real[..n].to_vec();
            cut.extend_from_slice(&[0u8; OID]);
            let read = parse(cut);
            if n == entries_end {
                assert!(read.unwrap().tree.is_none());
            } else {
                assert!(read.is_none(), "cut at {n}");
            }
        }
    }
}
