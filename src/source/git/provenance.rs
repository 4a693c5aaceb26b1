//! Pass 4 of a sweep: provenance, only for blobs that matched. Given the commits in order
//! (parents first) and where interesting blobs sit in each commit's tree, it groups hits into
//! one placement per (rule, path, secret) with the commit that introduced it, every commit
//! that carries it, and whether HEAD still does. A pure function of its inputs: trees come
//! through the `Trees` trait (the sweep's graph, or the object database for a range), so the
//! unit tests below feed it made-up histories.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use git2::Oid;
use rustc_hash::FxHashMap;

use super::objects::{id, Id};
use crate::haystack::Hit;

/// At most this many commit ids are listed per finding (`commit_count` stays exact).
pub(crate) const COMMITS_LISTED: usize = 1000;

/// The interesting blobs under a tree: (first path component id, path, blob). The id is the
/// source's own (0 where it has none).
pub(crate) type Held = Rc<Vec<(u32, Vec<u8>, Oid)>>;

/// Where interesting blobs sit in a tree.
pub(crate) trait Trees {
    fn held(&mut self, tree: Oid) -> Held;
}

/// One secret of one rule at one path, across every commit that carried it.
#[derive(Debug, Clone)]
pub(crate) struct Placement {
    /// Index of the oldest commit (in walk order) that carries it.
    pub first: usize,
    pub path: Vec<u8>,
    /// The hit in the blob of the first commit: its line and column are reported.
    pub hit: Hit,
    /// The first `COMMITS_LISTED` commits that carry it, oldest first.
    pub commits: Vec<usize>,
    pub commit_count: usize,
    /// Still present at that path in HEAD's tree.
    pub in_head: bool,
    /// Every commit that carries it, as a bit set over commit indexes.
    pub bits: Vec<u64>,
}

/// Where each blob was first seen, for naming errors and skips.
pub(crate) type FirstPlace = FxHashMap<Id, (usize, Vec<u8>)>;

/// What provenance found.
#[derive(Default)]
pub(crate) struct Placed {
    pub placements: Vec<Placement>,
    /// Matching blobs no walked commit holds (dangling, or named by a ref directly), with
    /// their hits.
    pub unplaced: Vec<(Oid, Vec<Hit>)>,
    /// First place of each `noted` blob that a commit holds.
    pub first_place: FirstPlace,
}

/// Groups the `hits` of blobs into placements, given the root tree of each walked commit
/// (parents first). `noted` blobs (unreadable, skipped) only get
/// their first place. `introduced` tells whether a placement is new (a range drops secrets
/// its boundary already had at that path).
pub(crate) fn place(
    commits: &[Oid],
    trees: &mut impl Trees,
    hits: &FxHashMap<Id, Vec<Hit>>,
    noted: &HashSet<Oid>,
    head_tree: Option<Oid>,
    mut introduced: impl FnMut(&Placement) -> bool,
) -> Placed {
    let mut out = Placed::default();
    if hits.is_empty() && noted.is_empty() {
        return out;
    }
    type Key = (usize, Vec<u8>, Vec<String>, String);
    let mut groups: HashMap<Key, usize> = HashMap::new();
    let mut placements: Vec<Placement> = Vec::new();
    // The last commit counted per placement: a blob can hold one secret on several lines.
    let mut last: Vec<usize> = Vec::new();
    let mut placed: HashSet<Oid> = HashSet::new();
    for (i, &tree) in commits.iter().enumerate() {
        let held = trees.held(tree);
        for (_, path, blob) in held.iter() {
            if let Some(hs) = hits.get(&id(*blob)) {
                placed.insert(*blob);
                for h in hs {
                    let key = (h.rule, path.clone(), h.members.clone(), h.secret.clone());
                    let at = *groups.entry(key).or_insert_with(|| {
                        placements.push(Placement {
                            first: i,
                            path: path.clone(),
                            hit: h.clone(),
                            commits: Vec::new(),
                            commit_count: 0,
                            in_head: false,
                            bits: Vec::new(),
                        });
                        last.push(usize::MAX);
                        placements.len() - 1
                    });
                    if last[at] != i {
                        last[at] = i;
                        let p = &mut placements[at];
                        p.commit_count += 1;
                        if p.commits.len() < COMMITS_LISTED {
                            p.commits.push(i);
                        }
                        set_bit(&mut p.bits, i);
                    }
                }
            }
            if noted.contains(blob) {
                out.first_place
                    .entry(id(*blob))
                    .or_insert((i, path.clone()));
            }
        }
    }
    placements.retain(|p| introduced(p));
    if let Some(t) = head_tree {
        let held = trees.held(t);
        let in_head: HashSet<(usize, &[u8], &[String], &str)> = held
            .iter()
            .flat_map(|(_, path, blob)| {
                hits.get(&id(*blob)).into_iter().flatten().map(move |h| {
                    (
                        h.rule,
                        path.as_slice(),
                        h.members.as_slice(),
                        h.secret.as_str(),
                    )
                })
            })
            .collect();
        for p in &mut placements {
            let key = (
                p.hit.rule,
                p.path.as_slice(),
                p.hit.members.as_slice(),
                p.hit.secret.as_str(),
            );
            p.in_head = in_head.contains(&key);
        }
    }
    let mut unplaced: Vec<(Oid, Vec<Hit>)> = hits
        .iter()
        .map(|(b, hs)| (super::objects::oid(b), hs.clone()))
        .filter(|(b, _)| !placed.contains(b))
        .collect();
    unplaced.sort_by_key(|u| u.0);
    out.unplaced = unplaced;
    out.placements = placements;
    out
}

