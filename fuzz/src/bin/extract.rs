//! The whole extract stage on arbitrary bytes — containers (zip, tar, gzip, bzip2, xz)
//! nested in each other and every binary format — with limits small enough that every
//! run is quick: it must return, not panic, hang or allocate without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let settings = applivery_leaks::extract::Settings {
        max_member_size: 1 << 20,
        max_total: 4 << 20,
        max_members: 1000,
        ..Default::default()
    };
    let _ = applivery_leaks::extract::extract(&settings, data);
});
