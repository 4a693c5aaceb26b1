#!/usr/bin/env bash
# Fuzzes every parser of untrusted input for a bounded time and fails on a crash: each
# target in fuzz/ (cargo-fuzz, libFuzzer) runs for FUZZ_SECONDS (default 20) from its
# committed seed corpus in fuzz/corpus/<target>/, FUZZ_JOBS targets at a time (default: one
# per core; each libFuzzer process uses one). With the sixteen targets of today on two cores
# that is 160 s, plus the build.
#
#   bash scripts/check-fuzz.sh [TARGET ...]       default: every target
#   FUZZ_SECONDS=600 bash scripts/check-fuzz.sh detector
#   FUZZ_JOBS=1 bash scripts/check-fuzz.sh        one target at a time
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
parallel=${FUZZ_JOBS:-$(nproc)}
[[ $seconds =~ ^[0-9]+$ && $parallel =~ ^[1-9][0-9]*$ ]] || {
  echo "FUZZ_SECONDS ($seconds) and FUZZ_JOBS ($parallel) must be whole numbers" >&2
  exit 2
}
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
# CI_INSTALL_ONLY=1: installs only (.ci/run does that for every check while it compiles).
[ -z "${CI_INSTALL_ONLY:-}" ] || exit 0

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
# The targets run straight from the build, not through `cargo fuzz run`: that starts cargo
# again for every target, which queues on cargo's locks behind any other build on the
# machine (minutes per target in a parallel .ci/run, measured) to find nothing to do.
target_dir=$(cargo metadata --no-deps --format-version 1 |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
bin_dir=$target_dir/$(rustc +nightly -vV | sed -n 's/^host: //p')/release

# One target: exit 0 with its stats on stdout, or 1 with the crash on stdout. Run in the
# background, FUZZ_JOBS at a time; each writes its own log, printed in target order below.
fuzz_one() {
  local t=$1 seeds=corpus/$1 scratch=target/corpus/$1
  mkdir -p "$scratch" "artifacts/$t"
  echo "== $t: ${seconds}s from $(find "$seeds" -type f | wc -l) seed(s)"
  # -rss_limit_mb / -malloc_limit_mb: a parser that allocates gigabytes for a small input is
  # a bug (a crafted length field); -timeout: one input running for seconds is a hang.
  [ -x "$bin_dir/$t" ] || {
    echo "$bin_dir/$t was not built"
    return 1
  }
  if ! "$bin_dir/$t" "$scratch" "$seeds" \
    -max_total_time="$seconds" -seed="$seed" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 \
    -print_final_stats=1 -artifact_prefix="artifacts/$t/" >"target/$t.log" 2>&1; then
    # The panic and where libFuzzer put the input (not its byte-by-byte dump).
    grep -E -A1 'panicked at|ERROR: libFuzzer|Failing input|^SUMMARY' "target/$t.log" |
      grep -vE '^\s*\[[0-9, ]*\]\s*$' | head -20
    return 1
  fi
  grep -E '^stat::number_of_executed_units|^Done' "target/$t.log" | tr '\n' ' '
  echo
}

for t in "${targets[@]}"; do
  [ -d "corpus/$t" ] || {
    echo "fuzz/corpus/$t is missing: every target has a committed seed corpus" >&2
    exit 1
  }
done
say "run: ${seconds}s a target, $parallel at a time (FUZZ_SECONDS, FUZZ_JOBS)"
declare -A pid=()
for t in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$parallel" ]; do
    wait -n || true # the exit code is collected per target below
  done
  fuzz_one "$t" >"target/$t.summary" 2>&1 &
  pid[$t]=$!
done
failed=()
for t in "${targets[@]}"; do
  rc=0
  wait "${pid[$t]}" || rc=$?
  if [ "$rc" = 0 ]; then
    cat "target/$t.summary"
  else
    cat "target/$t.summary" >&2
    failed+=("$t")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "FAIL: fuzz targets crashed: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
  exit 1
fi
say "fuzzing: no crash in ${#targets[@]} targets"
