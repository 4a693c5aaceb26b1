#!/usr/bin/env bash
# Issue 9, point 1: seeded uniform random tokens, each in ten canonical contexts, must all be
# found. `cargo test`'s debug build runs 5,000; this runs tokens 0, 1, 2, … for a time budget
# of PROPERTY_SECONDS (default 60; at least 100,000 tokens, at most a million) in the `ci`
# profile (release speed without LTO; Cargo.toml). Prints the count and the shape filter's
# own drop rate.
set -euo pipefail
cd "$(dirname "$0")/.."
export PROPERTY_SECONDS=${PROPERTY_SECONDS:-60}
echo "check-property: budget ${PROPERTY_SECONDS} s (PROPERTY_SECONDS)"
cargo test --profile ci --quiet --test it property::a_million -- --ignored --nocapture
