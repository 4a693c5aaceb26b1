//! The ignore file (`suppress::parse_ignore`, `.applivery-leaksignore`), read from the
//! repository being scanned. Any text: entries or a one-line error.
#![no_main]

use applivery_leaks::suppress::parse_ignore;
use applivery_leaks_fuzz::{assert_one_line, text};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(text) = text(data) else { return };
    if let Err(e) = parse_ignore(text, ".applivery-leaksignore") {
        assert_one_line(&e);
    }
});
