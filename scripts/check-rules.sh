#!/usr/bin/env bash
# The default rules pass their own examples (`applivery-leaks rules check`): each example is
# found, no negative example is. Exit 1 names every failing example.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/bin.sh
debug_bin
"$bin" rules --no-config check
