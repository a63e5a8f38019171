"""Fine-tuning data: grouped 4x4 grid tiles (the authors' FixedObj1BatchSampler, reference-code-spec §8).

A *group* fixes (obj1, cell1, obj2): obj1 = the question's subject at cell1, obj2 = the reference object, drawn at
each of the 15 other cells (15 tiles, object sides drawn from the grid tasks' sizes 10/12/14/16 px). Every tile gives
a left/right item when the columns differ ("Is the obj1 to the left or right of the obj2?", answer "left" iff obj1's
column is smaller) and an above/below item when the rows differ (answer "above" iff obj1's row is smaller), as the
authors' data loader does; a group therefore has 24 items (12 + 12). Objects: the 36 training objects (the 6
held-out objects never appear, as in the toy's training relation questions), so held-out evaluation asks about
unseen objects like the authors' COCO evaluation does.

Images come from the scene engine (tools/finetune/render_tiles.mjs -> src/data/grid.ts gridTile); the items are
cached as a shard folder (images.u8, meta.jsonl, info.json; read with tools.toy.data.Shard) under tools/toy/shards/
(ignored by git).
"""
from __future__ import annotations

import json
import os
import subprocess

import numpy as np

from tools.toy.data import REPO, SHARD_ROOT, Shard

SIZES = [10, 12, 14, 16]  # gridObjectSizes(64): 0.625, 0.75, 0.875, 1.0 of the 16-px cell


def train_objects() -> list[str]:
    out = subprocess.run(["node", "-e", "const o=require('./src/dist/data/objects.js');"
                          "console.log(JSON.stringify(o.TRAIN_OBJECTS))"], cwd=REPO, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def group_specs(n_groups: int, seed: int, objects: list[str]) -> tuple[list[dict], list[dict]]:
    """(tile specifications for render_tiles.mjs, item metadata), seeded."""
    rng = np.random.default_rng(seed)
    specs, items = [], []
    for g in range(n_groups):
        i1, i2 = rng.choice(len(objects), 2, replace=False)
        s, r = objects[i1], objects[i2]
        c1 = int(rng.integers(16))
        x1, y1 = c1 % 4, c1 // 4
        for c2 in range(16):
            if c2 == c1:
                continue
            x2, y2 = c2 % 4, c2 // 4
            tile = len(specs)
            specs.append({"a": r, "b": s, "cellA": [x2, y2], "cellB": [x1, y1],
                          "size": int(rng.choice(SIZES)), "sizeB": int(rng.choice(SIZES))})
            base = {"group": g, "tile": tile, "objects": [s, r], "cells": [[x1, y1], [x2, y2]]}
            if x1 != x2:
                items.append({**base, "task": "ft-grid-lr", "kind": "lr",
                              "question": f"Is the {s} to the left or right of the {r}?",
                              "answer": "left" if x1 < x2 else "right"})
            if y1 != y2:
                items.append({**base, "task": "ft-grid-ab", "kind": "ab",
                              "question": f"Is the {s} above or below the {r}?",
                              "answer": "above" if y1 < y2 else "below"})
    return specs, items


def grouped_shard(n_groups: int, seed: int) -> Shard:
    """The grouped item set as a Shard (rendered on first use, then reused)."""
    out = os.path.join(SHARD_ROOT, f"ft-grouped-g{n_groups}-s{seed}")
    if not (os.path.exists(os.path.join(out, "info.json")) and os.path.exists(os.path.join(out, "meta.jsonl"))):
        os.makedirs(out, exist_ok=True)
        objects = train_objects()
        specs, items = group_specs(n_groups, seed, objects)
        spec_path = os.path.join(out, "specs.json")
        json.dump(specs, open(spec_path, "w"))
        tiles = os.path.join(out, "tiles.u8")
        subprocess.run(["node", os.path.join(REPO, "tools", "finetune", "render_tiles.mjs"), spec_path, tiles],
                       cwd=REPO, check=True)
        t = np.fromfile(tiles, np.uint8).reshape(len(specs), 64, 64, 3)
        t[[it["tile"] for it in items]].tofile(os.path.join(out, "images.u8"))
        os.unlink(tiles)
        with open(os.path.join(out, "meta.jsonl"), "w") as f:
            for it in items:
                f.write(json.dumps(it) + "\n")
        json.dump({"task": "ft-grouped", "n": len(items), "height": 64, "width": 64, "frames": 1,
                   "groups": n_groups, "seed": seed, "objects_train": objects}, open(os.path.join(out, "info.json"), "w"))
    return Shard.load(out)


def group_index(shard: Shard) -> list[np.ndarray]:
    """Item indices of each group, in group order."""
    g = np.array([m["group"] for m in shard.meta])
    return [np.nonzero(g == k)[0] for k in range(int(g.max()) + 1)]


def batch_plan(groups: list[np.ndarray], steps: int, batch: int, seed: int, grouped: bool) -> list[np.ndarray]:
    """Item indices of every step. grouped: step t takes `batch` items of group t (without replacement; the
    authors' sampler: all items of a batch share (obj1, cell1, obj2)); otherwise `batch` items drawn uniformly from
    all items (the authors' baseline: random shuffled batches). Seeded, so the two grouped runs see identical
    batches in identical order."""
    rng = np.random.default_rng(seed)
    if grouped:
        assert steps <= len(groups), f"{steps} steps need {steps} groups, have {len(groups)}"
        return [np.sort(rng.choice(groups[t], min(batch, len(groups[t])), replace=False)) for t in range(steps)]
    everything = np.concatenate(groups)
    perm = rng.permutation(everything)
    need = steps * batch
    while len(perm) < need:
        perm = np.concatenate([perm, rng.permutation(everything)])
    return [np.sort(perm[t * batch:(t + 1) * batch]) for t in range(steps)]
