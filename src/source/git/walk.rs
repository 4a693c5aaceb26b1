//! Pass 2 of a sweep: the history. The commits the roots reach (minus a range's hidden ones),
//! parents before children, with their messages scanned on the way; then every unique tree
//! once, collecting the unique blobs for pass 3.
//!
//! Commits are read and ordered here, not by libgit2's revwalk, so that every object read goes
//! through `Objects` (which refuses damaged loose objects instead of hanging on them).

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap, HashSet};
use std::sync::Mutex;

use git2::Oid;
use indicatif::ProgressBar;
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};

use super::ahead::Ahead;
use super::graph::{join, Graph, Ids, PathMatters, Pending, Recorded};
use super::objects::{id, Id, Kind, Object, Objects, Store};
use super::parse::{self, Mode};
use super::treediff::Diffed;
use crate::haystack::Hit;
use crate::report::Problem;

/// A walked commit.
pub(crate) struct CommitEntry {
    pub id: Oid,
    pub tree: Oid,
}

/// A secret in a commit message.
pub(crate) struct MessageHit {
    /// Index of the commit in `History::commits`.
    pub commit: usize,
    pub hit: Hit,
}

/// The commits of a sweep, parents first.
#[derive(Default)]
pub(crate) struct History {
    pub commits: Vec<CommitEntry>,
    pub index: FxHashMap<Id, usize>,
    /// Commits just outside a range: parents of walked commits that were not walked.
    pub boundary: Vec<Oid>,
    pub messages: Vec<MessageHit>,
    pub errors: Vec<Problem>,
    /// The walked parents of each commit, as indexes: those of commit `i` are
    /// `parents[parent_start[i]..parent_start[i + 1]]` (`parent_start` has one entry more
    /// than `commits`). Four bytes per edge, for the exposure map.
    pub parents: Vec<u32>,
    pub parent_start: Vec<u32>,
}

impl History {
    /// The walked parents of commit `i`.
    pub(crate) fn parents_of(&self, i: usize) -> &[u32] {
        match (self.parent_start.get(i), self.parent_start.get(i + 1)) {
            (Some(&a), Some(&b)) => &self.parents[a as usize..b as usize],
            _ => &[],
        }
    }
}

/// Reads commit `c`; its message is scanned when `scan` (the tips reach it and no hidden
/// commit does).
fn read_commit(
    (objects, ahead): (&Objects, &Ahead),
    c: &Id,
    scan: bool,
    scan_message: &mut impl FnMut(&[u8]) -> Vec<Hit>,
) -> Result<Read, Problem> {
    let oid = super::objects::oid(c);
    let problem = |why: String| Problem::new(format!("commit {oid}"), why);
    let obj;
    let data = match ahead.get(c) {
        Some(data) => data,
        None => {
            obj = objects.read(oid).map_err(problem)?;
            if obj.kind() != Some(Kind::Commit) {
                return Err(problem("not a commit".into()));
            }
            obj.data()
        }
    };
    let pc = parse::commit(data).ok_or_else(|| problem("malformed commit".into()))?;
    Ok(Read {
        tree: pc.tree,
        time: pc.time,
        hits: if scan {
            scan_message(pc.message)
        } else {
            Vec::new()
        },
        parents: pc.parents,
    })
}

const FROM_TIPS: u8 = 1;
const HIDDEN: u8 = 2;

/// What the walk keeps of a commit it read.
struct Read {
    tree: Oid,
    time: i64,
    parents: Vec<Oid>,
    hits: Vec<Hit>,
}

