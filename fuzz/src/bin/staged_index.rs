//! The git index reader of `staged` (`source::staged::index`): versions 2 to 4, version 4
//! path compression, the cache-tree extension. A hostile index (a cloned repository's hook
//! runs on it) must give `None` or entries, never a panic or a runaway allocation.
#![no_main]

use applivery_leaks::source::staged::index;
use libfuzzer_sys::fuzz_target;

fn nodes(t: &index::CacheTree) -> usize {
    1 + t.children.iter().map(nodes).sum::<usize>()
}

fuzz_target!(|data: &[u8]| {
    if let Some(idx) = index::parse(data.to_vec()) {
        for e in &idx.entries {
            let _ = idx.path(e);
            let _ = idx.oid(e);
        }
        if let Some(t) = &idx.tree {
            nodes(t);
        }
    }
});
