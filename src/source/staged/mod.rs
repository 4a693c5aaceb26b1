//! Staged changes: what `git commit` is about to record, compared with HEAD (or with the empty
//! tree before the first commit). This runs on every commit, so its cost must follow the size
//! of the change, not the size of the repository or its history.
//!
//! How it stays small:
//! 1. The index file is read here, not by libgit2: libgit2 verifies the checksum of the whole
//!    file with collision-detecting SHA-1 and builds a hash map of every entry, which alone
//!    costs ~40 ms on a 100k-file repository. Git itself does not verify it on every read.
//!    The file is mapped, not copied (`mapped`), and each entry costs a few loads.
//! 2. The index's cache-tree (the `TREE` extension git maintains, invalidated along the paths
//!    that `git add` touches) gives the tree id of every untouched directory. Where it equals
//!    HEAD's subtree id, the whole directory is passed over by its entry count, unread;
//!    elsewhere HEAD's tree entries are compared with the index entries, read in order. In a
//!    pre-commit hook git has just brought the cache-tree up to date, so only the changed
//!    directories are read.
//! 3. Each changed blob is read from the object database — the staged content, never the
//!    working file, so a partially staged file is scanned as it will be committed — and run
//!    through the detector whole, so context on unchanged lines (an `applivery:` key above)
//!    still counts. Only if it has hits is it diffed against the old blob, and only hits on
//!    added or modified lines are kept: a token that was already committed is a history
//!    problem (`applivery-leaks git`), not a reason to block an unrelated edit.
//! 4. A new file is compared with a deleted one it was renamed from (same blob, or at least
//!    half of its lines), so moving a file does not make its old lines new. A copy is a new
//!    occurrence and is reported.
//!
//! A sparse index's directory entries (one tree for a directory outside the sparse-checkout
//! cone) are compared with HEAD tree to tree: libgit2 cannot read such an index at all.
//! Index files this reader does not handle (split index, unresolved conflicts, unknown
//! required extensions, anything git would not write) are read by libgit2 instead: slower,
//! same results. `APPLIVERY_LEAKS_INDEX=libgit2` forces that path (the tests run both);
//! `APPLIVERY_LEAKS_INDEX=builtin` makes it an error instead, so a test can tell that the
//! fast path really ran.
//!
//! Objects are read through the sweep's guarded reader (`git::objects`): a truncated loose
//! object — the newest ones, what a commit is about to add, are loose — is an error within
//! microseconds instead of a pre-commit hook that hangs in libgit2. Before the libgit2 path
//! compares trees itself, every loose object is checked first.
//!
//! The passes, one file each: `index` reads the index file (`mapped` maps it), `changes`
//! compares it with HEAD, `renames` tells moved lines from new ones; this file scans each
//! change.

mod changes;
pub mod index;
mod mapped;
mod renames;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{anyhow, Context as _, Result};
use git2::{ErrorCode, Oid, Repository};

use super::git::objects::{Kind, Loose, LooseDirs, Objects};
use super::git::parse;
use crate::detect::Detector;
use crate::finding::Finding;
use crate::provenance::Provenance;
use crate::report::{Problem, Report, ScanKind};
use renames::Renames;

const MODE_TREE: u32 = 0o040000;
const MODE_BLOB: u32 = 0o100644;
const MODE_EXEC: u32 = 0o100755;
const MODE_LINK: u32 = 0o120000;
const MODE_GITLINK: u32 = 0o160000;

/// A path whose staged version differs from HEAD's. `None` on one side: added or deleted.
#[derive(Debug, Clone)]
struct Change {
    path: Vec<u8>,
    old: Option<(Oid, u32)>,
    new: Option<(Oid, u32)>,
}

/// A repository opened for a staged scan. The default `.` honours the environment git gives
/// hooks (`GIT_DIR`, `GIT_INDEX_FILE`): `git commit -a` and `git commit <paths>` stage into
/// a temporary index, and that index is the one to scan.
pub struct Staged {
    repo: Repository,
    root: PathBuf,
    index_path: PathBuf,
}

impl Staged {
    pub fn open(repo_arg: &Path) -> Result<Staged> {
        // Objects come from the user's own repository; re-hashing every tree and blob read
        // (with collision-detecting SHA-1) would cost more than the scan.
        git2::opts::strict_hash_verification(false);
        let from_env = repo_arg == Path::new(".");
        // Git sets GIT_INDEX_FILE for every pre-commit hook. libgit2 would read that index at
        // once when opening the repository from the environment (the slow read step 1
        // avoids), so take it out of the environment first and read the index here.
        let index_env = std::env::var_os("GIT_INDEX_FILE").filter(|p| !p.is_empty());
        if from_env && index_env.is_some() {
            std::env::remove_var("GIT_INDEX_FILE");
        }
        let repo = open(repo_arg, from_env)?;
        let root = repo
            .workdir()
            .ok_or_else(|| {
                anyhow!(
                    "{} is a bare repository: nothing is staged",
                    repo.path().display()
                )
            })?
            .to_path_buf();
        let index_path = match index_env {
            Some(p) if from_env => PathBuf::from(p),
            _ => repo.path().join("index"),
        };
        Ok(Staged {
            repo,
            root,
            index_path,
        })
    }

