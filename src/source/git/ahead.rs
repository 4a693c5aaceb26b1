//! Commits read ahead: every commit a pack stores whole, inflated on all threads before the
//! commit walk.
//!
//! The walk is serial (a commit names its parents: the next read waits for the last), and
//! on git.git it spent most of its time inflating commits one at a time through libgit2,
//! whose pack reads take a process-wide lock, so threads reading ahead through it gained
//! nothing. Here each thread reads stretches of each pack in order with `pread`, parses every
//! entry's header and inflates the commits (git stores nearly all of them whole: 80,844 of
//! git.git's 85,361); the walk then finds them in a map. Commits stored as deltas, loose
//! ones and anything found damaged here are read by the walk as before (`Objects::read`),
//! whose answer, the object or the error a user sees, stays the reference.
//!
//! Everything read here is untrusted: an entry whose header does not parse, whose stream
//! does not inflate to exactly the size it declares, or which cannot be read is not read
//! ahead, never a panic or an error of its own.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::objects::Id;
use super::packs::PackIndex;

/// Bytes read at once: one `pread` serves the headers of hundreds of entries.
const WINDOW: usize = 1 << 20;
/// The longest entry header: a type and size of up to 64 bits.
const HEADER_MAX: u64 = 11;
/// Commits declaring more than this are left to the walk's own read.
const MAX_COMMIT: usize = 1 << 20;
/// Bytes of commits read ahead at most (git.git's are 59 MB; linux's about 1 GB): commits
/// past this are read by the walk itself, as before, and the sweep's memory stays bounded.
const BUDGET: usize = 128 << 20;
/// Entries of a pack per stretch: git writes the commits first, so stretches must be small
/// for the threads to share them.
const STRETCH: usize = 2048;

/// The commits one stretch held: their bytes one after another, and where each is.
#[derive(Default)]
struct Found {
    bytes: Vec<u8>,
    at: Vec<(Id, usize, usize)>,
}

/// Commits inflated ahead, by id: kept in a few large buffers, so the memory goes back to
/// the system as a whole when the walk is done with them.
#[derive(Default)]
pub(crate) struct Ahead {
    found: Vec<Found>,
    by_id: FxHashMap<Id, (u32, u32, u32)>,
}

impl Ahead {
    /// The commit `id`, if it was read ahead.
    pub(crate) fn get(&self, id: &Id) -> Option<&[u8]> {
        let &(f, start, len) = self.by_id.get(id)?;
        let (start, len) = (start as usize, len as usize);
        self.found.get(f as usize)?.bytes.get(start..start + len)
    }

    /// Reads ahead every commit stored whole in the packs of `indexes`, on `pool`'s threads.
    pub(crate) fn read(indexes: &[PackIndex], pool: &rayon::ThreadPool) -> Ahead {
        Ahead::read_within(indexes, pool, BUDGET)
    }

    /// [`Ahead::read`] with at most about `budget` bytes of commits (a thread may pass it by
    /// the commit it is inflating).
    fn read_within(indexes: &[PackIndex], pool: &rayon::ThreadPool, budget: usize) -> Ahead {
        let mut ahead = Ahead::default();
        let used = AtomicUsize::new(0);
        for ix in indexes {
            for mut found in read_pack(ix, pool, (&used, budget)).unwrap_or_default() {
                if found.at.is_empty() {
                    continue;
                }
                let Ok(f) = u32::try_from(ahead.found.len()) else {
                    break;
                };
                // Where each commit is moves into the map; the stretch keeps the bytes.
                for (id, start, len) in std::mem::take(&mut found.at) {
                    let (Ok(start), Ok(len)) = (u32::try_from(start), u32::try_from(len)) else {
                        continue;
                    };
                    ahead.by_id.entry(id).or_insert((f, start, len));
                }
                ahead.found.push(found);
            }
        }
        ahead
    }
}

