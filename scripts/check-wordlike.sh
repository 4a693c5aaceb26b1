#!/usr/bin/env bash
# Issue 18, point 2: word-likeness on both sides. Seeded uniform random 24-character base64url
# tokens for a time budget of WORDLIKE_SECONDS (default 30; at least 300,000, at most a
# million; at most 1 in 100,000 may read as names) and the names harvested from the crate
# sources under ~/.cargo/registry/src (at most 1 in 1,000 may not). In the `ci` profile
# (release speed without LTO; Cargo.toml). The full benchmark is examples/bench_wordlike.rs.
set -euo pipefail
cd "$(dirname "$0")/.."
export WORDLIKE_SECONDS=${WORDLIKE_SECONDS:-30}
echo "check-wordlike: budget ${WORDLIKE_SECONDS} s (WORDLIKE_SECONDS)"
cargo test --profile ci --test it wordlike -- --ignored --nocapture
