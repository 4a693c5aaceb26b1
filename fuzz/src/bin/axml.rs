//! The axml parser of the extract stage on arbitrary bytes: it must return, not panic, hang
//! or allocate without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    applivery_leaks::extract::fuzzing::axml(data);
});
