# shellcheck shell=bash
# The debug binary the checks run, target/debug/applivery-leaks, built the way `cargo test`
# builds it:
#
#   source scripts/lib/bin.sh
#   debug_bin    # build it (nothing to do after `cargo test`); sets $bin to its path
#
# A plain `cargo build` resolves the dependencies' features without the dev-dependencies'
# (resolver 2: regex-automata, bstr and idna differ), so after `cargo test` it compiles those,
# everything above them and the crate a second time (75 s of CPU in a .ci/run, measured);
# building the integration tests' binary instead is a no-op then, and the checks run the very
# binary the tests ran.
debug_bin() {
  cargo test --quiet --no-run --test it
  bin=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/target/debug/applivery-leaks
  [ -x "$bin" ] || {
    echo "debug_bin: $bin was not built" >&2
    return 1
  }
}
