//! Staged changes: what `git commit` is about to record, compared with HEAD (or with the empty
//! tree before the first commit). This runs on every commit, so its cost must follow the size
//! of the change, not the size of the repository or its history.
//!
//! How it stays small:
//! 1. The index file is read here, not by libgit2: libgit2 verifies the checksum of the whole
//!    file with collision-detecting SHA-1 and builds a hash map of every entry, which alone
//!    costs ~40 ms on a 100k-file repository. Git itself does not verify it on every read.
//! 2. The index's cache-tree (the `TREE` extension git maintains, invalidated along the paths
//!    that `git add` touches) gives the tree id of every untouched directory. Where it equals
//!    HEAD's subtree id, the whole directory is skipped; elsewhere HEAD's tree entries are
//!    compared with the index entries (found by binary search, the index being sorted).
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
//! Index files this reader does not handle (split index, sparse index, unresolved conflicts,
//! unknown required extensions) are read by libgit2 instead: slower, same results. Setting
//! `APPLIVERY_LEAKS_INDEX=libgit2` forces that path (the tests run both).

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{anyhow, Context as _, Result};
use git2::{
    Blob, Delta, DiffOptions, ErrorCode, ObjectType, Oid, Patch, Repository, Tree, TreeWalkMode,
    TreeWalkResult,
};

use crate::detect::Detector;
use crate::finding::Finding;
use crate::haystack::{scan_slice, Scanned};
use crate::report::{Problem, Report, ScanKind};

const MODE_TREE: u32 = 0o040000;
const MODE_BLOB: u32 = 0o100644;
const MODE_EXEC: u32 = 0o100755;
const MODE_LINK: u32 = 0o120000;
const MODE_GITLINK: u32 = 0o160000;

/// Deleted files considered as the source of one added file that has findings.
const RENAME_CANDIDATES: usize = 64;

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

    /// Scans what is staged.
    pub fn scan(&self, det: &Detector) -> Result<Report> {
        scan(det, &self.repo, &self.root, &self.index_path)
    }
}

