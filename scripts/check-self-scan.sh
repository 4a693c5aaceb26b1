#!/usr/bin/env bash
# The project scans itself and must come out clean: builds the scanner and runs `dir` on the
# repository root with its own .applivery-leaks.toml (which excludes fixtures/ and tests/).
# Exit 0 when clean; anything found (exit 1) or unreadable (exit 2) fails the check.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/bin.sh
debug_bin
if "$bin" dir --format text .; then
  echo "self-scan: clean"
else
  rc=$?
  echo "self-scan: FAILED (exit $rc): the repository contains findings; see above" >&2
  exit 1
fi
