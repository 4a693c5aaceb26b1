//! The scanner's own files — the project config, the ignore file, a baseline, the config's
//! rule files — as the base of a review holds them. A range scan (`--range A..B`,
//! `--since REV`) reviews commits; a staged scan reviews what is about to be committed. Those
//! commits must not be able to switch their own gate off (a config that disables the rule, a
//! placeholder that matches everything, an ignore file listing the new finding), so these
//! files are read from the base (`A`, `REV`, or HEAD for staged), and a change to one of them
//! in what is reviewed is told to the command layer, which reports it.
//!
//! Objects are read through the guarded reader (`objects`), as everywhere else.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Result};
use git2::{Oid, Repository};

use super::objects::{Kind, Loose, LooseDirs, Objects};
use super::parse;
use crate::source::staged::index;

/// What the review's files are compared with: the range's tip, or the index.
enum Tip {
    Tree(Option<Oid>),
    /// The index file, and its entries by path once read (read once, however many files
    /// are asked about).
    Index(PathBuf, std::cell::OnceCell<Staged>),
}

/// A repository's files at the base of a review, and whether the review changes them.
pub struct Pinned {
    repo: Repository,
    dirs: LooseDirs,
    root: PathBuf,
    base: Option<Oid>,
    /// The tree what is reviewed started from (the merge base of a range; HEAD for staged).
    fork: Option<Oid>,
    tip: Tip,
    /// The base as the user named it (`main`, `HEAD`), for messages.
    pub base_name: String,
    /// What is reviewed (`main..HEAD`, `the staged changes`), for messages.
    pub reviewed: String,
}

impl Pinned {
    /// The base and tip of `--range A..B` or `--since REV` (tip: HEAD) in the repository at
    /// `path`.
    pub fn range(path: &Path, since: Option<&str>, range: Option<&str>) -> Result<Pinned> {
        let repo = super::open(path)?;
        let commit_of = |obj: &git2::Object, spec: &str| -> Result<(Oid, Oid)> {
            let c = obj
                .peel_to_commit()
                .map_err(|e| anyhow!("{spec} does not name a commit: {}", e.message()))?;
            Ok((c.id(), c.tree_id()))
        };
        let (base, tip, base_name, reviewed) = match (range, since) {
            (Some(r), _) => {
                let spec = repo
                    .revparse(r)
                    .map_err(|e| anyhow!("cannot resolve --range {r}: {}", e.message()))?;
                let (Some(a), Some(b)) = (spec.from(), spec.to()) else {
                    return Err(anyhow!("--range {r}: expected two revisions, A..B"));
                };
                let name = r.split("..").next().unwrap_or(r).to_string();
                (commit_of(a, r)?, commit_of(b, r)?, name, r.to_string())
            }
            (None, Some(s)) => {
                let a = repo
                    .revparse_single(s)
                    .map_err(|e| anyhow!("cannot resolve --since {s}: {}", e.message()))?;
                let head = repo
                    .revparse_single("HEAD")
                    .map_err(|e| anyhow!("cannot resolve HEAD: {}", e.message()))?;
                (
                    commit_of(&a, s)?,
                    commit_of(&head, "HEAD")?,
                    s.to_string(),
                    format!("{s}..HEAD"),
                )
            }
            (None, None) => return Err(anyhow!("a pinned scan needs --range or --since")),
        };
        // What the range itself changed is judged from where it forked: a branch behind its
        // base does not "change" a file the base changed after the fork.
        let fork = match repo.merge_base(base.0, tip.0) {
            Ok(m) => repo.find_commit(m).map(|c| c.tree_id()).unwrap_or(base.1),
            Err(_) => base.1,
        };
        let dirs = LooseDirs::new(&repo.commondir().join("objects"));
        let root = super::scan_root(path)?;
        Ok(Pinned {
            repo,
            dirs,
            root,
            base: Some(base.1),
            fork: Some(fork),
            tip: Tip::Tree(Some(tip.1)),
            base_name,
            reviewed,
        })
    }

    /// HEAD (none before the first commit) against the index at `index_path`.
    pub fn staged(repo: Repository, root: &Path, index_path: &Path) -> Result<Pinned> {
        let base = match repo.head() {
            Ok(h) => Some(
                h.peel_to_commit()
                    .map_err(|e| anyhow!("HEAD does not name a commit: {}", e.message()))?
                    .tree_id(),
            ),
            Err(e)
                if matches!(
                    e.code(),
                    git2::ErrorCode::UnbornBranch | git2::ErrorCode::NotFound
                ) =>
            {
                None
            }
            Err(e) => return Err(anyhow!("cannot resolve HEAD: {}", e.message())),
        };
        let dirs = LooseDirs::new(&repo.commondir().join("objects"));
        Ok(Pinned {
            repo,
            dirs,
            root: root.to_path_buf(),
            base,
            fork: base,
            tip: Tip::Index(index_path.to_path_buf(), std::cell::OnceCell::new()),
            base_name: "HEAD".into(),
            reviewed: "the staged changes".into(),
        })
    }

