#!/usr/bin/env bash
# Checks the pre-commit hooks for real, with the pre-commit framework, using the configs
# docs/staged.md gives users — as written, so a broken example fails here:
#  1. installs pre-commit into a virtualenv under target/ (once; reused afterwards);
#  2. snapshots this checkout (tracked and untracked files, so uncommitted work is tested)
#     into a git repository with a fixed commit date, so the same content gives the same rev
#     and pre-commit reuses the hook it already built;
#  3. the documented `repo: local` config, verbatim, with the debug binary on
#     PATH (as `cargo install` would put it);
#  4. the documented remote config with only its `repo:` URL pointed at the snapshot, then
#     `pre-commit autoupdate --freeze` as the docs say (it must pin a commit id), which
#     builds the `applivery-leaks` hook from source (`cargo install --path .`);
#  5. the `applivery-leaks-system` hook of .pre-commit-hooks.yaml.
# Each time, in a fresh repository: a commit adding a generated token is rejected with the
# explanation and without the token, and clean commits go through.
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
# CI_INSTALL_ONLY=1: installs only (.ci/run does that for every check while it compiles).
[ -z "${CI_INSTALL_ONLY:-}" ] || exit 0

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

# doc_block PATTERN: the first yaml block of docs/staged.md that contains PATTERN.
doc_block() {
  python3 - "$root/docs/staged.md" "$1" <<'EOF'
import sys
text = open(sys.argv[1]).read()
for block in text.split("```yaml")[1:]:
    block = block.split("```")[0].lstrip("\n")
    if sys.argv[2] in block:
        sys.stdout.write(block)
        break
else:
    sys.exit("no yaml block with %r in docs/staged.md" % sys.argv[2])
EOF
}

# check_hook NAME CONFIG [autoupdate]: a fresh repository with CONFIG as its
# .pre-commit-config.yaml; a leaking commit is rejected, clean ones accepted.
check_hook() {
  local id=$1 config=$2 autoupdate=${3:-} repo=$tmp/$1 out
  say "hook $id"
  mkdir -p "$repo"
  cd "$repo"
  git init -q -b main
  printf '%s\n' "$config" >.pre-commit-config.yaml
  if [ -n "$autoupdate" ]; then
    if ! out=$(pre-commit autoupdate --freeze 2>&1); then
      printf '%s\n' "$out" >&2
      die "$id: pre-commit autoupdate --freeze failed"
    fi
    grep -qE "^ *rev: [0-9a-f]{40}( |$)" .pre-commit-config.yaml || {
      cat .pre-commit-config.yaml >&2
      die "$id: autoupdate --freeze did not pin a commit id"
    }
    grep -qF "rev: $rev" .pre-commit-config.yaml || die "$id: pinned another commit than $rev"
    ok "autoupdate --freeze pinned rev to ${rev:0:12}"
  fi
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

# The binary the tests ran (scripts/lib/bin.sh), current: a no-op after `cargo test`.
say "debug build (for the hooks that run an installed binary)"
(cd "$root" && source scripts/lib/bin.sh && CARGO_TARGET_DIR=$root/target debug_bin)
bin_dir=$root/target/debug

PATH=$bin_dir:$PATH check_hook docs-local "$(doc_block 'repo: local')"

remote=$(doc_block 'rev:' | sed -E "s|^( *- repo: ).*|\1$snap|")
check_hook docs-remote "$remote" autoupdate

PATH=$bin_dir:$PATH check_hook applivery-leaks-system "repos:
  - repo: $snap
    rev: $rev
    hooks:
      - id: applivery-leaks-system"

# Drop hook environments no config uses any more (the build cache stays in cargo-target),
# and pre-commit's saved copies of unstaged changes, which hold the generated token.
pre-commit gc >/dev/null
rm -f "$PRE_COMMIT_HOME"/patch*
say "pre-commit hooks: all checks passed"
