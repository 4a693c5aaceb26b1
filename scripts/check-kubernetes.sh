#!/usr/bin/env bash
# Validates the Kubernetes manifests under deploy/kubernetes/ (the Indexed Job of an
# organisation sweep, its ConfigMap and the merge Job) against the Kubernetes API schemas,
# strictly (an unknown field is an error), offline: kubernetes-validate (PyPI, installed by
# scripts/lib/tools.sh) ships the schemas of each Kubernetes version. It is first shown a
# broken Job and must reject it, so a validator that checks nothing cannot pass.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/tools.sh

py_tool kubernetes-validate==1.37.0
tools_ready

bad=$(mktemp -d)
trap 'rm -rf "$bad"' EXIT
cat >"$bad/job.yaml" <<'YAML'
apiVersion: batch/v1
kind: Job
metadata:
  name: broken
spec:
  completionMode: Indexed
  completions: four
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: sweep
          imagee: rust:1-bookworm
YAML

echo "== kubernetes-validate rejects a broken Job"
if kubernetes-validate --strict --quiet "$bad/job.yaml" >/dev/null 2>&1; then
  echo "check-kubernetes: kubernetes-validate accepted a broken Job" >&2
  exit 1
fi

echo "== kubernetes-validate --strict deploy/kubernetes"
kubernetes-validate --strict deploy/kubernetes/*.yaml
count=$(find deploy/kubernetes -name '*.yaml' | wc -l)
# Every manifest is one of these kinds, and the sweep is an Indexed Job.
grep -q '^  completionMode: Indexed' deploy/kubernetes/sweep-job.yaml
grep -q 'JOB_COMPLETION_INDEX' deploy/kubernetes/sweep-job.yaml
echo "check-kubernetes: $count manifest(s) valid"