    /// The work tree (or bare repository) the relative paths are in.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The path of `p` (as given on the command line) relative to the work tree, with `/`
    /// separators, when it is inside it; None outside (a file CI keeps elsewhere).
    pub fn relative(&self, p: &Path) -> Option<String> {
        let abs = if p.is_absolute() {
            p.to_path_buf()
        } else {
            std::env::current_dir().ok()?.join(p)
        };
        // The file may not exist (yet): resolve its directory.
        let dir = abs.parent()?.canonicalize().ok()?;
        let abs = dir.join(abs.file_name()?);
        let root = self.root.canonicalize().ok()?;
        let rel = abs.strip_prefix(&root).ok()?;
        let parts: Vec<&str> = rel
            .components()
            .map(|c| c.as_os_str().to_str())
            .collect::<Option<_>>()?;
        (!parts.is_empty()).then(|| parts.join("/"))
    }

    /// The blob at `rel` in the base (None: no such file there).
    pub fn base_blob(&self, rel: &str) -> Result<Option<Vec<u8>>> {
        let objects = self.objects()?;
        let Some(oid) = blob_at(&objects, self.base, rel)? else {
            return Ok(None);
        };
        let obj = objects
            .read(oid)
            .map_err(|e| anyhow!("cannot read {rel} at {}: {e}", self.base_name))?;
        Ok(Some(obj.data().to_vec()))
    }

    /// Whether `rel` is tracked at the base, the fork point or in what is reviewed; and
    /// whether what is reviewed changed it since the fork (added, deleted or changed).
    pub fn state(&self, rel: &str) -> Result<(bool, bool)> {
        let objects = self.objects()?;
        let at_base = blob_at(&objects, self.base, rel)?;
        let base = blob_at(&objects, self.fork, rel)?;
        let tip = match &self.tip {
            Tip::Tree(t) => blob_at(&objects, *t, rel)?,
            Tip::Index(p, entries) => {
                if entries.get().is_none() {
                    let _ = entries.set(index_entries(p)?);
                }
                entries.get().and_then(|i| i.blob(rel))
            }
        };
        Ok((
            at_base.is_some() || base.is_some() || tip.is_some(),
            base != tip,
        ))
    }

    fn objects(&self) -> Result<Objects<'_>> {
        Objects::new(&self.repo, Loose::Probed(&self.dirs)).map_err(|e| anyhow!(e))
    }
}

/// The blob id at `rel` (`a/b/c`) under `tree`, if it is a file there.
fn blob_at(objects: &Objects, tree: Option<Oid>, rel: &str) -> Result<Option<Oid>> {
    let Some(mut at) = tree else {
        return Ok(None);
    };
    let parts: Vec<&str> = rel.split('/').collect();
    for (i, name) in parts.iter().enumerate() {
        let obj = objects
            .read(at)
            .map_err(|e| anyhow!("cannot read tree {at}: {e}"))?;
        if obj.kind() != Some(Kind::Tree) {
            return Ok(None);
        }
        let last = i + 1 == parts.len();
        let found = parse::entries(obj.data())
            .find(|e| e.name == name.as_bytes())
            .map(|e| (e.mode, Oid::from_bytes(e.id).expect("20 bytes")));
        match found {
            Some((parse::Mode::Blob, oid)) if last => return Ok(Some(oid)),
            Some((parse::Mode::Tree, oid)) if !last => at = oid,
            _ => return Ok(None),
        }
    }
    Ok(None)
}

/// An index file, read once.
enum Staged {
    Fast(index::IndexFile),
    Libgit2(git2::Index),
    Empty,
}

impl Staged {
    /// The staged blob id at `rel`.
    fn blob(&self, rel: &str) -> Option<Oid> {
        match self {
            Staged::Fast(idx) => idx
                .entries
                .iter()
                .find(|e| idx.path(e) == rel.as_bytes())
                .map(|e| idx.oid(e)),
            Staged::Libgit2(idx) => idx.get_path(Path::new(rel), 0).map(|e| e.id),
            Staged::Empty => None,
        }
    }
}

/// Reads the index file at `path` (with git's reader where ours does not handle it).
fn index_entries(path: &Path) -> Result<Staged> {
    let fast =
        index::read(path).map_err(|e| anyhow!("cannot read the index {}: {e}", path.display()))?;
    if let Some(idx) = fast {
        return Ok(Staged::Fast(idx));
    }
    if !path.exists() {
        return Ok(Staged::Empty);
    }
    git2::Index::open(path)
        .map(Staged::Libgit2)
        .map_err(|e| anyhow!("cannot read the index {}: {}", path.display(), e.message()))
}
