#!/usr/bin/env bash
# Issue 18, point 2: word-likeness on both sides. A million seeded uniform random 24-character
# base64url tokens (at most 1 in 100,000 may read as names) and the names harvested from the
# crate sources under ~/.cargo/registry/src (at most 1 in 1,000 may not). Release mode: about
# a minute on two cores. The full benchmark is examples/bench_wordlike.rs.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --release --test it wordlike -- --ignored --nocapture
