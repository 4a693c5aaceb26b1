//! Keys to dense indexes (0, 1, 2, ...), filled by many threads at once.
//!
//! The tree pass names every tree, blob and entry name it meets by an index. With one map
//! behind the graph's lock, looking ids up (a cache miss each, in maps of 100k+ entries) was
//! most of what the lock was held for: a fifth of the pass on two threads was spent holding
//! it, and the other worker waited. Here the map is cut into shards by the key's hash, each
//! behind a lock of its own, so two workers rarely meet; an index is handed out by one
//! atomic counter. Which of two workers interns a key first decides its index, as it decided
//! the order under the single lock: nothing downstream depends on the indexes' order.

use std::borrow::Borrow;
use std::hash::{BuildHasher, Hash};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use rustc_hash::{FxBuildHasher, FxHashMap};

/// Shards of a map: many more than threads, so that two workers seldom want the same one.
const SHARDS: usize = 64;

/// A map from keys to the indexes `0..len()`, each given once, in the order keys were new.
pub(crate) struct Dense<K> {
    shards: Box<[Shard<K>]>,
    next: AtomicU32,
}

/// A shard on cache lines of its own: shards side by side shared lines, and two workers
/// taking neighbouring shards' locks moved the line between cores on every lookup.
#[repr(align(128))]
#[derive(Default)]
struct Shard<K>(Mutex<FxHashMap<K, u32>>);

impl<K> Default for Dense<K> {
    fn default() -> Self {
        Dense {
            shards: (0..SHARDS).map(|_| Shard(Mutex::default())).collect(),
            next: AtomicU32::new(0),
        }
    }
}

impl<K: Hash + Eq> Dense<K> {
    /// The shard of `q`: by bits of its hash that the shard's own table does not use to
    /// place it (the low bits pick a bucket, the top seven tag it), so keys of one shard
    /// still spread over their table.
    fn shard<Q: Hash + ?Sized>(&self, q: &Q) -> &Mutex<FxHashMap<K, u32>> {
        let h = FxBuildHasher.hash_one(q);
        &self.shards[(h >> 32) as usize % SHARDS].0
    }

    /// The index of `q`, if it has one.
    pub(crate) fn get<Q>(&self, q: &Q) -> Option<u32>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        crate::sync::lock(self.shard(q)).get(q).copied()
    }

    /// The index of `q`, and whether it is new: a new key (made by `key`) takes the next one.
    pub(crate) fn intern<Q>(&self, q: &Q, key: impl FnOnce() -> K) -> (u32, bool)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let mut shard = crate::sync::lock(self.shard(q));
        if let Some(&i) = shard.get(q) {
            return (i, false);
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        shard.insert(key(), i);
        (i, true)
    }

    /// How many indexes were given.
    pub(crate) fn len(&self) -> usize {
        self.next.load(Ordering::Relaxed) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Threads interning overlapping keys at once: every key gets one index, the indexes
    /// are exactly `0..len`, and every thread saw the same index for a key.
    #[test]
    fn concurrent_interning_gives_each_key_one_dense_index() {
        let d: Dense<u64> = Dense::default();
        let seen: Vec<Vec<(u64, u32, bool)>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4u64)
                .map(|t| {
                    let d = &d;
                    s.spawn(move || {
                        (0..20_000u64)
                            .map(|i| {
                                let k = (i * 7 + t * 5_000) % 30_000;
                                let (ix, new) = d.intern(&k, || k);
                                (k, ix, new)
                            })
                            .collect()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut by_key: FxHashMap<u64, u32> = FxHashMap::default();
        let mut news = 0;
        for (k, ix, new) in seen.into_iter().flatten() {
            assert_eq!(
                *by_key.entry(k).or_insert(ix),
                ix,
                "key {k} got two indexes"
            );
            news += usize::from(new);
        }
        assert_eq!(news, by_key.len(), "each key is new exactly once");
        assert_eq!(d.len(), by_key.len());
        let mut ixs: Vec<u32> = by_key.values().copied().collect();
        ixs.sort_unstable();
        assert!(ixs.iter().enumerate().all(|(i, &x)| x as usize == i));
        for (k, ix) in &by_key {
            assert_eq!(d.get(k), Some(*ix));
        }
        assert_eq!(d.get(&1_000_000), None);
    }

    #[test]
    fn borrowed_lookups_find_boxed_keys() {
        let d: Dense<Box<[u8]>> = Dense::default();
        assert_eq!(d.intern(&b"a"[..], || b"a"[..].into()), (0, true));
        assert_eq!(d.intern(&b"b"[..], || b"b"[..].into()), (1, true));
        assert_eq!(d.intern(&b"a"[..], || unreachable!()), (0, false));
        assert_eq!(d.get(&b"b"[..]), Some(1));
        assert_eq!(d.len(), 2);
    }
}
