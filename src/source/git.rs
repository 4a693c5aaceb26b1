//! A repository's history as a source: every blob reachable from every ref (branches, tags,
//! remote-tracking refs, the stash and its reflog, notes, a detached HEAD), every commit
//! message and annotated tag message — and, with `--include-unreachable`, the dangling
//! objects rewritten history leaves behind.
//!
//! The sweep runs in three passes, so the expensive one does no bookkeeping:
//! 1. **Enumerate**: walk the commits, then every unique tree once (a seen-set of tree ids),
//!    collecting the unique blob ids. Commit and tag messages are scanned on the way.
//! 2. **Scan**: read every unique blob once, in pack order (delta bases are then still in
//!    libgit2's base cache when their deltas are read), on one worker per core, each with its
//!    own `git2::Repository` (a handle is not `Sync`).
//! 3. **Provenance**, only for blobs that matched: walk the commits oldest first (topological
//!    order), memoising per tree id which matching blobs it holds and where, and group hits by
//!    (rule, path, secret): one finding per secret per path, with every commit that carries it.
//!
//! `--since REV` / `--range A..B` restrict the passes to the commits in the range; the trees
//! of the commits just outside it (the boundary) tell what already existed, so only what the
//! range introduced is read and reported.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};
use git2::{ObjectType, Oid, Repository, RepositoryOpenFlags, Sort};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::detect::Detector;
use crate::finding::{Finding, GitInfo};
use crate::haystack::{scan_slice, Hit, Scanned};
use crate::report::{GitSummary, Problem, Report, ScanKind, SecretSummary};

/// Path reported for secrets found in commit messages.
pub const COMMIT_MESSAGE_PATH: &str = "<commit-message>";
/// Path reported for secrets found in annotated tag messages.
pub const TAG_MESSAGE_PATH: &str = "<tag-message>";
/// At most this many commit ids are listed per finding (`commit_count` stays exact).
const COMMITS_LISTED: usize = 1000;
/// Blobs handed to a worker at a time: small enough to balance the load, large enough that
/// neighbours in the pack (a delta and its base) mostly stay with one worker.
const BATCH: usize = 64;

pub struct GitOptions {
    pub repo: PathBuf,
    pub include_unreachable: bool,
    pub since: Option<String>,
    pub range: Option<String>,
    pub max_file_size: Option<u64>,
    pub threads: usize,
    /// Draw a progress bar on stderr.
    pub progress: bool,
}

pub fn scan(det: &Detector, opts: &GitOptions) -> Result<Report> {
    let started = Instant::now();
    // Each pass visits every object once, so libgit2's object cache would only hold memory
    // (blobs are read through the odb, which bypasses it anyway). Verifying the hash of every
    // object read costs a SHA-1 over all history: that is `git fsck`'s job, not ours.
    git2::opts::enable_caching(false);
    git2::opts::strict_hash_verification(false);

    let repo = open(&opts.repo)?;
    let root = scan_root(&opts.repo)?;
    let mut report = Report::new(ScanKind::Git, root);
    let mut sweep = Sweep::new(det, &repo, opts)?;
    sweep.enumerate(opts)?;
    sweep.scan_blobs(opts)?;
    sweep.progress.finish_and_clear();
    sweep.provenance(&mut report)?;
    if repo.is_shallow() {
        report.warnings.push(
            "shallow clone: history is truncated, only the commits present were scanned \
             (`git fetch --unshallow` fetches the rest)"
                .into(),
        );
    }
    report.summary.duration = started.elapsed();
    Ok(report)
}

/// The directory a sweep of the repository at `path` reports paths against (and finds the
/// project config in): its work tree, or the repository itself when bare.
pub fn scan_root(path: &Path) -> Result<PathBuf> {
    let repo = open(path)?;
    Ok(match repo.workdir() {
        Some(w) => w.to_path_buf(),
        None => repo.path().to_path_buf(),
    })
}

fn open(path: &Path) -> Result<Repository> {
    if !path.exists() {
        bail!("{}: no such file or directory", path.display());
    }
    Repository::open_ext(
        path,
        RepositoryOpenFlags::empty(),
        std::iter::empty::<&str>(),
    )
    .map_err(|e| match e.code() {
        git2::ErrorCode::NotFound => anyhow!("not a git repository: {}", path.display()),
        _ => anyhow!("cannot open repository {}: {}", path.display(), e.message()),
    })
}

/// A walked commit; the walk lists them in topological order, parents first.
struct CommitEntry {
    id: Oid,
    tree: Oid,
}

/// A secret in a commit or tag message.
struct MessageHit {
    /// Index of the commit (for a tag: of the commit it points to, if walked).
    commit: Option<usize>,
    hit: Hit,
    /// The annotated tag the message belongs to.
    tag: Option<Oid>,
}

/// Where matching blobs sit inside one tree: (path relative to the tree, blob id).
type Entries = Rc<Vec<(Vec<u8>, Oid)>>;

struct Sweep<'a> {
    det: &'a Detector,
    repo: &'a Repository,
    odb: git2::Odb<'a>,
    progress: ProgressBar,
    ranged: bool,
    max_file_size: Option<u64>,
    /// Commits the walk starts from / hides.
    tips: Vec<Oid>,
    hidden: Vec<Oid>,
    /// Annotated tags met while peeling refs, with the commit they point to.
    tags: Vec<(Oid, Option<Oid>)>,
    /// Trees and blobs a ref points to directly (no commit, so no path).
    root_trees: Vec<Oid>,
    commits: Vec<CommitEntry>,
    commit_index: HashMap<Oid, usize>,
    /// Commits just outside `--since` / `--range`: parents of walked commits.
    boundary: Vec<Oid>,
    /// What the boundary commits hold, as (path prefix, tree) and (path, blob).
    boundary_trees: HashSet<(Vec<u8>, Oid)>,
    boundary_blobs: HashSet<(Vec<u8>, Oid)>,
    /// Full sweeps: every unique tree's entries, compactly, so provenance needs no second
    /// read of the trees.
    graph: Graph,
    trees_seen_at: HashSet<(Vec<u8>, Oid)>,
    /// Blobs seen at a path that names a rule's service (`ci/applivery.sh`): the detector
    /// judges them under that path (the first one met). Their findings are reported at every
    /// path the blob has, as the same bytes hold the same secret.
    paths: HashMap<Oid, Vec<u8>>,
    /// Unique blobs: id -> index into `blobs`.
    blob_index: FxMap<Id, u32>,
    blobs: Vec<Oid>,
    submodules: BTreeSet<String>,
    messages: Vec<MessageHit>,
    errors: Vec<Problem>,
    warnings: Vec<String>,
    /// The pack indexes, read once (they order both the tree walk and the blob scan).
    packs: Option<std::sync::Arc<Vec<PackIndex>>>,
    // Pass 2.
    hits: HashMap<Oid, Vec<Hit>>,
    blob_errors: Vec<(Oid, String)>,
    blob_skipped: Vec<(Oid, u64)>,
    text_blobs: u64,
    binary_blobs: u64,
    bytes: u64,
}

impl<'a> Sweep<'a> {
    fn packs(&mut self) -> std::sync::Arc<Vec<PackIndex>> {
        let objects = self.repo.commondir().join("objects");
        self.packs
            .get_or_insert_with(|| std::sync::Arc::new(load_pack_indexes(&objects)))
            .clone()
    }

