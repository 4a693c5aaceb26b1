//! A repository's history as a source: every blob reachable from every ref (branches, tags,
//! remote-tracking refs, the stash and its reflog, notes, a detached HEAD), every commit
//! message and annotated tag message — and, with `--include-unreachable`, the dangling
//! objects rewritten history leaves behind.
//!
//! A sweep is a pipeline of passes, each in its own file, each handing its result to the
//! next:
//! 1. `refs`: the roots (commits, trees, blobs the refs name; a range's tips and hidden ones);
//! 2. `walk`: the commits (parents first, messages scanned), then every unique tree once into
//!    the compact `graph`, which collects the unique blobs;
//! 3. `scan`: every unique blob once, in pack order (`packs`), on the thread pool;
//! 4. `provenance`: only for blobs that matched, the commits and paths that carry each
//!    secret — a pure function of the walk's results;
//! 5. `findings`: findings and the summary of unique secrets, with commit metadata, and
//!    `exposure`: for each secret found, the refs that reach it and whether it is at their
//!    tips (a full sweep only).
//!
//! `objects` reads objects for all of them (and keeps damaged loose objects away from
//! libgit2); `parse` parses the raw ones.
//!
//! `--since REV` / `--range A..B` restrict the passes to the commits in the range; the trees
//! of the commits just outside it (the boundary) tell what already existed, so only what the
//! range introduced is read and reported.

pub mod ahead;
mod dense;
mod exposure;
mod findings;
mod graph;
pub mod objects;
pub mod packs;
pub mod parse;
pub mod pinned;
mod provenance;
pub mod recover;
mod refs;
mod scan;
mod treediff;
mod walk;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};
use git2::{Oid, Repository, RepositoryOpenFlags};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::detect::Detector;
use crate::haystack::{scan_slice, Scanned};
use crate::report::{Report, ScanKind};
use ahead::Ahead;
use objects::{Objects, Store};

pub struct GitOptions {
    pub repo: PathBuf,
    pub include_unreachable: bool,
    pub since: Option<String>,
    pub range: Option<String>,
    pub max_file_size: Option<u64>,
    /// How archives committed to history are opened.
    pub archives: crate::extract::Settings,
    pub threads: usize,
    /// Draw a progress bar on stderr.
    pub progress: bool,
    /// Scan exactly what a push adds instead of every ref (`--since` / `--range` unset).
    pub push: Option<PushRoots>,
    /// Object directories read besides the repository's own: git's quarantine directory
    /// (`GIT_OBJECT_DIRECTORY`) while a pre-receive hook runs.
    pub object_dirs: Vec<PathBuf>,
}

/// What a push adds: the objects it sets refs to, minus the history of what is already
/// there. A new ref is `new --not --all`; an update `old..new` minus what the repository
/// has; a force push reads no commit some existing ref already reaches.
#[derive(Debug, Clone, Default)]
pub struct PushRoots {
    /// The objects the push sets refs to (commits, annotated tags, even trees or blobs).
    pub tips: Vec<Oid>,
    /// Objects whose history is already held (tips of refs scanned earlier in the push, the
    /// remote's commit in a pre-push hook).
    pub hidden: Vec<Oid>,
    /// Hide what the refs whose names start with this already reach: `""` every ref (a
    /// pre-receive hook: the refs before the push), `refs/remotes/origin/` (pre-push).
    pub hide_refs: Option<String>,
}

/// Stack for provenance and the tree recursion it does: deep directory nesting in a hostile
/// repository must not overflow the main thread's stack (only touched pages cost memory).
const PROVENANCE_STACK: usize = 512 << 20;

