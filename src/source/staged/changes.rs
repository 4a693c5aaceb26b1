//! Pass 2 of a staged scan: what changed. The index entries are compared with HEAD's trees
//! directory by directory, in one pass over the entries in index order, skipping every
//! directory whose cache-tree id equals HEAD's — so the cost follows the change, not the
//! repository.
//!
//! A skipped directory is passed over by its cache-tree entry count, without reading its
//! entries: that is how `git commit` itself writes such a directory (the cache-tree's tree
//! id, the entries unread). Every entry the walk does read is checked for what git never
//! writes — paths out of order, empty, absolute, with `//` or a trailing `/`, or nested
//! deeper than `MAX_DEPTH` — and so are the first and last entry of each skipped directory
//! and the one after it. Anything amiss, and the walk declines (None): the caller asks
//! libgit2 instead, which compares every entry and reports what it cannot read.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context as _, Result};
use git2::{Delta, DiffOptions, Oid, Repository};

use super::super::git::objects::Objects;
use super::super::git::parse::{self, Mode};
use super::{index, Change, MODE_TREE};
use crate::report::{Problem, Report};

/// Deeper paths are left to libgit2: the walk recurses once per directory level.
const MAX_DEPTH: usize = 1024;

/// What changed between HEAD's tree `head` (None before the first commit) and the index,
/// or None if the index is not one this walk trusts.
pub(super) fn walk(
    objects: &Objects,
    idx: &index::IndexFile,
    head: Option<Oid>,
) -> Result<Option<Vec<Change>>> {
    let mut w = Walk {
        objects,
        idx,
        at: 0,
        prev: None,
        out: Vec::new(),
    };
    let done = w.dir(&mut Vec::new(), head, idx.tree.as_ref(), 0)?;
    Ok((done && w.at == idx.entries.len()).then_some(w.out))
}

struct Walk<'a> {
    objects: &'a Objects<'a>,
    idx: &'a index::IndexFile,
    /// The next entry to read.
    at: usize,
    /// The path of the entry read (or skipped) last: each must sort after it.
    prev: Option<&'a [u8]>,
    out: Vec<Change>,
}

impl<'a> Walk<'a> {
    /// Takes `path` as the next entry read; false if it does not sort after the last one.
    fn follows(&mut self, path: &'a [u8]) -> bool {
        let ok = self.prev.is_none_or(|p| p < path);
        self.prev = Some(path);
        ok
    }

    /// Compares one directory of HEAD (tree `head`, None if absent) with the entries from
    /// `self.at` on that are below `prefix` (empty, or ending with `/`). Skips it whole —
    /// without even reading HEAD's tree — when the cache-tree says the staged directory is
    /// HEAD's. False: the index is not what git writes.
    fn dir(
        &mut self,
        prefix: &mut Vec<u8>,
        head: Option<Oid>,
        cache: Option<&index::CacheTree>,
        depth: usize,
    ) -> Result<bool> {
        let idx = self.idx;
        if let Some(c) = cache.filter(|c| head.is_some() && c.oid == head) {
            return Ok(self.skip(prefix, c.count));
        }
        if depth > MAX_DEPTH {
            return Ok(false);
        }
        let mut olds: HashMap<Vec<u8>, (Oid, u32)> = match head {
            Some(oid) => tree_entries(self.objects, oid)?,
            None => HashMap::new(),
        };
        let subcaches: HashMap<&[u8], &index::CacheTree> = cache
            .map(|c| c.children.iter().map(|t| (t.name.as_slice(), t)).collect())
            .unwrap_or_default();
        while let Some(e) = idx.entries.get(self.at) {
            let path = idx.path(e);
            let Some(rel) = path.strip_prefix(prefix.as_slice()) else {
                break;
            };
            match memchr::memchr(b'/', rel) {
                None => {
                    if rel.is_empty() || memchr::memchr(0, rel).is_some() || !self.follows(path) {
                        return Ok(false);
                    }
                    let new = Some((idx.oid(e), idx.mode(e)));
                    match olds.remove(rel) {
                        Some((oid, mode)) if mode == MODE_TREE => {
                            deleted_tree(self.objects, path, oid, &mut self.out)?;
                            self.out.push(Change {
                                path: path.to_vec(),
                                old: None,
                                new,
                            });
                        }
                        Some(old) if Some(old) == new => {}
                        old => self.out.push(Change {
                            path: path.to_vec(),
                            old,
                            new,
                        }),
                    }
                    self.at += 1;
                }
                Some(0) => return Ok(false), // absolute, or `//`
                Some(k) if k + 1 == rel.len() => {
                    // A sparse index's directory entry: one tree for a directory outside the
                    // sparse-checkout cone.
                    if idx.mode(e) != MODE_TREE || !self.follows(path) {
                        return Ok(false);
                    }
                    let mut dir = path[..path.len() - 1].to_vec();
                    let old = match olds.remove(&rel[..k]) {
                        Some((oid, mode)) if mode == MODE_TREE => Some(oid),
                        Some(old) => {
                            self.out.push(Change {
                                path: dir.clone(),
                                old: Some(old),
                                new: None,
                            });
                            None
                        }
                        None => None,
                    };
                    let new = idx.oid(e);
                    tree_diff(self.objects, &mut dir, old, new, depth, &mut self.out)?;
                    self.at += 1;
                }
                Some(k) => {
                    let name = &rel[..k];
                    let len = prefix.len();
                    let sub = match olds.remove(name) {
                        Some((oid, mode)) if mode == MODE_TREE => Some(oid),
                        Some(old) => {
                            self.out.push(Change {
                                path: path[..len + k].to_vec(),
                                old: Some(old),
                                new: None,
                            });
                            None
                        }
                        None => None,
                    };
                    let subcache = subcaches.get(name).copied();
                    prefix.extend_from_slice(name);
                    prefix.push(b'/');
                    let done = self.dir(prefix, sub, subcache, depth + 1)?;
                    prefix.truncate(len);
                    if !done {
                        return Ok(false);
                    }
                }
            }
        }
        for (name, (oid, mode)) in olds {
            let mut path = prefix.clone();
            path.extend_from_slice(&name);
            if mode == MODE_TREE {
                deleted_tree(self.objects, &path, oid, &mut self.out)?;
            } else {
                self.out.push(Change {
                    path,
                    old: Some((oid, mode)),
                    new: None,
                });
            }
        }
        Ok(true)
    }

