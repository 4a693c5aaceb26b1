//! Diffing a tree against the version of its directory recorded before it, on the worker
//! that read both (the tree pass's part that needs no shared state): only the entries that
//! changed go on to be recorded under the graph's lock (`Recorded::record`). Runs of
//! identical entries are skipped by comparing bytes, not parsed.

use super::parse::{self, Mode};

/// A chain of deltas in the graph is cut by a whole copy after this many links.
pub(super) const SNAPSHOT_EVERY: u32 = 64;
/// A node's `base` when it is stored whole.
pub(super) const NO_BASE: u32 = u32::MAX;

/// Whether a path is evidence for the detector (`Detector::path_matters`).
pub(crate) type PathMatters<'a> = &'a (dyn Fn(&[u8]) -> bool + Sync);

/// The last tree of a chain (versions of one directory, recorded one after another by one
/// worker): what the next version is diffed against.
#[derive(Clone, Copy)]
pub(crate) struct Chain<'t> {
    node: u32,
    data: &'t [u8],
    /// Where each entry of `data` starts.
    starts: &'t [u32],
    depth: u32,
}

/// A tree diffed against the last tree of its chain (or taken whole), ready to be recorded:
/// the diff needs no shared state, so it runs on every worker; only `Recorded::record` is
/// serial.
///
/// The raw tree `D` is kept as it was read (a libgit2 object in a sweep, not a copy of it:
/// git.git's 168k trees hold 2.6 GB, and copying each one after libgit2 wrote it cost the
/// pass a tenth of its time on one thread and more on two, where memory is shared).
pub(crate) struct Diffed<D = Vec<u8>> {
    pub(super) data: D,
    pub(super) base: u32,
    depth: u32,
    /// Where each entry that is new against the base starts in `data` (every entry if whole).
    pub(super) added: Vec<u32>,
    /// For each entry of `added`: whether its path is evidence (`Detector::path_matters`),
    /// judged here so the lock is not held for it.
    pub(super) evidence: Vec<bool>,
    /// The names of the base's entries that are gone (or changed kind).
    pub(super) removed: Vec<Box<[u8]>>,
    damaged: bool,
    /// Where each entry starts, for the next diff in the chain.
    starts: Vec<u32>,
}

impl<D: AsRef<[u8]>> Diffed<D> {
    /// Diffs the raw tree `data` of node `node` against the chain's last tree, if any and
    /// the chain is not too long yet. Only the bytes between the common prefix and suffix of
    /// the two trees are parsed: a directory's next version differs in a few entries.
    /// `path` is where the tree was met, and `matters` tells which paths are evidence.
    pub(crate) fn new(
        chain: Option<Chain>,
        data: D,
        path: &[u8],
        matters: PathMatters,
    ) -> Diffed<D> {
        let mut t = match chain {
            Some(c) if c.depth + 1 < SNAPSHOT_EVERY => diff(c, data),
            _ => whole(data),
        };
        let dir_matters = matters(path);
        t.evidence = t
            .added
            .iter()
            .map(|&at| {
                entry(t.data.as_ref(), at)
                    .is_some_and(|e| e.mode == Mode::Blob && (dir_matters || matters(e.name)))
            })
            .collect();
        t
    }

    pub(crate) fn damaged(&self) -> bool {
        self.damaged
    }

    /// This tree as the last of its chain, recorded as node `node` (none when damaged: a
    /// damaged tree is no base).
    pub(crate) fn chain(&self, node: u32) -> Option<Chain<'_>> {
        (!self.damaged).then_some(Chain {
            node,
            data: self.data.as_ref(),
            starts: &self.starts,
            depth: self.depth,
        })
    }
}

fn whole<D: AsRef<[u8]>>(data: D) -> Diffed<D> {
    let mut starts = Vec::new();
    let raw = data.as_ref();
    let mut it = parse::entries(raw);
    loop {
        let at = raw.len() - it.remaining();
        if it.next().is_none() {
            break;
        }
        starts.push(at as u32);
    }
    let damaged = it.damaged();
    Diffed {
        added: starts.clone(),
        evidence: Vec::new(),
        removed: Vec::new(),
        base: NO_BASE,
        depth: 0,
        damaged,
        starts,
        data,
    }
}

