//! The unique trees of a full sweep, held so that provenance needs no second read of them, in
//! memory that grows with what changes between versions, not with every entry of every tree.
//!
//! git.git has 168k unique trees holding 73M entries; storing each entry (8 bytes) cost 600 MB.
//! But a directory's next version differs from its last in a few entries. So a tree is stored
//! as the edits that turn another tree met at the same path (its *base*) into it; every
//! `SNAPSHOT_EVERY`-th version in a chain is stored whole, which bounds how deep provenance
//! recurses. Diffing two raw trees entry by entry also skips the hash lookups of unchanged
//! entries, which are most of them: the walk got faster, not only smaller.

use git2::Oid;
use rustc_hash::FxHashMap;

use super::dense::Dense;
use super::objects::{id, Id};
use super::parse::{self, Mode};
use super::provenance::{Held, Trees};
#[cfg(test)]
use super::treediff::git_order;
pub(crate) use super::treediff::PathMatters;
use super::treediff::{entry, Diffed, NO_BASE};

/// A node whose tree has not been read (yet, or because reading it failed).
const UNREAD: u32 = u32::MAX;
/// Child codes: a tree node index, a blob index with `BLOB_BIT`, `REMOVED` or `SUBMODULE`.
pub(crate) const BLOB_BIT: u32 = 1 << 31;
const REMOVED: u32 = u32::MAX;
const SUBMODULE: u32 = u32::MAX - 1;

#[derive(Clone, Copy)]
struct Node {
    base: u32,
    /// First edit and count; `UNREAD` start until read.
    start: u32,
    len: u32,
}

/// A node met but not read yet.
const UNREAD_NODE: Node = Node {
    base: NO_BASE,
    start: UNREAD,
    len: 0,
};

/// A tree to read: its node, id and path.
pub(crate) struct Pending {
    pub node: u32,
    pub oid: Oid,
    pub path: Vec<u8>,
}

/// Unique trees and blobs of a sweep: the indexes of their ids and names (`Ids`, filled by the
/// tree pass's workers at once) and what is recorded for each (`Recorded`, under a lock).
#[derive(Default)]
pub(crate) struct Graph {
    pub(crate) ids: Ids,
    pub(crate) rec: Recorded,
}

/// Ids and names to indexes.
#[derive(Default)]
pub(crate) struct Ids {
    trees: Dense<Id>,
    blobs: Dense<Id>,
    names: Dense<Box<[u8]>>,
}

/// What the graph holds by index.
#[derive(Default)]
pub(crate) struct Recorded {
    /// Each node's tree id (the inverse of `Ids::trees`).
    oids: Vec<Id>,
    nodes: Vec<Node>,
    edits: Vec<(u32, u32)>,
    names: Vec<Box<[u8]>>,
    /// Unique blobs by index.
    blobs: Vec<Oid>,
    /// For blobs met at a path the detector treats as evidence (`applivery.json`, anything
    /// under `applivery/`), the first such path: a blob is judged once, under it.
    named: FxHashMap<u32, Box<[u8]>>,
}

/// A diffed tree's entries as indexes, resolved outside the graph's lock (`Ids::resolve`),
/// with the ids and names that got their index there, for `Recorded::record`.
pub(crate) struct Resolved {
    base: u32,
    /// Removals, then additions, as `(name, child)`.
    edits: Vec<(u32, u32)>,
    trees: Vec<(u32, Id)>,
    blobs: Vec<(u32, Id)>,
    names: Vec<(u32, Box<[u8]>)>,
    /// Blobs of the tree met at a path that is evidence, with the path.
    evidence: Vec<(u32, Vec<u8>)>,
    /// Paths of the submodules the tree holds.
    pub(crate) submodules: Vec<Vec<u8>>,
}

impl Graph {
    /// The node of tree `oid`, and whether it is new (to be read).
    pub(crate) fn tree(&mut self, oid: Oid) -> (u32, bool) {
        let t = id(oid);
        let (n, new) = self.ids.trees.intern(&t, || t);
        if new {
            self.rec.put_tree(n, t);
        }
        (n, new)
    }

    pub(crate) fn node_of(&self, oid: Oid) -> Option<u32> {
        self.ids.trees.get(&id(oid))
    }

    /// Unique blobs by index.
    pub(crate) fn blobs(&self) -> &[Oid] {
        &self.rec.blobs
    }