/// Walks the commits reachable from `tips` and not from `hidden`.
///
/// Commits are visited newest first (by committer time), each carrying whether the tips and
/// the hidden commits reach it, as git does; the walk stops when only hidden-reachable commits
/// are left, so `--since origin/main` on a long history reads the branch, not all of `main`.
/// (A committer clock set backwards can make it include a few commits `main` already had;
/// the range's boundary check then still drops secrets those commits did not introduce.)
pub(crate) fn commits(
    (objects, ahead): (&Objects, &Ahead),
    (tips, hidden): (&[Oid], &[Oid]),
    mut scan_message: impl FnMut(&[u8]) -> Vec<Hit>,
    progress: &ProgressBar,
) -> History {
    let mut history = History::default();
    let mut flags: FxHashMap<Id, u8> = FxHashMap::default();
    let mut read: FxHashMap<Id, Read> = FxHashMap::default();
    let mut queue: BinaryHeap<(i64, Reverse<u64>, Id)> = BinaryHeap::new();
    let mut failed: FxHashSet<Id> = FxHashSet::default();
    let mut seq = 0u64;
    let mut steps = 0u64;
    let mut push = |queue: &mut BinaryHeap<_>, time: i64, i: Id| {
        seq += 1;
        queue.push((time, Reverse(seq), i));
    };
    for (list, flag) in [(tips, FROM_TIPS), (hidden, HIDDEN)] {
        for &t in list {
            let f = flags.entry(id(t)).or_insert(0);
            if *f & flag == 0 {
                *f |= flag;
                push(&mut queue, i64::MAX, id(t));
            }
        }
    }
    while let Some((_, _, c)) = queue.pop() {
        let f = flags[&c];
        if failed.contains(&c) {
            continue;
        }
        if let Some(r) = read.get(&c) {
            // Reached again with more flags: pass them on.
            let (parents, time) = (r.parents.clone(), r.time);
            for p in parents {
                let pf = flags.entry(id(p)).or_insert(0);
                if *pf | f != *pf {
                    *pf |= f;
                    push(&mut queue, time, id(p));
                }
            }
        } else {
            let got = read_commit((objects, ahead), &c, f & HIDDEN == 0, &mut scan_message)
                .map_err(|e| {
                    failed.insert(c);
                    history.errors.push(e);
                })
                .ok();
            if let Some(r) = got {
                for &p in &r.parents {
                    let pf = flags.entry(id(p)).or_insert(0);
                    if *pf | f != *pf {
                        *pf |= f;
                        push(&mut queue, r.time, id(p));
                    }
                }
                read.insert(c, r);
            }
            if read.len().is_multiple_of(1024) {
                progress.set_message(format!("walking history: {} commit(s)", read.len()));
            }
        }
        // Checking the whole queue on every step costs the queue's length squared when
        // thousands of refs are hidden (a pre-receive hook on a forge's repository): check
        // when the queue is short, else every 64 steps. A few steps more only mark more
        // commits hidden (as a skewed committer clock may need), never fewer.
        steps += 1;
        if !hidden.is_empty()
            && (queue.len() < 64 || steps.is_multiple_of(64))
            && queue.iter().all(|(_, _, q)| flags[q] & HIDDEN != 0)
        {
            break;
        }
    }
    // Parents before children: a depth-first walk from the tips that emits a commit after
    // its parents.
    let walked = |i: &Id| {
        flags
            .get(i)
            .is_some_and(|f| f & (FROM_TIPS | HIDDEN) == FROM_TIPS)
    };
    let mut done: FxHashSet<Id> = FxHashSet::default();
    let mut boundary: HashSet<Oid> = HashSet::new();
    for &t in tips {
        let mut stack = vec![(id(t), false)];
        while let Some((c, expanded)) = stack.pop() {
            if !walked(&c) || !read.contains_key(&c) {
                continue;
            }
            if expanded {
                if history.parent_start.is_empty() {
                    history.parent_start.push(0);
                }
                for p in &read[&c].parents {
                    if let Some(&pi) = history.index.get(&id(*p)) {
                        history.parents.push(pi as u32);
                    }
                }
                history.parent_start.push(history.parents.len() as u32);
                let r = read.get_mut(&c).expect("read above");
                let index = history.commits.len();
                for hit in std::mem::take(&mut r.hits) {
                    history.messages.push(MessageHit { commit: index, hit });
                }
                history.index.insert(c, index);
                history.commits.push(CommitEntry {
                    id: super::objects::oid(&c),
                    tree: r.tree,
                });
                continue;
            }
            if !done.insert(c) {
                continue;
            }
            stack.push((c, true));
            for &p in read[&c].parents.iter().rev() {
                if walked(&id(p)) {
                    if !done.contains(&id(p)) {
                        stack.push((id(p), false));
                    }
                } else if !hidden.is_empty() {
                    boundary.insert(p);
                }
            }
        }
    }
    let mut boundary: Vec<Oid> = boundary.into_iter().collect();
    boundary.sort();
    history.boundary = boundary;
    history
}