    /// The work tree: reported paths are relative to it, and the project config lives there.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The scanner's own files as HEAD holds them, against what is staged.
    pub fn pinned(&self) -> Result<super::git::pinned::Pinned> {
        let repo = Repository::open(self.repo.path())
            .map_err(|e| anyhow!("cannot open the repository: {}", e.message()))?;
        super::git::pinned::Pinned::staged(repo, &self.root, &self.index_path)
    }

    /// Scans what is staged.
    pub fn scan(&self, det: &Detector, archives: &crate::extract::Settings) -> Result<Report> {
        scan(det, archives, &self.repo, &self.root, &self.index_path)
    }
}

fn scan(
    det: &Detector,
    archives: &crate::extract::Settings,
    repo: &Repository,
    root: &Path,
    index_path: &Path,
) -> Result<Report> {
    let started = Instant::now();
    let mut report = Report::new(ScanKind::Staged, root.to_path_buf());
    let dirs = LooseDirs::new(&repo.commondir().join("objects"));
    let objects = Objects::new(repo, Loose::Probed(&dirs)).map_err(|e| anyhow!(e))?;
    let head = head_tree(repo, &objects)?;
    let reader = std::env::var_os("APPLIVERY_LEAKS_INDEX");
    let force_libgit2 = reader.as_ref().is_some_and(|v| v == "libgit2");
    let builtin_only = reader.as_ref().is_some_and(|v| v == "builtin");
    let fast = if force_libgit2 {
        None
    } else {
        index::read(index_path).map_err(|e| {
            anyhow::anyhow!(
                "cannot read the index {}: {}",
                index_path.display(),
                crate::report::io_reason(&e)
            )
        })?
    };
    // The walk declines an index it does not trust; libgit2 then reads it.
    let walked = match fast {
        Some(idx) => changes::walk(&objects, &idx, head)?,
        None => None,
    };
    let changes = match walked {
        Some(changes) => changes,
        None if builtin_only => anyhow::bail!(
            "the built-in reader declined the index {} (APPLIVERY_LEAKS_INDEX=builtin)",
            index_path.display()
        ),
        None => {
            // libgit2 reads the trees itself: no damaged loose object may reach it.
            if let Some((oid, reason)) = dirs.first_damaged() {
                anyhow::bail!("object {oid}: {reason}");
            }
            changes::by_libgit2(repo, index_path, head, &mut report)?
        }
    };

    let deleted = || {
        Renames::new(
            changes
                .iter()
                .filter(|c| c.new.is_none())
                .filter_map(|c| c.old)
                .filter(|&(_, m)| is_file(m))
                .map(|(oid, _)| oid),
        )
    };
    let mut renames = deleted();
    det.take_sink_names();
    for c in &changes {
        scan_change(det, archives, &objects, c, &mut renames, &mut report);
    }
    // A constant used at an Applivery sink in one staged file and defined in another
    // (detect/project.rs): the staged files are judged again, knowing its name. Only the
    // change is read, never the rest of the repository.
    let names = det.take_sink_names();
    if !names.is_empty() {
        let view = det.with_project(names)?;
        let mut again = Report::new(ScanKind::Staged, root.to_path_buf());
        let mut renames = deleted();
        for c in &changes {
            scan_change(&view, archives, &objects, c, &mut renames, &mut again);
        }
        super::add_new(&mut report.findings, again.findings);
    }
    report.summary.duration = started.elapsed();
    Ok(report)
}

fn open(repo: &Path, from_env: bool) -> Result<Repository> {
    let opened = if from_env {
        Repository::open_from_env()
    } else {
        Repository::discover(repo)
    };
    opened.map_err(|e| {
        if e.code() == ErrorCode::NotFound {
            anyhow!("{} is not in a git repository", repo.display())
        } else {
            anyhow!(
                "cannot open the repository at {}: {}",
                repo.display(),
                e.message()
            )
        }
    })
}

/// HEAD's tree, or None before the first commit (everything staged is new).
fn head_tree(repo: &Repository, objects: &Objects) -> Result<Option<Oid>> {
    let head = match repo.head() {
        Ok(h) => h,
        Err(e) if matches!(e.code(), ErrorCode::UnbornBranch | ErrorCode::NotFound) => {
            return Ok(None)
        }
        Err(e) => return Err(anyhow!("cannot resolve HEAD: {}", e.message())),
    };
    let mut oid = head.target().context("HEAD names no commit")?;
    for _ in 0..16 {
        let obj = objects
            .read(oid)
            .map_err(|e| anyhow!("cannot read HEAD's commit {oid}: {e}"))?;
        match obj.kind() {
            Some(Kind::Commit) => {
                let c = parse::commit(obj.data())
                    .ok_or_else(|| anyhow!("cannot read HEAD's commit {oid}: malformed commit"))?;
                return Ok(Some(c.tree));
            }
            Some(Kind::Tag) => {
                oid = parse::tag(obj.data())
                    .ok_or_else(|| anyhow!("HEAD names a malformed tag {oid}"))?
                    .target;
            }
            _ => return Err(anyhow!("HEAD does not name a commit")),
        }
    }
    Err(anyhow!("HEAD names too many nested tags"))
}

