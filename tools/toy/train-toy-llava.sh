#!/usr/bin/env bash
# The main toy-llava run exactly as trained for the shipped bundle (seeded; resumable: rerun the script and it
# continues from tools/toy/runs/toy-llava/last.pt). Three segments, because the recipe was changed twice while the
# run was watched (tools/README.md, "What happened"):
#   steps    0-1000  stage 0 (300 steps) + stage 1, no position loss, stage-1 cosine horizon 5000
#   steps 1000-2750  + position loss (image tokens name their column/row word), horizon 3200
#   steps 2750-4000  stage-1 mix also holds the other relation tasks at 5 % each, horizon 4300; stopped at 4000
#   steps 4000-6000  lr raised again (horizon 9000), more weight on grid relations; stopped at 6000 (relations still at chance; the shipped bundle is ckpt-4000)
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv-tools/bin/python}
COMMON=(--name toy-llava --seed 0 --n-train 40000 --stage0 300 --lr2 5e-4 --steps2 1500 --save-every 500 --eval-every 250 --eval-n 300 --threads 2 --resume)
last=tools/toy/runs/toy-llava/last.pt
step() { "$PY" -c "import torch,sys; print(torch.load(sys.argv[1], weights_only=False)['step'])" "$last" 2>/dev/null || echo 0; }
[ "$(step)" -lt 1000 ] && "$PY" -m tools.toy.train "${COMMON[@]}" --steps1 5000 --steps2 2500 --pos-weight 0 --stop-at 1000
[ "$(step)" -lt 2750 ] && "$PY" -m tools.toy.train "${COMMON[@]}" --steps1 3200 --pos-weight 0.5 --stop-at 2750
MIX="grid-lr:0.2,grid-ab:0.2,grid-where-col:0.1,grid-where-row:0.1,grid-what:0.15,clutter-lr:0.05,clutter-ab:0.05,nearfar:0.05,inbetween:0.05,frontbehind:0.05"
[ "$(step)" -lt 4000 ] && "$PY" -m tools.toy.train "${COMMON[@]}" --steps1 4300 --pos-weight 0.5 --tasks1 "$MIX" --stop-at 4000
MIX4="grid-lr:0.25,grid-ab:0.25,grid-where-col:0.12,grid-where-row:0.12,grid-what:0.06,clutter-lr:0.04,clutter-ab:0.04,nearfar:0.04,inbetween:0.04,frontbehind:0.04"
[ "$(step)" -lt 6000 ] && "$PY" -m tools.toy.train "${COMMON[@]}" --steps1 9000 --pos-weight 0.5 --tasks1 "$MIX4" --stop-at 6000 --save-every 250
echo "toy-llava: at step $(step); bundle: python -m tools.toy.ship tools/toy/runs/toy-llava/ckpt-4000 toy-llava"
