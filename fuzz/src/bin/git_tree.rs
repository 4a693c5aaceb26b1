//! Raw tree objects (`source::git::parse::entries`): every entry before the first damage,
//! then a stop, never a panic.
#![no_main]

use applivery_leaks::source::git::parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut it = parse::entries(data);
    let mut n = 0;
    for e in it.by_ref() {
        assert!(!e.name.contains(&0));
        n += 1;
    }
    assert!(n <= data.len() / 22 + 1);
    let _ = it.damaged();
});