fn is_file(mode: u32) -> bool {
    mode == MODE_BLOB || mode == MODE_EXEC
}

fn scan_change(
    det: &Detector,
    archives: &crate::extract::Settings,
    objects: &Objects,
    c: &Change,
    renames: &mut Renames,
    report: &mut Report,
) {
    let Some((new_oid, new_mode)) = c.new else {
        return; // deleted: nothing to scan
    };
    let path = String::from_utf8_lossy(&c.path).into_owned();
    match new_mode {
        MODE_BLOB | MODE_EXEC => {}
        MODE_LINK => {
            report.summary.skipped.push(Problem::new(
                path,
                "symbolic link (its target is scanned where it lives)",
            ));
            return;
        }
        MODE_GITLINK => {
            report.summary.skipped.push(Problem::new(
                path,
                "submodule (scan it in its own repository)",
            ));
            return;
        }
        _ => return,
    }
    let old = c.old.filter(|&(_, m)| is_file(m));
    if old.is_some_and(|(o, _)| o == new_oid) {
        return; // mode change only
    }
    if old.is_none() && renames.take(new_oid) {
        return; // renamed without changes
    }
    let blob = match objects.read(new_oid) {
        Ok(b) => b,
        Err(e) => {
            report.errors.push(Problem::new(
                path,
                format!("cannot read staged blob {new_oid}: {e}"),
            ));
            return;
        }
    };
    let data = blob.data();
    report.summary.bytes += data.len() as u64;
    let scanned = crate::extract::scan(det, archives, &c.path, data);
    let at = Provenance::file(path.as_str());
    for (members, reason) in scanned.skipped {
        report
            .summary
            .skipped
            .push(Problem::new(super::member_path(&at, members), reason));
    }
    for (members, reason) in scanned.errors {
        report
            .errors
            .push(Problem::new(super::member_path(&at, members), reason));
    }
    if scanned.binary {
        report.summary.binary += 1;
        return;
    }
    let hits = scanned.hits;
    report.summary.files += 1;
    if hits.is_empty() {
        return;
    }
    // Which lines are new? Ask the diff against the old version or the rename source;
    // without either, every line is.
    let added = match old {
        Some((oid, _)) => match objects
            .read(oid)
            .and_then(|o| renames::compare(o.data(), data).map_err(|e| e.message().to_string()))
        {
            Ok((added, _)) => Some(added),
            Err(e) => {
                report
                    .errors
                    .push(Problem::new(path, format!("cannot compare with HEAD: {e}")));
                return;
            }
        },
        None => renames.best(objects, data),
    };
    for h in hits {
        // Lines of an archive member are not lines of the file: a changed archive is new.
        let new_line = match &added {
            None => true,
            Some(_) if !h.members.is_empty() => true,
            Some(ranges) => ranges.iter().any(|r| r.contains(&h.line)),
        };
        if new_line {
            report
                .findings
                .push(super::finding(det, Provenance::file(path.as_str()), h));
        }
    }
}

/// The message that explains a blocked commit, for standard error. `findings` are those left
/// after suppression; empty means no message.
pub fn blocked_message(findings: &[Finding]) -> String {
    use crate::report::escape_control as esc;
    let blocking: Vec<&Finding> = findings.iter().collect();
    if blocking.is_empty() {
        return String::new();
    }
    let mut m = format!(
        "\napplivery-leaks: commit blocked: {} Applivery token(s) in the staged changes\n",
        blocking.len()
    );
    for f in &blocking {
        m.push_str(&format!(
            "  {}:{}  {}  ({})\n",
            esc(&f.path),
            f.line,
            esc(f.shown_context(false)),
            f.rule
        ));
    }
    m.push_str(concat!(
        "\n",
        "Why:  anyone who can read this repository or a clone of it can use the token, and\n",
        "      git keeps it in history even after the line is deleted.\n",
        "Fix:  read the token from a CI secret or an environment variable instead\n",
        "      (e.g. ${APPLIVERY_APP_TOKEN}), then `git add` the file again. If the token was\n",
        "      ever pushed, revoke it in the Applivery dashboard and create a new one.\n",
        "Override, deliberately: add `applivery-leaks:allow` to the line,\n",
        "      or commit with `git commit --no-verify`.\n",
    ));
    m
}
