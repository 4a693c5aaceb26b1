//! Raw commit and tag objects and signatures (`source::git::parse`), as a history sweep
//! reads them from a repository anyone may have written.
#![no_main]

use applivery_leaks::source::git::parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(c) = parse::commit(data) {
        if let Some(a) = c.author {
            let _ = parse::signature(a);
        }
        let _ = parse::first_line(c.message);
    }
    if let Some(t) = parse::tag(data) {
        let _ = parse::first_line(t.message);
    }
    let _ = parse::signature(data);
});