    fn new(det: &'a Detector, repo: &'a Repository, opts: &GitOptions) -> Result<Sweep<'a>> {
        let odb = repo
            .odb()
            .map_err(|e| anyhow!("cannot open the object database: {}", e.message()))?;
        let progress = if opts.progress {
            let pb = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            pb.set_style(
                ProgressStyle::with_template("{spinner} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            pb.enable_steady_tick(Duration::from_millis(120));
            pb
        } else {
            ProgressBar::hidden()
        };
        Ok(Sweep {
            det,
            repo,
            odb,
            progress,
            ranged: opts.since.is_some() || opts.range.is_some(),
            max_file_size: opts.max_file_size,
            tips: Vec::new(),
            hidden: Vec::new(),
            tags: Vec::new(),
            root_trees: Vec::new(),
            commits: Vec::new(),
            commit_index: HashMap::new(),
            boundary: Vec::new(),
            boundary_trees: HashSet::new(),
            boundary_blobs: HashSet::new(),
            graph: Graph::default(),
            trees_seen_at: HashSet::new(),
            paths: HashMap::new(),
            blob_index: FxMap::default(),
            blobs: Vec::new(),
            submodules: BTreeSet::new(),
            messages: Vec::new(),
            errors: Vec::new(),
            warnings: Vec::new(),
            packs: None,
            hits: HashMap::new(),
            blob_errors: Vec::new(),
            blob_skipped: Vec::new(),
            text_blobs: 0,
            binary_blobs: 0,
            bytes: 0,
        })
    }

    // ---- pass 1: enumerate ------------------------------------------------------------

    fn enumerate(&mut self, opts: &GitOptions) -> Result<()> {
        self.collect_refs()?;
        if let Some(r) = &opts.range {
            let spec = self
                .repo
                .revparse(r)
                .map_err(|e| anyhow!("cannot resolve --range {r}: {}", e.message()))?;
            let mode = spec.mode();
            let (Some(from), Some(to)) = (spec.from(), spec.to()) else {
                bail!("--range {r}: expected two revisions, A..B");
            };
            if !mode.contains(git2::RevparseMode::RANGE)
                || mode.contains(git2::RevparseMode::MERGE_BASE)
            {
                bail!("--range {r}: expected two revisions, A..B");
            }
            self.hidden = vec![self.peel_commit(from.id(), r)?];
            self.tips = vec![self.peel_commit(to.id(), r)?];
            self.clear_ref_objects();
        } else if let Some(s) = &opts.since {
            let obj = self
                .repo
                .revparse_single(s)
                .map_err(|e| anyhow!("cannot resolve --since {s}: {}", e.message()))?;
            self.hidden = vec![self.peel_commit(obj.id(), s)?];
            self.clear_ref_objects();
        }

        let (tips, hidden) = (self.tips.clone(), self.hidden.clone());
        let parents = self.walk_commits(&tips, &hidden)?;
        self.scan_tag_messages();
        if self.ranged {
            let mut seen = HashSet::new();
            for p in parents {
                if !self.commit_index.contains_key(&p) && seen.insert(p) {
                    self.boundary.push(p);
                }
            }
            self.walk_boundary();
        }
        if !self.ranged && opts.threads > 1 {
            let mut roots: Vec<Oid> = self.commits.iter().map(|c| c.tree).collect();
            roots.extend(std::mem::take(&mut self.root_trees));
            self.walk_trees_parallel(&roots, opts.threads)?;
        }
        // Oldest first. (Newest first, the order git stores delta bases in, measured no
        // faster: libgit2 caches only the root of a delta chain either way.)
        for k in 0..self.commits.len() {
            let tree = self.commits[k].tree;
            self.walk_tree(tree);
            if k % 256 == 0 {
                self.progress.set_message(format!(
                    "walking trees: {k}/{} commit(s), {} blob(s)",
                    self.commits.len(),
                    self.blobs.len()
                ));
            }
        }
        for t in std::mem::take(&mut self.root_trees) {
            self.walk_tree(t);
        }
        if opts.include_unreachable {
            self.unreachable()?;
        }
        Ok(())
    }

    /// A range holds commits only: trees and blobs refs point to directly belong to no
    /// commit, so no range introduces them.
    fn clear_ref_objects(&mut self) {
        self.root_trees.clear();
        self.blobs.clear();
        self.blob_index.clear();
    }

    /// The commit `oid` names (through annotated tags).
    fn peel_commit(&self, oid: Oid, spec: &str) -> Result<Oid> {
        self.repo
            .find_object(oid, None)
            .and_then(|o| o.peel_to_commit())
            .map(|c| c.id())
            .map_err(|e| anyhow!("{spec} does not name a commit: {}", e.message()))
    }

    /// Every ref, HEAD and the stash reflog: the roots of the sweep.
    fn collect_refs(&mut self) -> Result<()> {
        let mut roots: Vec<(Oid, String)> = Vec::new();
        match self.repo.references() {
            Ok(refs) => {
                for r in refs {
                    match r {
                        Ok(r) => {
                            let name = String::from_utf8_lossy(r.name_bytes()).into_owned();
                            match r.resolve() {
                                Ok(t) => roots.extend(t.target().map(|o| (o, name))),
                                Err(e) => self.errors.push(Problem::new(
                                    format!("ref {name}"),
                                    e.message().to_string(),
                                )),
                            }
                        }
                        Err(e) => self
                            .errors
                            .push(Problem::new("refs", e.message().to_string())),
                    }
                }
            }
            Err(e) => bail!("cannot list refs: {}", e.message()),
        }
        if let Ok(head) = self.repo.head() {
            roots.extend(head.target().map(|o| (o, "HEAD".to_string())));
        }
        // Older stash entries live only in the stash's reflog.
        if let Ok(log) = self.repo.reflog("refs/stash") {
            for e in log.iter() {
                roots.push((e.id_new(), "refs/stash".to_string()));
            }
        }
        let mut seen = HashSet::new();
        for (oid, name) in roots {
            let mut oid = oid;
            // Tags of tags are legal; a cycle is not, but a corrupt repository may have one.
            for _ in 0..16 {
                if !seen.insert(oid) {
                    break;
                }
                let kind = match self.odb.read_header(oid) {
                    Ok((_, k)) => k,
                    Err(e) => {
                        self.errors.push(Problem::new(
                            format!("object {oid} (ref {name})"),
                            e.message().to_string(),
                        ));
                        break;
                    }
                };
                match kind {
                    ObjectType::Tag => match self.repo.find_tag(oid) {
                        Ok(tag) => {
                            let target = tag.target_id();
                            let commit = tag
                                .target()
                                .and_then(|o| o.peel_to_commit())
                                .ok()
                                .map(|c| c.id());
                            self.tags.push((oid, commit));
                            oid = target;
                        }
                        Err(e) => {
                            self.errors.push(Problem::new(
                                format!("tag {oid} (ref {name})"),
                                e.message().to_string(),
                            ));
                            break;
                        }
                    },
                    ObjectType::Commit => {
                        self.tips.push(oid);
                        break;
                    }
                    ObjectType::Tree => {
                        self.root_trees.push(oid);
                        break;
                    }
                    ObjectType::Blob => {
                        add_blob(&mut self.blob_index, &mut self.blobs, oid);
                        break;
                    }
                    _ => break,
                }
            }
        }
        Ok(())
    }

    /// Walks the commits reachable from `tips` and not from `hidden`, oldest first; scans
    /// their messages. Returns every parent named, so the caller can find the boundary.
    fn walk_commits(&mut self, tips: &[Oid], hidden: &[Oid]) -> Result<Vec<Oid>> {
        let mut parents = Vec::new();
        if tips.is_empty() {
            return Ok(parents);
        }
        let mut walk = self.repo.revwalk()?;
        walk.set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE)?;
        for &t in tips {
            if let Err(e) = walk.push(t) {
                self.errors
                    .push(Problem::new(format!("commit {t}"), e.message().to_string()));
            }
        }
        for &h in hidden {
            walk.hide(h)
                .map_err(|e| anyhow!("cannot hide commit {h}: {}", e.message()))?;
        }
        for r in walk {
            let oid = match r {
                Ok(o) => o,
                Err(e) => {
                    self.errors
                        .push(Problem::new("history", e.message().to_string()));
                    break;
                }
            };
            if self.commit_index.contains_key(&oid) {
                continue;
            }
            let obj = match self.odb.read(oid) {
                Ok(o) => o,
                Err(e) => {
                    self.errors.push(Problem::new(
                        format!("commit {oid}"),
                        e.message().to_string(),
                    ));
                    continue;
                }
            };
            let Some((tree, message)) = parse_commit(obj.data(), &mut parents) else {
                self.errors
                    .push(Problem::new(format!("commit {oid}"), "malformed commit"));
                continue;
            };
            let index = self.commits.len();
            if self.det.prefilter(message, b"") {
                if let Scanned::Text { hits, .. } = scan_slice(self.det, message, b"") {
                    for hit in hits {
                        self.messages.push(MessageHit {
                            commit: Some(index),
                            hit,
                            tag: None,
                        });
                    }
                }
            }
            self.commit_index.insert(oid, index);
            self.commits.push(CommitEntry { id: oid, tree });
            if index % 1024 == 0 {
                self.progress
                    .set_message(format!("walking history: {index} commit(s)"));
            }
        }
        Ok(parents)
    }