fn scan(det: &Detector, repo: &Repository, root: &Path, index_path: &Path) -> Result<Report> {
    let started = Instant::now();
    let mut report = Report::new(ScanKind::Staged, root.to_path_buf());
    let head = head_tree(repo)?;
    let force_libgit2 = std::env::var_os("APPLIVERY_LEAKS_INDEX").is_some_and(|v| v == "libgit2");
    let fast = if force_libgit2 {
        None
    } else {
        index::read(index_path).map_err(|e| {
            anyhow::anyhow!(
                "cannot read the index {}: {}",
                index_path.display(),
                super::io_reason(&e)
            )
        })?
    };
    let changes = match fast {
        Some(idx) => {
            let mut out = Vec::new();
            let root_cache = idx.tree.as_ref();
            walk(
                repo,
                &idx,
                &mut Vec::new(),
                head.as_ref().map(|t| t.id()),
                root_cache,
                0..idx.entries.len(),
                &mut out,
            )?;
            out
        }
        None => changes_by_libgit2(repo, index_path, head.as_ref(), &mut report)?,
    };

    let mut renames = Renames::new(
        changes
            .iter()
            .filter(|c| c.new.is_none())
            .filter_map(|c| c.old)
            .filter(|&(_, m)| is_file(m))
            .map(|(oid, _)| oid),
    );
    for c in &changes {
        scan_change(det, repo, c, &mut renames, &mut report);
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
fn head_tree(repo: &Repository) -> Result<Option<Tree<'_>>> {
    match repo.head() {
        Ok(h) => Ok(Some(h.peel_to_tree().context("cannot read HEAD's tree")?)),
        Err(e) if matches!(e.code(), ErrorCode::UnbornBranch | ErrorCode::NotFound) => Ok(None),
        Err(e) => Err(anyhow!("cannot resolve HEAD: {}", e.message())),
    }
}

fn is_file(mode: u32) -> bool {
    mode == MODE_BLOB || mode == MODE_EXEC
}

/// Compares one directory of HEAD (tree `head`, None if absent) with the index entries in
/// `range` (all below `prefix`, which ends with `/` unless it is the root), skipping it
/// whole — without even reading HEAD's tree — when the cache-tree says the staged
/// directory is HEAD's.
fn walk(
    repo: &Repository,
    idx: &index::IndexFile,
    prefix: &mut Vec<u8>,
    head: Option<Oid>,
    cache: Option<&index::CacheTree>,
    range: Range<usize>,
    out: &mut Vec<Change>,
) -> Result<()> {
    if head.is_some() && cache.is_some_and(|c| c.oid == head) {
        return Ok(());
    }
    let head = match head {
        Some(oid) => Some(repo.find_tree(oid)?),
        None => None,
    };
    let mut olds: HashMap<Vec<u8>, (Oid, u32)> = match &head {
        Some(t) => t
            .iter()
            .map(|e| (e.name_bytes().to_vec(), (e.id(), e.filemode() as u32)))
            .collect(),
        None => HashMap::new(),
    };
    let subcaches: HashMap<&[u8], &index::CacheTree> = cache
        .map(|c| c.children.iter().map(|t| (t.name.as_slice(), t)).collect())
        .unwrap_or_default();
    let mut i = range.start;
    while i < range.end {
        let e = &idx.entries[i];
        let rel = &idx.path(e)[prefix.len()..];
        match memchr::memchr(b'/', rel) {
            None => {
                let path = idx.path(e).to_vec();
                let new = Some((idx.oid(e), e.mode));
                match olds.remove(rel) {
                    Some((oid, mode)) if mode == MODE_TREE => {
                        deleted_tree(repo, &path, oid, out)?;
                        out.push(Change {
                            path,
                            old: None,
                            new,
                        });
                    }
                    Some(old) if Some(old) == new => {}
                    old => out.push(Change { path, old, new }),
                }
                i += 1;
            }
            Some(k) => {
                let name = rel[..k].to_vec();
                let len = prefix.len();
                prefix.extend_from_slice(&name);
                // Entries below `name/` sort before `name0` ('0' follows '/').
                prefix.push(b'0');
                let end = i + idx.entries[i..range.end]
                    .partition_point(|x| idx.path(x) < prefix.as_slice());
                prefix.pop();
                prefix.push(b'/');
                let sub = match olds.remove(&name) {
                    Some((oid, mode)) if mode == MODE_TREE => Some(oid),
                    Some(old) => {
                        out.push(Change {
                            path: prefix[..prefix.len() - 1].to_vec(),
                            old: Some(old),
                            new: None,
                        });
                        None
                    }
                    None => None,
                };
                walk(
                    repo,
                    idx,
                    prefix,
                    sub,
                    subcaches.get(name.as_slice()).copied(),
                    i..end,
                    out,
                )?;
                prefix.truncate(len);
                i = end;
            }
        }
    }
    for (name, (oid, mode)) in olds {
        let mut path = prefix.clone();
        path.extend_from_slice(&name);
        if mode == MODE_TREE {
            deleted_tree(repo, &path, oid, out)?;
        } else {
            out.push(Change {
                path,
                old: Some((oid, mode)),
                new: None,
            });
        }
    }
    Ok(())
}

/// Every file of a deleted directory: possible rename sources.
fn deleted_tree(repo: &Repository, path: &[u8], oid: Oid, out: &mut Vec<Change>) -> Result<()> {
    let tree = repo.find_tree(oid)?;
    tree.walk(TreeWalkMode::PreOrder, |dir, e| {
        if e.kind() == Some(ObjectType::Blob) {
            let mut p = path.to_vec();
            p.push(b'/');
            p.extend_from_slice(dir.as_bytes());
            p.extend_from_slice(e.name_bytes());
            out.push(Change {
                path: p,
                old: Some((e.id(), e.filemode() as u32)),
                new: None,
            });
        }
        TreeWalkResult::Ok
    })?;
    Ok(())
}

/// The slow path, for index files `index::read` does not handle: libgit2 reads the index and
/// compares it with HEAD (its cost grows with the number of files).
fn changes_by_libgit2(
    repo: &Repository,
    index_path: &Path,
    head: Option<&Tree<'_>>,
    report: &mut Report,
) -> Result<Vec<Change>> {
    let index = if index_path.exists() {
        git2::Index::open(index_path)
            .with_context(|| format!("cannot read the index {}", index_path.display()))?
    } else {
        git2::Index::new()?
    };
    let mut opts = DiffOptions::new();
    opts.include_typechange(true).ignore_submodules(false);
    let diff = repo
        .diff_tree_to_index(head, Some(&index), Some(&mut opts))
        .context("cannot compare the index with HEAD")?;
    let mut out = Vec::new();
    for d in diff.deltas() {
        let path = d
            .new_file()
            .path_bytes()
            .or_else(|| d.old_file().path_bytes())
            .unwrap_or_default()
            .to_vec();
        let side = |f: git2::DiffFile<'_>| (f.id(), u32::from(f.mode()));
        match d.status() {
            Delta::Added => out.push(Change {
                path,
                old: None,
                new: Some(side(d.new_file())),
            }),
            Delta::Deleted => out.push(Change {
                path,
                old: Some(side(d.old_file())),
                new: None,
            }),
            Delta::Modified | Delta::Typechange => out.push(Change {
                path,
                old: Some(side(d.old_file())),
                new: Some(side(d.new_file())),
            }),
            Delta::Conflicted => report.summary.skipped.push(Problem::new(
                String::from_utf8_lossy(&path),
                "unresolved merge conflict",
            )),
            _ => {}
        }
    }
    Ok(out)
}

/// Deleted files, as sources an added file may have been renamed from. Each deleted file
/// is the source of one rename at most: a second added copy of it is a copy, and reported.
struct Renames {
    /// Deleted blob ids, with how many deleted files hold each.
    deleted: HashMap<Oid, usize>,
    /// Sizes of the deleted blobs, read only when an added file has hits.
    sizes: Option<Vec<(Oid, u64)>>,
}

impl Renames {
    fn new(deleted: impl Iterator<Item = Oid>) -> Renames {
        let mut map = HashMap::new();
        for oid in deleted {
            *map.entry(oid).or_insert(0) += 1;
        }
        Renames {
            deleted: map,
            sizes: None,
        }
    }

    /// Uses up a deleted file with exactly this content, if there is one left.
    fn take(&mut self, oid: Oid) -> bool {
        match self.deleted.get_mut(&oid) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
        }
    }

    /// The deleted blob `new` most resembles, with the lines that are new relative to it, if
    /// at least half of the lines are shared; that source is used up.
    fn best(&mut self, repo: &Repository, new: &Blob<'_>) -> Option<Vec<Range<u64>>> {
        if self.deleted.values().all(|&n| n == 0) {
            return None;
        }
        if self.sizes.is_none() {
            let odb = repo.odb().ok()?;
            self.sizes = Some(
                self.deleted
                    .keys()
                    .map(|&o| (o, odb.read_header(o).map_or(0, |(n, _)| n as u64)))
                    .collect(),
            );
        }
        let size = new.size() as u64;
        let mut cands: Vec<(Oid, u64)> = self
            .sizes
            .iter()
            .flatten()
            .filter(|(o, _)| self.deleted.get(o).is_some_and(|&n| n > 0))
            .copied()
            .collect();
        cands.sort_by_key(|&(_, n)| n.abs_diff(size));
        let mut best: Option<(f64, Oid, Vec<Range<u64>>)> = None;
        for (oid, _) in cands.into_iter().take(RENAME_CANDIDATES) {
            let Ok(old) = repo.find_blob(oid) else {
                continue;
            };
            if let Ok((added, sim)) = compare(&old, new) {
                if sim >= 0.5 && best.as_ref().map_or(true, |b| sim > b.0) {
                    best = Some((sim, oid, added));
                }
            }
        }
        let (_, oid, added) = best?;
        self.take(oid);
        Some(added)
    }
}

