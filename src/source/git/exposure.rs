//! The exposure map, after provenance and only for secrets a sweep found: for each unique
//! secret, every ref that reaches a commit holding it (and whether the ref's own commit
//! does), the commits that introduced it, the newest that holds it, and every path it
//! appears under. The incident responder's next questions: which branches, tags and
//! pull-request refs must be rewritten, and is it still at a tip.
//!
//! Reachability is one pass over the commits in walk order (parents first): a commit
//! reaches a secret if it holds it or a parent reaches it, one bit per secret. A clean
//! repository costs nothing: with no secret there is no pass.

use std::collections::{BTreeSet, HashMap};

use git2::Oid;

use super::findings::TagMessage;
use super::objects::id;
use super::provenance::{set_bit, Placed};
use super::refs::TagRef;
use super::walk::History;
use crate::provenance::MEMBER_SEPARATOR;
use crate::report::{Exposure, RefExposure, EXPOSURE_LISTED};

/// The exposure of each secret a sweep found, by the secret.
pub(crate) fn map(
    history: &History,
    named: &[(String, Oid)],
    tag_refs: &[TagRef],
    placed: &Placed,
    tags: &[TagMessage],
) -> HashMap<String, Exposure> {
    let mut acc = Tokens::default();
    for p in &placed.placements {
        let t = acc.slot(&p.hit.secret);
        let b = &mut acc.bits[t];
        if b.len() < p.bits.len() {
            b.resize(p.bits.len(), 0);
        }
        for (a, x) in b.iter_mut().zip(&p.bits) {
            *a |= x;
        }
        let mut shown = String::from_utf8_lossy(&p.path).into_owned();
        for m in &p.hit.members {
            shown.push_str(MEMBER_SEPARATOR);
            shown.push_str(m);
        }
        acc.paths[t].insert(shown);
    }
    for m in &history.messages {
        let t = acc.slot(&m.hit.secret);
        set_bit(&mut acc.bits[t], m.commit);
        acc.paths[t].insert("<commit-message>".into());
    }
    for tag in tags {
        for h in &tag.hits {
            let t = acc.slot(&h.secret);
            acc.paths[t].insert("<tag-message>".into());
            acc.tag_names[t].push(tag.name.clone());
        }
    }
    let Tokens {
        order,
        bits,
        mut paths,
        tag_names,
        ..
    } = acc;
    if order.is_empty() {
        return HashMap::new();
    }

    // reach[c]: the secrets commit c holds or any of its ancestors holds.
    let n = history.commits.len();
    let words = order.len().div_ceil(64);
    let mut reach = vec![0u64; n * words];
    for (t, b) in bits.iter().enumerate() {
        for c in ones(b) {
            if c < n {
                reach[c * words + t / 64] |= 1 << (t % 64);
            }
        }
    }
    for c in 0..n {
        let (before, rest) = reach.split_at_mut(c * words);
        let row = &mut rest[..words];
        for &p in history.parents_of(c) {
            let p = p as usize;
            // Parents come first in walk order; anything else is not a parent edge.
            if p < c {
                for (a, x) in row.iter_mut().zip(&before[p * words..(p + 1) * words]) {
                    *a |= x;
                }
            }
        }
    }

    let peeled: HashMap<Oid, Oid> = tag_refs
        .iter()
        .filter_map(|t| t.commit.map(|c| (t.id, c)))
        .collect();
    let mut out: Vec<Exposure> = vec![Exposure::default(); order.len()];
    let mut seen_refs: BTreeSet<&str> = BTreeSet::new();
    for (name, target) in named {
        if !seen_refs.insert(name.as_str()) {
            continue;
        }
        // No object is read: a ref names a walked commit, or an annotated tag the first
        // pass already peeled (reading them again touched 22 MiB of pack pages on git.git's
        // 1,000 tags). Anything else (a tree, a blob, a commit outside the walk) is skipped.
        let commit = if history.index.contains_key(&id(*target)) {
            *target
        } else {
            match peeled.get(target) {
                Some(&c) => c,
                None => continue,
            }
        };
        let Some(&c) = history.index.get(&id(commit)) else {
            continue;
        };
        for (t, e) in out.iter_mut().enumerate() {
            if reach[c * words + t / 64] & (1 << (t % 64)) != 0 {
                e.refs.push(RefExposure {
                    repository: None,
                    name: name.clone(),
                    commit: commit.to_string(),
                    at_tip: has(&bits[t], c),
                });
            }
        }
    }
    for (t, e) in out.iter_mut().enumerate() {
        // An annotated tag's message holds it: the tag's ref shows it at its tip.
        for tag in &tag_names[t] {
            let name = format!("refs/tags/{tag}");
            if let Some(r) = e.refs.iter_mut().find(|r| r.name == name) {
                r.at_tip = true;
            } else if let Some((_, target)) = named.iter().find(|(n, _)| *n == name) {
                let commit = peeled.get(target).unwrap_or(target).to_string();
                e.refs.push(RefExposure {
                    repository: None,
                    name,
                    commit,
                    at_tip: true,
                });
            }
        }
        e.refs.sort();
        for c in ones(&bits[t]) {
            if c >= n {
                break;
            }
            let inherited = history
                .parents_of(c)
                .iter()
                .any(|&p| has(&bits[t], p as usize));
            if !inherited {
                e.introduced.push(history.commits[c].id.to_string());
                if e.introduced.len() >= EXPOSURE_LISTED {
                    break;
                }
            }
        }
        e.last_commit = ones(&bits[t])
            .filter(|&c| c < n)
            .last()
            .map(|c| history.commits[c].id.to_string());
        e.paths = std::mem::take(&mut paths[t]).into_iter().collect();
    }
    order.into_iter().zip(out).collect()
}

/// The secrets met, in order, with what is gathered about each.
#[derive(Default)]
struct Tokens {
    index: HashMap<String, usize>,
    order: Vec<String>,
    /// The commits that hold each, as a bit set over commit indexes.
    bits: Vec<Vec<u64>>,
    paths: Vec<BTreeSet<String>>,
    tag_names: Vec<Vec<String>>,
}

impl Tokens {
    fn slot(&mut self, secret: &str) -> usize {
        if let Some(&i) = self.index.get(secret) {
            return i;
        }
        let i = self.order.len();
        self.index.insert(secret.to_string(), i);
        self.order.push(secret.to_string());
        self.bits.push(Vec::new());
        self.paths.push(BTreeSet::new());
        self.tag_names.push(Vec::new());
        i
    }
}

fn has(bits: &[u64], i: usize) -> bool {
    bits.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
}

/// The indexes set in a bit set, ascending.
fn ones(bits: &[u64]) -> impl Iterator<Item = usize> + '_ {
    bits.iter().enumerate().flat_map(|(w, &word)| {
        let mut x = word;
        std::iter::from_fn(move || {
            if x == 0 {
                return None;
            }
            let b = x.trailing_zeros() as usize;
            x &= x - 1;
            Some(w * 64 + b)
        })
    })
}