pub fn scan(det: &Detector, opts: &GitOptions) -> Result<Report> {
    let started = Instant::now();
    // Each pass visits every object once, so libgit2's object cache would only hold memory.
    // Verifying the hash of every object read costs a SHA-1 over all history: that is
    // `git fsck`'s job, not ours. Pack windows beyond 256 MiB are unmapped again, so a large
    // pack does not stay resident whole.
    git2::opts::enable_caching(false);
    git2::opts::strict_hash_verification(false);
    limit_pack_windows();

    let repo = open(&opts.repo)?;
    let object_dirs = objects::beyond(&repo, &opts.object_dirs);
    objects::add_object_dirs(&repo, &object_dirs).map_err(|e| anyhow!(e))?;
    let root = scan_root(&opts.repo)?;
    let mut report = Report::new(ScanKind::Git, root);
    let progress = progress_bar(opts.progress);
    // In a push with a quarantine, everything new is in the quarantine's packs.
    let pack_order = opts.push.is_none() || object_dirs.is_empty();
    let store = Store::new(&repo, &object_dirs, pack_order);
    let objects = Objects::new(&repo, store.loose()).map_err(|e| anyhow!(e))?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads.max(1))
        .thread_name(|i| format!("applivery-leaks-git-{i}"))
        .build()
        .map_err(|e| anyhow!("cannot start worker threads: {e}"))?;

    // Pass 1: roots.
    let (mut roots, ranged) = match &opts.push {
        Some(p) => {
            let roots = refs::pushed(&repo, &objects, p)?;
            let ranged = !roots.hidden.is_empty();
            (roots, ranged)
        }
        None => {
            let mut roots = refs::collect(&repo, &objects)?;
            refs::restrict(
                &repo,
                &objects,
                &mut roots,
                opts.since.as_deref(),
                opts.range.as_deref(),
            )?;
            (roots, opts.since.is_some() || opts.range.is_some())
        }
    };
    let mut errors = std::mem::take(&mut roots.errors);
    let mut warnings = Vec::new();

    phase("refs", started);
    // Pass 2: commits, then trees.
    let scan_message = |m: &[u8]| -> Vec<crate::haystack::Hit> {
        if !det.prefilter(m, b"") {
            return Vec::new();
        }
        match scan_slice(det, m, b"") {
            Scanned::Text { hits, .. } => hits,
            Scanned::Binary { .. } => Vec::new(),
        }
    };
    // A full sweep reads every commit: read the packed ones ahead on every thread. A range
    // (`--since`, a push) reads few of them, and the walk reads those itself.
    let ahead = if ranged {
        Ahead::default()
    } else {
        Ahead::read(&store.packs, &pool)
    };
    phase("ahead", started);
    let mut history = walk::commits(
        (&objects, &ahead),
        (&roots.tips, &roots.hidden),
        scan_message,
        &progress,
    );
    drop(ahead);
    phase("commits", started);
    errors.append(&mut history.errors);
    let mut graph = graph::Graph::default();
    // A blob is judged under the first of its paths that is evidence (`applivery.json`):
    // one read per blob, and findings are reported at every path it has.
    let matters: graph::PathMatters = &|p: &[u8]| det.path_matters(p);
    for &b in &roots.blobs {
        graph.blob(b);
    }
    let boundary = if ranged {
        let b = walk::boundary(&objects, &history.boundary);
        warnings.extend(b.warnings.iter().cloned());
        // Trees a pushed ref names directly (a range of `--since` / `--range` has none).
        let mut trees: Vec<Oid> = history.commits.iter().map(|c| c.tree).collect();
        trees.extend(&roots.trees);
        let found = walk::range_trees(&objects, &trees, &b, &mut graph, matters);
        errors.extend(found.errors);
        report_submodules(&mut report, found.submodules);
        Some(b)
    } else {
        let mut trees: Vec<Oid> = history.commits.iter().map(|c| c.tree).collect();
        trees.extend(&roots.trees);
        let found = walk::trees(&store, &mut graph, &trees, matters, &pool, &progress);
        errors.extend(found.errors);
        report_submodules(&mut report, found.submodules);
        if opts.include_unreachable {
            let tags: Vec<Oid> = roots.tags.iter().map(|t| t.id).collect();
            let dangling = walk::unreachable(&objects, &history, &mut graph, &tags, &mut errors)
                .map_err(|e| anyhow!(e))?;
            let tips: Vec<Oid> = history.commits.iter().map(|c| c.id).collect();
            let none = Ahead::default();
            let more = walk::commits(
                (&objects, &none),
                (&dangling, &tips),
                scan_message,
                &progress,
            );
            let first_new = history.commits.len();
            append_history(&mut history, more, &mut errors);
            let trees: Vec<Oid> = history.commits[first_new..]
                .iter()
                .map(|c| c.tree)
                .collect();
            let found = walk::trees(&store, &mut graph, &trees, matters, &pool, &progress);
            errors.extend(found.errors);
            report_submodules(&mut report, found.submodules);
        }
        None
    };
    graph.finish_walk();
    phase("trees", started);

    // Pass 3: blobs.
    det.take_sink_names();
    let limits = (opts.max_file_size, &opts.archives);
    let mut blobs = scan::blobs(det, &store, &graph, limits, &pool, &progress);
    // A constant used at an Applivery sink in one blob and defined in another
    // (detect/project.rs): the blobs are read again, knowing its name. Nothing is read again
    // unless a blob had such a sink.
    let names = det.take_sink_names();
    if !names.is_empty() {
        let view = det.with_project(names)?;
        let again = scan::blobs(&view, &store, &graph, limits, &pool, &progress);
        blobs.add_new(again);
    }
    progress.finish_and_clear();
    phase("blobs", started);

    // Pass 4: provenance, on a thread with room for deep trees.
    let head_tree = head_tree(&repo, &objects);
    let noted: HashSet<Oid> = blobs
        .errors
        .iter()
        .map(|e| e.0)
        .chain(blobs.skipped.iter().map(|s| s.0))
        .chain(blobs.members.iter().map(|m| m.oid))
        .collect();
    let commits: Vec<Oid> = history.commits.iter().map(|c| c.tree).collect();
    let placed = std::thread::scope(|s| {
        std::thread::Builder::new()
            .stack_size(PROVENANCE_STACK)
            .spawn_scoped(s, || -> Result<provenance::Placed, String> {
                // The thread's own handle (libgit2 handles are not Sync): trees are read
                // from it in a range, and on a cycle of deltas in a full sweep
                // (`graph::Places`).
                let repo = store.open()?;
                let objects = Objects::new(&repo, store.loose())?;
                Ok(match &boundary {
                    None => {
                        let interesting: Vec<bool> = graph
                            .blobs()
                            .iter()
                            .map(|b| blobs.hits.contains_key(&objects::id(*b)) || noted.contains(b))
                            .collect();
                        let read = |o| objects.read(o).ok().map(|t| t.data().to_vec());
                        let mut trees = graph::Places::new(&graph, interesting, &read);
                        provenance::place(
                            &commits,
                            &mut trees,
                            &blobs.hits,
                            &noted,
                            head_tree,
                            |_| true,
                        )
                    }
                    Some(b) => {
                        let interesting: FxHashSet<Oid> = blobs
                            .hits
                            .keys()
                            .map(objects::oid)
                            .chain(noted.iter().copied())
                            .collect();
                        let mut trees = walk::ObjectTrees {
                            objects: &objects,
                            interesting: &interesting,
                            memo: FxHashMap::default(),
                        };
                        let mut before = findings::BoundaryCheck::new(det, &objects, b);
                        provenance::place(
                            &commits,
                            &mut trees,
                            &blobs.hits,
                            &noted,
                            head_tree,
                            |p| !before.had(p),
                        )
                    }
                })
            })
            .map(|h| h.join())
    });
    let placed = match placed {
        Ok(Ok(Ok(p))) => p,
        Ok(Ok(Err(e))) => bail!("provenance: cannot read the repository again: {e}"),
        _ => bail!("provenance failed: its thread could not start or stopped early"),
    };

    phase("provenance", started);
    // Pass 5: findings and summary.
    let tags: Vec<findings::TagMessage> = findings::tag_messages(
        &objects,
        &roots.tags,
        &history,
        ranged && opts.push.is_none(),
        det,
    );
    // The exposure map: which refs reach each secret. A range (or a push) sees only part of
    // the graph, so it has none.
    let exposures = if ranged {
        std::collections::HashMap::new()
    } else {
        exposure::map(&history, &roots.named, &roots.tags, &placed, &tags)
    };
    let assembled = findings::assemble(det, &objects, &history, placed, &tags, &exposures);
    report.findings = assembled.findings;
    report.errors = errors;
    report.errors.extend(findings::blob_problems(
        &history,
        &assembled.first_place,
        &blobs.errors,
    ));
    report.summary.skipped.extend(findings::skipped(
        &assembled.first_place,
        &blobs.skipped,
        opts.max_file_size,
    ));
    findings::member_problems(&assembled.first_place, &blobs.members, &mut report);
    report.warnings.append(&mut warnings);
    if repo.is_shallow() {
        report.warnings.push(
            "shallow clone: history is truncated, only the commits present were scanned \
             (`git fetch --unshallow` fetches the rest)"
                .into(),
        );
    }
    report.summary.files = blobs.text;
    report.summary.binary = blobs.binary;
    report.summary.bytes = blobs.bytes;
    report.summary.git = Some(crate::report::GitSummary {
        commits: history.commits.len() as u64,
        blobs: blobs.text + blobs.binary,
        shallow: repo.is_shallow(),
        secrets: assembled.secrets,
        head: repo
            .head()
            .ok()
            .and_then(|h| h.target())
            .and_then(|c| head_commit(&objects, c))
            .map(|c| c.to_string()),
    });
    phase("findings", started);
    report.summary.duration = started.elapsed();
    Ok(report)
}

