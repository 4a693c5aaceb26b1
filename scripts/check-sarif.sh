#!/usr/bin/env bash
# Validates the SARIF that applivery-leaks writes with Microsoft's SARIF Multitool, using
# the SARIF spec rules and GitHub code scanning's ingestion rules (--rule-kind "Sarif;Gh").
# Fails on ANY error or warning; notes are printed but allowed.
#
# Installs its own tools: the multitool from the npm registry into target/sarif-tool (a
# self-contained .NET binary; no runtime download at run time). Needs cargo, npm and node.
#
#   scripts/check-sarif.sh            # build, generate samples, validate
#   KEEP=1 scripts/check-sarif.sh     # keep the samples and validator logs (path printed)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
MULTITOOL_VERSION=${SARIF_MULTITOOL_VERSION:-5.7.0}
TOOL_DIR=$ROOT/target/sarif-tool
PKG_DIR=$TOOL_DIR/node_modules/@microsoft/sarif-multitool-linux
MT=$PKG_DIR/Sarif.Multitool

# The multitool is a .NET single-file app; without libicu it must run in invariant mode.
export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1
export DOTNET_CLI_TELEMETRY_OPTOUT=1

installed_version() {
    node -e 'try{console.log(require(process.argv[1]).version)}catch(e){}' "$PKG_DIR/package.json"
}

if [[ ! -f $MT || "$(installed_version)" != "$MULTITOOL_VERSION" ]]; then
    echo "check-sarif: installing @microsoft/sarif-multitool-linux@$MULTITOOL_VERSION"
    mkdir -p "$TOOL_DIR"
    npm install --prefix "$TOOL_DIR" --no-audit --no-fund --loglevel=error \
        "@microsoft/sarif-multitool-linux@$MULTITOOL_VERSION" >/dev/null
fi
# npm may skip the package's postinstall (which only sets the executable bit).
chmod u+x "$MT"
"$MT" --version >/dev/null 2>&1
# CI_INSTALL_ONLY=1: installs only (.ci/run does that for every check while it compiles).
[[ -z ${CI_INSTALL_ONLY:-} ]] || exit 0

source scripts/lib/bin.sh
debug_bin
BIN=$bin

WORK=$(mktemp -d)
if [[ -z ${KEEP:-} ]]; then
    trap 'rm -rf "$WORK"' EXIT
fi
SAMPLES=$WORK/samples
mkdir -p "$SAMPLES"

# A fake, correctly shaped token: 24 base64url characters with upper, lower case and digits.
fake_token() {
    local t
    while :; do
        t=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
        if [[ $t =~ [A-Z] && $t =~ [a-z] && $t =~ [0-9] && ! $t =~ [-_] ]]; then
            echo "$t"
            return
        fi
    done
}

# A small tree with findings in awkward places, a binary, a file over the size limit and
# an input that cannot be read.
TREE=$WORK/tree
mkdir -p "$TREE/dir with space" "$TREE/ñandú" "$TREE/.github/workflows" "$TREE/big"
printf 'APPLIVERY_APP_TOKEN=%s\n' "$(fake_token)" >"$TREE/.env"
printf 'applivery:\n  token: "%s"\n' "$(fake_token)" >"$TREE/dir with space/ci #1%.yml"
printf 'lane :beta do\n  applivery(app_token: "%s")\nend\n' "$(fake_token)" >"$TREE/ñandú/Fastfile"
cat >"$TREE/.github/workflows/upload.yml" <<EOF
jobs:
  upload:
    steps:
      - run: |
          curl -H "Authorization: Bearer $(fake_token)" \\
            https://upload.applivery.io/v1/integrations/builds
EOF
printf '\x89PNG\0\0applivery\n' >"$TREE/logo.png"
{ printf 'APPLIVERY_APP_TOKEN=%s\n' "$(fake_token)"; head -c 20000 /dev/zero | tr '\0' 'x'; } >"$TREE/big/huge.txt"
ln -s "$TREE/nowhere" "$TREE/dangling.env"

scan() { # name, then arguments; exit 1 (findings) and 2 (unread inputs) are expected
    local name=$1
    shift
    local rc=0
    "$@" >"$SAMPLES/$name.sarif" 2>"$WORK/$name.stderr" || rc=$?
    if [[ $rc -gt 2 ]]; then
        echo "check-sarif: $name: applivery-leaks exited $rc" >&2
        cat "$WORK/$name.stderr" >&2
        exit 1
    fi
}

scan dir "$BIN" dir "$TREE" --no-config --format sarif --max-file-size 10000
(cd "$TREE" && scan dir-unreadable "$BIN" dir . dangling.env --no-config --format sarif --max-file-size 10000)
# Inputs outside the scan root are reported with absolute file: URIs.
scan dir-absolute "$BIN" dir "$TREE/.env" "$TREE/ñandú" --no-config --format sarif
scan dir-clean "$BIN" dir "$TREE/dir with space" --no-config --format sarif --exclude '*.yml'
printf 'APPLIVERY_APP_TOKEN=%s\n' "$(fake_token)" |
    scan stdin "$BIN" stdin --no-config --format sarif
scan dir-show-secrets "$BIN" dir "$TREE" --no-config --format sarif --show-secrets

# Archive members: an APK holding a zip, each member a nested artifact (parentIndex) and
# every result pointing at the outer file.
ARCH=$WORK/archives
mkdir -p "$ARCH/build"
python3 - "$ARCH/build/app-release.apk" "$(fake_token)" "$(fake_token)" <<'PY'
import io, sys, zipfile
inner = io.BytesIO()
with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("assets/applivery.json", '{"appliveryToken": "%s"}\n' % sys.argv[2])
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("res/raw/config.env", "APPLIVERY_APP_TOKEN=%s\n" % sys.argv[3])
    z.writestr("lib/bundle.zip", inner.getvalue())
