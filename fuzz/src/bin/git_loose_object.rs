//! Loose objects (`source::git::objects`): the zlib stream and the `kind size\0` header. A
//! truncated or padded object must be an error at once (libgit2 loops forever on some
//! truncated streams, which is why this reader exists).
#![no_main]

use applivery_leaks::source::git::objects::{inflate_loose, parse_loose_header};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse_loose_header(data);
    if let Ok((_, body)) = inflate_loose(data) {
        assert!(body.len() <= 64 << 20);
    }
});
