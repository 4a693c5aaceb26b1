//! The detector with the default rules, through the path every source takes
//! (`extract::scan`: binary and UTF-16 sniffing, the detector, locating lines and columns,
//! redacted context lines). Any bytes: no panic, positions that make sense, and no context
//! line shown without `--show-secrets` that holds a found secret in full.
#![no_main]

use std::sync::OnceLock;

use applivery_leaks::detect::Detector;
use applivery_leaks::rules::default_rules;
use libfuzzer_sys::fuzz_target;

fn detector() -> &'static Detector {
    static DET: OnceLock<Detector> = OnceLock::new();
    DET.get_or_init(|| Detector::new(default_rules()).expect("the default rules build"))
}

fuzz_target!(|data: &[u8]| {
    let settings = applivery_leaks::extract::Settings::default();
    let scan = applivery_leaks::extract::scan(detector(), &settings, b"", data);
    for h in &scan.hits {
        assert!(h.line >= 1 && h.column >= 1, "{h:?}");
        // The end is not before the start; a secret joined across lines (a backslash
        // continuation) ends on a later line, at a column that may be smaller.
        assert!((h.end_line, h.end_column) >= (h.line, h.column), "{h:?}");
        // Secrets of 8 bytes or more are searched for in every context (shorter ones would
        // redact ordinary words); a secret that is not valid UTF-8 is shown lossily anyway.
        if h.secret.len() >= 8 && !h.secret.contains('\u{FFFD}') {
            assert!(
                !h.context_redacted.contains(&h.secret),
                "secret shown in full: {h:?}"
            );
        }
    }
});
