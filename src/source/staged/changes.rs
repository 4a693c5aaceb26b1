//! Pass 2 of a staged scan: what changed. The index entries are compared with HEAD's trees
//! directory by directory, skipping every directory whose cache-tree id equals HEAD's —
//! so the cost follows the change, not the repository.

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;

use anyhow::{Context as _, Result};
use git2::{Delta, DiffOptions, Oid, Repository};

use super::super::git::objects::Objects;
use super::super::git::parse::{self, Mode};
use super::{index, Change, MODE_TREE};
use crate::report::{Problem, Report};

/// Compares one directory of HEAD (tree `head`, None if absent) with the index entries in
/// `range` (all below `prefix`, which ends with `/` unless it is the root), skipping it
/// whole — without even reading HEAD's tree — when the cache-tree says the staged
/// directory is HEAD's.
pub(super) fn walk(
    objects: &Objects,
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
    let mut olds: HashMap<Vec<u8>, (Oid, u32)> = match head {
        Some(oid) => tree_entries(objects, oid)?,
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
                        deleted_tree(objects, &path, oid, out)?;
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
                    objects,
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
            deleted_tree(objects, &path, oid, out)?;
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

/// The entries of tree `oid`: name → (id, mode).
fn tree_entries(objects: &Objects, oid: Oid) -> Result<HashMap<Vec<u8>, (Oid, u32)>> {
    let obj = objects
        .read(oid)
        .map_err(|e| anyhow::anyhow!("cannot read HEAD's tree {oid}: {e}"))?;
    let mut it = parse::entries(obj.data());
    let out = it
        .by_ref()
        .map(|e| {
            (
                e.name.to_vec(),
                (Oid::from_bytes(e.id).expect("20 bytes"), e.bits),
            )
        })
        .collect();
    if it.damaged() {
        anyhow::bail!("cannot read HEAD's tree {oid}: malformed tree");
    }
    Ok(out)
}

/// Every file of a deleted directory: possible rename sources.
fn deleted_tree(objects: &Objects, path: &[u8], oid: Oid, out: &mut Vec<Change>) -> Result<()> {
    let mut stack = vec![(path.to_vec(), oid)];
    while let Some((dir, t)) = stack.pop() {
        let obj = objects
            .read(t)
            .map_err(|e| anyhow::anyhow!("cannot read HEAD's tree {t}: {e}"))?;
        for e in parse::entries(obj.data()) {
            let mut p = dir.clone();
            p.push(b'/');
            p.extend_from_slice(e.name);
            let id = Oid::from_bytes(e.id).expect("20 bytes");
            match e.mode {
                Mode::Tree => stack.push((p, id)),
                Mode::Blob => out.push(Change {
                    path: p,
                    old: Some((id, e.bits)),
                    new: None,
                }),
                Mode::Submodule => {}
            }
        }
    }
    Ok(())
}

/// The slow path, for index files `index::read` does not handle: libgit2 reads the index and
/// compares it with HEAD (its cost grows with the number of files).
pub(super) fn by_libgit2(
    repo: &Repository,
    index_path: &Path,
    head: Option<Oid>,
    report: &mut Report,
) -> Result<Vec<Change>> {
    let head = match head {
        Some(oid) => Some(repo.find_tree(oid).context("cannot read HEAD's tree")?),
        None => None,
    };
    let index = if index_path.exists() {
        git2::Index::open(index_path)
            .with_context(|| format!("cannot read the index {}", index_path.display()))?
    } else {
        git2::Index::new()?
    };
    let mut opts = DiffOptions::new();
    opts.include_typechange(true).ignore_submodules(false);
    let diff = repo
        .diff_tree_to_index(head.as_ref(), Some(&index), Some(&mut opts))
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
