#!/usr/bin/env bash
# The clean-up loop for real (tests/it/remediate.rs): a repository with tokens on several
# branches, a tag, a merged branch and a pull-request ref is swept, `remediate` writes the
# pack, git filter-repo (installed with pip) rewrites the history from the pack's
# replace-text.txt, and a second sweep and `recheck` find nothing. `cargo test` alone skips
# the rewrite where git-filter-repo is not installed; here a missing one fails.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/tools.sh

py_tool git-filter-repo==2.47.0
git filter-repo --version >/dev/null
tools_ready
APPLIVERY_LEAKS_REQUIRE_FILTER_REPO=1 cargo test --quiet --test it remediate:: 2>&1 | tail -5
echo "check-remediation: git-filter-repo 2.47.0 (git filter-repo --version: $(git filter-repo --version)) rewrote the history from the pack; the second sweep and recheck found nothing"