    /// Adds a blob; returns its index.
    pub(crate) fn blob(&mut self, oid: Oid) -> u32 {
        let b = id(oid);
        let (i, new) = self.ids.blobs.intern(&b, || b);
        if new {
            self.rec.put_blob(i, b);
        }
        i
    }

    pub(crate) fn has_blob(&self, oid: Oid) -> bool {
        self.ids.blobs.get(&id(oid)).is_some()
    }

    /// Adds a blob met at `dir`/`name`, remembering the path if it is evidence (`dir_matters`
    /// tells for the directory, computed once per tree: a keyword cannot span a `/`).
    pub(crate) fn blob_at(
        &mut self,
        oid: Oid,
        dir: &[u8],
        name: &[u8],
        dir_matters: bool,
        matters: PathMatters,
    ) -> u32 {
        let b = self.blob(oid);
        if (dir_matters || matters(name)) && !self.rec.named.contains_key(&b) {
            self.rec.named.insert(b, join(dir, name).into());
        }
        b
    }

    /// The path a blob is judged under (empty when none of its paths is evidence).
    pub(crate) fn judged_path(&self, b: usize) -> &[u8] {
        self.rec.named.get(&(b as u32)).map_or(&[], |p| p)
    }

    /// Records tree `t` (diffed by its worker) as node `node`, met at `path`: queues its
    /// unread subtrees and returns the paths of submodules it holds. A damaged tree keeps the
    /// entries before the damage; the caller reports it (`Diffed::damaged`). (The tree pass
    /// does the two halves on its own: `Ids::resolve` on the worker, `Recorded::record`
    /// under the lock.)
    #[cfg(test)]
    pub(crate) fn apply(
        &mut self,
        node: u32,
        path: &[u8],
        t: &Diffed<impl AsRef<[u8]>>,
        queue: &mut Vec<Pending>,
    ) -> Vec<Vec<u8>> {
        let mut r = self.ids.resolve(path, t, queue);
        let submodules = std::mem::take(&mut r.submodules);
        self.rec.record(node, r);
        submodules
    }

    /// Frees what only the walk needs (the name indexes stay: provenance may list a tree
    /// whole).
    pub(crate) fn finish_walk(&mut self) {
        self.rec.edits.shrink_to_fit();
    }
}

impl Ids {
    /// Gives tree `t`'s entries (diffed by its worker, met at `path`) their indexes, outside
    /// the graph's lock: queues the subtrees first met here and lists the submodules.
    pub(crate) fn resolve(
        &self,
        path: &[u8],
        t: &Diffed<impl AsRef<[u8]>>,
        queue: &mut Vec<Pending>,
    ) -> Resolved {
        let mut r = Resolved {
            base: t.base,
            edits: Vec::with_capacity(t.added.len() + t.removed.len()),
            trees: Vec::new(),
            blobs: Vec::new(),
            names: Vec::new(),
            evidence: Vec::new(),
            submodules: Vec::new(),
        };
        let mut added: Vec<(u32, u32)> = Vec::with_capacity(t.added.len());
        for (&at, &evidence) in t.added.iter().zip(&t.evidence) {
            let Some(e) = entry(t.data.as_ref(), at) else {
                continue;
            };
            let c = match e.mode {
                Mode::Submodule => {
                    r.submodules.push(join(path, e.name));
                    continue;
                }
                Mode::Blob => {
                    let (b, new) = self.blobs.intern(e.id, || *e.id);
                    if new {
                        r.blobs.push((b, *e.id));
                    }
                    if evidence {
                        r.evidence.push((b, join(path, e.name)));
                    }
                    b | BLOB_BIT
                }
                Mode::Tree => {
                    let (n, new) = self.trees.intern(e.id, || *e.id);
                    if new {
                        r.trees.push((n, *e.id));
                        queue.push(Pending {
                            node: n,
                            oid: super::objects::oid(e.id),
                            path: join(path, e.name),
                        });
                    }
                    n
                }
            };
            added.push((self.name(e.name, &mut r.names), c));
        }
        for name in &t.removed {
            let n = self.name(name, &mut r.names);
            // Replaced, not removed, when the new tree has the name again (a file that
            // became a directory sorts elsewhere in git's order).
            if !added.iter().any(|a| a.0 == n) {
                r.edits.push((n, REMOVED));
            }
        }
        r.edits.extend(added);
        r
    }