/// Distinct commits per (rule, secret) across `placements` and `extra` commit indexes (of
/// message findings).
pub(crate) fn commits_per_secret<'p>(
    placements: impl IntoIterator<Item = (usize, &'p str, &'p [u64])>,
) -> HashMap<(usize, String), usize> {
    let mut union: HashMap<(usize, String), Vec<u64>> = HashMap::new();
    for (rule, secret, bits) in placements {
        let u = union.entry((rule, secret.to_string())).or_default();
        if u.len() < bits.len() {
            u.resize(bits.len(), 0);
        }
        for (a, b) in u.iter_mut().zip(bits) {
            *a |= b;
        }
    }
    union
        .into_iter()
        .map(|(k, b)| (k, b.iter().map(|w| w.count_ones() as usize).sum()))
        .collect()
}

pub(crate) fn set_bit(b: &mut Vec<u64>, i: usize) {
    if b.len() <= i / 64 {
        b.resize(i / 64 + 1, 0);
    }
    b[i / 64] |= 1 << (i % 64);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A made-up history: each tree is a list of (path, blob).
    struct Fake(HashMap<Oid, Vec<(&'static str, Oid)>>);

    impl Trees for Fake {
        fn held(&mut self, tree: Oid) -> Held {
            Rc::new(
                self.0
                    .get(&tree)
                    .into_iter()
                    .flatten()
                    .map(|(p, b)| (0, p.as_bytes().to_vec(), *b))
                    .collect(),
            )
        }
    }

    fn o(n: u8) -> Oid {
        Oid::from_bytes(&[n; 20]).unwrap()
    }

    fn hit(rule: usize, secret: &str, line: u64) -> Hit {
        Hit {
            rule,
            secret: secret.into(),
            line,
            column: 1,
            end_line: line,
            end_column: 2,
            context: String::new(),
            context_redacted: String::new(),
            inline_allowed: false,
            tenant_hosts: Vec::new(),
            members: Vec::new(),
            decoded: Vec::new(),
            evidence: Vec::new(),
        }
    }

    #[test]
    fn first_commit_every_commit_and_head() {
        // c0 adds a.env (blob 1, secret S); c1 copies it to b.env; c2 removes a.env;
        // c3 changes b.env to blob 2 without the secret. HEAD is c3.
        let mut trees = HashMap::new();
        trees.insert(o(100), vec![("a.env", o(1))]);
        trees.insert(o(101), vec![("a.env", o(1)), ("b.env", o(1))]);
        trees.insert(o(102), vec![("b.env", o(1))]);
        trees.insert(o(103), vec![("b.env", o(2))]);
        let commits: Vec<Oid> = (0..4).map(|i| o(100 + i)).collect();
        let mut hits = FxHashMap::default();
        hits.insert(id(o(1)), vec![hit(0, "S", 3)]);
        let placed = place(
            &commits,
            &mut Fake(trees),
            &hits,
            &HashSet::new(),
            Some(o(103)),
            |_| true,
        );
        let mut got: Vec<(String, usize, Vec<usize>, bool)> = placed
            .placements
            .iter()
            .map(|p| {
                (
                    String::from_utf8_lossy(&p.path).into_owned(),
                    p.first,
                    p.commits.clone(),
                    p.in_head,
                )
            })
            .collect();
        got.sort();
        assert_eq!(
            got,
            vec![
                ("a.env".into(), 0, vec![0, 1], false),
                ("b.env".into(), 1, vec![1, 2], false),
            ]
        );
        let per = commits_per_secret(
            placed
                .placements
                .iter()
                .map(|p| (p.hit.rule, p.hit.secret.as_str(), p.bits.as_slice())),
        );
        assert_eq!(per[&(0, "S".to_string())], 3);
        assert!(placed.unplaced.is_empty());
    }

    #[test]
    fn unplaced_noted_and_filtered() {
        let mut trees = HashMap::new();
        trees.insert(o(100), vec![("x", o(1)), ("big.bin", o(3))]);
        let commits = [o(100)];
        let mut hits = FxHashMap::default();
        hits.insert(id(o(1)), vec![hit(0, "S", 1), hit(0, "S", 9)]);
        hits.insert(id(o(9)), vec![hit(1, "T", 1)]);
        let noted: HashSet<Oid> = [o(3)].into_iter().collect();
        let placed = place(
            &commits,
            &mut Fake(trees.clone()),
            &hits,
            &noted,
            Some(o(100)),
            |_| true,
        );
        // One placement for the secret on two lines of one blob, counted once.
        assert_eq!(placed.placements.len(), 1);
        assert_eq!(placed.placements[0].commit_count, 1);
        assert_eq!(placed.placements[0].hit.line, 1);
        assert!(placed.placements[0].in_head);
        assert_eq!(placed.unplaced.len(), 1);
        assert_eq!(placed.unplaced[0].0, o(9));
        assert_eq!(placed.first_place[&id(o(3))], (0, b"big.bin".to_vec()));
        // A range's filter drops what the boundary already had.
        let placed = place(&commits, &mut Fake(trees), &hits, &noted, None, |p| {
            p.path != b"x"
        });
        assert!(placed.placements.is_empty());
    }

    #[test]
    fn listing_is_capped_counting_is_not() {
        let mut trees = HashMap::new();
        trees.insert(o(100), vec![("a", o(1))]);
        let n = COMMITS_LISTED + 500;
        let commits = vec![o(100); n];
        let mut hits = FxHashMap::default();
        hits.insert(id(o(1)), vec![hit(0, "S", 1)]);
        let placed = place(
            &commits,
            &mut Fake(trees),
            &hits,
            &HashSet::new(),
            None,
            |_| true,
        );
        let p = &placed.placements[0];
        assert_eq!(p.commit_count, n);
        assert_eq!(p.commits.len(), COMMITS_LISTED);
        assert_eq!(p.commits[..3], [0, 1, 2]);
    }
}
