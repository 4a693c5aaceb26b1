#!/usr/bin/env bash
# The scan step of the GitHub Action (action.yml): turns the action's inputs into one
# applivery-leaks command, runs it, and publishes the report path and the findings count as
# step outputs. It is a script rather than inline YAML so that the test suite runs exactly
# what the action runs (tests/it/ci.rs), on a real repository.
#
# Inputs come from the environment (never interpolated into the script, so a branch name or a
# PR title cannot inject shell code): INPUT_COMMAND, INPUT_PATH, INPUT_SINCE, INPUT_ARGS,
# INPUT_FAIL_ON, INPUT_FORMAT, and PR_BASE (the base commit of a pull_request event).
# APPLIVERY_LEAKS names the binary (default: applivery-leaks on PATH).
# Exit code: the scanner's (0 clean, 1 findings, 2 error), so the step fails closed.
set -euo pipefail

command=${INPUT_COMMAND:-dir}
path=${INPUT_PATH:-.}
since=${INPUT_SINCE:-}
format=${INPUT_FORMAT:-github}
fail_on=${INPUT_FAIL_ON:-any}
bin=${APPLIVERY_LEAKS:-applivery-leaks}

die() {
  echo "::error title=applivery-leaks action::$*"
  exit 2
}

case $command in dir | git | staged) ;; *) die "command must be dir, git or staged, not '$command'" ;; esac
case $format in text | json | jsonl | sarif | github | gitlab) ;; *) die "unknown format '$format'" ;; esac
case $fail_on in any | live) ;; *) die "fail-on must be any or live, not '$fail_on'" ;; esac

args=("$command" "$path" --format "$format" --fail-on "$fail_on")
if [[ $command == git ]]; then
  # A pull request scans only what its commits add. `--range BASE..HEAD` rather than
  # `--since BASE`: --since walks every ref, and a full clone holds every branch of the
  # repository, so someone else's branch would fail this pull request.
  if [[ -z $since && -n ${PR_BASE:-} ]]; then
    since=$PR_BASE
  fi
  if [[ -n $since ]]; then
    args+=(--range "$since..HEAD")
  fi
elif [[ -n $since ]]; then
  die "since applies to the git command only"
fi
# Extra arguments are split on whitespace (no quoting): flags such as --verify or --exclude GLOB.
if [[ -n ${INPUT_ARGS:-} ]]; then
  read -r -a extra <<<"$INPUT_ARGS"
  args+=("${extra[@]}")
fi
# fail-on: live judges only verified findings, so it implies --verify (without it nothing is
# live and the step would always pass; the scanner refuses that combination).
if [[ $fail_on == live && " ${args[*]} " != *" --verify "* ]]; then
  args+=(--verify)
fi

out_dir=${RUNNER_TEMP:-${TMPDIR:-/tmp}}/applivery-leaks
mkdir -p "$out_dir"
case $format in
  sarif) ext=sarif ;;
  json | gitlab) ext=json ;;
  jsonl) ext=jsonl ;;
  *) ext=txt ;;
esac
report=$out_dir/report.$ext

echo "applivery-leaks ${args[*]}"
set +e
"$bin" "${args[@]}" --output "$report"
code=$?
set -e

# Annotations must reach the log to become annotations; text is for people reading the log.
if [[ ($format == github || $format == text) && -f $report ]]; then
  cat "$report"
fi

# python3 is on every hosted runner (jq is not on every self-hosted one).
count_json() {
  python3 -c '
import json, sys
doc = json.load(open(sys.argv[2]))
n = {"json": lambda d: len(d["findings"]),
     "gitlab": lambda d: len(d["vulnerabilities"]),
     "sarif": lambda d: sum(len(r.get("results", [])) for r in d["runs"])}[sys.argv[1]](doc)
print(n)' "$1" "$2"
}

findings=
if [[ -f $report ]]; then
  case $format in
    json | gitlab | sarif) findings=$(count_json "$format" "$report") ;;
    jsonl) findings=$(grep -c . "$report" || true) ;;
    github | text) findings=$(sed -n 's/^\(applivery-leaks: \)\{0,1\}\([0-9][0-9]*\) finding(s).*/\2/p' "$report" | tail -n 1) ;;
  esac
fi

if [[ -n ${GITHUB_OUTPUT:-} ]]; then
  {
    echo "report=$report"
    echo "findings=$findings"
    echo "exit-code=$code"
  } >>"$GITHUB_OUTPUT"
fi
exit "$code"
