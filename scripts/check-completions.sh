#!/usr/bin/env bash
# Shell completions and man pages, checked by the programs that read them: installs zsh, fish
# and mandoc with apt when they are missing, then
#   - runs the completion test, which syntax-checks each script with its shell (bash -n,
#     zsh -n, fish --no-execute; without this script only bash is there);
#   - lints every man page with mandoc (`-T lint`): errors fail. Warnings are printed, not
#     fatal: clap_mangen writes no date into .TH and a .br next to each .sp, which mandoc
#     notes and every man viewer renders fine.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/tools.sh

apt_tool zsh
apt_tool fish
apt_tool mandoc
tools_ready

echo "== completions: bash, zsh, fish"
cargo test --quiet --test it ci_formats::completions_are_valid_scripts_for_each_shell

echo "== man pages: mandoc -T lint"
source scripts/lib/bin.sh
debug_bin
pages=$(mktemp -d)
trap 'rm -rf "$pages"' EXIT
"$bin" man --dir "$pages"
n=0
for page in "$pages"/*.1; do
  mandoc -T lint -W warning "$page" || true
  mandoc -T lint -W error "$page"
  n=$((n + 1))
done
[ "$n" -ge 9 ] || {
  echo "check-completions: expected a page per command, got $n" >&2
  exit 1
}
echo "check-completions: completions parse in bash, zsh and fish; $n man pages lint without errors"
