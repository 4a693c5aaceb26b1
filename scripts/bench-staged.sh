#!/usr/bin/env bash
# Benchmark (not a test, not run by CI): how long `applivery-leaks staged` takes on a commit
# touching 10 files, in synthetic repositories of different sizes and history lengths, and
# the bare startup cost (`applivery-leaks stdin < /dev/null`). Prints milliseconds.
#
#   scripts/bench-staged.sh [FILES...]        default: 10000 100000
#
# Each repository is built with `git fast-import` (deterministic content: source-like text in
# directories of 100 files, HISTORY commits that each touch a few files), checked out, and
# then 10 files are changed and `git add`ed: 8 modified in different directories, 1 added,
# 1 deleted. Two cases are timed: a clean change (exit 0, the common case) and the same
# change with a token on one added line (exit 1: the diff against HEAD runs too).
# Uses hyperfine if installed (`apt-get install -y hyperfine`), else a plain loop.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(10000 100000)
history=${HISTORY:-2000}
work=${BENCH_DIR:-$root/target/bench-staged}
mkdir -p "$work"

export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
unset GIT_DIR GIT_INDEX_FILE GIT_WORK_TREE

echo "== cargo build --release"
(cd "$root" && cargo build --release --quiet)
bin=$root/target/release/applivery-leaks

# time_ms NAME CMD...: mean wall time in ms of CMD (run in the current directory).
time_ms() {
  local name=$1
  shift
  if command -v hyperfine >/dev/null; then
    hyperfine --shell=none --ignore-failure --warmup 5 --runs 40 --style none \
      --export-json "$work/h.json" -- "$(printf '%q ' "$@")" >/dev/null 2>&1
    python3 - "$name" "$work/h.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[2]))["results"][0]
t = sorted(r["times"])
print(f"  {sys.argv[1]:<44} mean {r['mean']*1e3:7.2f} ms  median {r['median']*1e3:7.2f} ms"
      f"  min {t[0]*1e3:7.2f} ms  max {t[-1]*1e3:7.2f} ms")
EOF
  else
    local s e n=40
    s=$(date +%s%N)
    for _ in $(seq $n); do "$@" >/dev/null 2>&1 || true; done
    e=$(date +%s%N)
    printf '  %-44s mean %7.2f ms\n' "$name" "$(echo "($e - $s) / $n / 1000000" | bc -l)"
  fi
}

echo "== startup"
cd "$work"
time_ms "applivery-leaks stdin < /dev/null" sh -c "'$bin' stdin < /dev/null"
time_ms "sh -c true (process spawn floor)" sh -c true
time_ms "applivery-leaks --version" "$bin" --version

for n in "${sizes[@]}"; do
  repo=$work/repo-$n-h$history
  if [ ! -f "$repo/.built" ]; then
    echo "== building $repo: $n files, $history commits"
    rm -rf "$repo"
    git init -q -b main "$repo"
    python3 - "$n" "$history" <<'EOF' | git -C "$repo" fast-import --quiet
import random, sys
n, history = int(sys.argv[1]), int(sys.argv[2])
rnd = random.Random(42)
words = ("let value config request response handler build upload token_count release "
         "version channel status error result items index buffer module service").split()
def body(i, rev=0):
    lines = [f"// file {i} revision {rev}"]
    for k in range(rnd.randint(8, 40)):
        lines.append(" ".join(rnd.choice(words) for _ in range(rnd.randint(3, 10))) + ";")
    return ("\n".join(lines) + "\n").encode()
def path(i):
    return f"src/d{i // 10000:02d}/m{(i // 100) % 100:02d}/f{i % 100:02d}.rs"
out = sys.stdout.buffer
def blob(data):
    out.write(b"blob\ndata %d\n" % len(data) + data + b"\n")
t = 1_600_000_000
def commit(msg, files, first):
    global t
    t += 60
    out.write(b"commit refs/heads/main\n")
    out.write(b"committer Bench <bench@example.com> %d +0000\n" % t)
    m = msg.encode()
    out.write(b"data %d\n%s\n" % (len(m), m))
    for p, data in files:
        out.write(b"M 100644 inline %s\ndata %d\n" % (p.encode(), len(data)) + data + b"\n")
commit("initial", [(path(i), body(i)) for i in range(n)], True)
for c in range(1, history):
    touched = [rnd.randrange(n) for _ in range(3)]
    commit(f"change {c}", [(path(i), body(i, c)) for i in touched], False)
EOF
    git -C "$repo" reset -q --hard
    touch "$repo/.built"
  fi
  cd "$repo"
  git reset -q --hard
  git clean -qfd
  files=$(git ls-files | wc -l)
  commits=$(git rev-list --count HEAD)
  index_kib=$(($(stat -c %s .git/index) / 1024))
  echo "== $files files, $commits commits, index $index_kib KiB"

  # 8 modified files in different directories, 1 added, 1 deleted.
  git ls-files >"$work/files.txt"
  for k in 0 1 2 3 4 5 6 7; do
    f=$(sed -n "$((k * (files / 8) + 1))p" "$work/files.txt")
    printf 'let extra_%d = compute(config);\n' "$k" >>"$f"
    git add "$f"
  done
  printf 'fn added() {}\n' >src/added.rs
  git add src/added.rs
  git rm -q "$(sed -n 2p "$work/files.txt")"
  echo "  staged: $(git diff --cached --name-only | wc -l) files"
  time_ms "staged, clean change (exit 0)" "$bin" staged --quiet
  # What a hook sees: git exports GIT_INDEX_FILE to every pre-commit hook.
  time_ms "  same, with GIT_INDEX_FILE as in a hook" env GIT_INDEX_FILE=.git/index "$bin" staged --quiet
  time_ms "git diff --cached --quiet (reference)" git diff --cached --quiet

  # The same change, with a token on one added line: exit 1 and a diff against HEAD.
  printf '// applivery\nconst APPLIVERY_APP_TOKEN: &str = "Q7xVb2LmN7wQe4RtY6uAzk3P";\n' >>src/added.rs # fake token, applivery-leaks:allow
  f=$(sed -n "$((files / 2))p" "$work/files.txt")
  printf 'applivery_token = "Zk3qP9xVb2LmN7wQe4RtY6uA"\n' >>"$f" # fake token, applivery-leaks:allow
  git add src/added.rs "$f"
  "$bin" staged --quiet >/dev/null && { echo "expected findings" >&2; exit 1; }
  time_ms "staged, change with 2 tokens (exit 1)" "$bin" staged --quiet
  git reset -q --hard
done
