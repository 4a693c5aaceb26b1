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

use super::objects::{id, Id};
use super::parse::{self, Mode};
use super::provenance::{Held, Trees};

/// A chain of deltas is cut by a whole copy after this many links.
const SNAPSHOT_EVERY: u32 = 64;
/// A node whose tree has not been read (yet, or because reading it failed).
const UNREAD: u32 = u32::MAX;
/// A node's `base` when it is stored whole.
const NO_BASE: u32 = u32::MAX;
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

/// The most recent tree recorded at a path: what the next one there is diffed against.
struct Latest {
    node: u32,
    data: Vec<u8>,
    /// The child code of each entry of `data`, in order.
    children: Vec<u32>,
    depth: u32,
}

/// A tree to read: its node, id and path.
pub(crate) struct Pending {
    pub node: u32,
    pub oid: Oid,
    pub path: Vec<u8>,
}

/// Unique trees and blobs of a sweep.
#[derive(Default)]
pub(crate) struct Graph {
    index: FxHashMap<Id, u32>,
    /// Each node's tree id (the inverse of `index`).
    oids: Vec<Id>,
    nodes: Vec<Node>,
    edits: Vec<(u32, u32)>,
    names: Vec<Box<[u8]>>,
    name_index: FxHashMap<Box<[u8]>, u32>,
    latest: FxHashMap<Vec<u8>, Latest>,
    /// Unique blobs: id → index into `blobs`.
    blob_index: FxHashMap<Id, u32>,
    pub blobs: Vec<Oid>,
    /// For blobs met at a path the detector treats as evidence (`applivery.json`, anything
    /// under `applivery/`), the first such path: a blob is judged once, under it.
    pub named: FxHashMap<u32, Box<[u8]>>,
}

/// Whether a path is evidence for the detector (`Detector::path_matters`).
pub(crate) type PathMatters<'a> = &'a (dyn Fn(&[u8]) -> bool + Sync);

impl Graph {
    /// The node of tree `oid`, and whether it is new (to be read).
    pub(crate) fn tree(&mut self, oid: Oid) -> (u32, bool) {
        let next = self.nodes.len() as u32;
        let i = *self.index.entry(id(oid)).or_insert(next);
        if i == next {
            self.oids.push(id(oid));
            self.nodes.push(Node {
                base: NO_BASE,
                start: UNREAD,
                len: 0,
            });
        }
        (i, i == next)
    }

    pub(crate) fn node_of(&self, oid: Oid) -> Option<u32> {
        self.index.get(&id(oid)).copied()
    }

    pub(crate) fn tree_count(&self) -> usize {
        self.nodes.len()
    }

    /// Adds a blob; returns its index.
    pub(crate) fn blob(&mut self, oid: Oid) -> u32 {
        let next = self.blobs.len() as u32;
        let i = *self.blob_index.entry(id(oid)).or_insert(next);
        if i == next {
            self.blobs.push(oid);
        }
        i
    }

    pub(crate) fn has_blob(&self, oid: Oid) -> bool {
        self.blob_index.contains_key(&id(oid))
    }

    fn name(&mut self, name: &[u8]) -> u32 {
        if let Some(&i) = self.name_index.get(name) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(name.into());
        self.name_index.insert(name.into(), i);
        i
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
        if (dir_matters || matters(name)) && !self.named.contains_key(&b) {
            self.named.insert(b, join(dir, name).into());
        }
        b
    }

    /// The path a blob is judged under (empty when none of its paths is evidence).
    pub(crate) fn judged_path(&self, b: usize) -> &[u8] {
        self.named.get(&(b as u32)).map_or(&[], |p| p)
    }

    /// The code of an entry's child, adding it to the graph; a new subtree is queued.
    fn child(
        &mut self,
        e: &parse::Entry,
        path: &[u8],
        queue: &mut Vec<Pending>,
        (dir_matters, matters): (bool, PathMatters),
    ) -> u32 {
        let oid = Oid::from_bytes(e.id).expect("20 bytes");
        match e.mode {
            Mode::Blob => self.blob_at(oid, path, e.name, dir_matters, matters) | BLOB_BIT,
            Mode::Submodule => SUBMODULE,
            Mode::Tree => {
                let (n, new) = self.tree(oid);
                if new {
                    queue.push(Pending {
                        node: n,
                        oid,
                        path: join(path, e.name),
                    });
                }
                n
            }
        }
    }

