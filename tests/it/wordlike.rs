//! Issue 18, point 2, the bounded CI form of `examples/bench_wordlike.rs`: a million seeded
//! uniform random 24-character base64url tokens must almost never read as names (at most 1 in
//! 100,000), and the names harvested from the crate sources under `~/.cargo/registry/src`
//! (libgit2's vendored C included) must almost always do (at most 1 in 1,000 not word-like).
//! `#[ignore]`d (minutes in a debug build); `scripts/check-wordlike.sh` runs it in release
//! mode. The harvest's own unit tests run with every `cargo test`.

use applivery_leaks::detect::is_word_like;
use rayon::prelude::*;

// The benchmark's shared code (the seeded generator, the token draw and the harvest).
#[path = "../../examples/common/mod.rs"]
mod bench_common;

use bench_common::wordlike::{crate_sources, harvest, random_margins};

#[test]
#[ignore = "minutes in a debug build; scripts/check-wordlike.sh runs it in release mode"]
fn rates_within_goals() {
    let n = 1_000_000u64;
    let (_, hits) = random_margins(n, 0x5EED_0018);
    let random_rate = hits.len() as f64 / n as f64;
    println!(
        "random tokens called word-like: {} of {n} = {random_rate:.2e} (goal <= 1e-5)",
        hits.len()
    );
    for h in hits.iter().take(10) {
        println!("  {h}");
    }

    let h = harvest(&crate_sources());
    for c in &h.counts {
        println!(
            "{} distinct names from {} files: {}",
            c.distinct, c.files, c.label
        );
    }
    assert!(
        h.names.len() >= 50_000,
        "only {} names harvested: are the crate sources there?",
        h.names.len()
    );
    let missed: Vec<&[u8]> = h
        .names
        .par_iter()
        .map(|n| n.text.as_slice())
        .filter(|t| !is_word_like(t))
        .collect();
    let name_rate = missed.len() as f64 / h.names.len() as f64;
    println!(
        "names not called word-like: {} of {} = {name_rate:.2e} (goal <= 1e-3)",
        missed.len(),
        h.names.len()
    );
    for t in missed.iter().take(20) {
        println!("  {}", String::from_utf8_lossy(t));
    }
    assert!(
        random_rate <= 1e-5,
        "random tokens: {random_rate:.2e} > 1e-5"
    );
    assert!(name_rate <= 1e-3, "names: {name_rate:.2e} > 1e-3");
}
