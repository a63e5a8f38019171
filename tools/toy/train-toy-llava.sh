#!/usr/bin/env bash
# The main toy-llava run (recipe v2, seeded; resumable: rerun the script and it continues from
# tools/toy/runs/toy-llava/last.pt). One segment:
#   stage 0 (300 steps): image tokens name their cell's object and their own column/row word;
#   stage 1: every task from the start (grid relations weighted up), lr 1e-3 constant to step 7000, then cosine to
#            5e-5 at step 10000, plus the *binding loss*:
#            at the residual stream after decoder block 3 each object word of the question names its object's
#            column and row word (tools/README.md, "Model and recipe"). Zoo members are its checkpoints.
# Recipe v1 (no binding loss, cosine lr; relations stayed at chance for 6000 steps) is described in tools/README.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv-tools/bin/python}
STOP=${STOP:-10000}
MIX="grid-lr:0.2,grid-ab:0.2,grid-where-col:0.07,grid-where-row:0.07,grid-what:0.06,clutter-lr:0.08,clutter-ab:0.08,nearfar:0.08,inbetween:0.08,frontbehind:0.08"
"$PY" -m tools.toy.train --name toy-llava --seed 0 --n-train 40000 --stage0 300 --steps1 20000 --const-lr \
  --tasks1 "$MIX" --tasks2 "$MIX" --pos-weight 0.5 --bind-weight 1.0 --bind-layer 4 \
  --decay-from 7000 --decay-steps 3000 \
  --save-every 500 --eval-every 250 --eval-n 300 --threads 2 --resume --stop-at "$STOP"
echo "toy-llava: stopped at step $STOP; ship with: python -m tools.toy.ship tools/toy/runs/toy-llava/ckpt-N toy-llava"
