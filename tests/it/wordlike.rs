//! Issue 18, point 2, the bounded CI form of `examples/bench_wordlike.rs`: seeded uniform
//! random 24-character base64url tokens (in batches until a time budget, `WORDLIKE_SECONDS`,
//! default 30, is spent: at least 300,000 tokens, at most a million) must almost never read
//! as names (at most 1 in 100,000), and the names harvested from the crate sources under
//! `~/.cargo/registry/src` (libgit2's vendored C included) must almost always do (at most 1 in
//! 1,000 not word-like).
//! `#[ignore]`d (minutes in a debug build); `scripts/check-wordlike.sh` runs it in release
//! mode. The harvest's own unit tests run with every `cargo test`.

use applivery_leaks::detect::is_word_like;
use rayon::prelude::*;

// The benchmark's shared code (the seeded generator, the token draw and the harvest).
#[path = "../../examples/common/mod.rs"]
mod bench_common;

use bench_common::wordlike::{crate_sources, harvest, random_margins_range, RANDOM_CHUNK};

#[test]
#[ignore = "minutes in a debug build; scripts/check-wordlike.sh runs it in release mode"]
fn rates_within_goals() {
    // Bounded by time, not by a count, so CI's time does not grow on a slow or busy machine.
    // The batches are consecutive pieces of one seeded stream: a run checks the tokens a
    // longer one begins with, and a full run exactly the million of `random_margins`.
    const BATCH: u64 = 4 * RANDOM_CHUNK;
    const MIN: u64 = 300_000;
    const MAX: u64 = 1_000_000;
    let seconds: u64 = match std::env::var("WORDLIKE_SECONDS") {
        Ok(s) => s
            .parse()
            .unwrap_or_else(|_| panic!("WORDLIKE_SECONDS={s:?}: expected whole seconds")),
        Err(_) => 30,
    };
    let budget = std::time::Duration::from_secs(seconds);
    let started = std::time::Instant::now();
    let (mut n, mut hits) = (0u64, Vec::new());
    while n < MAX && (n < MIN || started.elapsed() < budget) {
        let next = (n + BATCH).min(MAX);
        hits.extend(random_margins_range(n, next, 0x5EED_0018).1);
        n = next;
    }
    println!(
        "budget {seconds} s (WORDLIKE_SECONDS): {n} random tokens in {:.1} s",
        started.elapsed().as_secs_f64()
    );
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
