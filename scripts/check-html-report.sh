#!/usr/bin/env bash
# Renders the incident report (`--format html`) in headless Chromium, as a browser would,
# and asserts on what it shows: the summary and the token rows, hostile markup from a
# repository shown as text (never run), and the page's own self-test of sorting and
# filtering (the page at #selftest clicks its headers and filters, then writes the result).
# Chromium comes from Debian's packages (apt; scripts/lib/tools.sh). Nothing is fetched by
# the page: its Content-Security-Policy forbids it, and Chromium runs without a network
# profile.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/tools.sh

apt_tool chromium chromium

cargo build --quiet --bin applivery-leaks
bin=$PWD/target/debug/applivery-leaks
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Three repositories: one token shared by two of them (one row), a second token, and a
# hostile repository whose path, author and commit message carry markup.
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
git_in() { git -C "$1" -c user.name="$2" -c user.email=dev@example.com -c commit.gpgsign=false "${@:3}"; }
shared=$(printf 'Aq%s' "$(head -c 200 /dev/urandom | tr -dc 'A-Za-z0-9' | head -c 22)")
other=$(printf 'Bz%s' "$(head -c 200 /dev/urandom | tr -dc 'A-Za-z0-9' | head -c 22)")
for r in app-ios app-android evil; do git init -q -b main "$work/$r"; done
printf 'APPLIVERY_APP_TOKEN=%s\n' "$shared" >"$work/app-ios/.env"
git_in "$work/app-ios" Ada add -A && git_in "$work/app-ios" Ada commit -qm "ci: add token"
mkdir -p "$work/app-android/fastlane"
printf 'APPLIVERY_APP_TOKEN=%s\n' "$shared" >"$work/app-android/fastlane/.env"
git_in "$work/app-android" Bob add -A && git_in "$work/app-android" Bob commit -qm "fastlane"
printf 'APPLIVERY_APP_TOKEN=%s\n' "$other" >"$work/evil/<img src=x onerror=document.title='PWNED'>.env"
git_in "$work/evil" 'Eve"><script>document.title="PWNED"</script>' add -A
git_in "$work/evil" 'Eve"><script>document.title="PWNED"</script>' commit -qm '<b onmouseover=alert(1)>x</b>'

set +e
"$bin" git "$work/app-ios" "$work/app-android" "$work/evil" -q --format html --output "$work/incident.html"
rc=$?
set -e
[ "$rc" = 1 ] || { echo "check-html-report: expected exit 1 (findings), got $rc" >&2; exit 1; }

render() {
  local profile
  profile=$(mktemp -d)
  timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --user-data-dir="$profile" \
    --dump-dom "file://$work/incident.html$1" 2>/dev/null
  rm -rf "$profile"
}
dom=$(render '#selftest')
fail() { echo "check-html-report: $1" >&2; echo "$dom" | head -c 4000 >&2; exit 1; }

grep -q 'selftest: pass' <<<"$dom" || fail "the page's self-test did not pass"
[ "$(grep -oE '(^|>)ok   ' <<<"$dom" | wc -l)" = 7 ] || fail "the self-test did not run its 7 checks"
grep -q '<title>Applivery token incident report</title>' <<<"$dom" || fail "a script changed the title: injected code ran"
grep -q 'PWNED' <<<"$dom" && ! grep -q '&lt;img src=x onerror=document.title=' <<<"$dom" && fail "hostile path not shown as text"
grep -q '&lt;img src=x onerror=document.title=' <<<"$dom" || fail "the hostile path is missing"
grep -q '<img' <<<"$dom" && fail "an <img> element was created from a path"
[ "$(grep -o '<tr data-status=' <<<"$dom" | wc -l)" = 2 ] || fail "expected 2 token rows (one shared by two repositories)"
grep -q '2 of 3 swept\|3 of 3 swept' <<<"$dom" || fail "the summary does not count repositories"
grep -q "${shared:0:4}…" <<<"$dom" || fail "the redacted token is missing"
grep -q "$shared" <<<"$dom" && fail "the full token is in the page without --show-secrets"
echo "check-html-report: rendered in $(chromium --version 2>/dev/null | head -1); self-test passed, markup inert"
