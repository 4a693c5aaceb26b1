//! Pack entries read ahead as commits (`source::git::ahead`): an entry's header, and its
//! zlib stream inflated to exactly the size it declares, from untrusted bytes.
#![no_main]

use applivery_leaks::source::git::ahead::{commit_header, inflate};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut z = flate2::Decompress::new(true);
    if let Some((size, body)) = commit_header(data) {
        let mut out = b"kept".to_vec();
        if inflate(&mut z, &data[body..], size, &mut out) {
            assert_eq!(out.len(), 4 + size);
        }
        assert!(out.starts_with(b"kept"));
    }
    // The stream alone, with a size taken from the data.
    let size = data.first().map_or(0, |&b| usize::from(b) * 4);
    let _ = inflate(&mut z, data, size, &mut Vec::new());
});
