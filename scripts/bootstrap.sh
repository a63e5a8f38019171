#!/usr/bin/env bash
# Idempotent set-up that every top-level script runs first. Each step is skipped when a stamp of its inputs
# (a hash of the files it depends on) says nothing changed, so a second run only checks and takes seconds.
#   bash scripts/bootstrap.sh [--tools] [--quiet]
#   --tools : also create .venv-tools (torch==2.13.0, transformers, onnx, ...) used by tools/ and their tests
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
STAMPS="$ROOT/.cache/bootstrap"
WANT_TOOLS=0; QUIET=0
for arg in "$@"; do
  case "$arg" in
    --tools) WANT_TOOLS=1 ;;
    --quiet) QUIET=1 ;;
    *) echo "bootstrap: unknown option '$arg' (use --tools and/or --quiet)" >&2; exit 2 ;;
  esac
done
say() { [ "$QUIET" = 1 ] || echo "[bootstrap] $*"; }
die() { echo "[bootstrap] ERROR: $*" >&2; exit 1; }

# --- prerequisites: one clear message each -------------------------------------------------------------------
NODE_BIN="${LINMECH_NODE:-node}"
PYTHON_BIN="${LINMECH_PYTHON:-python3}"
command -v "$NODE_BIN" >/dev/null 2>&1 || die "Node.js was not found. Install Node.js 20.19 or newer (https://nodejs.org or your package manager), then re-run."
node_version="$("$NODE_BIN" -p 'process.versions.node')"
node_major="${node_version%%.*}"; node_minor="$(echo "$node_version" | cut -d. -f2)"
if [ "$node_major" -lt 20 ] || { [ "$node_major" -eq 20 ] && [ "$node_minor" -lt 19 ]; }; then
  die "Node.js $node_version is too old. Install Node.js 20.19 or newer (linmech needs require() of ES modules), then re-run."
fi
command -v npm >/dev/null 2>&1 || die "npm was not found. Install npm (it ships with Node.js 20), then re-run."
command -v "$PYTHON_BIN" >/dev/null 2>&1 || die "python3 was not found. Install Python 3.11 (with venv and pip), then re-run."
"$PYTHON_BIN" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' \
  || die "$("$PYTHON_BIN" --version 2>&1) is too old. Install Python 3.11 (with venv and pip), then re-run."
"$PYTHON_BIN" -c 'import venv, ensurepip' 2>/dev/null \
  || die "Python's venv/ensurepip modules are missing. Install them (Debian: apt-get install python3-venv), then re-run."

mkdir -p "$STAMPS"
hash_of() { cat "$@" 2>/dev/null | sha256sum | cut -c1-16; }
fresh() { [ -f "$STAMPS/$1" ] && [ "$(cat "$STAMPS/$1")" = "$2" ]; }
mark() { echo "$2" > "$STAMPS/$1"; }

# --- npm workspaces ------------------------------------------------------------------------------------------
h="$(hash_of package.json package-lock.json src/package.json kernel-ext/package.json widgets/package.json .npmrc)"
if [ -d node_modules ] && fresh npm "$h"; then
  say "npm packages: up to date"
else
  say "npm packages: installing (npm ci)"
  npm ci --no-fund --no-audit --loglevel=error 2>&1 | grep -v 'onnxruntime-node-install' || true
  [ -d node_modules/onnxruntime-node ] || die "npm ci did not install onnxruntime-node; see the npm output above."
  "$NODE_BIN" -e 'require("onnxruntime-node"); require("sharp"); require("zeromq"); require("arquero")' \
    || die "a native npm package failed to load (onnxruntime-node, sharp, zeromq or arquero); see the error above."
  mark npm "$h"
fi

# --- TypeScript build (incremental: tsc -b does nothing when outputs are current) ------------------------------
say "TypeScript: building (tsc -b)"
node_modules/.bin/tsc -b || die "TypeScript build failed; fix the errors above."

# --- Python venvs ------------------------------------------------------------------------------------------------
make_venv() { # name requirements-file
  local dir="$1" req="$2" key="venv-$(basename "$1")" h
  h="$(hash_of "$req")"
  if [ -x "$dir/bin/python" ] && fresh "$key" "$h"; then say "$dir: up to date"; return; fi
  say "$dir: installing $req"
  [ -x "$dir/bin/python" ] || "$PYTHON_BIN" -m venv "$dir" || die "could not create $dir (python3 -m venv)."
  "$dir/bin/pip" install --disable-pip-version-check -q -r "$req" || die "pip install -r $req into $dir failed; see above."
  mark "$key" "$h"
}
make_venv .venv requirements.txt
[ "$WANT_TOOLS" = 1 ] && make_venv .venv-tools tools/requirements.txt

# --- tslab kernelspec inside the venv (absolute path, no global state) ------------------------------------------
KDIR=".venv/share/jupyter/kernels/linmech-ts"
spec="{\"argv\": [\"$ROOT/node_modules/.bin/tslab\", \"kernel\", \"--config-path\", \"{connection_file}\"], \"display_name\": \"TypeScript (linmech)\", \"language\": \"typescript\", \"env\": {\"NODE_PATH\": \"$ROOT/node_modules\"}}"
if [ -f "$KDIR/kernel.json" ] && [ "$(cat "$KDIR/kernel.json")" = "$spec" ]; then
  say "kernelspec linmech-ts: up to date"
else
  say "kernelspec linmech-ts: writing $KDIR/kernel.json"
  mkdir -p "$KDIR"; echo "$spec" > "$KDIR/kernel.json"
fi

# --- JupyterLab widget extension (built when its sources change) --------------------------------------------------
if [ -f widgets/scripts/install.sh ]; then bash widgets/scripts/install.sh "$STAMPS" "$QUIET"; fi
say "ready"
