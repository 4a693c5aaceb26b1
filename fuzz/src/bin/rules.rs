//! Rule file loading (`rules::parse_rules`): TOML, regexes, context settings, examples. A
//! rule file is trusted less than it looks (a project's config names it): loading gives
//! rules or a one-line error, and the rules it gives can run.
#![no_main]

use applivery_leaks::detect::Detector;
use applivery_leaks::rules::parse_rules;
use applivery_leaks_fuzz::{assert_one_line, text};
use libfuzzer_sys::fuzz_target;

// Obviously fake sample tokens (the docs' `Zk3q…`), for the rules a fuzz input defines.
const SAMPLE: &[u8] = b"APPLIVERY_APP_TOKEN=Zk3qP9xVb2LmN7wQe4RtY6uA\ncurl -H 'Authorization: Bearer Qw8rT5yU1iO3pA6sD9fG2hJk' https://api.applivery.io/v1/integrations/builds\n"; // applivery-leaks:allow

fuzz_target!(|data: &[u8]| {
    let Some(text) = text(data) else { return };
    match parse_rules(text, "fuzz-rules.toml") {
        Ok(rules) => match Detector::new(rules) {
            Ok(det) => {
                for c in det.detect(SAMPLE, b"ci/applivery.sh") {
                    let _ = det.secret(&c, SAMPLE);
                }
            }
            Err(e) => assert_one_line(&e),
        },
        Err(e) => assert_one_line(&e),
    }
});
