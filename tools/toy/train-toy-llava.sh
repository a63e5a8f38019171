#!/usr/bin/env bash
# The main toy-llava run, exactly as trained (seeded; resumable: rerun the script and it continues from
# tools/toy/runs/toy-llava/last.pt). Two segments: the recipe gained the position loss at step 1000 (tools/README.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv-tools/bin/python}
COMMON=(--name toy-llava --seed 0 --n-train 40000 --stage0 300 --lr2 5e-4 --save-every 500 --eval-every 250 --eval-n 300 --threads 2)
step=$("$PY" -c "import torch,sys; print(torch.load(sys.argv[1], weights_only=False)['step'])" tools/toy/runs/toy-llava/last.pt 2>/dev/null || echo 0)
if [ "$step" -lt 1000 ]; then
  # segment 1: steps 0..1000 without the position loss (stage-1 cosine horizon 5000)
  "$PY" -m tools.toy.train "${COMMON[@]}" --resume --steps1 5000 --steps2 2500 --pos-weight 0 --stop-at 1000
fi
# segment 2: position loss on, shorter horizons (stage 1 ends by step 3500, stage 2 runs 1500 steps)
"$PY" -m tools.toy.train "${COMMON[@]}" --resume --steps1 3200 --steps2 1500 --pos-weight 0.5