/// What the tree walk found besides the graph.
#[derive(Default)]
pub(crate) struct Found {
    pub submodules: BTreeSet<String>,
    pub errors: Vec<Problem>,
}

/// Blobs handed to a worker at a time: small enough to balance the load, large enough that
/// neighbours in the pack (a delta and its base) mostly stay with one worker.
pub(crate) const BATCH: usize = 64;

/// Reads every unique tree under `roots` into `graph`, level by level (the roots, then their
/// subtrees, ...). A level's trees are sorted by path, then pack order, and cut into batches
/// for the pool's threads: versions of one directory sit at the same depth and next to each
/// other in the pack, so a delta's base is still in libgit2's cache when the delta is read,
/// and each version is diffed against the one before it (a chain, `graph::Chain`) on the
/// worker. Only recording the few entries that changed is done under the graph's lock.
pub(crate) fn trees(
    store: &Store,
    graph: &mut Graph,
    roots: &[Oid],
    matters: PathMatters,
    pool: &rayon::ThreadPool,
    progress: &ProgressBar,
) -> Found {
    let mut level: Vec<Pending> = Vec::new();
    for &r in roots {
        let (node, new) = graph.tree(r);
        if new {
            level.push(Pending {
                node,
                oid: r,
                path: Vec::new(),
            });
        }
    }
    let ids = &graph.ids;
    let shared = Mutex::new((&mut graph.rec, Found::default()));
    while !level.is_empty() {
        pool.install(|| {
            level.par_sort_by_cached_key(|p| {
                (p.path.clone(), super::packs::key(&store.packs, p.oid))
            })
        });
        let next = Mutex::new(Vec::new());
        pool.install(|| {
            level.par_chunks(BATCH).for_each(|chunk| {
                // Recorded while the store's handle is held: the diffed trees are the
                // objects as read, not copies of them.
                let recorded = store.with_objects(|o| {
                    record_chunk((ids, &shared), chunk, diff_chunk(o, chunk, matters))
                });
                match recorded {
                    Ok(queue) => crate::sync::lock(&next).extend(queue),
                    Err(e) => fail_chunk(&shared, chunk, &e),
                }
                if !progress.is_hidden() {
                    progress.set_message(format!(
                        "walking trees: {} tree(s), {} blob(s)",
                        ids.tree_count(),
                        ids.blob_count()
                    ));
                }
            });
        });
        level = crate::sync::into_inner(next);
    }
    crate::sync::into_inner(shared).1
}

/// The graph's part a tree pass's workers record in, under its lock, and what else they find.
type Shared<'g> = Mutex<(&'g mut Recorded, Found)>;

/// Records a chunk's diffed trees in the graph: their entries get their indexes first, on
/// the worker, then only what changed is recorded under the lock. Returns the subtrees to
/// read next.
fn record_chunk(
    (ids, shared): (&Ids, &Shared),
    chunk: &[Pending],
    diffed: Vec<Result<Diffed<impl AsRef<[u8]>>, String>>,
) -> Vec<Pending> {
    let mut queue = Vec::new();
    let resolved: Vec<_> = chunk
        .iter()
        .zip(diffed)
        .map(|(p, t)| t.map(|t| (ids.resolve(&p.path, &t, &mut queue), t.damaged())))
        .collect();
    let mut g = crate::sync::lock(shared);
    let (rec, found) = &mut *g;
    for (p, t) in chunk.iter().zip(resolved) {
        match t {
            Ok((r, damaged)) => {
                found.submodules.extend(
                    r.submodules
                        .iter()
                        .map(|s| String::from_utf8_lossy(s).into_owned()),
                );
                rec.record(p.node, r);
                if damaged {
                    found.errors.push(Problem::new(
                        format!("tree {} ({})", p.oid, shown_dir(&p.path)),
                        "malformed tree",
                    ));
                }
            }
            Err(e) => {
                rec.record_unreadable(p.node);
                found.errors.push(Problem::new(
                    format!("tree {} ({})", p.oid, shown_dir(&p.path)),
                    e,
                ));
            }
        }
    }
    queue
}

