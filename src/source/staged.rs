//! Staged changes: what `git commit` is about to record, compared with HEAD (or with the empty
//! tree before the first commit). This runs on every commit, so its cost must follow the size
//! of the change, not the size of the repository or its history.
//!
//! How it stays small:
//! 1. The index is turned into a tree with `git_index_write_tree`, which reuses the index's
//!    cache-tree for every directory `git add` did not touch. The few new tree objects go to
//!    an in-memory object database (mempack): the scan never writes to the repository.
//! 2. HEAD's tree and the staged tree are compared directory by directory, descending only
//!    where the tree ids differ, which yields the handful of changed paths.
//! 3. Only those paths are diffed by libgit2 (an exact path list, so its iterators skip every
//!    other directory), with rename detection: a renamed file is compared with its source.
//! 4. Each changed blob is read from the object database — the staged content, never the
//!    working file, so a partially staged file is scanned as it will be committed — and run
//!    through the detector whole, so context on unchanged lines (an `applivery:` key above)
//!    still counts. Only if it has hits is it diffed against the old blob, and only hits on
//!    added or modified lines are kept: a token that was already committed is a history
//!    problem (`applivery-leaks git`), not a reason to block an unrelated edit.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::path::Path;
use std::time::Instant;

use anyhow::{anyhow, Context as _, Result};
use git2::{
    Blob, Delta, DiffDelta, DiffFindOptions, DiffOptions, ErrorCode, FileMode, Oid, Patch,
    Repository, Tree,
};

use crate::detect::Detector;
use crate::finding::Finding;
use crate::haystack::{scan_slice, Scanned};
use crate::report::{Problem, Report, ScanKind};

/// Scans what is staged in the repository at (or above) `repo`. The default `.` honours the
/// environment git gives hooks (`GIT_DIR`, `GIT_INDEX_FILE`): `git commit -a` and
/// `git commit <paths>` stage into a temporary index, and that index is the one to scan.
pub fn scan(det: &Detector, repo: &Path) -> Result<Report> {
    let started = Instant::now();
    let repo = open(repo)?;
    let root = repo
        .workdir()
        .ok_or_else(|| {
            anyhow!(
                "{} is a bare repository: nothing is staged",
                repo.path().display()
            )
        })?
        .to_path_buf();
    let mut report = Report::new(ScanKind::Staged, root);
    let mut index = repo.index().context("cannot read the index")?;
    let head = head_tree(&repo)?;

    // Keep the trees that write_tree creates in memory (dropped with `odb`).
    let odb = repo.odb().context("cannot open the object database")?;
    let _mempack = odb
        .add_new_mempack_backend(1000)
        .context("cannot set up an in-memory object database")?;

    let mut opts = DiffOptions::new();
    opts.include_typechange(true).ignore_submodules(false);
    let diff = match index.write_tree_to(&repo) {
        Ok(staged) => {
            let staged = repo.find_tree(staged)?;
            let mut paths = Vec::new();
            changed_paths(&repo, head.as_ref(), &staged, &mut Vec::new(), &mut paths)?;
            if paths.is_empty() {
                report.summary.duration = started.elapsed();
                return Ok(report);
            }
            for p in paths {
                opts.pathspec(p);
            }
            opts.disable_pathspec_match(true);
            repo.diff_tree_to_tree(head.as_ref(), Some(&staged), Some(&mut opts))
        }
        // Unresolved conflicts (no tree can be written): compare with the index itself.
        Err(_) => repo.diff_tree_to_index(head.as_ref(), Some(&index), Some(&mut opts)),
    };
    let mut diff = diff.context("cannot compare the index with HEAD")?;
    diff.find_similar(Some(DiffFindOptions::new().renames(true)))
        .context("cannot detect renames")?;

    for delta in diff.deltas() {
        scan_delta(det, &repo, &delta, &mut report);
    }
    drop(index);
    report.summary.duration = started.elapsed();
    report.sort();
    Ok(report)
}

