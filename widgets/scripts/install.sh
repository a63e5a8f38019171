#!/usr/bin/env bash
# Builds linmech's JupyterLab widget extension and installs it into the project venv (.venv), only when the widget
# sources changed (a hash of them is kept in $STAMPS_DIR/widgets). Called at the end of scripts/bootstrap.sh:
#   bash widgets/scripts/install.sh STAMPS_DIR [QUIET=0|1]
# Steps: tsc (widgets/lib) → webpack standalone bundle (lib/static/linmech-widgets.js, used for static PNGs) →
# @jupyterlab/builder (widgets/labextension) → copy to .venv/share/jupyter/labextensions/@linmech/widgets.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$(pwd)"
STAMPS="${1:-$ROOT/.cache/bootstrap}"
QUIET="${2:-0}"
say() { [ "$QUIET" = 1 ] || echo "[widgets] $*"; }
die() { echo "[widgets] ERROR: $*" >&2; exit 1; }

VENV="$ROOT/.venv"
DEST="$VENV/share/jupyter/labextensions/@linmech/widgets"
BIN="$ROOT/node_modules/.bin"
[ -x "$VENV/bin/python" ] || die "$VENV is missing: run bash scripts/bootstrap.sh (it creates the Jupyter venv first)."
[ -x "$BIN/tsc" ] && [ -x "$BIN/webpack" ] || die "node_modules lacks tsc/webpack: run npm ci (bash scripts/bootstrap.sh does)."
[ -f "$ROOT/node_modules/@jupyterlab/builder/lib/build-labextension.js" ] \
  || die "@jupyterlab/builder is not installed: run npm ci (bash scripts/bootstrap.sh does)."
mkdir -p "$STAMPS"

# Inputs of the build: sources, styles, build configs, this script, and the installed versions of what gets bundled.
inputs() {
  find widgets/src widgets/spec widgets/style -type f \( -name '*.ts' -o -name '*.css' -o -name 'package.json' \) -not -path '*/dist/*' | LC_ALL=C sort
  echo widgets/package.json widgets/tsconfig.json widgets/webpack.static.js widgets/scripts/install.sh
  echo node_modules/plotly.js-dist-min/package.json node_modules/@jupyterlab/builder/package.json
}
# shellcheck disable=SC2046
hash="$(cat $(inputs) | sha256sum | cut -c1-16)"
built_ok() { [ -f widgets/labextension/package.json ] && [ -f widgets/lib/static/linmech-widgets.js ]; }
installed_ok() { [ -f "$DEST/package.json" ] && cmp -s widgets/labextension/package.json "$DEST/package.json"; }

if [ -f "$STAMPS/widgets" ] && [ "$(cat "$STAMPS/widgets")" = "$hash" ] && built_ok; then
  say "JupyterLab extension: sources unchanged, build is current"
else
  say "JupyterLab extension: compiling TypeScript (widgets/tsconfig.json → widgets/lib)"
  rm -rf widgets/lib
  "$BIN/tsc" -p widgets/tsconfig.json || die "TypeScript errors in widgets/ (see above)."
  say "JupyterLab extension: bundling the standalone renderer (widgets/lib/static/linmech-widgets.js)"
  "$BIN/webpack" --config widgets/webpack.static.js --no-stats >/dev/null || die "webpack failed for widgets/webpack.static.js; re-run: node_modules/.bin/webpack --config widgets/webpack.static.js"
  CORE="$("$VENV/bin/python" -c 'import jupyterlab, os; print(os.path.join(os.path.dirname(jupyterlab.__file__), "staging"))')" \
    || die "cannot import jupyterlab from $VENV (re-run bash scripts/bootstrap.sh)."
  [ -f "$CORE/package.json" ] || die "JupyterLab's core metadata $CORE/package.json is missing; reinstall jupyterlab in $VENV."
  say "JupyterLab extension: building with @jupyterlab/builder (about 2 minutes on 2 cores)"
  rm -rf widgets/labextension
  log="$(mktemp)"
  if ! node "$ROOT/node_modules/@jupyterlab/builder/lib/build-labextension.js" --core-path "$CORE" widgets >"$log" 2>&1; then
    cat "$log" >&2; rm -f "$log"
    die "the labextension build failed (output above)."
  fi
  [ "$QUIET" = 1 ] || grep -E "compiled|ERROR" "$log" | sed 's/^/[widgets]   /' || true
  rm -f "$log"
  built_ok || die "the build finished but widgets/labextension/package.json or lib/static/linmech-widgets.js is missing."
  echo "$hash" > "$STAMPS/widgets"
fi

if installed_ok && diff -rq widgets/labextension "$DEST" >/dev/null 2>&1; then
  say "JupyterLab extension: installed in $DEST"
else
  say "JupyterLab extension: installing into $DEST"
  rm -rf "$DEST"
  mkdir -p "$(dirname "$DEST")"
  cp -r widgets/labextension "$DEST" || die "could not copy widgets/labextension to $DEST."
fi
