//! Pack indexes (`source::git::packs::PackIndex`, `.idx` version 2): parsing and lookups,
//! including ids the index does not hold and 64-bit offsets that point outside it.
#![no_main]

use applivery_leaks::source::git::packs::PackIndex;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(idx) = PackIndex::parse(data.to_vec()) {
        // Ids from the data itself (so some are listed), and a few that are not.
        for id in data.chunks(20).take(64) {
            let _ = idx.offset(id);
        }
        for b in [0u8, 0x7f, 0xff] {
            let _ = idx.offset(&[b; 20]);
        }
    }
});