/// The commits stored whole in `ix`'s pack, by stretch; `None` if the pack cannot be opened
/// or its index does not fit it.
fn read_pack(
    ix: &PackIndex,
    pool: &rayon::ThreadPool,
    budget: (&AtomicUsize, usize),
) -> Option<Vec<Found>> {
    let file = File::open(ix.pack_path()).ok()?;
    let data_end = file.metadata().ok()?.len().checked_sub(20)?;
    let entries = ix.by_offset()?;
    let (first, last) = (entries.first()?.0, entries.last()?.0);
    if first < 12 || last >= data_end {
        return None;
    }
    let found: Vec<Found> = pool.install(|| {
        entries
            .par_chunks(STRETCH)
            // Every stretch a task of its own: the commits are all in the first ones.
            .with_max_len(1)
            .enumerate()
            .map(|(k, stretch)| {
                let end = entries.get((k + 1) * STRETCH).map_or(data_end, |&(o, _)| o);
                read_stretch(&file, stretch, end, budget)
            })
            .collect()
    });
    Some(found)
}

/// The commits among `entries` (in pack order), the last of which ends at `stretch_end`.
fn read_stretch(
    file: &File,
    entries: &[(u64, Id)],
    stretch_end: u64,
    (used, budget): (&AtomicUsize, usize),
) -> Found {
    let mut out = Found::default();
    let mut window = Window::default();
    let mut z = flate2::Decompress::new(true);
    for (i, &(offset, id)) in entries.iter().enumerate() {
        let end = entries.get(i + 1).map_or(stretch_end, |&(o, _)| o);
        let Some(head) = window.get(file, offset, end.min(offset + HEADER_MAX), stretch_end) else {
            return out;
        };
        let Some((size, body)) = commit_header(head) else {
            continue;
        };
        if used.load(Ordering::Relaxed) >= budget {
            return out;
        }
        let Some(entry) = window.get(file, offset, end, stretch_end) else {
            return out;
        };
        let start = out.bytes.len();
        if inflate(&mut z, &entry[body..], size, &mut out.bytes) {
            used.fetch_add(size, Ordering::Relaxed);
            out.at.push((id, start, size));
        } else {
            out.bytes.truncate(start);
        }
    }
    out
}

/// A stretch of the pack file in memory.
#[derive(Default)]
struct Window {
    buf: Vec<u8>,
    start: u64,
}

impl Window {
    /// The bytes `from..to` of the file, read with what follows them (up to `limit`) when
    /// the window does not hold them; `None` if they cannot be read.
    fn get(&mut self, file: &File, from: u64, to: u64, limit: u64) -> Option<&[u8]> {
        let held = self.start <= from && to <= self.start + self.buf.len() as u64;
        if !held {
            let len = to
                .checked_sub(from)?
                .max(WINDOW as u64)
                .min(limit.checked_sub(from)?);
            let len = usize::try_from(len).ok()?;
            if len < usize::try_from(to - from).ok()? {
                return None;
            }
            self.buf.resize(len, 0);
            self.start = from;
            if file.read_exact_at(&mut self.buf, from).is_err() {
                self.buf.clear();
                return None;
            }
        }
        let at = usize::try_from(from - self.start).ok()?;
        let len = usize::try_from(to - from).ok()?;
        self.buf.get(at..at + len)
    }
}

/// If the entry is a whole commit: its declared size and where its zlib stream starts.
/// (Public for its fuzz target, like `inflate`.)
pub fn commit_header(e: &[u8]) -> Option<(usize, usize)> {
    let first = *e.first()?;
    if (first >> 4) & 7 != 1 {
        return None;
    }
    let mut size = u64::from(first & 0x0f);
    let (mut i, mut shift, mut b) = (1, 4, first);
    while b & 0x80 != 0 {
        b = *e.get(i)?;
        i += 1;
        if shift > 57 {
            return None;
        }
        size |= u64::from(b & 0x7f) << shift;
        shift += 7;
    }
    let size = usize::try_from(size).ok().filter(|&s| s <= MAX_COMMIT)?;
    Some((size, i))
}

