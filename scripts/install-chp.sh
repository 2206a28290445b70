#!/usr/bin/env bash
# Install configurable-http-proxy (JupyterHub's proxy) from the npm registry into a project cache
# directory, not globally: $IPYNB_TOOLS_CACHE/chp, else ${XDG_CACHE_HOME:-~/.cache}/ipynb-tools/chp.
# Prints the path of the configurable-http-proxy executable. Does nothing when it is already there.
# Needs node and npm (scripts/install-system-deps.sh installs npm). CHP 5 needs node >= 20;
# with an older node, CHP 4 is installed. Override the version with CHP_VERSION.
set -euo pipefail
cache="${IPYNB_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ipynb-tools}"
dir="$cache/chp"
bin="$dir/node_modules/.bin/configurable-http-proxy"
if [ -x "$bin" ] && "$bin" --version >/dev/null 2>&1; then
  echo "$bin"
  exit 0
fi
command -v npm >/dev/null || { echo "install-chp: npm is not installed (run scripts/install-system-deps.sh)" >&2; exit 1; }
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ -z "${CHP_VERSION:-}" ]; then
  if [ "$node_major" -ge 20 ]; then CHP_VERSION=5.3.0; else CHP_VERSION=4.6.3; fi
fi
mkdir -p "$dir"
exec 9>"$dir.lock"
flock 9
if ! { [ -x "$bin" ] && "$bin" --version >/dev/null 2>&1; }; then
  echo "install-chp: installing configurable-http-proxy@$CHP_VERSION into $dir" >&2
  npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "configurable-http-proxy@$CHP_VERSION" >&2
fi
"$bin" --version >/dev/null
echo "$bin"
