#!/usr/bin/env bash
# Fuzzes every parser of untrusted input for a bounded time and fails on a crash: each
# target in fuzz/ (cargo-fuzz, libFuzzer) runs for FUZZ_SECONDS (default 20) from its
# committed seed corpus in fuzz/corpus/<target>/. With the fifteen targets of today that is
# five minutes, plus the build (about five minutes on a 2-core machine; 12.5 minutes in all
# at 30 s a target, measured).
#
#   bash scripts/check-fuzz.sh [TARGET ...]       default: every target
#   FUZZ_SECONDS=600 bash scripts/check-fuzz.sh detector
#
# Installs what it needs on a fresh machine: the nightly toolchain (rustup) and cargo-fuzz
# (`cargo install`, from the package registries). New inputs libFuzzer finds go to a
# scratch directory under fuzz/target/, never into the committed corpus; a crash leaves its
# input in fuzz/artifacts/<target>/ and fails the check (reproduce it with
# `cargo +nightly fuzz run <target> fuzz/artifacts/<target>/<file>`).
#
# The targets are built without AddressSanitizer (`-s none`) but with debug assertions:
# the crate denies unsafe code, so what fuzzing finds here are panics, overflows, hangs and
# runaway allocations, which need no sanitizer, and the build and the runs are twice as
# fast without one.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/fuzz"
seconds=${FUZZ_SECONDS:-20}
# A fixed seed: CI mutates the same way on every run, so a red run is a change's doing, not
# the luck of the draw (FUZZ_SEED=0 lets libFuzzer pick one, for exploring by hand).
seed=${FUZZ_SEED:-1}
flags=(--sanitizer none --debug-assertions)

say() { printf '== %s\n' "$*"; }

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  say "rustup toolchain install nightly"
  rustup toolchain install nightly --profile minimal
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  say "cargo install cargo-fuzz"
  cargo install --locked cargo-fuzz
fi
say "$(cargo +nightly fuzz --version)"

# Every bin target of the fuzz package (src/bin/*.rs, or [[bin]] entries).
mapfile -t targets < <(cargo metadata --no-deps --format-version 1 |
  python3 -c 'import json, sys
for p in json.load(sys.stdin)["packages"]:
    for t in p["targets"]:
        if "bin" in t["kind"]:
            print(t["name"])' | sort)
if [ $# -gt 0 ]; then
  targets=("$@")
fi
[ ${#targets[@]} -gt 0 ] || {
  echo "no fuzz targets found" >&2
  exit 1
}

say "build (${#targets[@]} targets)"
cargo +nightly fuzz build "${flags[@]}"

failed=()
for t in "${targets[@]}"; do
  seeds=corpus/$t
  [ -d "$seeds" ] || {
    echo "fuzz/$seeds is missing: every target has a committed seed corpus" >&2
    exit 1
  }
  scratch=target/corpus/$t
  mkdir -p "$scratch" "artifacts/$t"
  say "$t: ${seconds}s from $(find "$seeds" -type f | wc -l) seed(s)"
  # -rss_limit_mb / -malloc_limit_mb: a parser that allocates gigabytes for a small input is
  # a bug (a crafted length field); -timeout: one input running for seconds is a hang.
  if ! cargo +nightly fuzz run "${flags[@]}" "$t" "$scratch" "$seeds" -- \
    -max_total_time="$seconds" -seed="$seed" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 \
    -print_final_stats=1 -artifact_prefix="artifacts/$t/" >"target/$t.log" 2>&1; then
    # The panic and where libFuzzer put the input (not its byte-by-byte dump).
    grep -E -A1 'panicked at|ERROR: libFuzzer|Failing input|^SUMMARY' "target/$t.log" |
      grep -vE '^\s*\[[0-9, ]*\]\s*$' | head -20 >&2
    failed+=("$t")
    continue
  fi
  grep -E '^stat::number_of_executed_units|^Done' "target/$t.log" | tr '\n' ' '
  echo
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "FAIL: fuzz targets crashed: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
  exit 1
fi
say "fuzzing: no crash in ${#targets[@]} targets"
