#!/usr/bin/env bash
# `npm run lab`: JupyterLab from the project venv on notebooks/, with the linmech-ts kernel and the widget extension
# (both installed by scripts/bootstrap.sh, which npm runs first). Extra arguments go to `jupyter lab`.
# Jupyter refuses to start as root unless told; containers (Binder-like images, CI shells) often run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
args=(--notebook-dir=notebooks)
if [ "$(id -u)" = 0 ]; then args+=(--allow-root); fi
exec .venv/bin/jupyter lab "${args[@]}" "$@"
