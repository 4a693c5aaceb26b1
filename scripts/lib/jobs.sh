# shellcheck shell=bash
# Named background jobs for .ci/run: each job's output goes to its own log; waiting for a job
# prints its log under its name with its exit code and times, and remembers a failure. A
# failed job never stops the others (their logs are still printed), but `jobs_finish` exits 1
# when any job failed, naming each.
#
#   source scripts/lib/jobs.sh
#   job NAME COMMAND [ARG ...]   # start COMMAND (a program or a function) in the background
#   job NAME --after "A B" COMMAND [ARG ...]   # the same, COMMAND once jobs A and B succeeded
#   job_wait NAME                # wait for it, print its log; returns its exit code
#   job_after NAME ...           # inside a job: wait for other jobs; fail if one failed
#   jobs_finish                  # wait for every job left; print a table; exit 1 on a failure
#
# COMMAND runs in a subshell with `set -euo pipefail`, like the caller.

jobs_log=${JOBS_LOG:-$(mktemp -d)}
mkdir -p "$jobs_log"
declare -A job_pid=() job_started=() job_rc=() job_wall=() job_cpu=()
job_order=()
jobs_failed=()
jobs_t0=$SECONDS

# Seconds of CPU (user + system) used by what a job ran, from the `times` it wrote on exit
# (its second line: "XmY.YYYs XmY.YYYs", the children's user and system time).
_jobs_cpu() {
  sed -n '2s/[ms]/ /gp' "$1" | awk '{ printf "%.0f", $1 * 60 + $2 + $3 * 60 + $4 }'
}

job() {
  local name=$1 after=
  shift
  if [ "$1" = --after ]; then
    after=$2
    shift 2
  fi
  [ -z "${job_pid[$name]:-}" ] || {
    echo "jobs: $name started twice" >&2
    return 1
  }
  # An async subshell, not `cmd || rc=$?`: errexit stays in force inside COMMAND (bash
  # ignores it in functions called on the left of || or &&). The EXIT trap records the
  # job's wall time and the CPU time of what it ran, whatever way it ends.
  (
    set -euo pipefail
    # shellcheck disable=SC2034 # read by the EXIT trap
    start=$SECONDS
    trap 'echo $? >"$jobs_log/$name.rc"; echo "$((SECONDS - start))" >"$jobs_log/$name.wall"; times >"$jobs_log/$name.times"' EXIT
    if [ -n "$after" ]; then
      local -a deps
      read -ra deps <<<"$after"
      job_after "${deps[@]}"
    fi
    "$@"
  ) >"$jobs_log/$name.log" 2>&1 &
  job_pid[$name]=$!
  job_started[$name]=$((SECONDS - jobs_t0))
  job_order+=("$name")
  printf '== %s: started at %d s\n' "$name" "${job_started[$name]}"
}

# Inside a job: blocks until each named job has ended (its exit code is on disk), and
# fails, naming it, if one failed; so a job can start at once and wait for its inputs.
job_after() {
  local other rc
  for other in "$@"; do
    [ -n "${job_pid[$other]:-}" ] || {
      echo "jobs: no job named $other was started before this one" >&2
      return 1
    }
    while [ ! -s "$jobs_log/$other.rc" ]; do
      sleep 0.5
    done
    rc=$(cat "$jobs_log/$other.rc")
    [ "$rc" = 0 ] || {
      echo "needs $other, which failed (exit $rc)"
      return 1
    }
  done
}

job_wait() {
  local name=$1 rc=0 wall cpu
  [ -n "${job_pid[$name]:-}" ] || {
    echo "jobs: no job named $name" >&2
    return 1
  }
  if [ -n "${job_rc[$name]:-}" ]; then
    return "${job_rc[$name]}"
  fi
  wait "${job_pid[$name]}" || rc=$?
  wall=$(cat "$jobs_log/$name.wall" 2>/dev/null || echo '?')
  cpu=$(_jobs_cpu "$jobs_log/$name.times" 2>/dev/null || echo '?')
  job_rc[$name]=$rc job_wall[$name]=$wall job_cpu[$name]=$cpu
  printf '\n== %s (exit %d, %s s wall, %s s CPU, started at %d s) ' "$name" "$rc" "$wall" "$cpu" "${job_started[$name]}"
  printf '%s\n' "------------------------------------------------------------"
  cat "$jobs_log/$name.log"
  if [ "$rc" != 0 ]; then
    jobs_failed+=("$name")
    printf '== %s FAILED (exit %d)\n' "$name" "$rc"
  fi
  return "$rc"
}

# Every job not waited for yet, in the order they end; then the table and the verdict.
jobs_finish() {
  local name wall cpu=0 pending=1
  while [ "$pending" = 1 ]; do
    pending=0
    for name in "${job_order[@]}"; do
      [ -z "${job_rc[$name]:-}" ] || continue
      pending=1
      if ! kill -0 "${job_pid[$name]}" 2>/dev/null; then
        job_wait "$name" || true
      fi
    done
    [ "$pending" = 0 ] || sleep 0.2
  done
  printf '\n== summary (%d s in all)\n' "$((SECONDS - jobs_t0))"
  printf '%-14s %6s %6s %6s %6s %5s\n' job start end wall cpu exit
  for name in "${job_order[@]}"; do
    wall=${job_wall[$name]}
    printf '%-14s %6s %6s %6s %6s %5s\n' "$name" "${job_started[$name]}" \
      "$((${job_started[$name]} + ${wall//\?/0}))" "$wall" "${job_cpu[$name]}" "${job_rc[$name]}"
    cpu=$((cpu + ${job_cpu[$name]//\?/0}))
  done
  printf 'CPU time of all jobs: %d s (user + system)\n' "$cpu"
  if [ ${#jobs_failed[@]} -gt 0 ]; then
    echo "FAILED: ${jobs_failed[*]}" >&2
    return 1
  fi
}