    /// Annotated tag messages: all of them, or in a range those of tags on its commits.
    fn scan_tag_messages(&mut self) {
        for (oid, commit) in self.tags.clone() {
            let index = commit.and_then(|c| self.commit_index.get(&c).copied());
            if self.ranged && index.is_none() {
                continue;
            }
            let Ok(tag) = self.repo.find_tag(oid) else {
                continue;
            };
            let Some(message) = tag.message_bytes() else {
                continue;
            };
            if !self.det.prefilter(message, b"") {
                continue;
            }
            if let Scanned::Text { hits, .. } = scan_slice(self.det, message, b"") {
                for hit in hits {
                    self.messages.push(MessageHit {
                        commit: index,
                        hit,
                        tag: Some(oid),
                    });
                }
            }
        }
    }

    /// Records what the commits just outside the range hold.
    fn walk_boundary(&mut self) {
        for b in self.boundary.clone() {
            let tree = match self.odb.read(b) {
                Ok(o) => parse_commit(o.data(), &mut Vec::new()).map(|(t, _)| t),
                Err(_) => None,
            };
            let Some(tree) = tree else {
                self.warnings.push(format!(
                    "commit {b} just before the range is missing (shallow clone?): \
                     everything the range holds is reported as new"
                ));
                continue;
            };
            let mut stack = vec![(tree, Vec::new())];
            while let Some((t, prefix)) = stack.pop() {
                if !self.boundary_trees.insert((prefix.clone(), t)) {
                    continue;
                }
                let Ok(obj) = self.odb.read(t) else { continue };
                for_each_entry(obj.data(), |mode, name, id| {
                    let path = join(&prefix, name);
                    match mode {
                        Mode::Tree => stack.push((id, path)),
                        Mode::Blob => {
                            self.boundary_blobs.insert((path, id));
                        }
                        Mode::Submodule => {}
                    }
                });
            }
        }
    }

    /// Collects the blobs of one commit's tree not collected before. A full sweep skips a tree
    /// id seen anywhere; a range skips a tree only where the boundary (or the range) already
    /// had it at the same path, and a blob only where the boundary had it at the same path,
    /// so a file renamed or copied inside the range is read.
    fn walk_tree(&mut self, root: Oid) {
        if self.ranged {
            let mut stack = vec![(root, Vec::new())];
            while let Some((t, prefix)) = stack.pop() {
                let key = (prefix, t);
                if self.boundary_trees.contains(&key) || !self.trees_seen_at.insert(key.clone()) {
                    continue;
                }
                stack.extend(self.read_tree_ranged(t, &key.0));
            }
        } else {
            let ri = self.graph.tree(root);
            let mut stack = vec![(ri, root, Vec::new())];
            while let Some((ti, t, prefix)) = stack.pop() {
                if self.graph.nodes[ti as usize].0 == UNREAD {
                    self.read_tree_full(ti, t, &prefix, &mut stack);
                }
            }
        }
    }

    /// The tree walk of a full sweep on `threads` workers, each with its own repository
    /// handle: inflating trees is most of the walk, recording them is cheap and done under
    /// one lock. Afterwards every tree is read and `walk_tree` finds nothing left to do.
    fn walk_trees_parallel(&mut self, roots: &[Oid], threads: usize) -> Result<()> {
        struct Shared {
            /// The current level of the tree walk, in reverse pack order (popped from the end).
            queue: Vec<(u32, Oid, Vec<u8>)>,
            /// Trees of the next level, found while reading this one.
            next: Vec<(u32, Oid, Vec<u8>)>,
            pending: usize,
            graph: Graph,
            blob_index: FxMap<Id, u32>,
            blobs: Vec<Oid>,
            paths: HashMap<Oid, Vec<u8>>,
            submodules: BTreeSet<String>,
            errors: Vec<Problem>,
        }
        // Level by level, each level in pack order: versions of one directory sit at the
        // same depth and next to each other in the pack, so a delta chain's base stays in
        // libgit2's cache while its deltas are read.
        let indexes = self.packs();
        let by_pack = |v: &mut Vec<(u32, Oid, Vec<u8>)>| {
            v.sort_by_cached_key(|x| std::cmp::Reverse(pack_key(&indexes, x.1)));
        };
        let mut graph = std::mem::take(&mut self.graph);
        let mut queue = Vec::new();
        for &r in roots.iter().rev() {
            let ti = graph.tree(r);
            if graph.nodes[ti as usize].0 == UNREAD {
                graph.nodes[ti as usize].0 = QUEUED;
                queue.push((ti, r, Vec::new()));
            }
        }
        by_pack(&mut queue);
        let shared = Mutex::new(Shared {
            pending: queue.len(),
            queue,
            next: Vec::new(),
            graph,
            blob_index: std::mem::take(&mut self.blob_index),
            blobs: std::mem::take(&mut self.blobs),
            paths: std::mem::take(&mut self.paths),
            submodules: std::mem::take(&mut self.submodules),
            errors: Vec::new(),
        });
        let wake = std::sync::Condvar::new();
        let mut handles = Vec::with_capacity(threads);
        for _ in 0..threads {
            handles.push(open(self.repo.path())?);
        }
        let pb = &self.progress;
        let by_pack = &by_pack;
        let det = self.det;
        std::thread::scope(|s| {
            for repo in handles {
                let (shared, wake) = (&shared, &wake);
                s.spawn(move || {
                    let odb = match repo.odb() {
                        Ok(odb) => odb,
                        Err(e) => {
                            // Fail closed: the trees this worker would have read are unread.
                            shared.lock().unwrap().errors.push(Problem::new(
                                "<object database>",
                                format!("cannot open it: {}", e.message()),
                            ));
                            return;
                        }
                    };
                    loop {
                        let (ti, t, prefix) = {
                            let mut g = shared.lock().unwrap();
                            loop {
                                if let Some(item) = g.queue.pop() {
                                    break item;
                                }
                                if g.pending == 0 {
                                    if g.next.is_empty() {
                                        return;
                                    }
                                    let mut level = std::mem::take(&mut g.next);
                                    by_pack(&mut level);
                                    g.pending = level.len();
                                    g.queue = level;
                                    wake.notify_all();
                                    continue;
                                }
                                g = wake.wait(g).unwrap();
                            }
                        };
                        let obj = odb.read(t);
                        let mut g = shared.lock().unwrap();
                        let sh = &mut *g;
                        let start = sh.graph.entries.len() as u32;
                        match &obj {
                            Err(e) => sh.errors.push(Problem::new(
                                format!("tree {t} ({})", shown_dir(&prefix)),
                                e.message().to_string(),
                            )),
                            Ok(obj) => {
                                let (graph, queue) = (&mut sh.graph, &mut sh.next);
                                let (blob_index, blobs, submodules) =
                                    (&mut sh.blob_index, &mut sh.blobs, &mut sh.submodules);
                                let paths = &mut sh.paths;
                                let prefix_matters = det.path_matters(&prefix);
                                let ok = for_each_entry(obj.data(), |mode, name, id| match mode {
                                    Mode::Tree => {
                                        let ci = graph.tree(id);
                                        if graph.nodes[ci as usize].0 == UNREAD {
                                            graph.nodes[ci as usize].0 = QUEUED;
                                            queue.push((ci, id, join(&prefix, name)));
                                        }
                                        let n = graph.name(name);
                                        graph.entries.push((n, ci));
                                    }
                                    Mode::Blob => {
                                        note_path(det, paths, (&prefix, prefix_matters), name, id);
                                        let bi = add_blob(blob_index, blobs, id);
                                        let n = graph.name(name);
                                        graph.entries.push((n, bi | BLOB_BIT));
                                    }
                                    Mode::Submodule => {
                                        submodules.insert(
                                            String::from_utf8_lossy(&join(&prefix, name))
                                                .into_owned(),
                                        );
                                    }
                                });
                                if !ok {
                                    sh.errors.push(Problem::new(
                                        format!("tree {t} ({})", shown_dir(&prefix)),
                                        "malformed tree",
                                    ));
                                }
                            }
                        }
                        let len = sh.graph.entries.len() as u32 - start;
                        sh.graph.nodes[ti as usize] = (start, len);
                        sh.pending -= 1;
                        if ti % 4096 == 0 {
                            pb.set_message(format!(
                                "walking trees: {} tree(s), {} blob(s)",
                                sh.graph.nodes.len(),
                                sh.blobs.len()
                            ));
                        }
                        drop(g);
                        wake.notify_all();
                    }
                });
            }
        });
        let sh = shared.into_inner().unwrap();
        self.graph = sh.graph;
        self.blob_index = sh.blob_index;
        self.blobs = sh.blobs;
        self.paths = sh.paths;
        self.submodules = sh.submodules;
        self.errors.extend(sh.errors);
        Ok(())
    }

