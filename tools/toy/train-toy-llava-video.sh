#!/usr/bin/env bash
# The toy-llava-video run (seeded; resumable: rerun the script and it continues from
# tools/toy/runs/toy-llava-video/last.pt). Shards (video-appear, video-order: 20,000 train clips each, seed 1000;
# 1,000 held-out clips, seed 1001; grid-what 40,000 scenes for the object words) are generated on first use into
# tools/toy/shards/ (~2 GB per video task; ignored by git).
#   stage 0 (200 steps): pooled frame tokens name the objects in their quadrant (clip frames + grid scenes, all 42
#            object words) and, at hidden_states[2] (logit lens), every video token names its frame word f0..f7;
#   stage 1: video-appear + video-order (answer loss) + binding loss at hidden_states[4]: each object word of the
#            question names the frame word of its object's first frame; stage-0 losses kept (0.2 / 0.5).
#   AdamW lr 1e-3 constant after 100 warm-up steps, cosine to 5e-5 from step 2000 to 3000 (the session ran steps
#   0-2000 with --steps 6000 and no decay, then resumed at 2000 with the decay: identical up to step 2000), batch 64 clips (+32 grid scenes), HF checkpoints every 250 steps.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv-tools/bin/python}
STOP=${STOP:-3000}
# glibc: keep freed activation buffers instead of returning them to the OS every step (~7 % faster here)
export MALLOC_MMAP_THRESHOLD_=${MALLOC_MMAP_THRESHOLD_:-33554432} MALLOC_TRIM_THRESHOLD_=${MALLOC_TRIM_THRESHOLD_:-4294967296}
"$PY" -m tools.toy.video.train --name toy-llava-video --seed 0 --n-train 20000 --stage0 200 --steps 6000 \
  --tasks video-appear:0.5,video-order:0.5 --grid-task grid-what --grid-frames 32 \
  --aux-weight 0.2 --frame-weight 0.5 --frame-layer 2 --bind-weight 1.0 --bind-layer 4 \
  --lr 1e-3 --decay-from 2000 --decay-steps 1000 --batch 64 --save-every 250 --eval-every 250 --eval-n 300 --threads 2 --resume --stop-at "$STOP"
echo "toy-llava-video: stopped at step $STOP; ship with: python -m tools.toy.video.ship tools/toy/runs/toy-llava-video/ckpt-N"