    /// The index of entry name `name`; a new one is listed in `new`.
    fn name(&self, name: &[u8], new: &mut Vec<(u32, Box<[u8]>)>) -> u32 {
        let (i, fresh) = self.names.intern(name, || name.into());
        if fresh {
            new.push((i, name.into()));
        }
        i
    }

    /// How many unique blobs were met so far.
    pub(crate) fn blob_count(&self) -> usize {
        self.blobs.len()
    }

    /// How many unique trees were met so far.
    pub(crate) fn tree_count(&self) -> usize {
        self.trees.len()
    }
}

impl Recorded {
    /// Node `n` is tree `t`, not read yet.
    fn put_tree(&mut self, n: u32, t: Id) {
        set_at(&mut self.oids, n, t, [0; 20]);
        set_at(&mut self.nodes, n, UNREAD_NODE, UNREAD_NODE);
    }

    fn put_blob(&mut self, b: u32, blob: Id) {
        set_at(&mut self.blobs, b, super::objects::oid(&blob), Oid::zero());
    }

    /// Records the resolved tree `r` as node `node` (under the graph's lock in the tree pass).
    pub(crate) fn record(&mut self, node: u32, r: Resolved) {
        for (n, t) in r.trees {
            self.put_tree(n, t);
        }
        for (b, blob) in r.blobs {
            self.put_blob(b, blob);
        }
        for (i, name) in r.names {
            set_at(&mut self.names, i, name, Box::default());
        }
        for (b, path) in r.evidence {
            self.named.entry(b).or_insert_with(|| path.into());
        }
        let start = self.edits.len() as u32;
        self.edits.extend(r.edits);
        self.nodes[node as usize] = Node {
            base: r.base,
            start,
            len: self.edits.len() as u32 - start,
        };
    }

    /// Marks a node whose tree could not be read as read and empty, so provenance treats it
    /// as holding nothing.
    pub(crate) fn record_unreadable(&mut self, node: u32) {
        let start = self.edits.len() as u32;
        self.nodes[node as usize] = Node {
            base: NO_BASE,
            start,
            len: 0,
        };
    }
}

/// Sets slot `i` of `v`, growing it with `fill` up to there: indexes come from `Ids` in any
/// order when workers race, and the slots between are set by the workers that hold them.
fn set_at<T: Clone>(v: &mut Vec<T>, i: u32, x: T, fill: T) {
    let i = i as usize;
    if v.len() <= i {
        v.resize(i + 1, fill);
    }
    v[i] = x;
}

/// Reads a tree's raw data by id (the repository's object store; a map in unit tests).
pub(crate) type ReadTree<'r> = &'r dyn Fn(Oid) -> Option<Vec<u8>>;

/// Where interesting blobs sit in each tree, computed on demand for provenance.
///
/// The deltas can form a cycle. Trees are recorded level by level, and a level's trees in
/// pack order, so a version of `p/` can be recorded after, and diffed against, a version of
/// `p/` that holds it as `p/x/` (a directory moved into a subdirectory of itself: git.git
/// has such moves). Listing one then needs the other. A tree met again while its own list is
/// being computed is therefore listed whole from its raw data, which needs no base; the
/// subtrees of that list are smaller trees, so this ends.
pub(crate) struct Places<'g> {
    graph: &'g Graph,
    interesting: Vec<bool>,
    memo: Vec<Option<Held>>,
    /// Nodes whose list is being computed (on the stack).
    open: Vec<bool>,
    read: ReadTree<'g>,
    empty: Held,
}