    /// Reads one tree of a full sweep into the graph; queues its unread subtrees.
    fn read_tree_full(
        &mut self,
        ti: u32,
        t: Oid,
        prefix: &[u8],
        stack: &mut Vec<(u32, Oid, Vec<u8>)>,
    ) {
        let start = self.graph.entries.len() as u32;
        // Marked read even if it fails, so a broken tree is reported once.
        self.graph.nodes[ti as usize] = (start, 0);
        let obj = match self.odb.read(t) {
            Ok(o) => o,
            Err(e) => {
                self.errors.push(Problem::new(
                    format!("tree {t} ({})", shown_dir(prefix)),
                    e.message().to_string(),
                ));
                return;
            }
        };
        let graph = &mut self.graph;
        let (blob_index, blobs, submodules) =
            (&mut self.blob_index, &mut self.blobs, &mut self.submodules);
        let (det, paths) = (self.det, &mut self.paths);
        let prefix_matters = det.path_matters(prefix);
        let ok = for_each_entry(obj.data(), |mode, name, id| match mode {
            Mode::Tree => {
                let ci = graph.tree(id);
                if graph.nodes[ci as usize].0 == UNREAD {
                    stack.push((ci, id, join(prefix, name)));
                }
                let n = graph.name(name);
                graph.entries.push((n, ci));
            }
            Mode::Blob => {
                note_path(det, paths, (prefix, prefix_matters), name, id);
                let bi = add_blob(blob_index, blobs, id);
                let n = graph.name(name);
                graph.entries.push((n, bi | BLOB_BIT));
            }
            Mode::Submodule => {
                submodules.insert(String::from_utf8_lossy(&join(prefix, name)).into_owned());
            }
        });
        let len = self.graph.entries.len() as u32 - start;
        self.graph.nodes[ti as usize] = (start, len);
        if !ok {
            self.errors.push(Problem::new(
                format!("tree {t} ({})", shown_dir(prefix)),
                "malformed tree",
            ));
        }
    }

    /// Reads one tree of a range: records its new blobs and submodules, returns its subtrees.
    fn read_tree_ranged(&mut self, t: Oid, prefix: &[u8]) -> Vec<(Oid, Vec<u8>)> {
        let mut subtrees = Vec::new();
        let prefix_matters = self.det.path_matters(prefix);
        let obj = match self.odb.read(t) {
            Ok(o) => o,
            Err(e) => {
                self.errors.push(Problem::new(
                    format!("tree {t} ({})", shown_dir(prefix)),
                    e.message().to_string(),
                ));
                return subtrees;
            }
        };
        let ok = for_each_entry(obj.data(), |mode, name, id| match mode {
            Mode::Tree => subtrees.push((id, join(prefix, name))),
            Mode::Blob => {
                if !self.boundary_blobs.contains(&(join(prefix, name), id)) {
                    note_path(
                        self.det,
                        &mut self.paths,
                        (prefix, prefix_matters),
                        name,
                        id,
                    );
                    add_blob(&mut self.blob_index, &mut self.blobs, id);
                }
            }
            Mode::Submodule => {
                self.submodules
                    .insert(String::from_utf8_lossy(&join(prefix, name)).into_owned());
            }
        });
        if !ok {
            self.errors.push(Problem::new(
                format!("tree {t} ({})", shown_dir(prefix)),
                "malformed tree",
            ));
        }
        subtrees
    }

    /// `--include-unreachable`: objects in the database no ref reaches. Dangling commits are
    /// walked like any other (their trees give paths and provenance); blobs that no walked
    /// tree holds are scanned without a path.
    fn unreachable(&mut self) -> Result<()> {
        let mut all = Vec::new();
        self.odb
            .foreach(|oid| {
                all.push(*oid);
                true
            })
            .map_err(|e| anyhow!("cannot list the object database: {}", e.message()))?;
        let mut seen = HashSet::new();
        let tag_ids: HashSet<Oid> = self.tags.iter().map(|t| t.0).collect();
        let mut dangling_commits = Vec::new();
        let mut dangling_blobs = Vec::new();
        for oid in all {
            if !seen.insert(oid)
                || self.commit_index.contains_key(&oid)
                || self.graph.index.contains_key(&id(oid))
                || self.blob_index.contains_key(&id(oid))
                || tag_ids.contains(&oid)
            {
                continue;
            }
            match self.odb.read_header(oid) {
                Ok((_, ObjectType::Commit)) => dangling_commits.push(oid),
                Ok((_, ObjectType::Blob)) => dangling_blobs.push(oid),
                Ok(_) => {}
                Err(e) => self.errors.push(Problem::new(
                    format!("object {oid}"),
                    e.message().to_string(),
                )),
            }
        }
        let first_new = self.commits.len();
        let tips = self.tips.clone();
        self.walk_commits(&dangling_commits, &tips)?;
        for i in first_new..self.commits.len() {
            let tree = self.commits[i].tree;
            self.walk_tree(tree);
        }
        for b in dangling_blobs {
            add_blob(&mut self.blob_index, &mut self.blobs, b);
        }
        Ok(())
    }

    // ---- pass 2: scan -----------------------------------------------------------------

