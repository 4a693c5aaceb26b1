#!/usr/bin/env bash
# Checks .pre-commit-hooks.yaml for real, with the pre-commit framework:
#  1. installs pre-commit into a virtualenv under target/ (once; reused afterwards);
#  2. snapshots this checkout (tracked and untracked files, so uncommitted work is tested)
#     into a git repository with a fixed commit date, so the same content gives the same rev
#     and pre-commit reuses the hook it already built;
#  3. in a fresh temporary repository whose .pre-commit-config.yaml points at that snapshot,
#     installs the hook (`language: rust`: pre-commit runs `cargo install --path .`), then
#     checks that a commit adding a generated token is rejected with the explanation, that
#     the token is not printed, and that a clean commit goes through;
#  4. does the same with the `applivery-leaks-system` hook and the binary of `cargo build`.
#
# Speed: the hook is compiled into target/pre-commit/cargo-target (incremental across runs),
# with a cheap release profile, offline from the local crate cache (fill it with `cargo
# build` or `cargo test` first). Set PRE_COMMIT_CHECK_ONLINE=1 to let cargo use the network.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
work=$root/target/pre-commit
venv=$work/venv
mkdir -p "$work"

say() { printf '== %s\n' "$*"; }
ok() { printf '   ok: %s\n' "$*"; }
die() {
  printf 'FAIL: %s\n' "$*" >&2
  exit 1
}

# Git must not read the developer's config (hooks paths, signing, templates) nor a hook's env.
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME=check GIT_AUTHOR_EMAIL=check@example.com
export GIT_COMMITTER_NAME=check GIT_COMMITTER_EMAIL=check@example.com
unset GIT_DIR GIT_INDEX_FILE GIT_WORK_TREE
export PRE_COMMIT_HOME=$work/cache
export CARGO_TARGET_DIR=$work/cargo-target
# The hook's behaviour does not depend on optimisation; its build time does.
export CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_OPT_LEVEL=0
export CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_DEBUG=0
if [ "${PRE_COMMIT_CHECK_ONLINE:-0}" != 1 ]; then
  export CARGO_NET_OFFLINE=true
fi

say "pre-commit in $venv"
if [ ! -x "$venv/bin/pre-commit" ]; then
  if python3 -m venv "$venv" 2>/dev/null; then
    "$venv/bin/pip" install --quiet --disable-pip-version-check pre-commit
  else
    # No venv module (Debian without python3-venv): install into a plain directory.
    rm -rf "$venv"
    python3 -m pip install --quiet --disable-pip-version-check --target "$work/pylib" pre-commit
    mkdir -p "$venv/bin"
    printf '#!/bin/sh\nexec python3 -m pre_commit "$@"\n' >"$venv/bin/pre-commit"
    chmod +x "$venv/bin/pre-commit"
  fi
fi
if [ -d "$work/pylib" ]; then
  export PYTHONPATH=$work/pylib${PYTHONPATH:+:$PYTHONPATH}
fi
export PATH=$venv/bin:$PATH
ok "$(pre-commit --version)"

say "snapshot of this checkout"
snap=$work/hooks-repo
rm -rf "$snap"
mkdir -p "$snap"
(cd "$root" && git ls-files -z -co --exclude-standard |
  tar --null --ignore-failed-read -T - -cf - 2>/dev/null) | tar -xf - -C "$snap"
[ -f "$snap/.pre-commit-hooks.yaml" ] || die ".pre-commit-hooks.yaml missing from the checkout"
(
  cd "$snap"
  git init -q -b main
  git add -A
  GIT_AUTHOR_DATE=2000-01-01T00:00:00Z GIT_COMMITTER_DATE=2000-01-01T00:00:00Z \
    git commit -q --no-verify -m snapshot
)
rev=$(git -C "$snap" rev-parse HEAD)
ok "$snap at $rev"

# A correctly shaped, random, never-real token.
token=$(python3 -c '
import secrets, string
a = string.ascii_letters + string.digits
while True:
    t = "".join(secrets.choice(a) for _ in range(24))
    if any(c.isupper() for c in t) and any(c.islower() for c in t) and any(c.isdigit() for c in t):
        print(t); break')

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# check_hook HOOK_ID: a fresh repository using HOOK_ID; a leaking commit is rejected, a
# clean one accepted.
check_hook() {
  local id=$1 repo=$tmp/$1 out
  say "hook $id"
  mkdir -p "$repo"
  cd "$repo"
  git init -q -b main
  cat >.pre-commit-config.yaml <<EOF
repos:
  - repo: $snap
    rev: $rev
    hooks:
      - id: $id
EOF
  git add .pre-commit-config.yaml
  git commit -q --no-verify -m "pre-commit config"
  pre-commit install >/dev/null
  local started=$SECONDS
  if ! out=$(pre-commit install-hooks 2>&1); then
    printf '%s\n' "$out" >&2
    die "$id: pre-commit could not install the hook"
  fi
  ok "hook installed ($((SECONDS - started)) s)"

  printf 'DEBUG=1\n' >.env
  git add .env
  if ! out=$(git commit -q -m "clean .env" 2>&1); then
    printf '%s\n' "$out" >&2
    die "$id: a clean commit was rejected"
  fi
  ok "clean commit accepted"

  printf 'DEBUG=1\nAPPLIVERY_APP_TOKEN=%s\n' "$token" >.env
  git add .env
  if out=$(git commit -q -m "leak" 2>&1); then
    printf '%s\n' "$out" >&2
    die "$id: a commit adding a token was accepted"
  fi
  for want in "commit blocked" ".env:2" "CI secret" "revoke" "applivery-leaks:allow" "--no-verify"; do
    grep -qF -- "$want" <<<"$out" || {
      printf '%s\n' "$out" >&2
      die "$id: rejection message lacks '$want'"
    }
  done
  if grep -qF -- "$token" <<<"$out"; then
    die "$id: the token was printed"
  fi
  [ "$(git rev-list --count HEAD)" = 2 ] || die "$id: the leaking commit was recorded"
  ok "commit adding a token rejected with the explanation, token redacted"

  # A clean change on top of the (unstaged) leak still goes through.
  git reset -q
  printf 'LOG=info\n' >log.env
  git add log.env
  if ! out=$(git commit -q -m "another clean change" 2>&1); then
    printf '%s\n' "$out" >&2
    die "$id: a clean commit was rejected while a token sat unstaged in the working tree"
  fi
  ok "clean commit accepted with a token left unstaged"
  cd "$root"
}

check_hook applivery-leaks

bin_dir=$root/target/debug
if [ ! -x "$bin_dir/applivery-leaks" ]; then
  say "cargo build (for the system hook)"
  (cd "$root" && CARGO_TARGET_DIR=$root/target cargo build --quiet)
fi
PATH=$bin_dir:$PATH check_hook applivery-leaks-system

# Drop hook environments no config uses any more (the build cache stays in cargo-target),
# and pre-commit's saved copies of unstaged changes, which hold the generated token.
pre-commit gc >/dev/null
rm -f "$PRE_COMMIT_HOME"/patch*
say "pre-commit hooks: all checks passed"