/// Inflates a zlib stream that must hold exactly `size` bytes and end there, appending them
/// to `out`; false (and `out` holding some of them) if it does not.
pub fn inflate(z: &mut flate2::Decompress, input: &[u8], size: usize, out: &mut Vec<u8>) -> bool {
    // zlib inflates at most about 1,032 bytes from one: a larger size is damage, and must
    // not reserve memory.
    if size > input.len().saturating_mul(1100).saturating_add(64) {
        return false;
    }
    z.reset(true);
    let start = out.len();
    // One byte of room more than declared tells a longer stream from a complete one.
    out.reserve(size + 1);
    loop {
        let (before_in, before_out) = (z.total_in() as usize, out.len());
        let Some(rest) = input.get(before_in..) else {
            return false;
        };
        // `decompress_vec` writes into the spare capacity (at least `size + 1` bytes, maybe
        // more): a longer stream shows as more than `size` bytes, however many.
        let status = match z.decompress_vec(rest, out, flate2::FlushDecompress::Finish) {
            Ok(s) => s,
            Err(_) => return false,
        };
        match status {
            flate2::Status::StreamEnd => break,
            _ if out.len() - start > size => return false,
            _ if z.total_in() as usize == before_in && out.len() == before_out => return false,
            _ => {}
        }
    }
    out.len() - start == size
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::process::Command;

    fn git(dir: &std::path::Path, args: &[&str]) {
        let st = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
            .status()
            .unwrap();
        assert!(st.success(), "git {args:?}");
    }

    fn pool(threads: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
    }

    /// A repository of `n` commits with long messages, repacked into one pack.
    fn repo(n: usize) -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        git(dir, &["init", "-q", "-b", "main"]);
        for i in 0..n {
            std::fs::write(dir.join("a.txt"), format!("{i}\n").repeat(i % 50 + 1)).unwrap();
            git(dir, &["add", "-A"]);
            let msg = format!("commit {i}\n\n{}", "a line of the message\n".repeat(i % 40));
            git(dir, &["commit", "-q", "-m", &msg]);
        }
        git(dir, &["repack", "-adq"]);
        tmp
    }

    fn commits_of(dir: &std::path::Path) -> Vec<(git2::Oid, Vec<u8>)> {
        let repo = git2::Repository::open(dir).unwrap();
        let mut walk = repo.revwalk().unwrap();
        walk.push_head().unwrap();
        let odb = repo.odb().unwrap();
        walk.map(|o| {
            let o = o.unwrap();
            (o, odb.read(o).unwrap().data().to_vec())
        })
        .collect()
    }

    /// The commits `git verify-pack` lists as stored whole (not as deltas).
    fn whole_commits(dir: &std::path::Path) -> Vec<String> {
        let packs = dir.join(".git/objects/pack");
        let idx = std::fs::read_dir(&packs)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|x| x == "idx"))
            .unwrap();
        let out = Command::new("git")
            .args(["verify-pack", "-v"])
            .arg(idx)
            .output()
            .unwrap();
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .filter(|f| f.len() == 5 && f[1] == "commit")
            .map(|f| f[0].to_string())
            .collect()
    }

    /// Every commit a real pack stores whole is read ahead, on one thread or several, and is
    /// exactly what libgit2 reads; commits stored as deltas, trees and blobs are not.
    #[test]
    fn every_whole_commit_of_a_real_pack_reads_as_libgit2_reads_it() {
        let tmp = repo(300);
        let want = commits_of(tmp.path());
        assert_eq!(want.len(), 300);
        let whole = whole_commits(tmp.path());
        // Both kinds: git stores some of these commits as deltas of others.
        assert!((20..300).contains(&whole.len()), "{} whole", whole.len());
        let indexes = super::super::packs::load(&tmp.path().join(".git/objects"));
        for threads in [1, 3] {
            let ahead = Ahead::read(&indexes, &pool(threads));
            for (oid, data) in &want {
                let id: Id = oid.as_bytes().try_into().unwrap();
                if whole.contains(&oid.to_string()) {
                    assert_eq!(ahead.get(&id), Some(&data[..]), "{oid}");
                } else {
                    assert_eq!(ahead.get(&id), None, "{oid} is a delta");
                }
            }
            assert_eq!(ahead.by_id.len(), whole.len(), "only whole commits");
        }
    }

    /// A pack damaged after its index was written: whatever is read ahead is still exactly
    /// the commit (zlib's checksum catches a flipped byte in a stream, and a header that no
    /// longer parses or sizes that no longer match leave the commit to the walk's own read),
    /// and nothing panics.
    #[test]
    fn a_damaged_pack_reads_ahead_only_whole_commits() {
        let tmp = repo(60);
        let want = commits_of(tmp.path());
        let indexes = super::super::packs::load(&tmp.path().join(".git/objects"));
        let pack = indexes[0].pack_path().to_path_buf();
        let pristine = std::fs::read(&pack).unwrap();
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let mut read_some = false;
        for round in 0..80 {
            let mut bytes = pristine.clone();
            for _ in 0..3 {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                let at = 12 + (rng as usize) % (bytes.len() - 32);
                bytes[at] ^= (rng >> 32) as u8 | 1;
            }
            if round == 79 {
                // A pack cut short.
                bytes.truncate(bytes.len() / 2);
            }
            std::fs::File::create(&pack)
                .unwrap()
                .write_all(&bytes)
                .unwrap();
            let ahead = Ahead::read(&indexes, &pool(2));
            for (oid, data) in &want {
                let id: Id = oid.as_bytes().try_into().unwrap();
                if let Some(got) = ahead.get(&id) {
                    assert_eq!(got, &data[..], "{oid} (round {round})");
                    read_some = true;
                }
            }
        }
        assert!(read_some);
        std::fs::write(&pack, &pristine).unwrap();
    }

    /// Past its budget the read-ahead stops: what it holds is still exact, and the rest is
    /// left to the walk.
    #[test]
    fn the_read_ahead_stays_within_its_budget() {
        let tmp = repo(200);
        let want = commits_of(tmp.path());
        let indexes = super::super::packs::load(&tmp.path().join(".git/objects"));
        let all = Ahead::read(&indexes, &pool(1));
        let bytes: usize = all.found.iter().map(|f| f.bytes.len()).sum();
        let some = Ahead::read_within(&indexes, &pool(1), bytes / 3);
        let held: usize = some.found.iter().map(|f| f.bytes.len()).sum();
        assert!(held >= bytes / 3 && held < bytes / 2, "{held} of {bytes}");
        assert!(some.by_id.len() < all.by_id.len());
        for (oid, data) in &want {
            let id: Id = oid.as_bytes().try_into().unwrap();
            if let Some(got) = some.get(&id) {
                assert_eq!(got, &data[..]);
            }
        }
        assert!(Ahead::read_within(&indexes, &pool(1), 0).by_id.is_empty());
    }

    #[test]
    fn headers_and_streams_are_checked() {
        let mut z = flate2::Decompress::new(true);
        let text = b"tree 0000000000000000000000000000000000000000\n\nmessage\n";
        let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(text).unwrap();
        let stream = enc.finish().unwrap();
        let mut out = Vec::new();
        assert!(inflate(&mut z, &stream, text.len(), &mut out));
        assert_eq!(out, text);
        for (size, input) in [
            (text.len() + 1, &stream[..]),
            (text.len() - 1, &stream[..]),
            (text.len(), &stream[..stream.len() - 5]),
            (1 << 30, &stream[..]),
        ] {
            let mut out = Vec::new();
            assert!(!inflate(&mut z, input, size, &mut out), "{size}");
        }
        // A commit of 300 bytes (header: type 1, size 300 in two bytes), a blob, a header
        // that never ends, a commit larger than read ahead.
        assert_eq!(commit_header(&[0x9c, 0x12, 0x78]), Some((300, 2)));
        assert_eq!(commit_header(&[0x3c, 0x78]), None);
        assert_eq!(commit_header(&[0x9c; 16]), None);
        assert_eq!(commit_header(&[0x90, 0x80, 0x80, 0x01]), Some((1 << 18, 4)));
        assert_eq!(commit_header(&[0x90, 0x80, 0x80, 0x80, 0x01]), None);
    }
}