    fn scan_blobs(&mut self, opts: &GitOptions) -> Result<()> {
        let order = pack_order(&self.packs(), &self.blobs);
        let total = order.len();
        let threads = opts.threads.clamp(1, total.max(1));
        // One handle per worker: a Repository is Send but not Sync.
        let mut handles = Vec::with_capacity(threads);
        for _ in 0..threads {
            handles.push(open(self.repo.path())?);
        }
        self.progress.set_length(total as u64);
        self.progress.set_position(0);
        self.progress.set_style(
            ProgressStyle::with_template(
                "{spinner} scanning blobs [{bar:30}] {human_pos}/{human_len} {msg} ({eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        let cursor = AtomicUsize::new(0);
        let bytes_done = AtomicU64::new(0);
        let found = AtomicU64::new(0);
        let started = Instant::now();
        let results = Mutex::new(Vec::new());
        let det = self.det;
        let max = opts.max_file_size;
        let pb = &self.progress;
        let paths = &self.paths;
        std::thread::scope(|s| {
            for repo in handles {
                let (order, cursor, bytes_done, found, results) =
                    (&order, &cursor, &bytes_done, &found, &results);
                s.spawn(move || {
                    let mut out = WorkerResult::default();
                    match repo.odb() {
                        Ok(odb) => loop {
                            let start = cursor.fetch_add(BATCH, Ordering::Relaxed);
                            if start >= order.len() {
                                break;
                            }
                            let end = (start + BATCH).min(order.len());
                            let before = (out.bytes, out.hits.len());
                            for &oid in &order[start..end] {
                                let path = paths.get(&oid).map_or(&[][..], Vec::as_slice);
                                scan_blob(det, &odb, oid, path, max, &mut out);
                            }
                            bytes_done.fetch_add(out.bytes - before.0, Ordering::Relaxed);
                            found.fetch_add((out.hits.len() - before.1) as u64, Ordering::Relaxed);
                            if !pb.is_hidden() {
                                let secs = started.elapsed().as_secs_f64().max(1e-3);
                                pb.inc((end - start) as u64);
                                pb.set_message(format!(
                                    "{:.0} MB/s, {} blob(s) with findings",
                                    bytes_done.load(Ordering::Relaxed) as f64 / 1e6 / secs,
                                    found.load(Ordering::Relaxed)
                                ));
                            }
                        },
                        Err(e) => out.errors.push((Oid::zero(), e.message().to_string())),
                    }
                    results.lock().unwrap().push(out);
                });
            }
        });
        for r in results.into_inner().unwrap() {
            self.hits.extend(r.hits);
            self.blob_errors.extend(r.errors);
            self.blob_skipped.extend(r.skipped);
            self.text_blobs += r.text;
            self.binary_blobs += r.binary;
            self.bytes += r.bytes;
        }
        Ok(())
    }

    // ---- pass 3: provenance ----------------------------------------------------------

    fn provenance(&mut self, report: &mut Report) -> Result<()> {
        let noted: HashSet<Oid> = self
            .blob_errors
            .iter()
            .map(|e| e.0)
            .chain(self.blob_skipped.iter().map(|s| s.0))
            .collect();
        let interesting: HashSet<Oid> = self.hits.keys().copied().chain(noted.clone()).collect();
        let mut memo: HashMap<Oid, Entries> = HashMap::new();
        let mut graph_memo: Vec<Option<Entries>> = vec![None; self.graph.nodes.len()];
        let interesting_ix: Vec<bool> =
            self.blobs.iter().map(|b| interesting.contains(b)).collect();
        let empty: Entries = Rc::new(Vec::new());
        let mut entries_of = |tree: Oid| -> Entries {
            match (self.ranged, self.graph.index.get(&id(tree))) {
                (false, Some(&ti)) => {
                    self.graph
                        .entries_of(ti, &self.blobs, &interesting_ix, &mut graph_memo, &empty)
                }
                _ => tree_entries(&self.odb, tree, &interesting, &mut memo, &empty),
            }
        };
        let mut groups: HashMap<(usize, String, String), Group> = HashMap::new();
        let mut first_place: HashMap<Oid, (usize, Vec<u8>)> = HashMap::new();
        let mut placed: HashSet<Oid> = HashSet::new();
        if !interesting.is_empty() {
            for (i, c) in self.commits.iter().enumerate() {
                let entries = entries_of(c.tree);
                for (path, blob) in entries.iter() {
                    if let Some(hs) = self.hits.get(blob) {
                        placed.insert(*blob);
                        let shown = String::from_utf8_lossy(path);
                        for h in hs {
                            let key = (h.rule, shown.to_string(), h.secret.clone());
                            let g = groups.entry(key).or_insert_with(|| Group {
                                first: i,
                                raw_path: path.clone(),
                                hit: h.clone(),
                                commits: Vec::new(),
                            });
                            if g.commits.last() != Some(&i) {
                                g.commits.push(i);
                            }
                        }
                    }
                    if noted.contains(blob) {
                        first_place.entry(*blob).or_insert((i, path.clone()));
                    }
                }
            }
        }

        // A secret a range did not introduce: the boundary already had it at that path.
        if self.ranged && !groups.is_empty() {
            let mut cache: HashMap<Oid, Vec<(usize, String)>> = HashMap::new();
            let boundary_trees: Vec<Oid> = self
                .boundary
                .iter()
                .filter_map(|b| {
                    let o = self.odb.read(*b).ok()?;
                    parse_commit(o.data(), &mut Vec::new()).map(|(t, _)| t)
                })
                .collect();
            groups.retain(|(rule, _, secret), g| {
                !boundary_trees.iter().any(|&t| {
                    let Some(blob) = lookup_path(&self.odb, t, &g.raw_path) else {
                        return false;
                    };
                    let found = cache.entry(blob).or_insert_with(|| {
                        match self
                            .odb
                            .read(blob)
                            .map(|o| scan_slice(self.det, o.data(), &g.raw_path))
                        {
                            Ok(Scanned::Text { hits, .. }) => {
                                hits.into_iter().map(|h| (h.rule, h.secret)).collect()
                            }
                            _ => Vec::new(),
                        }
                    });
                    found.iter().any(|(r, s)| r == rule && s == secret)
                })
            });
        }

        // Still in HEAD: the default branch's tree holds the secret at that path.
        let mut in_head: HashSet<(usize, String, String)> = HashSet::new();
        let head_tree = self
            .repo
            .head()
            .and_then(|h| h.peel_to_commit())
            .map(|c| c.tree_id());
        if let (Ok(t), false) = (head_tree, self.hits.is_empty()) {
            let entries = entries_of(t);
            for (path, blob) in entries.iter() {
                for h in self.hits.get(blob).into_iter().flatten() {
                    in_head.insert((
                        h.rule,
                        String::from_utf8_lossy(path).into_owned(),
                        h.secret.clone(),
                    ));
                }
            }
        }

        let mut infos: HashMap<Oid, CommitMeta> = HashMap::new();
        let mut out: Vec<Sourced> = Vec::new();
        for ((rule, path, secret), g) in groups {
            let meta = self.meta(&mut infos, self.commits[g.first].id);
            let mut f = super::finding(self.det, &path, g.hit);
            let head = in_head.contains(&(rule, path, secret));
            f.git = Some(self.git_info(&meta, &g.commits, head));
            out.push(Sourced {
                order: g.first,
                commits: g.commits,
                finding: f,
            });
        }
        // Blobs no walked commit holds: dangling, or named by a ref to a tree or blob.
        let mut pathless: Vec<(&Oid, &Vec<Hit>)> = self
            .hits
            .iter()
            .filter(|(b, _)| !placed.contains(*b))
            .collect();
        pathless.sort_by_key(|(b, _)| **b);
        let mut seen = HashSet::new();
        for (blob, hs) in pathless {
            let path = format!("<blob {blob}>");
            for h in hs {
                if seen.insert((h.rule, path.clone(), h.secret.clone())) {
                    out.push(Sourced {
                        order: usize::MAX,
                        commits: Vec::new(),
                        finding: super::finding(self.det, &path, h.clone()),
                    });
                }
            }
        }
        self.message_findings(&mut infos, &mut out);

        // The incident responder's list: one entry per unique secret.
        out.sort_by(|a, b| {
            (a.order, &a.finding.path, a.finding.line).cmp(&(
                b.order,
                &b.finding.path,
                b.finding.line,
            ))
        });
        let mut secrets: Vec<SecretSummary> = Vec::new();
        let mut by_secret: HashMap<(String, String), (usize, HashSet<usize>)> = HashMap::new();
        for s in &out {
            let f = &s.finding;
            let key = (f.rule.clone(), f.secret_sha256.clone());
            let in_head = f.git.as_ref().is_some_and(|g| g.in_head);
            match by_secret.get_mut(&key) {
                Some((i, commits)) => {
                    commits.extend(s.commits.iter().copied());
                    secrets[*i].in_head |= in_head;
                }
                None => {
                    by_secret.insert(key, (secrets.len(), s.commits.iter().copied().collect()));
                    let g = f.git.as_ref();
                    secrets.push(SecretSummary {
                        rule: f.rule.clone(),
                        secret: f.secret.clone(),
                        secret_sha256: f.secret_sha256.clone(),
                        first_commit: g.map(|g| g.commit.clone()).unwrap_or_default(),
                        first_path: f.path.clone(),
                        first_date: g.map(|g| g.date.clone()).unwrap_or_default(),
                        author: g
                            .map(|g| format!("{} <{}>", g.author_name, g.author_email))
                            .unwrap_or_default(),
                        in_head,
                        commit_count: 0,
                    });
                }
            }
        }
        for ((_, _), (i, commits)) in by_secret {
            secrets[i].commit_count = commits.len();
        }

        report.findings = out.into_iter().map(|s| s.finding).collect();
        report.errors = std::mem::take(&mut self.errors);
        for (oid, reason) in std::mem::take(&mut self.blob_errors) {
            let what = match first_place.get(&oid) {
                Some((i, p)) => format!(
                    "blob {oid} ({} in commit {})",
                    String::from_utf8_lossy(p),
                    self.commits[*i].id
                ),
                None if oid.is_zero() => "object database".to_string(),
                None => format!("blob {oid}"),
            };
            report.errors.push(Problem::new(what, reason));
        }
        for (oid, size) in std::mem::take(&mut self.blob_skipped) {
            let what = match first_place.get(&oid) {
                Some((_, p)) => format!("{} (blob {oid})", String::from_utf8_lossy(p)),
                None => format!("blob {oid}"),
            };
            report.summary.skipped.push(Problem::new(
                what,
                format!(
                    "larger than --max-file-size ({size} > {} bytes)",
                    self.max_file_size.unwrap_or(0)
                ),
            ));
        }
        for s in std::mem::take(&mut self.submodules) {
            report
                .summary
                .skipped
                .push(Problem::new(s, "submodule not scanned"));
        }
        report.warnings.append(&mut self.warnings);
        report.summary.files = self.text_blobs;
        report.summary.binary = self.binary_blobs;
        report.summary.bytes = self.bytes;
        report.summary.git = Some(GitSummary {
            commits: self.commits.len() as u64,
            blobs: self.text_blobs + self.binary_blobs,
            shallow: self.repo.is_shallow(),
            secrets,
            head: self
                .repo
                .head()
                .and_then(|h| h.peel_to_commit())
                .ok()
                .map(|c| c.id().to_string()),
        });
        Ok(())
    }

    /// Findings in commit and tag messages: one per secret per kind of message.
    fn message_findings(&self, infos: &mut HashMap<Oid, CommitMeta>, out: &mut Vec<Sourced>) {
        let mut commit_groups: HashMap<(usize, String), (usize, Hit, Vec<usize>)> = HashMap::new();
        let mut tag_groups: HashMap<(usize, String), (usize, Oid, Hit)> = HashMap::new();
        for m in &self.messages {
            let key = (m.hit.rule, m.hit.secret.clone());
            match (m.tag, m.commit) {
                (None, Some(i)) => {
                    let g = commit_groups
                        .entry(key)
                        .or_insert_with(|| (i, m.hit.clone(), Vec::new()));
                    if g.2.last() != Some(&i) {
                        g.2.push(i);
                    }
                }
                (Some(tag), i) => {
                    let order = i.unwrap_or(usize::MAX - 1);
                    let g = tag_groups
                        .entry(key)
                        .or_insert_with(|| (order, tag, m.hit.clone()));
                    if order < g.0 {
                        *g = (order, tag, m.hit.clone());
                    }
                }
                (None, None) => {}
            }
        }
        for (_, (first, hit, commits)) in commit_groups {
            let meta = self.meta(infos, self.commits[first].id);
            let mut f = super::finding(self.det, COMMIT_MESSAGE_PATH, hit);
            f.git = Some(self.git_info(&meta, &commits, false));
            out.push(Sourced {
                order: first,
                commits,
                finding: f,
            });
        }
        for (_, (order, tag, hit)) in tag_groups {
            let Ok(t) = self.repo.find_tag(tag) else {
                continue;
            };
            let target = self
                .tags
                .iter()
                .find(|x| x.0 == tag)
                .and_then(|x| x.1)
                .unwrap_or(tag);
            let (name, email, date) = match t.tagger() {
                Some(s) => (
                    String::from_utf8_lossy(s.name_bytes()).into_owned(),
                    String::from_utf8_lossy(s.email_bytes()).into_owned(),
                    rfc3339(s.when()),
                ),
                None => Default::default(),
            };
            let summary = self.redacted(&format!(
                "tag {}: {}",
                String::from_utf8_lossy(t.name_bytes()),
                first_line(t.message_bytes().unwrap_or_default())
            ));
            let mut f = super::finding(self.det, TAG_MESSAGE_PATH, hit);
            f.git = Some(GitInfo {
                commit: target.to_string(),
                author_name: name,
                author_email: email,
                date,
                summary,
                commits: vec![target.to_string()],
                commit_count: 1,
                in_head: false,
            });
            let commits = if order < self.commits.len() {
                vec![order]
            } else {
                Vec::new()
            };
            out.push(Sourced {
                order,
                commits,
                finding: f,
            });
        }
    }

    fn meta(&self, cache: &mut HashMap<Oid, CommitMeta>, oid: Oid) -> CommitMeta {
        cache
            .entry(oid)
            .or_insert_with(|| match self.repo.find_commit(oid) {
                Ok(c) => {
                    let a = c.author();
                    CommitMeta {
                        id: oid,
                        name: String::from_utf8_lossy(a.name_bytes()).into_owned(),
                        email: String::from_utf8_lossy(a.email_bytes()).into_owned(),
                        date: rfc3339(a.when()),
                        summary: first_line(c.message_bytes()),
                    }
                }
                Err(_) => CommitMeta {
                    id: oid,
                    ..Default::default()
                },
            })
            .clone()
    }

    /// A message's summary line with every secret found in any message redacted: reports
    /// print summaries as they are.
    fn redacted(&self, summary: &str) -> String {
        let mut s = summary.to_string();
        for m in &self.messages {
            if s.contains(&m.hit.secret) {
                s = s.replace(&m.hit.secret, &crate::finding::redact(&m.hit.secret));
            }
        }
        s
    }

    fn git_info(&self, meta: &CommitMeta, commits: &[usize], in_head: bool) -> GitInfo {
        GitInfo {
            commit: meta.id.to_string(),
            author_name: meta.name.clone(),
            author_email: meta.email.clone(),
            date: meta.date.clone(),
            summary: self.redacted(&meta.summary),
            commits: commits
                .iter()
                .take(COMMITS_LISTED)
                .map(|&i| self.commits[i].id.to_string())
                .collect(),
            commit_count: commits.len(),
            in_head,
        }
    }
}

/// Object ids as map keys: compared inline (`Oid`'s `==` is a call into libgit2) and hashed
/// with `Fx` (SipHash's flood resistance buys nothing on SHA-1 ids).
type Id = [u8; 20];
type FxMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<Fx>>;

fn id(o: Oid) -> Id {
    let mut i = [0; 20];
    i.copy_from_slice(o.as_bytes());
    i
}

/// The multiply-rotate hash of rustc's `FxHasher`: a few cycles per word.
#[derive(Default)]
struct Fx(u64);

impl std::hash::Hasher for Fx {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().unwrap()));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(b));
        }
    }
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