/// Reads and diffs a chunk's trees, each against the version before it at the same path in
/// the chunk (a chain starts again at a new path, after a tree that could not be read or is
/// damaged, and every `SNAPSHOT_EVERY` versions).
fn diff_chunk<'o>(
    objects: &'o Objects,
    chunk: &[Pending],
    matters: PathMatters,
) -> Vec<Result<Diffed<Object<'o>>, String>> {
    let mut out: Vec<Result<Diffed<Object<'o>>, String>> = Vec::with_capacity(chunk.len());
    // The chain's last tree: its index in `out`.
    let mut last: Option<usize> = None;
    for (i, p) in chunk.iter().enumerate() {
        let chain = last
            .filter(|&l| chunk[l].path == p.path)
            .and_then(|l| out[l].as_ref().ok()?.chain(chunk[l].node));
        let t = objects
            .read(p.oid)
            .map(|obj| Diffed::new(chain, obj, &p.path, matters));
        last = t.is_ok().then_some(i);
        out.push(t);
    }
    out
}

/// Fail closed: the trees a worker could not read are listed, never silently dropped.
fn fail_chunk(shared: &Shared, chunk: &[Pending], reason: &str) {
    let mut g = crate::sync::lock(shared);
    for p in chunk {
        g.0.record_unreadable(p.node);
        g.1.errors.push(Problem::new(
            format!("tree {} ({})", p.oid, shown_dir(&p.path)),
            reason.to_string(),
        ));
    }
}

/// A range's view of trees: what the commits just outside it held, by path.
#[derive(Default)]
pub(crate) struct Boundary {
    pub trees: HashSet<(Vec<u8>, Oid)>,
    /// The blobs at each path (one per boundary commit at most).
    pub blobs: HashMap<Vec<u8>, Vec<Oid>>,
    pub warnings: Vec<String>,
}

impl Boundary {
    pub(crate) fn blobs_at(&self, path: &[u8]) -> &[Oid] {
        self.blobs.get(path).map_or(&[], Vec::as_slice)
    }

    fn had(&self, path: &[u8], blob: Oid) -> bool {
        self.blobs_at(path).contains(&blob)
    }
}

/// Records what the commits just outside a range hold.
pub(crate) fn boundary(objects: &Objects, commits: &[Oid]) -> Boundary {
    let mut b = Boundary::default();
    for &c in commits {
        let tree = objects
            .read(c)
            .ok()
            .and_then(|o| parse::commit(o.data()).map(|pc| pc.tree));
        let Some(tree) = tree else {
            b.warnings.push(format!(
                "commit {c} just before the range is missing (shallow clone?): \
                 everything the range holds is reported as new"
            ));
            continue;
        };
        let mut stack = vec![(tree, Vec::new())];
        while let Some((t, prefix)) = stack.pop() {
            if !b.trees.insert((prefix.clone(), t)) {
                continue;
            }
            let Ok(obj) = objects.read(t) else { continue };
            for e in parse::entries(obj.data()) {
                let path = join(&prefix, e.name);
                let oid = Oid::from_bytes(e.id).expect("20 bytes");
                match e.mode {
                    Mode::Tree => stack.push((oid, path)),
                    Mode::Blob => {
                        let at = b.blobs.entry(path).or_default();
                        if !at.contains(&oid) {
                            at.push(oid);
                        }
                    }
                    Mode::Submodule => {}
                }
            }
        }
    }
    b
}