    /// Passes over the `count` entries of a directory the cache-tree vouches for: its first
    /// and last entry must be below `prefix`, in order, and the next one not below it.
    fn skip(&mut self, prefix: &[u8], count: Option<usize>) -> bool {
        let idx = self.idx;
        let Some(end) = count.and_then(|n| self.at.checked_add(n)) else {
            return false;
        };
        if end > idx.entries.len() {
            return false;
        }
        if end > self.at {
            let first = idx.path(&idx.entries[self.at]);
            let last = idx.path(&idx.entries[end - 1]);
            let inside = |p: &[u8]| p.len() > prefix.len() && p.starts_with(prefix);
            if !inside(first) || !inside(last) || !self.follows(first) || first > last {
                return false;
            }
            self.prev = Some(last);
        }
        self.at = end;
        // The directory's entries must all have been passed over (an empty prefix, the
        // root, holds every entry).
        idx.entries
            .get(end)
            .is_none_or(|e| !idx.path(e).starts_with(prefix))
    }
}

/// The files of directory `dir` (no trailing `/`) in tree `new`, compared with its files in
/// HEAD's tree `old`: a sparse index keeps a directory outside the cone as one tree.
fn tree_diff(
    objects: &Objects,
    dir: &mut Vec<u8>,
    old: Option<Oid>,
    new: Oid,
    depth: usize,
    out: &mut Vec<Change>,
) -> Result<()> {
    if old == Some(new) {
        return Ok(());
    }
    if depth > MAX_DEPTH {
        anyhow::bail!("staged tree {new}: nested too deep");
    }
    let mut olds = match old {
        Some(oid) => tree_entries(objects, oid)?,
        None => HashMap::new(),
    };
    let mut news: Vec<(Vec<u8>, (Oid, u32))> = tree_entries(objects, new)?.into_iter().collect();
    news.sort_unstable();
    for (name, (oid, mode)) in news {
        let len = dir.len();
        dir.push(b'/');
        dir.extend_from_slice(&name);
        match (mode == MODE_TREE, olds.remove(&name)) {
            (true, Some((o, m))) if m == MODE_TREE => {
                tree_diff(objects, dir, Some(o), oid, depth + 1, out)?
            }
            (true, old) => {
                if let Some(old) = old {
                    out.push(Change {
                        path: dir.clone(),
                        old: Some(old),
                        new: None,
                    });
                }
                tree_diff(objects, dir, None, oid, depth + 1, out)?;
            }
            (false, Some((o, m))) if m == MODE_TREE => {
                deleted_tree(objects, dir, o, out)?;
                out.push(Change {
                    path: dir.clone(),
                    old: None,
                    new: Some((oid, mode)),
                });
            }
            (false, old) if old == Some((oid, mode)) => {}
            (false, old) => out.push(Change {
                path: dir.clone(),
                old,
                new: Some((oid, mode)),
            }),
        }
        dir.truncate(len);
    }
    for (name, (oid, mode)) in olds {
        let mut path = dir.clone();
        path.push(b'/');
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
    // `git add -N` entries: libgit2 shows them as added empty files; the commit holds
    // nothing for them (and the built-in reader leaves them out).
    let intent_to_add: std::collections::HashSet<Vec<u8>> = index
        .iter()
        .filter(|e| {
            git2::IndexEntryExtendedFlag::from_bits_truncate(e.flags_extended).is_intent_to_add()
        })
        .map(|e| e.path)
        .collect();
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
            Delta::Added if intent_to_add.contains(&path) => {}
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::git::objects::{Loose, LooseDirs};

    /// A version 2 index of `paths` (blob `oid` each), then `ext` (extensions), unchecked.
    fn v2(paths: &[&[u8]], oid: Oid, ext: &[u8]) -> Vec<u8> {
        let mut d = b"DIRC\0\0\0\x02".to_vec();
        d.extend_from_slice(&(paths.len() as u32).to_be_bytes());
        for p in paths {
            let mut fixed = [0u8; 62];
            fixed[24..28].copy_from_slice(&0o100644u32.to_be_bytes());
            fixed[40..60].copy_from_slice(oid.as_bytes());
            fixed[60..62].copy_from_slice(&(p.len() as u16).to_be_bytes());
            d.extend_from_slice(&fixed);
            d.extend_from_slice(p);
            d.extend(std::iter::repeat_n(0u8, 8 - (62 + p.len()) % 8));
        }
        d.extend_from_slice(ext);
        d.extend_from_slice(&[0u8; 20]);
        d
    }

    /// A cache-tree node as git writes it: name, entry count (-1: invalid), subtrees, id.
    fn node(name: &str, count: i64, subtrees: usize, oid: Oid) -> Vec<u8> {
        let mut d = format!("{name}\0{count} {subtrees}\n").into_bytes();
        if count >= 0 {
            d.extend_from_slice(oid.as_bytes());
        }
        d
    }

    fn tree_ext(nodes: &[Vec<u8>]) -> Vec<u8> {
        let body = nodes.concat();
        let mut d = b"TREE".to_vec();
        d.extend_from_slice(&(body.len() as u32).to_be_bytes());
        d.extend_from_slice(&body);
        d
    }

    /// HEAD holds `a/x` and `a/y` (the same blob): the walk over crafted indexes against it.
    /// On a thread with the main thread's stack (8 MiB), where the binary walks.
    #[test]
    fn walk_declines_what_git_never_writes() {
        std::thread::Builder::new()
            .stack_size(8 << 20)
            .spawn(crafted_indexes)
            .unwrap()
            .join()
            .unwrap();
    }

    fn crafted_indexes() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let blob = repo.blob(b"x\n").unwrap();
        let mut tb = repo.treebuilder(None).unwrap();
        tb.insert("x", blob, 0o100644).unwrap();
        tb.insert("y", blob, 0o100644).unwrap();
        let sub = tb.write().unwrap();
        let mut tb = repo.treebuilder(None).unwrap();
        tb.insert("a", sub, 0o040000).unwrap();
        let root = tb.write().unwrap();
        let dirs = LooseDirs::new(&dir.path().join(".git/objects"));
        let objects = Objects::new(&repo, Loose::Probed(&dirs)).unwrap();
        let run = |paths: &[&[u8]], ext: &[u8], head: Option<Oid>| {
            let idx = index::parse(v2(paths, blob, ext)).expect("parsed");
            walk(&objects, &idx, head).unwrap()
        };
        let both: &[&[u8]] = &[b"a/x", b"a/y"];
        let bad = |name: &str, paths: &[&[u8]]| {
            assert!(run(paths, b"", None).is_none(), "{name}");
            assert!(run(paths, b"", Some(root)).is_none(), "{name}");
        };
        // Well-formed: the same as HEAD, or all new before the first commit.
        assert_eq!(run(both, b"", Some(root)).unwrap().len(), 0);
        assert_eq!(run(both, b"", None).unwrap().len(), 2);
        bad("unsorted", &[b"a/y", b"a/x"]);
        bad("twice", &[b"a/x", b"a/x"]);
        bad("directory again", &[b"a/x", b"b", b"a/y"]);
        bad("double slash", &[b"a//x"]);
        bad("absolute", &[b"/a"]);
        bad("trailing slash", &[b"a/"]);
        bad("empty", &[b""]);
        let deep = [b"d/".repeat(MAX_DEPTH + 2), b"f".to_vec()].concat();
        bad("too deep", &[&deep]);
        let deep = [b"d/".repeat(MAX_DEPTH), b"f".to_vec()].concat();
        assert_eq!(run(&[&deep], b"", None).unwrap().len(), 1, "deep enough");

        // A cache-tree that matches HEAD: the entries are passed over by its count, which
        // must fit the entries.
        let valid = |root_count: i64, a_count: i64, root_oid: Oid| {
            tree_ext(&[
                node("", root_count, 1, root_oid),
                node("a", a_count, 0, sub),
            ])
        };
        assert_eq!(run(both, &valid(2, 2, root), Some(root)).unwrap().len(), 0);
        for (name, ext) in [
            ("root count short", valid(1, 2, root)),
            ("root count long", valid(3, 2, root)),
            ("a short", valid(-1, 1, root)),
            ("a long", valid(-1, 3, root)),
            ("a none", valid(-1, 0, root)),
        ] {
            assert!(run(both, &ext, Some(root)).is_none(), "{name}");
        }
        assert_eq!(run(both, &valid(-1, 2, root), Some(root)).unwrap().len(), 0);
        // A skipped directory still sits in order among the entries read around it.
        let around: &[&[u8]] = &[b"0", b"a/x", b"a/y", b"b"];
        assert_eq!(
            run(around, &valid(-1, 2, root), Some(root)).unwrap().len(),
            2
        );
        let unsorted: &[&[u8]] = &[b"b", b"a/x", b"a/y"];
        assert!(run(unsorted, &valid(-1, 2, root), Some(root)).is_none());
    }
}