impl Fx {
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// Marks a graph node whose tree has not been read.
const UNREAD: u32 = u32::MAX;
/// Marks a graph node whose tree is queued to be read (parallel walk).
const QUEUED: u32 = u32::MAX - 1;
/// Marks a graph entry that is a blob (the rest is an index into `Sweep::blobs`).
const BLOB_BIT: u32 = 1 << 31;

/// The unique trees of a full sweep, 8 bytes per entry: (interned name, child), the child a
/// tree index or a blob index with `BLOB_BIT`.
#[derive(Default)]
struct Graph {
    index: FxMap<Id, u32>,
    /// Per tree: (first entry, entry count), or (`UNREAD`, 0).
    nodes: Vec<(u32, u32)>,
    entries: Vec<(u32, u32)>,
    names: Vec<Vec<u8>>,
    name_index: FxMap<Vec<u8>, u32>,
}

impl Graph {
    fn tree(&mut self, id: Oid) -> u32 {
        let next = self.nodes.len() as u32;
        let i = *self.index.entry(self::id(id)).or_insert(next);
        if i == next {
            self.nodes.push((UNREAD, 0));
        }
        i
    }

    fn name(&mut self, name: &[u8]) -> u32 {
        if let Some(&i) = self.name_index.get(name) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(name.to_vec());
        self.name_index.insert(name.to_vec(), i);
        i
    }

