#!/usr/bin/env bash
# Renders the incident report (`--format html`) in headless Chromium, as a browser would,
# and asserts on what it shows: the summary and the token rows, the exposure map (refs and
# tip flags) and the links to the clean-up pack, hostile markup from a repository shown as
# text (never run), and the page's own self-test of sorting and filtering (the page at
# #selftest clicks its headers and filters, then writes the result). The pack's own page
# (`remediate`) is rendered and checked too.
# Chromium comes from Debian's packages (apt; scripts/lib/tools.sh). Nothing is fetched by
# the page: its Content-Security-Policy forbids it, and Chromium runs without a network
# profile.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/tools.sh

apt_tool chromium chromium
tools_ready

source scripts/lib/bin.sh
debug_bin
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
# The exposure map: a tag and a branch at the commit that holds the token, a pull-request
# ref, and a newer commit on main that no longer holds it.
git_in "$work/app-ios" Ada tag v1
git_in "$work/app-ios" Ada branch release
git_in "$work/app-ios" Ada update-ref refs/pull/3/head HEAD
# The placeholder is written literally: a reference, not the token.
# shellcheck disable=SC2016
printf 'APPLIVERY_APP_TOKEN=${APPLIVERY_APP_TOKEN}\n' >"$work/app-ios/.env"
git_in "$work/app-ios" Ada commit -qam "ci: read the token from the environment"
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
  local profile page=${2:-$work/incident.html}
  profile=$(mktemp -d)
  timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --user-data-dir="$profile" \
    --dump-dom "file://$page$1" 2>/dev/null
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
# The exposure map: one block per token, the refs of each with their tip flags.
[ "$(grep -o '<div class="exp" ' <<<"$dom" | wc -l)" = 2 ] || fail "expected an exposure map block per token"
for ref in 'refs/tags/v1" data-tip="1"' 'refs/heads/release" data-tip="1"' 'refs/pull/3/head" data-tip="1"' 'refs/heads/main" data-tip="0"' 'refs/heads/main" data-tip="1"'; do
  grep -q "<tr data-ref=\"$ref>" <<<"$dom" || fail "exposure map: no row <tr data-ref=\"$ref>"
done
[ "$(grep -o '<tr data-ref=' <<<"$dom" | wc -l)" = 6 ] || fail "expected 6 ref rows (4 in app-ios, 1 in app-android, 1 in evil)"
grep -q '(forge-owned)' <<<"$dom" || fail "the pull-request ref is not marked as the forge's"
# The page links the clean-up pack, and the pack's own page (written by remediate) too.
grep -q '<a href="remediation/revoke.md">' <<<"$dom" || fail "the report does not link the pack"
"$bin" git "$work/app-ios" -q --format json --output "$work/ios.json" || [ $? = 1 ]
"$bin" remediate "$work/ios.json" --repo "$work/app-ios" --out "$work/remediation" -q 2>/dev/null
[ "$(stat -c %a "$work/remediation/replace-text.txt")" = 600 ] || fail "replace-text.txt is not mode 0600"
dom=$(render '#selftest' "$work/remediation/incident.html")
grep -q 'selftest: pass' <<<"$dom" || fail "the pack's page: self-test did not pass"
for f in revoke.md purge.md recheck.sh; do
  grep -q "<a href=\"$f\">" <<<"$dom" || fail "the pack's page does not link $f"
  [ -f "$work/remediation/$f" ] || fail "the pack has no $f"
done
grep -q "$shared" <<<"$dom" && fail "the full token is in the pack's page"
echo "check-html-report: rendered in $(chromium --version 2>/dev/null | head -1); self-test passed, markup inert"