fn diff<D: AsRef<[u8]>>(c: Chain, data: D) -> Diffed<D> {
    let (old, new) = (c.data, data.as_ref());
    let start = |i: usize| c.starts.get(i).map_or(old.len(), |&s| s as usize);
    let mut starts = Vec::with_capacity(c.starts.len() + 4);
    let (mut added, mut removed) = (Vec::new(), Vec::new());
    let mut damaged = false;
    // The next old entry, where it starts, and where the new tree is read up to.
    let (mut i, mut o, mut n) = (0, 0, 0);
    loop {
        // Skip the entries both trees hold byte for byte: those of the old tree that end
        // inside the common prefix from here. They start at the same distance in the new one.
        let same = o + common_prefix(&old[o..], &new[n..]);
        let q = c.starts.partition_point(|&s| s as usize <= same);
        let j = if q == c.starts.len() && old.len() <= same {
            q
        } else {
            q.saturating_sub(1).max(i)
        };
        starts.extend(c.starts[i..j].iter().map(|&s| (s as usize - o + n) as u32));
        n += start(j) - o;
        (i, o) = (j, start(j));
        if n == new.len() {
            removed.extend(
                c.starts[i..]
                    .iter()
                    .filter_map(|&s| Some(entry(old, s)?.name.into())),
            );
            break;
        }
        let Some((e, len)) = entry_len(new, n) else {
            damaged = true;
            removed.extend(
                c.starts[i..]
                    .iter()
                    .filter_map(|&s| Some(entry(old, s)?.name.into())),
            );
            break;
        };
        let old_e = entry(old, o as u32).filter(|_| i < c.starts.len());
        match old_e.map(|x| (git_order(&x, &e), x)) {
            // An old entry that sorts before this one is gone.
            Some((std::cmp::Ordering::Less, x)) => {
                removed.push(x.name.into());
                i += 1;
                o = start(i);
            }
            // The same name and kind: changed unless it names the same object.
            Some((std::cmp::Ordering::Equal, x)) => {
                if x.id != e.id {
                    added.push(n as u32);
                }
                starts.push(n as u32);
                n += len;
                i += 1;
                o = start(i);
            }
            _ => {
                added.push(n as u32);
                starts.push(n as u32);
                n += len;
            }
        }
    }
    Diffed {
        data,
        base: c.node,
        depth: c.depth + 1,
        added,
        evidence: Vec::new(),
        removed,
        damaged,
        starts,
    }
}

/// The entry that starts at byte `at` of raw tree `d`, and its length in bytes.
fn entry_len(d: &[u8], at: usize) -> Option<(parse::Entry<'_>, usize)> {
    let rest = d.get(at..)?;
    let mut it = parse::entries(rest);
    let e = it.next()?;
    Some((e, rest.len() - it.remaining()))
}

/// The entry that starts at `at` in raw tree `d`.
pub(super) fn entry(d: &[u8], at: u32) -> Option<parse::Entry<'_>> {
    parse::entries(d.get(at as usize..)?).next()
}

/// The length of the longest common prefix of `a` and `b`, compared a block at a time.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    const BLOCK: usize = 32;
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + BLOCK <= n && a[i..i + BLOCK] == b[i..i + BLOCK] {
        i += BLOCK;
    }
    while i < n && a[i] == b[i] {
        i += 1;
    }
    i
}

/// Git's order of tree entries: by name, a tree's name compared as if it ended in `/`.
pub(super) fn git_order(a: &parse::Entry, b: &parse::Entry) -> std::cmp::Ordering {
    let key = |e: &parse::Entry, i: usize| -> Option<u8> {
        match e.name.get(i) {
            Some(&c) => Some(c),
            None if i == e.name.len() && e.mode == Mode::Tree => Some(b'/'),
            None => None,
        }
    };
    let mut i = 0;
    loop {
        match (key(a, i), key(b, i)) {
            (Some(x), Some(y)) if x == y => i += 1,
            (x, y) => return x.cmp(&y),
        }
    }
}