    /// Where the interesting blobs sit in tree `ti`, memoised per tree.
    fn entries_of(
        &self,
        ti: u32,
        blobs: &[Oid],
        interesting: &[bool],
        memo: &mut Vec<Option<Entries>>,
        empty: &Entries,
    ) -> Entries {
        if let Some(e) = &memo[ti as usize] {
            return e.clone();
        }
        let (start, len) = self.nodes[ti as usize];
        let mut found = Vec::new();
        if start != UNREAD {
            for &(name, child) in &self.entries[start as usize..(start + len) as usize] {
                let name = &self.names[name as usize];
                if child & BLOB_BIT != 0 {
                    let b = (child & !BLOB_BIT) as usize;
                    if interesting[b] {
                        found.push((name.clone(), blobs[b]));
                    }
                } else {
                    let sub = self.entries_of(child, blobs, interesting, memo, empty);
                    for (p, b) in sub.iter() {
                        found.push((join(name, p), *b));
                    }
                }
            }
        }
        let e = if found.is_empty() {
            empty.clone()
        } else {
            Rc::new(found)
        };
        memo[ti as usize] = Some(e.clone());
        e
    }
}

fn add_blob(index: &mut FxMap<Id, u32>, blobs: &mut Vec<Oid>, oid: Oid) -> u32 {
    let next = blobs.len() as u32;
    let i = *index.entry(id(oid)).or_insert(next);
    if i == next {
        blobs.push(oid);
    }
    i
}

#[derive(Clone)]
struct CommitMeta {
    id: Oid,
    name: String,
    email: String,
    date: String,
    summary: String,
}

impl Default for CommitMeta {
    fn default() -> Self {
        CommitMeta {
            id: Oid::zero(),
            name: String::new(),
            email: String::new(),
            date: String::new(),
            summary: String::new(),
        }
    }
}

/// The hits of one secret at one path, across every blob and commit that carried it.
struct Group {
    /// Index of the oldest commit (topological order) that carries it.
    first: usize,
    raw_path: Vec<u8>,
    /// The hit in the blob of the first commit: its line and column are reported.
    hit: Hit,
    commits: Vec<usize>,
}

/// A finding with what orders it and counts its commits.
struct Sourced {
    order: usize,
    commits: Vec<usize>,
    finding: Finding,
}

#[derive(Default)]
struct WorkerResult {
    hits: HashMap<Oid, Vec<Hit>>,
    errors: Vec<(Oid, String)>,
    skipped: Vec<(Oid, u64)>,
    text: u64,
    binary: u64,
    bytes: u64,
}

fn scan_blob(
    det: &Detector,
    odb: &git2::Odb,
    oid: Oid,
    path: &[u8],
    max: Option<u64>,
    out: &mut WorkerResult,
) {
    if let Some(max) = max {
        match odb.read_header(oid) {
            Ok((size, _)) if size as u64 > max => {
                out.skipped.push((oid, size as u64));
                return;
            }
            Ok(_) => {}
            Err(e) => {
                out.errors.push((oid, e.message().to_string()));
                return;
            }
        }
    }
    let obj = match odb.read(oid) {
        Ok(o) => o,
        Err(e) => {
            out.errors.push((oid, e.message().to_string()));
            return;
        }
    };
    match scan_slice(det, obj.data(), path) {
        Scanned::Text { bytes, hits } => {
            out.text += 1;
            out.bytes += bytes;
            if !hits.is_empty() {
                out.hits.insert(oid, hits);
            }
        }
        Scanned::Binary { bytes } => {
            out.binary += 1;
            out.bytes += bytes;
        }
    }
}

/// Remembers the path of a blob whose path names a rule's service (the first one met), so
/// the detector can judge it under that path. Costs a case-insensitive search of two short
/// strings per tree entry; allocates only for such paths.
fn note_path(
    det: &Detector,
    paths: &mut HashMap<Oid, Vec<u8>>,
    (prefix, prefix_matters): (&[u8], bool),
    name: &[u8],
    id: Oid,
) {
    if (prefix_matters || det.path_matters(name)) && !paths.contains_key(&id) {
        paths.insert(id, join(prefix, name));
    }
}

/// Where the interesting blobs sit in `tree`, memoised per tree id: a subtree shared by a
/// thousand commits is read once.
fn tree_entries(
    odb: &git2::Odb,
    tree: Oid,
    interesting: &HashSet<Oid>,
    memo: &mut HashMap<Oid, Entries>,
    empty: &Entries,
) -> Entries {
    if let Some(e) = memo.get(&tree) {
        return e.clone();
    }
    let mut found: Vec<(Vec<u8>, Oid)> = Vec::new();
    if let Ok(obj) = odb.read(tree) {
        let mut subtrees = Vec::new();
        for_each_entry(obj.data(), |mode, name, id| match mode {
            Mode::Tree => subtrees.push((name.to_vec(), id)),
            Mode::Blob if interesting.contains(&id) => found.push((name.to_vec(), id)),
            _ => {}
        });
        drop(obj);
        for (name, id) in subtrees {
            let sub = tree_entries(odb, id, interesting, memo, empty);
            for (p, b) in sub.iter() {
                found.push((join(&name, p), *b));
            }
        }
    }
    let e = if found.is_empty() {
        empty.clone()
    } else {
        Rc::new(found)
    };
    memo.insert(tree, e.clone());
    e
}

/// The blob at `path` (a `/`-separated path) in `tree`.
fn lookup_path(odb: &git2::Odb, tree: Oid, path: &[u8]) -> Option<Oid> {
    let mut t = tree;
    let mut parts = path.split(|&b| b == b'/').peekable();
    while let Some(part) = parts.next() {
        let obj = odb.read(t).ok()?;
        let last = parts.peek().is_none();
        let mut next = None;
        for_each_entry(obj.data(), |mode, name, id| {
            if name == part && matches!(mode, Mode::Tree) != last {
                next = Some(id);
            }
        });
        let id = next?;
        if last {
            return Some(id);
        }
        t = id;
    }
    None
}

#[derive(Clone, Copy)]
enum Mode {
    Tree,
    Blob,
    Submodule,
}

/// Calls `f` for each entry of a raw tree object (`<octal mode> <name>\0<20-byte id>`).
/// Returns false if the tree is malformed (entries before the damage are still reported).
fn for_each_entry(mut data: &[u8], mut f: impl FnMut(Mode, &[u8], Oid)) -> bool {
    while !data.is_empty() {
        let Some(sp) = memchr::memchr(b' ', data) else {
            return false;
        };
        let mode = &data[..sp];
        let rest = &data[sp + 1..];
        let Some(nul) = memchr::memchr(0, rest) else {
            return false;
        };
        let name = &rest[..nul];
        if rest.len() < nul + 21 {
            return false;
        }
        let Ok(id) = Oid::from_bytes(&rest[nul + 1..nul + 21]) else {
            return false;
        };
        let kind = match mode {
            b"40000" | b"040000" => Mode::Tree,
            b"160000" => Mode::Submodule,
            _ => Mode::Blob,
        };
        f(kind, name, id);
        data = &rest[nul + 21..];
    }
    true
}

/// Tree id, parents and message of a raw commit object.
fn parse_commit<'d>(data: &'d [u8], parents: &mut Vec<Oid>) -> Option<(Oid, &'d [u8])> {
    let header_end = memchr::memmem::find(data, b"\n\n");
    let (header, message) = match header_end {
        Some(i) => (&data[..i], &data[i + 2..]),
        None => (data, &data[data.len()..]),
    };
    let mut tree = None;
    for line in header.split(|&b| b == b'\n') {
        if let Some(hex) = line.strip_prefix(b"tree ") {
            tree = Oid::from_str(std::str::from_utf8(hex).ok()?).ok();
        } else if let Some(hex) = line.strip_prefix(b"parent ") {
            if let Some(p) = std::str::from_utf8(hex)
                .ok()
                .and_then(|h| Oid::from_str(h).ok())
            {
                parents.push(p);
            }
        } else if line.starts_with(b"author ") {
            break;
        }
    }
    Some((tree?, message))
}