fn open(repo: &Path) -> Result<Repository> {
    let opened = if repo == Path::new(".") {
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
fn head_tree(repo: &Repository) -> Result<Option<Tree<'_>>> {
    match repo.head() {
        Ok(h) => Ok(Some(h.peel_to_tree().context("cannot read HEAD's tree")?)),
        Err(e) if matches!(e.code(), ErrorCode::UnbornBranch | ErrorCode::NotFound) => Ok(None),
        Err(e) => Err(anyhow!("cannot resolve HEAD: {}", e.message())),
    }
}

/// Appends to `out` the top-most paths where `new` differs from `old` (a directory path
/// stands for everything below it), descending only into subtrees whose ids differ.
fn changed_paths(
    repo: &Repository,
    old: Option<&Tree<'_>>,
    new: &Tree<'_>,
    prefix: &mut Vec<u8>,
    out: &mut Vec<Vec<u8>>,
) -> Result<()> {
    let Some(old) = old else {
        for e in new.iter() {
            out.push(join(prefix, e.name_bytes()));
        }
        return Ok(());
    };
    let olds: HashMap<Vec<u8>, (Oid, i32)> = old
        .iter()
        .map(|e| (e.name_bytes().to_vec(), (e.id(), e.filemode())))
        .collect();
    let mut seen: HashSet<Vec<u8>> = HashSet::with_capacity(olds.len());
    for e in new.iter() {
        let name = e.name_bytes();
        match olds.get(name) {
            Some(&(oid, mode)) => {
                seen.insert(name.to_vec());
                if oid == e.id() && mode == e.filemode() {
                    continue;
                }
                let both_trees =
                    mode == i32::from(FileMode::Tree) && e.filemode() == i32::from(FileMode::Tree);
                if both_trees {
                    let (o, n) = (repo.find_tree(oid)?, repo.find_tree(e.id())?);
                    let len = prefix.len();
                    prefix.extend_from_slice(name);
                    prefix.push(b'/');
                    changed_paths(repo, Some(&o), &n, prefix, out)?;
                    prefix.truncate(len);
                } else {
                    out.push(join(prefix, name));
                }
            }
            None => out.push(join(prefix, name)),
        }
    }
    // Deleted entries: rename sources.
    for e in old.iter() {
        if !seen.contains(e.name_bytes()) {
            out.push(join(prefix, e.name_bytes()));
        }
    }
    Ok(())
}

fn join(prefix: &[u8], name: &[u8]) -> Vec<u8> {
    let mut p = prefix.to_vec();
    p.extend_from_slice(name);
    p
}

fn scan_delta(det: &Detector, repo: &Repository, delta: &DiffDelta<'_>, report: &mut Report) {
    let new = delta.new_file();
    let path = new
        .path_bytes()
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .unwrap_or_default();
    match delta.status() {
        Delta::Deleted | Delta::Unmodified | Delta::Ignored | Delta::Untracked => return,
        Delta::Conflicted => {
            report
                .summary
                .skipped
                .push(Problem::new(path, "unresolved merge conflict"));
            return;
        }
        _ => {}
    }
    match new.mode() {
        FileMode::Blob | FileMode::BlobExecutable => {}
        FileMode::Link => {
            report.summary.skipped.push(Problem::new(
                path,
                "symbolic link (its target is scanned where it lives)",
            ));
            return;
        }
        FileMode::Commit => {
            report.summary.skipped.push(Problem::new(
                path,
                "submodule (scan it in its own repository)",
            ));
            return;
        }
        _ => return,
    }
    let blob = match repo.find_blob(new.id()) {
        Ok(b) => b,
        Err(e) => {
            report.errors.push(Problem::new(
                path,
                format!("cannot read staged blob {}: {}", new.id(), e.message()),
            ));
            return;
        }
    };
    let data = blob.content();
    report.summary.bytes += data.len() as u64;
    let hits = match scan_slice(det, data) {
        Scanned::Binary { .. } => {
            report.summary.binary += 1;
            return;
        }
        Scanned::Text { hits, .. } => hits,
    };
    report.summary.files += 1;
    if hits.is_empty() {
        return;
    }
    // Which lines are new? All of them for an added file; else ask the diff.
    let old = delta.old_file();
    let compare = matches!(delta.status(), Delta::Modified | Delta::Renamed)
        && matches!(old.mode(), FileMode::Blob | FileMode::BlobExecutable);
    let added: Option<Vec<Range<u64>>> = if compare {
        let old_blob = repo.find_blob(old.id());
        match old_blob.and_then(|o| added_lines(&o, &blob)) {
            Ok(r) => Some(r),
            Err(e) => {
                report.errors.push(Problem::new(
                    path,
                    format!("cannot compare with HEAD: {}", e.message()),
                ));
                return;
            }
        }
    } else {
        None
    };
    for h in hits {
        let new_line = match &added {
            None => true,
            Some(ranges) => ranges.iter().any(|r| r.contains(&h.line)),
        };
        if new_line {
            report.findings.push(super::finding(det, &path, h));
        }
    }
}

/// Line ranges (1-based, in `new`) that are added or modified compared with `old`. Lines
/// whose only change is trailing whitespace or the line ending (LF to CRLF) are not new.
fn added_lines(
    old: &Blob<'_>,
    new: &Blob<'_>,
) -> std::result::Result<Vec<Range<u64>>, git2::Error> {
    let mut opts = DiffOptions::new();
    opts.context_lines(0)
        .interhunk_lines(0)
        .force_text(true)
        .ignore_whitespace_eol(true);
    let patch = Patch::from_blobs(old, None, new, None, Some(&mut opts))?;
    let mut out = Vec::with_capacity(patch.num_hunks());
    for i in 0..patch.num_hunks() {
        let (h, _) = patch.hunk(i)?;
        let start = u64::from(h.new_start());
        out.push(start..start + u64::from(h.new_lines()));
    }
    Ok(out)
}

/// The message that explains a blocked commit, for standard error. `findings` are those that
/// block it; empty means no message.
pub fn blocked_message(findings: &[Finding]) -> String {
    use crate::report::escape_control as esc;
    let blocking: Vec<&Finding> = findings.iter().filter(|f| !f.inline_allowed).collect();
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
            esc(&f.shown_context(false)),
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
