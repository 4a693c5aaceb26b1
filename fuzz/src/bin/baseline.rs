//! Baseline loading (`suppress::parse_baseline`): a previous JSON report, which may come from
//! anywhere (an artifact, a colleague). Any text: entries or a one-line error.
#![no_main]

use applivery_leaks::suppress::parse_baseline;
use applivery_leaks_fuzz::{assert_one_line, text};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(text) = text(data) else { return };
    if let Err(e) = parse_baseline(text, "baseline.json") {
        assert_one_line(&e);
    }
});