PY
scan dir-archive "$BIN" dir "$ARCH" --no-config --format sarif
if ! grep -q '"parentIndex"' "$SAMPLES/dir-archive.sarif"; then
    echo "check-sarif: the archive sample has no nested artifacts" >&2
    exit 1
fi

# History scans, once the `git` command exists.
if "$BIN" git --help >/dev/null 2>&1; then
    REPO=$WORK/repo
    git init -q "$REPO"
    printf 'APPLIVERY_APP_TOKEN=%s\n' "$(fake_token)" >"$REPO/.env"
    git -C "$REPO" add .env
    git -C "$REPO" -c user.name=ci -c user.email=ci@example.invalid commit -qm "add env"
    git -C "$REPO" rm -q .env
    git -C "$REPO" -c user.name=ci -c user.email=ci@example.invalid commit -qm "remove env"
    scan git "$BIN" git "$REPO" --no-config --format sarif
    if grep -qi "not implemented" "$WORK/git.stderr"; then
        echo "check-sarif: 'git' is not implemented yet; skipping the history sample"
        rm -f "$SAMPLES/git.sarif"
    fi
fi

# The shapes the binary cannot produce yet (git provenance, verification): the unit test
# writes them out when asked.
APPLIVERY_LEAKS_SARIF_SAMPLES=$SAMPLES cargo test --quiet --lib report::sarif >/dev/null

# Self-tests: broken logs must be caught, or the counting below proves nothing. A missing
# required property is reported as an error (JSON1002). A log the multitool cannot
# deserialize at all (an unknown enum value) is silently skipped, with no diagnostics:
# hence the rule below that every sample must draw at least one diagnostic (every log we
# write draws notes such as SARIF2002 or SARIF2003).
node -e '
const fs = require("fs");
const log = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
delete log.runs[0].tool.driver.name;
fs.writeFileSync(process.argv[2], JSON.stringify(log));
log.runs[0].tool.driver.name = "applivery-leaks";
log.runs[0].results[0].level = "fatal";
fs.writeFileSync(process.argv[3], JSON.stringify(log));
' "$SAMPLES/dir.sarif" "$WORK/broken-schema.sarif" "$WORK/broken-enum.sarif"

# Runs the validator on one file; prints "errors warnings notes" on the last line.
validate() {
    local file=$1 out=$2
    local rc=0
    "$MT" validate --log ForceOverwrite --rule-kind "Sarif;Gh" --level "Error;Warning;Note" \
        --output "$out" "$file" >"$out.console" 2>&1 || rc=$?
    if [[ ! -s $out ]]; then
        echo "check-sarif: the validator wrote no log for $file (exit $rc)" >&2
        cat "$out.console" >&2
        exit 1
    fi
    # shellcheck disable=SC2016 # JavaScript in single quotes: ${...} is its template syntax
    node -e '
const log = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const n = { error: 0, warning: 0, note: 0 };
for (const run of log.runs || []) {
  for (const r of run.results || []) {
    const level = r.level || "warning";
    n[level] = (n[level] || 0) + 1;
    if (level !== "note" && level !== "none") {
      const m = r.message || {};
      console.log(`  ${level} ${r.ruleId}: ${m.text || (m.arguments || []).join(" | ")}`);
    }
  }
  for (const inv of run.invocations || []) {
    for (const x of [...(inv.toolExecutionNotifications || []), ...(inv.toolConfigurationNotifications || [])]) {
      if ((x.level || "warning") === "error") {
        n.error++;
        console.log(`  validator error: ${(x.message || {}).text}`);
      }
    }
    if (inv.executionSuccessful === false) {
      n.error++;
      console.log("  validator: execution not successful");
    }
  }
}
console.log(`${n.error} ${n.warning} ${n.note}`);
' "$out"
}

read -r e w n <<<"$(validate "$WORK/broken-schema.sarif" "$WORK/broken-schema.validation.sarif" | tail -n 1)"
if [[ $e -eq 0 ]]; then
    echo "check-sarif: self-test failed: no error for a log without tool.driver.name" >&2
    exit 1
fi
read -r e w n <<<"$(validate "$WORK/broken-enum.sarif" "$WORK/broken-enum.validation.sarif" | tail -n 1)"
if [[ $((e + w + n)) -ne 0 ]]; then
    echo "check-sarif: note: the validator now reports unreadable logs ($e error(s)); the silence rule below is still kept"
fi

total_e=0 total_w=0 total_n=0 count=0
for f in "$SAMPLES"/*.sarif; do
    name=$(basename "$f" .sarif)
    result=$(validate "$f" "$WORK/$name.validation.sarif")
    read -r e w n <<<"$(tail -n 1 <<<"$result")"
    echo "check-sarif: $name.sarif: $e error(s), $w warning(s), $n note(s)"
    sed '$d' <<<"$result"
    if [[ $((e + w + n)) -eq 0 ]]; then
        echo "  error: no diagnostics at all: the validator could not read this log" >&2
        e=1
    fi
    total_e=$((total_e + e)) total_w=$((total_w + w)) total_n=$((total_n + n))
    count=$((count + 1))
done

echo "check-sarif: $count file(s): $total_e error(s), $total_w warning(s), $total_n note(s)" \
    "(Sarif.Multitool $MULTITOOL_VERSION validate --rule-kind \"Sarif;Gh\")"
if [[ -n ${KEEP:-} ]]; then
    echo "check-sarif: samples and validator logs kept in $WORK"
fi
if [[ $total_e -ne 0 || $total_w -ne 0 ]]; then
    exit 1
fi