    /// Records the raw tree `data` of node `node`, met at `path`: queues its unread subtrees
    /// and returns the paths of submodules it holds. A damaged tree keeps the entries before
    /// the damage; the caller reports it (`damaged`).
    pub(crate) fn record(
        &mut self,
        node: u32,
        path: &[u8],
        data: &[u8],
        queue: &mut Vec<Pending>,
        matters: PathMatters,
    ) -> (Vec<Vec<u8>>, bool) {
        let evidence = (matters(path), matters);
        let start = self.edits.len() as u32;
        let mut submodules = Vec::new();
        let mut children = Vec::new();
        let latest = self.latest.remove(path);
        let (base, depth) = match &latest {
            Some(l)
                if l.depth + 1 < SNAPSHOT_EVERY && self.nodes[l.node as usize].start != UNREAD =>
            {
                (l.node, l.depth + 1)
            }
            _ => (NO_BASE, 0),
        };
        let mut it = parse::entries(data);
        if base == NO_BASE {
            for e in it.by_ref() {
                let c = self.child(&e, path, queue, evidence);
                if c == SUBMODULE {
                    submodules.push(join(path, e.name));
                }
                children.push(c);
                let n = self.name(e.name);
                if c != SUBMODULE {
                    self.edits.push((n, c));
                }
            }
        } else {
            let l = latest.as_ref().expect("a base comes from the latest tree");
            let mut old = parse::entries(&l.data)
                .zip(l.children.iter().copied())
                .peekable();
            let mut removed: Vec<&[u8]> = Vec::new();
            let mut added: Vec<(u32, u32)> = Vec::new();
            for e in it.by_ref() {
                // Old entries that sort before this one are gone.
                while let Some((o, _)) = old.peek() {
                    if git_order(o, &e) == std::cmp::Ordering::Less {
                        removed.push(o.name);
                        old.next();
                    } else {
                        break;
                    }
                }
                // The old entry of the same name and kind, if any, is consumed here; it
                // carries over unchanged when it names the same object.
                let same = match old.peek() {
                    Some((o, c)) if git_order(o, &e) == std::cmp::Ordering::Equal => {
                        let unchanged = o.id == e.id;
                        let c = *c;
                        old.next();
                        unchanged.then_some(c)
                    }
                    _ => None,
                };
                let c = match same {
                    Some(c) => c,
                    None => {
                        let c = self.child(&e, path, queue, evidence);
                        if c != SUBMODULE {
                            added.push((self.name(e.name), c));
                        }
                        c
                    }
                };
                if c == SUBMODULE && same.is_none() {
                    submodules.push(join(path, e.name));
                }
                children.push(c);
            }
            removed.extend(old.map(|(o, _)| o.name));
            for name in removed {
                let n = self.name(name);
                // Replaced, not removed, when the new tree has the name again (a file that
                // became a directory sorts elsewhere in git's order).
                if !added.iter().any(|a| a.0 == n) {
                    self.edits.push((n, REMOVED));
                }
            }
            self.edits.extend(added);
        }
        let damaged = it.damaged();
        let len = self.edits.len() as u32 - start;
        self.nodes[node as usize] = Node { base, start, len };
        self.latest.insert(
            path.to_vec(),
            Latest {
                node,
                data: data.to_vec(),
                children,
                depth,
            },
        );
        (submodules, damaged)
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

    /// Frees what only the walk needs (`name_index` stays: provenance may list a tree whole).
    pub(crate) fn finish_walk(&mut self) {
        self.latest = FxHashMap::default();
        self.edits.shrink_to_fit();
    }
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
            memo: vec![None; graph.nodes.len()],
            open: vec![false; graph.nodes.len()],
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
        let node = g.nodes[n as usize];
        let mut out: Vec<(u32, Vec<u8>, Oid)> = Vec::new();
        if node.start != UNREAD {
            let edits = &g.edits[node.start as usize..(node.start + node.len) as usize];
            if node.base != NO_BASE {
                let base = self.of(node.base);
                out.extend(
                    base.iter()
                        .filter(|(first, _, _)| !edits.iter().any(|(name, _)| name == first))
                        .cloned(),
                );
            }
            for &(name, child) in edits {
                self.add(&mut out, name, &g.names[name as usize], child);
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
        let Some(data) = (self.read)(super::objects::oid(&g.oids[n as usize])) else {
            return self.empty.clone();
        };
        let mut out = Vec::new();
        for e in parse::entries(&data) {
            let child = match e.mode {
                Mode::Blob => g.blob_index.get(e.id).map(|&b| b | BLOB_BIT),
                Mode::Tree => g.index.get(e.id).copied(),
                Mode::Submodule => None,
            };
            let name = g.name_index.get(e.name).copied().unwrap_or(REMOVED);
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
                out.push((name_id, name.to_vec(), self.graph.blobs[b as usize]));
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

/// Git's order of tree entries: by name, a tree's name compared as if it ended in `/`.
fn git_order(a: &parse::Entry, b: &parse::Entry) -> std::cmp::Ordering {
    let key = |e: &parse::Entry, i: usize| -> Option<u8> {
        match e.name.get(i) {
            Some(&c) => Some(c),
            None if i == e.name.len() && e.mode == Mode::Tree => Some(b'/'),
            None => None,
        }
    };
    let mut i = 0;
    loop {
        match (key(a, i), key(b, i)) {
            (Some(x), Some(y)) if x == y => i += 1,
            (x, y) => return x.cmp(&y),
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

    /// Every (path, blob byte) held under `oid` with all blobs interesting.
    fn paths(g: &Graph, root: Oid) -> Vec<(String, u8)> {
        paths_reading(g, root, &|_| None)
    }

    fn paths_reading(g: &Graph, root: Oid, read: ReadTree) -> Vec<(String, u8)> {
        let mut p = Places::new(g, vec![true; g.blobs.len()], read);
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
            let r: Vec<(&str, &str, u8)> = entries
                .iter()
                .map(|(m, n, i)| (m.as_str(), n.as_str(), *i))
                .collect();
            let data = raw(&r);
            let root = Oid::from_bytes(&[v; 20]).unwrap();
            let (node, new) = g.tree(root);
            assert!(new);
            let mut queue = Vec::new();
            g.record(node, b"", &data, &mut queue, &|_| false);
            for q in queue {
                // Subtree `x`: one file `inner` with blob id 30.
                g.record(
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
            g.edits.len() * 5 < entries,
            "{} edits, {entries} entries",
            g.edits.len()
        );
    }

    /// `p/` at version 1 (X) and version 2 (N, which holds X moved to `p/x/`), recorded N
    /// first: X is diffed against N, which holds X. Listing either must end, and be right.
    #[test]
    fn a_cycle_of_deltas_is_listed_whole() {
        let mut g = Graph::default();
        let x = Oid::from_bytes(&[1; 20]).unwrap();
        let n = Oid::from_bytes(&[2; 20]).unwrap();
        let x_raw = raw(&[("100644", "a", 10), ("100644", "b", 11)]);
        let n_raw = raw(&[("100644", "a", 10), ("100644", "c", 12), ("40000", "x", 1)]);
        let (xn, _) = g.tree(x);
        let (nn, _) = g.tree(n);
        let mut queue = Vec::new();
        g.record(nn, b"p", &n_raw, &mut queue, &|_| false);
        assert!(queue.is_empty(), "x was met before: not queued again");
        g.record(xn, b"p", &x_raw, &mut queue, &|_| false);
        assert_eq!(
            g.nodes[xn as usize].base, nn,
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
        let matters = |p: &[u8]| String::from_utf8_lossy(p).contains("applivery");
        let root = raw(&[("100644", "a.json", 1), ("40000", "applivery", 2)]);
        let (n, _) = g.tree(Oid::from_bytes(&[100; 20]).unwrap());
        let mut queue = Vec::new();
        g.record(n, b"", &root, &mut queue, &matters);
        assert_eq!(g.judged_path(0), b"");
        // The same blob under applivery/: remembered once, with its directory.
        let sub = raw(&[("100644", "a.json", 1), ("100644", "b.json", 3)]);
        g.record(
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