impl<'g> Places<'g> {
    pub(crate) fn new(graph: &'g Graph, interesting: Vec<bool>, read: ReadTree<'g>) -> Places<'g> {
        Places {
            memo: vec![None; graph.rec.nodes.len()],
            open: vec![false; graph.rec.nodes.len()],
            graph,
            interesting,
            read,
            empty: Held::default(),
        }
    }

    /// Interesting blobs under node `n`, memoised. A delta's list is its base's, minus the
    /// names it edits, plus what the edits hold.
    pub(crate) fn of(&mut self, n: u32) -> Held {
        if let Some(h) = &self.memo[n as usize] {
            return h.clone();
        }
        if self.open[n as usize] {
            return self.whole(n);
        }
        self.open[n as usize] = true;
        let g = self.graph;
        let node = g.rec.nodes[n as usize];
        let mut out: Vec<(u32, Vec<u8>, Oid)> = Vec::new();
        if node.start != UNREAD {
            let edits = &g.rec.edits[node.start as usize..(node.start + node.len) as usize];
            if node.base != NO_BASE {
                let base = self.of(node.base);
                out.extend(
                    base.iter()
                        .filter(|(first, _, _)| !edits.iter().any(|(name, _)| name == first))
                        .cloned(),
                );
            }
            for &(name, child) in edits {
                self.add(&mut out, name, &g.rec.names[name as usize], child);
            }
        }
        self.open[n as usize] = false;
        let held = self.held_of(out);
        self.memo[n as usize] = Some(held.clone());
        held
    }

    /// Node `n` listed from its raw tree, without its base (see the type's comment).
    fn whole(&mut self, n: u32) -> Held {
        let g = self.graph;
        let Some(data) = (self.read)(super::objects::oid(&g.rec.oids[n as usize])) else {
            return self.empty.clone();
        };
        let mut out = Vec::new();
        for e in parse::entries(&data) {
            let child = match e.mode {
                Mode::Blob => g.ids.blobs.get(e.id).map(|b| b | BLOB_BIT),
                Mode::Tree => g.ids.trees.get(e.id),
                Mode::Submodule => None,
            };
            let name = g.ids.names.get(e.name).unwrap_or(REMOVED);
            if let Some(child) = child {
                self.add(&mut out, name, e.name, child);
            }
        }
        self.held_of(out)
    }

    /// Adds what entry `name` (id `name_id`) holding `child` brings to a list.
    fn add(&mut self, out: &mut Vec<(u32, Vec<u8>, Oid)>, name_id: u32, name: &[u8], child: u32) {
        if child == REMOVED || child == SUBMODULE {
            return;
        }
        if child & BLOB_BIT != 0 {
            let b = child & !BLOB_BIT;
            if self.interesting[b as usize] {
                out.push((name_id, name.to_vec(), self.graph.rec.blobs[b as usize]));
            }
        } else {
            let sub = self.of(child);
            for (_, p, b) in sub.iter() {
                out.push((name_id, join(name, p), *b));
            }
        }
    }

    fn held_of(&self, out: Vec<(u32, Vec<u8>, Oid)>) -> Held {
        if out.is_empty() {
            self.empty.clone()
        } else {
            Held::new(out)
        }
    }
}

impl Trees for Places<'_> {
    /// The interesting blobs under tree `oid` (none if the sweep never read it).
    fn held(&mut self, oid: Oid) -> Held {
        match self.graph.node_of(oid) {
            Some(n) => self.of(n),
            None => self.empty.clone(),
        }
    }
}

