//! Project config loading (`config::Config::parse`, `.applivery-leaks.toml`): TOML, exclude
//! globs, placeholder regexes, rule file names. Any text: a config or a one-line error.
#![no_main]

use std::path::Path;

use applivery_leaks::config::Config;
use applivery_leaks_fuzz::{assert_one_line, text};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(text) = text(data) else { return };
    match Config::parse(text, Path::new("fuzz/.applivery-leaks.toml")) {
        Ok(cfg) => {
            for p in ["a.env", "fixtures/x/y.yml", "/abs/path", "../up", ""] {
                let _ = cfg.is_excluded(p);
            }
        }
        Err(e) => assert_one_line(&e),
    }
});