fn scan_change(
    det: &Detector,
    repo: &Repository,
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
    let blob = match repo.find_blob(new_oid) {
        Ok(b) => b,
        Err(e) => {
            report.errors.push(Problem::new(
                path,
                format!("cannot read staged blob {new_oid}: {}", e.message()),
            ));
            return;
        }
    };
    let data = blob.content();
    report.summary.bytes += data.len() as u64;
    let hits = match scan_slice(det, data, &c.path) {
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
    // Which lines are new? Ask the diff against the old version or the rename source;
    // without either, every line is.
    let added = match old {
        Some((oid, _)) => match repo.find_blob(oid).and_then(|o| compare(&o, &blob)) {
            Ok((added, _)) => Some(added),
            Err(e) => {
                report.errors.push(Problem::new(
                    path,
                    format!("cannot compare with HEAD: {}", e.message()),
                ));
                return;
            }
        },
        None => renames.best(repo, &blob),
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

/// Line ranges (1-based, in `new`) that are added or modified compared with `old`, and how
/// similar the two are (shared lines / lines of the longer one). Lines whose only change is
/// trailing whitespace or the line ending (LF to CRLF) are not new.
fn compare(
    old: &Blob<'_>,
    new: &Blob<'_>,
) -> std::result::Result<(Vec<Range<u64>>, f64), git2::Error> {
    let mut opts = DiffOptions::new();
    opts.context_lines(0)
        .interhunk_lines(0)
        .force_text(true)
        .ignore_whitespace_eol(true);
    // Buffers, not blobs: a blob diff looks up the file's gitattributes, which makes libgit2
    // load the whole index (~90 ms at 100k files) — the cost step 1 avoids.
    let patch = Patch::from_buffers(old.content(), None, new.content(), None, Some(&mut opts))?;
    let mut out = Vec::with_capacity(patch.num_hunks());
    let mut removed = 0u64;
    for i in 0..patch.num_hunks() {
        let (h, _) = patch.hunk(i)?;
        let start = u64::from(h.new_start());
        out.push(start..start + u64::from(h.new_lines()));
        removed += u64::from(h.old_lines());
    }
    let (a, b) = (lines(old.content()), lines(new.content()));
    let sim = if a.max(b) == 0 {
        1.0
    } else {
        a.saturating_sub(removed) as f64 / a.max(b) as f64
    };
    Ok((out, sim))
}

fn lines(b: &[u8]) -> u64 {
    let n = memchr::memchr_iter(b'\n', b).count() as u64;
    n + u64::from(b.last().is_some_and(|&c| c != b'\n'))
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

/// A reader for git's index file (`Documentation/gitformat-index.txt`): versions 2 to 4,
/// entries and the cache-tree. It returns None for what it does not handle, and the caller
/// falls back to libgit2.
mod index {
    use std::io;
    use std::ops::Range;
    use std::path::Path;

    use git2::Oid;

    const OID: usize = 20;
    /// ctime, mtime, dev, ino, mode, uid, gid, size, oid, flags.
    const FIXED: usize = 40 + OID + 2;

    /// Offsets into the index file (or, for version 4's compressed paths, into `arena`).
    pub struct Entry {
        path: u32,
        path_len: u32,
        oid_at: u32,
        pub mode: u32,
    }

    /// A node of the cache-tree: the tree id of a directory as staged, if still valid.
    pub struct CacheTree {
        pub name: Vec<u8>,
        pub oid: Option<Oid>,
        pub children: Vec<CacheTree>,
    }

    pub struct IndexFile {
        data: Vec<u8>,
        /// Paths of a version 4 index, where each is stored as a change to the previous one.
        arena: Option<Vec<u8>>,
        pub entries: Vec<Entry>,
        pub tree: Option<CacheTree>,
    }

    impl IndexFile {
        pub fn path(&self, e: &Entry) -> &[u8] {
            let r = e.path as usize..(e.path + e.path_len) as usize;
            match &self.arena {
                Some(a) => &a[r],
                None => &self.data[r],
            }
        }

        pub fn oid(&self, e: &Entry) -> Oid {
            let at = e.oid_at as usize;
            Oid::from_bytes(&self.data[at..at + OID]).expect("20 bytes")
        }
    }

    /// Reads the index at `path`; a missing file is an empty index (nothing staged yet).
    pub fn read(path: &Path) -> io::Result<Option<IndexFile>> {
        match std::fs::read(path) {
            Ok(d) if d.len() < 12 + OID || &d[..4] != b"DIRC" => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "not a git index file (bad signature or truncated)",
            )),
            Ok(d) => Ok(parse(d)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Some(IndexFile {
                data: Vec::new(),
                arena: None,
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

    /// Deeper paths are left to libgit2: the walk recurses once per directory level.
    const MAX_DEPTH: usize = 1024;

    pub fn parse(data: Vec<u8>) -> Option<IndexFile> {
        let d = data.as_slice();
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
        let mut entries: Vec<Entry> = Vec::with_capacity(count.min(body.len() / FIXED));
        let mut pos = 12;
        let mut prev: Range<usize> = 0..0;
        for _ in 0..count {
            let fixed = body.get(pos..pos + FIXED)?;
            let mode = be32(fixed, 24)?;
            let flags = be16(fixed, 40 + OID)?;
            let oid_at = (pos + 40) as u32;
            let mut p = pos + FIXED;
            if (flags >> 12) & 3 != 0 {
                return None; // unresolved conflict: let libgit2 report it
            }
            let mut intent_to_add = false;
            if flags & 0x4000 != 0 {
                if version < 3 {
                    return None;
                }
                intent_to_add = be16(body, p)? & 0x2000 != 0;
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
                    start..a.len()
                }
                None => {
                    let nul = memchr::memchr(0, body.get(p..)?)?;
                    // Entries are padded with 1 to 8 NULs to a multiple of 8 bytes.
                    let r = p..p + nul;
                    pos += (p - pos + nul + 8) & !7;
                    r
                }
            };
            // Sorted by path: the walk finds directories by binary search.
            let paths = arena.as_deref().unwrap_or(d);
            // What git itself never writes goes to libgit2, which reports it: an empty,
            // absolute or `//` path, one too deep for the recursive walk, or (version 4) path
            // compression that expands past any real index (a crafted file could ask for
            // gigabytes).
            let p = &paths[path.clone()];
            if p.is_empty()
                || p[0] == b'/'
                || p.ends_with(b"/")
                || memchr::memmem::find(p, b"//").is_some()
                || memchr::memchr_iter(b'/', p).count() > MAX_DEPTH
                || paths.len() > 16 * body.len() + (1 << 20)
            {
                return None;
            }
            if !entries.is_empty() && paths[prev.clone()] >= paths[path.clone()] {
                return None;
            }
            prev = path.clone();
            if !matches!(mode, 0o100644 | 0o100755 | 0o120000 | 0o160000) {
                return None; // sparse-index directory or something unknown
            }
            if !intent_to_add {
                entries.push(Entry {
                    path: path.start as u32,
                    path_len: path.len() as u32,
                    oid_at,
                    mode,
                });
            }
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
                // Split index, sparse index: not handled here.
                b"link" | b"sdir" => return None,
                // Other optional extensions (upper-case first letter) can be ignored.
                s if s[0].is_ascii_uppercase() => {}
                _ => return None,
            }
            pos += 8 + size;
        }
        Some(IndexFile {
            data,
            arena,
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
        let oid = if entry_count >= 0 {
            let o = Oid::from_bytes(d.get(*at..*at + OID)?).ok()?;
            *at += OID;
            Some(o)
        } else {
            None
        };
        let mut children = Vec::with_capacity(subtrees.min(1024));
        for _ in 0..subtrees {
            children.push(cache_tree(d, at, depth + 1)?);
        }
        Some(CacheTree {
            name,
            oid,
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
            }
            git(p, &["update-index", "--split-index"]);
            assert!(read(&idx).unwrap().is_none());
        }

        /// A version 4 index of `(strip, suffix)` path records.
        fn v4(records: &[(usize, Vec<u8>)]) -> Vec<u8> {
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
        fn hostile_paths_are_declined_not_a_panic() {
            assert!(parse(v4(&[(0, b"a/b".to_vec())])).is_some());
            // Too deep for the recursive walk, or never written by git.
            let deep = [b"a/".repeat(MAX_DEPTH + 1), b"f".to_vec()].concat();
            assert!(parse(v4(&[(0, deep)])).is_none());
            for bad in [&b"a//b"[..], b"/abs", b"dir/"] {
                assert!(parse(v4(&[(0, bad.to_vec())])).is_none(), "{bad:?}");
            }
            // Each record keeps the whole previous path and adds a byte: the paths would
            // grow quadratically with the file's size.
            let grow: Vec<(usize, Vec<u8>)> = (0..5000).map(|_| (0, b"a".to_vec())).collect();
            assert!(parse(v4(&grow)).is_none());
        }

        #[test]
        fn garbage_is_declined_not_a_panic() {
            assert!(parse(Vec::new()).is_none());
            assert!(parse(vec![0u8; 64]).is_none());
            let mut d = b"DIRC\0\0\0\x02\0\0\0\x05".to_vec();
            d.extend_from_slice(&[0xAB; 40]);
            assert!(parse(d).is_none());
        }
    }
}