/// Pack windows libgit2 keeps mapped at once, and the size of one. Its defaults (8 GiB of
/// 1 GiB windows) map a whole pack, and every page the sweep touches then stays resident: on
/// git.git that alone is the size of the pack. Windows are mapped again when needed, which
/// costs little when objects are read in pack order. The limit is for the whole process and
/// the blob pass's workers each map windows of their own (`Store::with_own_objects`): with
/// 16 MiB windows, two workers and the tree pass's reader wanted more than the limit on a
/// 45 MB pack, and unmapping one another's windows took a third of the blob pass (munmap
/// was 14% of the sweep's samples). With 4 MiB windows a worker needs few of them.
const PACK_WINDOWS: usize = 96 << 20;
const PACK_WINDOW: usize = 4 << 20;

#[allow(unsafe_code)]
fn limit_pack_windows() {
    // SAFETY: these set process-wide libgit2 options that libgit2 reads when it maps a pack
    // window. git2 initialises libgit2 before the call, and the sweep makes it on the main
    // thread before its workers start, with no other libgit2 work under way in the process.
    unsafe {
        let _ = git2::opts::set_mwindow_size(PACK_WINDOW);
        let _ = git2::opts::set_mwindow_mapped_limit(PACK_WINDOWS);
    }
}

fn progress_bar(on: bool) -> ProgressBar {
    if !on {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    pb.set_style(
        ProgressStyle::with_template("{spinner} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    pb.enable_steady_tick(Duration::from_millis(120));
    pb
}

fn report_submodules(report: &mut Report, subs: std::collections::BTreeSet<String>) {
    for s in subs {
        report
            .summary
            .skipped
            .push(crate::report::Problem::new(s, "submodule not scanned"));
    }
}

/// Appends the commits of a second walk (dangling commits) after the first's.
fn append_history(
    history: &mut walk::History,
    more: walk::History,
    errors: &mut Vec<crate::report::Problem>,
) {
    let offset = history.commits.len();
    if history.parent_start.is_empty() {
        history.parent_start.push(0);
    }
    let base = history.parents.len() as u32;
    for i in 0..more.commits.len() {
        history
            .parents
            .extend(more.parents_of(i).iter().map(|p| p + offset as u32));
        history
            .parent_start
            .push(base + more.parent_start.get(i + 1).copied().unwrap_or(0));
    }
    for (k, c) in more.commits.into_iter().enumerate() {
        history.index.insert(objects::id(c.id), offset + k);
        history.commits.push(c);
    }
    for m in more.messages {
        history.messages.push(walk::MessageHit {
            commit: m.commit + offset,
            hit: m.hit,
        });
    }
    errors.extend(more.errors);
}

/// The commit HEAD names, through tags (None when unborn or unreadable).
fn head_commit(objects: &Objects, mut oid: Oid) -> Option<Oid> {
    for _ in 0..16 {
        let obj = objects.read(oid).ok()?;
        match obj.kind()? {
            objects::Kind::Commit => return Some(oid),
            objects::Kind::Tag => oid = parse::tag(obj.data())?.target,
            _ => return None,
        }
    }
    None
}

/// The tree of the commit HEAD names: secrets there are still in HEAD.
fn head_tree(repo: &Repository, objects: &Objects) -> Option<Oid> {
    let c = head_commit(objects, repo.head().ok()?.target()?)?;
    let obj = objects.read(c).ok()?;
    parse::commit(obj.data()).map(|pc| pc.tree)
}

/// The content of the file at `path` (`/`-separated) in the commit `rev` names, through
/// annotated tags, reading the object directories in `object_dirs` too: `None` when there is
/// no such file or `rev` names no commit; an error when an object on the way is unreadable.
pub fn file_at(
    repo: &Path,
    object_dirs: &[PathBuf],
    rev: Oid,
    path: &str,
) -> Result<Option<Vec<u8>>> {
    let repo = open(repo)?;
    let object_dirs = &objects::beyond(&repo, object_dirs);
    objects::add_object_dirs(&repo, object_dirs).map_err(|e| anyhow!(e))?;
    let dirs = objects::LooseDirs::new(&repo.commondir().join("objects")).with(object_dirs);
    let objects = Objects::new(&repo, objects::Loose::Probed(&dirs)).map_err(|e| anyhow!(e))?;
    let Some(commit) = head_commit(&objects, rev) else {
        return Ok(None);
    };
    let read = |oid: Oid| {
        objects
            .read(oid)
            .map(|o| o.data().to_vec())
            .map_err(|e| anyhow!("object {oid}: {e}"))
    };
    let Some(mut at) = parse::commit(&read(commit)?).map(|c| c.tree) else {
        bail!("commit {commit}: malformed commit");
    };
    let parts: Vec<&str> = path.split('/').collect();
    for (k, part) in parts.iter().enumerate() {
        let tree = read(at)?;
        let last = k + 1 == parts.len();
        let entry = parse::entries(&tree).find(|e| e.name == part.as_bytes());
        match entry {
            Some(e) if last && e.mode == parse::Mode::Blob => {
                return read(Oid::from_bytes(e.id).expect("20 bytes")).map(Some);
            }
            Some(e) if !last && e.mode == parse::Mode::Tree => {
                at = Oid::from_bytes(e.id).expect("20 bytes");
            }
            _ => return Ok(None),
        }
    }
    Ok(None)
}

/// Which of a push's tips reach a commit: the ref a finding belongs to. Reads the object
/// directories given too (git's quarantine); answers are remembered per commit.
pub struct Reach {
    repo: Repository,
    /// Each tip peeled to its commit (None: it names no commit).
    tips: Vec<Option<Oid>>,
    memo: FxHashMap<objects::Id, Option<usize>>,
}

impl Reach {
    pub fn new(repo: &Path, object_dirs: &[PathBuf], tips: &[Oid]) -> Result<Reach> {
        let repo = open(repo)?;
        objects::add_object_dirs(&repo, &objects::beyond(&repo, object_dirs))
            .map_err(|e| anyhow!(e))?;
        let tips = if tips.len() == 1 {
            vec![None] // one tip: nothing to tell apart, nothing to read
        } else {
            tips.iter()
                .map(|&t| {
                    repo.find_object(t, None)
                        .and_then(|o| o.peel_to_commit())
                        .map(|c| c.id())
                        .ok()
                })
                .collect()
        };
        Ok(Reach {
            repo,
            tips,
            memo: FxHashMap::default(),
        })
    }

    /// The index of the first tip whose history holds `commit`.
    pub fn first_reaching(&mut self, commit: Oid) -> Option<usize> {
        if self.tips.len() == 1 {
            return Some(0);
        }
        if let Some(&k) = self.memo.get(&objects::id(commit)) {
            return k;
        }
        let k = self.tips.iter().position(|t| {
            t.is_some_and(|t| {
                t == commit || self.repo.graph_descendant_of(t, commit).unwrap_or(false)
            })
        });
        self.memo.insert(objects::id(commit), k);
        k
    }
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

pub(crate) fn open(path: &Path) -> Result<Repository> {
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

/// RFC 3339 in the time zone the author recorded.
pub fn rfc3339(t: git2::Time) -> String {
    crate::time::rfc3339_at(t.seconds(), i64::from(t.offset_minutes()))
}

/// With `APPLIVERY_LEAKS_PHASES` set, prints the time since the start and the process's CPU
/// time so far at the end of each pass, on stderr (for benchmarks, docs/benchmarks.md; no
/// secret is ever in it).
fn phase(name: &str, started: Instant) {
    if std::env::var_os("APPLIVERY_LEAKS_PHASES").is_some() {
        let cpu = cpu_seconds().map_or(String::new(), |c| format!(", {c:.2} s of CPU"));
        eprintln!(
            "phase {name}: {:.2} s{cpu}",
            started.elapsed().as_secs_f64()
        );
    }
}

/// The process's user and system CPU time so far, from `/proc/self/stat` (Linux only; its
/// clock ticks are 1/100 s on every Linux the scanner is built for).
fn cpu_seconds() -> Option<f64> {
    cpu_of_stat(&std::fs::read_to_string("/proc/self/stat").ok()?)
}

/// User plus system time, in seconds, of a `/proc/<pid>/stat` line.
fn cpu_of_stat(stat: &str) -> Option<f64> {
    // The command name (field 2) may hold spaces; fields 14 and 15 count after its `)`.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_ascii_whitespace().skip(11);
    let user: f64 = fields.next()?.parse().ok()?;
    let system: f64 = fields.next()?.parse().ok()?;
    Some((user + system) / 100.0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn cpu_time_is_read_after_the_command_name() {
        // A command name holding `) ` must not shift the fields: utime 250, stime 50 ticks.
        let stat = "4242 (a) b c) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 3 0";
        assert_eq!(super::cpu_of_stat(stat), Some(3.0));
        assert_eq!(super::cpu_of_stat("4242 (short) S 1"), None);
        assert!(super::cpu_seconds().is_some_and(|c| c >= 0.0));
    }
}