pub(crate) fn join(prefix: &[u8], name: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(prefix.len() + name.len() + 1);
    if !prefix.is_empty() {
        p.extend_from_slice(prefix);
        p.push(b'/');
    }
    p.extend_from_slice(name);
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(entries: &[(&str, &str, u8)]) -> Vec<u8> {
        let mut v = Vec::new();
        for (mode, name, id) in entries {
            v.extend_from_slice(format!("{mode} {name}\0").as_bytes());
            v.extend_from_slice(&[*id; 20]);
        }
        v
    }

    /// Records trees as the walk does: each diffed against the last one recorded at its path.
    #[derive(Default)]
    struct Recorder {
        last: FxHashMap<Vec<u8>, (u32, Diffed)>,
    }

    impl Recorder {
        fn record(
            &mut self,
            g: &mut Graph,
            node: u32,
            path: &[u8],
            data: &[u8],
            queue: &mut Vec<Pending>,
            matters: PathMatters,
        ) -> Vec<Vec<u8>> {
            let chain = self.last.get(path).and_then(|(n, d)| d.chain(*n));
            let t = Diffed::new(chain, data.to_vec(), path, matters);
            let subs = g.apply(node, path, &t, queue);
            self.last.insert(path.to_vec(), (node, t));
            subs
        }
    }

    /// Every (path, blob byte) held under `oid` with all blobs interesting.
    fn paths(g: &Graph, root: Oid) -> Vec<(String, u8)> {
        paths_reading(g, root, &|_| None)
    }

    fn paths_reading(g: &Graph, root: Oid, read: ReadTree) -> Vec<(String, u8)> {
        let mut p = Places::new(g, vec![true; g.blobs().len()], read);
        let mut v: Vec<(String, u8)> = p
            .held(root)
            .iter()
            .map(|(_, path, b)| (String::from_utf8_lossy(path).into_owned(), b.as_bytes()[0]))
            .collect();
        v.sort();
        v
    }

    /// Records versions of a root tree (one subtree `d` at id 50+version) and checks that
    /// each reconstructs exactly, across snapshot boundaries and renames.
    #[test]
    fn deltas_reconstruct_every_version() {
        let mut g = Graph::default();
        let mut r = Recorder::default();
        let mut roots = Vec::new();
        let mut expected = Vec::new();
        for v in 0u8..150 {
            let mut files: Vec<(String, u8)> = (0..60).map(|i| (format!("f{i:02}"), i)).collect();
            files.push((format!("v{}", v % 7), 100 + (v % 3)));
            if v % 2 == 0 {
                // A file that becomes a directory and back: same name, other kind.
                files.push(("x".into(), 9));
            }
            files.sort();
            let mut entries: Vec<(String, String, u8)> = files
                .iter()
                .map(|(n, i)| ("100644".to_string(), n.clone(), *i))
                .collect();
            if v % 2 == 1 {
                entries.push(("40000".into(), "x".into(), 200 + (v % 50)));
            }
            entries.sort_by(|a, b| {
                let k = |e: &(String, String, u8)| {
                    let mut s = e.1.clone().into_bytes();
                    if e.0 == "40000" {
                        s.push(b'/');
                    }
                    s
                };
                k(a).cmp(&k(b))
            });
            let listed: Vec<(&str, &str, u8)> = entries
                .iter()
                .map(|(m, n, i)| (m.as_str(), n.as_str(), *i))
                .collect();
            let data = raw(&listed);
            let root = Oid::from_bytes(&[v; 20]).unwrap();
            let (node, new) = g.tree(root);
            assert!(new);
            let mut queue = Vec::new();
            r.record(&mut g, node, b"", &data, &mut queue, &|_| false);
            for q in queue {
                // Subtree `x`: one file `inner` with blob id 30.
                r.record(
                    &mut g,
                    q.node,
                    &q.path,
                    &raw(&[("100644", "inner", 30)]),
                    &mut Vec::new(),
                    &|_| false,
                );
            }
            let mut want: Vec<(String, u8)> = files;
            if v % 2 == 1 {
                want.push(("x/inner".into(), 30));
            }
            want.sort();
            roots.push(root);
            expected.push(want);
        }
        for (root, want) in roots.iter().zip(&expected) {
            assert_eq!(&paths(&g, *root), want);
        }
        // Deltas are small: far fewer edits than entries recorded.
        let entries: usize = expected.iter().map(Vec::len).sum();
        assert!(
            g.rec.edits.len() * 5 < entries,
            "{} edits, {entries} entries",
            g.rec.edits.len()
        );
    }

    /// Random edits (changed ids, new and removed names, a file that becomes a directory,
    /// truncated trees) over long chains: every version lists exactly what its raw tree holds,
    /// whether its diff took the common-prefix skips or not.
    #[test]
    fn random_chains_reconstruct_every_version() {
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let mut g = Graph::default();
        let mut r = Recorder::default();
        // name -> (is a tree, id byte)
        let mut files: std::collections::BTreeMap<String, (bool, u8)> = (0..40)
            .map(|i| (format!("n{:03}", i * 3), (false, (i % 200) as u8)))
            .collect();
        let mut checks = Vec::new();
        for v in 0..400u32 {
            for _ in 0..=next(4) {
                let name = format!("n{:03}", next(130));
                match next(4) {
                    0 => {
                        files.remove(&name);
                    }
                    1 => {
                        let e = files.entry(name).or_insert((false, 0));
                        e.0 = !e.0;
                    }
                    _ => {
                        files.insert(name, (false, next(250) as u8));
                    }
                }
            }
            let mut entries: Vec<(String, String, u8)> = files
                .iter()
                .map(|(n, &(tree, id))| {
                    let mode = if tree { "40000" } else { "100644" };
                    (mode.to_string(), n.clone(), id)
                })
                .collect();
            entries.sort_by_key(|e| {
                let mut k = e.1.clone().into_bytes();
                if e.0 == "40000" {
                    k.push(b'/');
                }
                k
            });
            let r_entries: Vec<(&str, &str, u8)> = entries
                .iter()
                .map(|(m, n, i)| (m.as_str(), n.as_str(), *i))
                .collect();
            let mut data = raw(&r_entries);
            if next(25) == 0 && data.len() > 10 {
                data.truncate(next(data.len() as u64) as usize);
            }
            // What the raw tree holds, by the parser: blobs only (subtrees are never read).
            let mut want: Vec<(String, u8)> = parse::entries(&data)
                .filter(|e| e.mode == Mode::Blob)
                .map(|e| (String::from_utf8_lossy(e.name).into_owned(), e.id[0]))
                .collect();
            want.sort();
            let mut id = [0u8; 20];
            id[..4].copy_from_slice(&v.to_be_bytes());
            id[19] = 0xee;
            let oid = Oid::from_bytes(&id).unwrap();
            let (node, _) = g.tree(oid);
            r.record(&mut g, node, b"", &data, &mut Vec::new(), &|_| false);
            checks.push((oid, want));
        }
        g.finish_walk();
        for (oid, want) in &checks {
            assert_eq!(&paths(&g, *oid), want);
        }
    }

    /// `p/` at version 1 (X) and version 2 (N, which holds X moved to `p/x/`), recorded N
    /// first: X is diffed against N, which holds X. Listing either must end, and be right.
    #[test]
    fn a_cycle_of_deltas_is_listed_whole() {
        let mut g = Graph::default();
        let mut r = Recorder::default();
        let x = Oid::from_bytes(&[1; 20]).unwrap();
        let n = Oid::from_bytes(&[2; 20]).unwrap();
        let x_raw = raw(&[("100644", "a", 10), ("100644", "b", 11)]);
        let n_raw = raw(&[("100644", "a", 10), ("100644", "c", 12), ("40000", "x", 1)]);
        let (xn, _) = g.tree(x);
        let (nn, _) = g.tree(n);
        let mut queue = Vec::new();
        r.record(&mut g, nn, b"p", &n_raw, &mut queue, &|_| false);
        assert!(queue.is_empty(), "x was met before: not queued again");
        r.record(&mut g, xn, b"p", &x_raw, &mut queue, &|_| false);
        assert_eq!(
            g.rec.nodes[xn as usize].base, nn,
            "the cycle this test is about"
        );
        g.finish_walk();
        let store: FxHashMap<Oid, Vec<u8>> = [(x, x_raw), (n, n_raw)].into_iter().collect();
        let read = |o: Oid| store.get(&o).cloned();
        let want_x = vec![("a".to_string(), 10), ("b".to_string(), 11)];
        let want_n = vec![
            ("a".to_string(), 10),
            ("c".to_string(), 12),
            ("x/a".to_string(), 10),
            ("x/b".to_string(), 11),
        ];
        assert_eq!(paths_reading(&g, x, &read), want_x);
        assert_eq!(paths_reading(&g, n, &read), want_n);
    }

    #[test]
    fn a_blob_remembers_its_first_path_that_is_evidence() {
        let mut g = Graph::default();
        let mut r = Recorder::default();
        let matters = |p: &[u8]| String::from_utf8_lossy(p).contains("applivery");
        let root = raw(&[("100644", "a.json", 1), ("40000", "applivery", 2)]);
        let (n, _) = g.tree(Oid::from_bytes(&[100; 20]).unwrap());
        let mut queue = Vec::new();
        r.record(&mut g, n, b"", &root, &mut queue, &matters);
        assert_eq!(g.judged_path(0), b"");
        // The same blob under applivery/: remembered once, with its directory.
        let sub = raw(&[("100644", "a.json", 1), ("100644", "b.json", 3)]);
        r.record(
            &mut g,
            queue[0].node,
            &queue[0].path,
            &sub,
            &mut Vec::new(),
            &matters,
        );
        assert_eq!(g.judged_path(0), b"applivery/a.json");
        assert_eq!(g.judged_path(1), b"applivery/b.json");
    }

    #[test]
    fn git_order_puts_trees_after_their_prefix() {
        let a = raw(&[("100644", "foo", 1)]);
        let b = raw(&[("40000", "foo", 2)]);
        let c = raw(&[("100644", "foo-bar", 3)]);
        fn e(d: &[u8]) -> parse::Entry<'_> {
            parse::entries(d).next().unwrap()
        }
        assert_eq!(git_order(&e(&a), &e(&c)), std::cmp::Ordering::Less);
        // "foo/" sorts after "foo-bar" ('/' > '-').
        assert_eq!(git_order(&e(&b), &e(&c)), std::cmp::Ordering::Greater);
    }
}
