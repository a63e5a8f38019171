#!/usr/bin/env bash
# The spatial-ID fine-tuning runs of tools/README.md ("Spatial-ID fine-tuning"), sequentially, niced, on 2 threads:
#   control        grouped batches (15 items sharing obj1, its cell, obj2), CE only
#   spatial        the same batches in the same order, CE + 1 x L_sid at hidden_states[4]
#   control-random the authors' baseline: random batches, CE only
# With EXTRA=1 also: control and spatial at seed 1 on other groups (a replicate), and spatial with L_sid at
# hidden_states[1] (where the start model's L_sid is 0.76, like the paper's starting 0.75).
# Curves go to tools/finetune/results/<run>.csv, weights to tools/toy/runs/sidft-<run>/final (ignored by git);
# ship with `python -m tools.finetune.ship control` / `... spatial`.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv-tools/bin/python}
node tools/finetune/universal_ids.mjs toy-llava-zoo-1000
COMMON="--steps ${STEPS:-1000} --eval-every ${EVAL_EVERY:-100} --threads ${THREADS:-2}"
RUNS=(${ONLY:-control spatial control-random})
if [ "${EXTRA:-0}" = 1 ]; then
  RUNS+=("control --seed 1 --data-seed 2100 --suffix=-seed1" "spatial --seed 1 --data-seed 2100 --suffix=-seed1"
         "spatial --layer 1 --suffix=-layer1")
fi
for spec in "${RUNS[@]}"; do
  nice -n 10 "$PY" -m tools.finetune.train --run $spec $COMMON 2>&1 | grep --line-buffered -v torchvision
done