/// Collects the blobs a range's commits introduced: a tree is skipped only where the boundary
/// (or the range, earlier) had it at the same path, and a blob only where the boundary had it
/// at the same path, so a file renamed or copied inside the range is read.
pub(crate) fn range_trees(
    objects: &Objects,
    roots: &[Oid],
    boundary: &Boundary,
    graph: &mut Graph,
    matters: PathMatters,
) -> Found {
    let mut found = Found::default();
    let mut seen_at: HashSet<(Vec<u8>, Oid)> = HashSet::new();
    for &root in roots {
        let mut stack = vec![(root, Vec::new())];
        while let Some((t, prefix)) = stack.pop() {
            let key = (prefix, t);
            if boundary.trees.contains(&key) || !seen_at.insert(key.clone()) {
                continue;
            }
            let prefix = key.0;
            let obj = match objects.read(t) {
                Ok(o) => o,
                Err(e) => {
                    found.errors.push(Problem::new(
                        format!("tree {t} ({})", shown_dir(&prefix)),
                        e,
                    ));
                    continue;
                }
            };
            let mut it = parse::entries(obj.data());
            let dir_matters = matters(&prefix);
            for e in it.by_ref() {
                let path = join(&prefix, e.name);
                let oid = Oid::from_bytes(e.id).expect("20 bytes");
                match e.mode {
                    Mode::Tree => stack.push((oid, path)),
                    Mode::Blob => {
                        if !boundary.had(&path, oid) {
                            graph.blob_at(oid, &prefix, e.name, dir_matters, matters);
                        }
                    }
                    Mode::Submodule => {
                        found
                            .submodules
                            .insert(String::from_utf8_lossy(&path).into_owned());
                    }
                }
            }
            if it.damaged() {
                found.errors.push(Problem::new(
                    format!("tree {t} ({})", shown_dir(&prefix)),
                    "malformed tree",
                ));
            }
        }
    }
    found
}

/// `--include-unreachable`: objects in the database no ref reaches. Dangling commits are
/// returned to be walked like any other (their trees give paths and provenance); blobs that
/// no walked tree holds are added to the graph without a path.
pub(crate) fn unreachable(
    objects: &Objects,
    history: &History,
    graph: &mut Graph,
    tags: &[Oid],
    errors: &mut Vec<Problem>,
) -> Result<Vec<Oid>, String> {
    let all = objects
        .all_ids()
        .map_err(|e| format!("cannot list the object database: {e}"))?;
    let tags: FxHashSet<Oid> = tags.iter().copied().collect();
    let mut seen = FxHashSet::default();
    let mut dangling_commits = Vec::new();
    for oid in all {
        if !seen.insert(oid)
            || history.index.contains_key(&id(oid))
            || graph.node_of(oid).is_some()
            || graph.has_blob(oid)
            || tags.contains(&oid)
        {
            continue;
        }
        match objects.header(oid) {
            Ok((_, Kind::Commit)) => dangling_commits.push(oid),
            Ok((_, Kind::Blob)) => {
                graph.blob(oid);
            }
            Ok(_) => {}
            Err(e) => errors.push(Problem::new(format!("object {oid}"), e)),
        }
    }
    dangling_commits.sort();
    Ok(dangling_commits)
}

pub(crate) fn shown_dir(prefix: &[u8]) -> String {
    if prefix.is_empty() {
        "at the root".into()
    } else {
        format!("at {}/", String::from_utf8_lossy(prefix))
    }
}

/// Where interesting blobs sit in trees read from the object database, memoised per tree id
/// (a range keeps no graph: it reads few trees).
pub(crate) struct ObjectTrees<'o, 'r> {
    pub objects: &'o Objects<'r>,
    pub interesting: &'o FxHashSet<Oid>,
    pub memo: FxHashMap<Id, super::provenance::Held>,
}

impl super::provenance::Trees for ObjectTrees<'_, '_> {
    fn held(&mut self, tree: Oid) -> super::provenance::Held {
        if let Some(h) = self.memo.get(&id(tree)) {
            return h.clone();
        }
        let mut found = Vec::new();
        if let Ok(obj) = self.objects.read(tree) {
            let mut subtrees = Vec::new();
            for e in parse::entries(obj.data()) {
                let oid = Oid::from_bytes(e.id).expect("20 bytes");
                match e.mode {
                    Mode::Tree => subtrees.push((e.name.to_vec(), oid)),
                    Mode::Blob if self.interesting.contains(&oid) => {
                        found.push((0, e.name.to_vec(), oid));
                    }
                    _ => {}
                }
            }
            drop(obj);
            for (name, sub) in subtrees {
                for (_, p, b) in self.held(sub).iter() {
                    found.push((0, join(&name, p), *b));
                }
            }
        }
        let h = std::rc::Rc::new(found);
        self.memo.insert(id(tree), h.clone());
        h
    }
}