fn join(prefix: &[u8], name: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(prefix.len() + name.len() + 1);
    if !prefix.is_empty() {
        p.extend_from_slice(prefix);
        p.push(b'/');
    }
    p.extend_from_slice(name);
    p
}

fn shown_dir(prefix: &[u8]) -> String {
    if prefix.is_empty() {
        "at the root".into()
    } else {
        format!("at {}/", String::from_utf8_lossy(prefix))
    }
}

fn first_line(message: &[u8]) -> String {
    let s = String::from_utf8_lossy(message);
    s.trim_start()
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .to_string()
}

/// RFC 3339 in the time zone the author recorded.
pub fn rfc3339(t: git2::Time) -> String {
    crate::time::rfc3339_at(t.seconds(), i64::from(t.offset_minutes()))
}

/// Sorts blob ids into the order they are stored in their pack files (loose objects last),
/// read from the pack indexes (`.idx` version 2): reading a delta right after its base finds
/// the base in libgit2's delta base cache instead of inflating the chain again.
fn pack_order(indexes: &[PackIndex], blobs: &[Oid]) -> Vec<Oid> {
    let mut keyed: Vec<(u32, u64, Oid)> = blobs
        .iter()
        .map(|&b| {
            let (p, o) = pack_key(indexes, b);
            (p, o, b)
        })
        .collect();
    keyed.sort_unstable();
    keyed.into_iter().map(|k| k.2).collect()
}

/// (pack number, offset) of an object; loose objects sort last.
fn pack_key(indexes: &[PackIndex], oid: Oid) -> (u32, u64) {
    indexes
        .iter()
        .enumerate()
        .find_map(|(i, ix)| ix.offset(oid.as_bytes()).map(|o| (i as u32, o)))
        .unwrap_or((u32::MAX, 0))
}

fn load_pack_indexes(objects: &Path) -> Vec<PackIndex> {
    let mut indexes = Vec::new();
    if let Ok(dir) = std::fs::read_dir(objects.join("pack")) {
        let mut paths: Vec<PathBuf> = dir
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "idx"))
            .collect();
        paths.sort();
        for p in paths {
            if let Some(ix) = std::fs::read(&p).ok().and_then(PackIndex::parse) {
                indexes.push(ix);
            }
        }
    }
    indexes
}

struct PackIndex {
    data: Vec<u8>,
    n: usize,
}

impl PackIndex {
    const HEADER: usize = 8 + 256 * 4;

    fn parse(data: Vec<u8>) -> Option<PackIndex> {
        if data.len() < Self::HEADER || data[..8] != [0xff, b't', b'O', b'c', 0, 0, 0, 2] {
            return None;
        }
        let n = be32(&data, 8 + 255 * 4) as usize;
        if data.len() < Self::HEADER + n * 28 {
            return None;
        }
        Some(PackIndex { data, n })
    }

    fn offset(&self, id: &[u8]) -> Option<u64> {
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
        let (mut lo, mut hi) = (lo, hi);
        while lo < hi {
            let mid = (lo + hi) / 2;
            let at = Self::HEADER + mid * 20;
            match self.data[at..at + 20].cmp(id) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => {
                    let offsets = Self::HEADER + self.n * 24;
                    let v = be32(&self.data, offsets + mid * 4);
                    if v & 0x8000_0000 == 0 {
                        return Some(u64::from(v));
                    }
                    let at = offsets + self.n * 4 + (v & 0x7fff_ffff) as usize * 8;
                    let b = self.data.get(at..at + 8)?;
                    return Some(u64::from_be_bytes(b.try_into().ok()?));
                }
            }
        }
        None
    }
}

fn be32(d: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([d[at], d[at + 1], d[at + 2], d[at + 3]])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_rfc3339() {
        assert_eq!(rfc3339(git2::Time::new(0, 0)), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(git2::Time::new(1_700_000_000, 120)),
            "2023-11-15T00:13:20+02:00"
        );
        assert_eq!(
            rfc3339(git2::Time::new(1_700_000_000, -330)),
            "2023-11-14T16:43:20-05:30"
        );
    }

    #[test]
    fn tree_entries_parse() {
        let mut raw = Vec::new();
        raw.extend_from_slice(b"100644 a.txt\0");
        raw.extend_from_slice(&[1u8; 20]);
        raw.extend_from_slice(b"40000 dir\0");
        raw.extend_from_slice(&[2u8; 20]);
        raw.extend_from_slice(b"160000 sub\0");
        raw.extend_from_slice(&[3u8; 20]);
        let mut got = Vec::new();
        assert!(for_each_entry(&raw, |m, n, _| got.push((
            matches!(m, Mode::Tree),
            matches!(m, Mode::Submodule),
            n.to_vec()
        ))));
        assert_eq!(
            got,
            vec![
                (false, false, b"a.txt".to_vec()),
                (true, false, b"dir".to_vec()),
                (false, true, b"sub".to_vec())
            ]
        );
        assert!(!for_each_entry(b"100644 broken", |_, _, _| {}));
    }
}
