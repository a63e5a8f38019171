"""Scene shards written by the TypeScript scene engine (src/data, `node src/dist/cli/shards.js`).

The trainer never draws scenes itself: it only reads shards produced by the one scene engine the
experiments use, and tokenizes their questions with the toy tokenizer.
"""
from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass

import numpy as np

from .build import IMAGE, N_IMAGE_TOKENS, prompt_text, words_of

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SHARD_CLI = os.path.join(REPO, "src", "dist", "cli", "shards.js")
SHARD_ROOT = os.environ.get("TOY_SHARDS", os.path.join(REPO, "tools", "toy", "shards"))


def shard_dir(task: str, split: str, n: int, seed: int) -> str:
    return os.path.join(SHARD_ROOT, f"{task}-{split}-n{n}-s{seed}")


def generate(task: str, split: str, n: int, seed: int, size: int = 64) -> str:
    """Run the scene engine's CLI once; reuse the shard if it is already complete."""
    out = shard_dir(task, split, n, seed)
    if os.path.exists(os.path.join(out, "info.json")) and os.path.exists(os.path.join(out, "meta.jsonl")):
        return out
    os.makedirs(out, exist_ok=True)
    cmd = ["node", SHARD_CLI, "--task", task, "--n", str(n), "--seed", str(seed), "--out", out,
           "--size", str(size), "--split", split]
    subprocess.run(cmd, check=True)
    return out


@dataclass
class Shard:
    task: str
    info: dict
    images: np.ndarray  # memmap uint8 [N,H,W,3]
    meta: list

    @staticmethod
    def load(path: str) -> "Shard":
        info = json.load(open(os.path.join(path, "info.json")))
        meta = [json.loads(line) for line in open(os.path.join(path, "meta.jsonl")) if line.strip()]
        n, h, w = info["n"], info["height"], info["width"]
        frames = info.get("frames") or 1
        shape = (n, h, w, 3) if frames in (0, 1) else (n, frames, h, w, 3)
        images = np.memmap(os.path.join(path, "images.u8"), dtype=np.uint8, mode="r", shape=shape)
        assert len(meta) == n, f"{path}: meta.jsonl has {len(meta)} lines, info.json says n={n}"
        return Shard(info["task"], info, images, meta)

    def words(self) -> set[str]:
        ws: set[str] = set()
        for m in self.meta:
            ws.update(words_of(m["question"]))
            ws.update(words_of(m["answer"]))
            for o in m.get("objects", []):
                ws.update(words_of(o if isinstance(o, str) else o.get("name", "")))
        for key in ("objects_train", "objects_heldout"):
            for o in self.info.get(key, []) or []:
                ws.update(words_of(o))
        return ws


class Encoded:
    """A shard tokenized for training: padded prompt ids (image token expanded), answer ids,
    per-cell vision targets (grid tasks)."""

    def __init__(self, shard: Shard, tokenizer, empty_id: int, grid: int = 4):
        self.shard = shard
        self.task = shard.task
        image_id = tokenizer.convert_tokens_to_ids(IMAGE)
        prompts = [prompt_text(m["question"]) for m in shard.meta]
        enc = tokenizer(prompts, add_special_tokens=True)["input_ids"]
        seqs = []
        for ids in enc:
            k = ids.index(image_id)
            seqs.append(ids[:k] + [image_id] * N_IMAGE_TOKENS + ids[k + 1:])
        self.lengths = np.array([len(s) for s in seqs], np.int64)
        L = int(self.lengths.max())
        self.ids = np.full((len(seqs), L), tokenizer.pad_token_id, np.int64)
        for i, s in enumerate(seqs):
            self.ids[i, :len(s)] = s
        ans = tokenizer([m["answer"] for m in shard.meta], add_special_tokens=False)["input_ids"]
        bad = [shard.meta[i]["answer"] for i, a in enumerate(ans) if len(a) != 1]
        assert not bad, f"{shard.task}: answers must be one token, got {bad[:5]}"
        self.answers = np.array([a[0] for a in ans], np.int64)
        unk = tokenizer.unk_token_id
        assert not (self.ids == unk).any() and not (self.answers == unk).any(), \
            f"{shard.task}: unknown words; rebuild the vocabulary from the shards"
        # vision targets: cell (col,row) -> object-name token, other cells -> "empty"
        self.cell_targets = None
        if shard.meta and "cells" in shard.meta[0] and shard.meta[0].get("cells") is not None \
                and shard.images.ndim == 4 and shard.info["height"] == grid * 16:
            t = np.full((len(shard.meta), grid * grid), empty_id, np.int64)
            for i, m in enumerate(shard.meta):
                for o, cell in zip(m["objects"], m["cells"]):
                    name = o if isinstance(o, str) else o["name"]
                    oid = tokenizer.convert_tokens_to_ids(name.lower())
                    col, row = cell
                    t[i, row * grid + col] = oid
            self.cell_targets = t

        # binding targets: where each object word of the question sits (last sub-token, as the paper reads it)
        # and that object's column/row (grid cell, or the 4x4 bin of its box centre in free-position scenes)
        self.obj_pos = np.full((len(shard.meta), 3), -1, np.int64)
        self.obj_col = np.zeros((len(shard.meta), 3), np.int64)
        self.obj_row = np.zeros((len(shard.meta), 3), np.int64)
        if shard.images.ndim == 4:
            h, w = shard.info["height"], shard.info["width"]
            for i, m in enumerate(shard.meta):
                seq = seqs[i]
                start = seq.index(image_id) + N_IMAGE_TOKENS
                names = [o if isinstance(o, str) else o["name"] for o in m.get("objects", [])]
                for j, name in enumerate(names[:3]):
                    wid = tokenizer.convert_tokens_to_ids(words_of(name)[-1])
                    hits = [k for k in range(start, len(seq)) if seq[k] == wid]
                    if not hits:
                        continue
                    if m.get("cells"):
                        col, row = m["cells"][j]
                    else:
                        x0, y0, x1, y1 = m["boxes"][j]
                        col = min(grid - 1, int((x0 + x1) / 2 / (w / grid)))
                        row = min(grid - 1, int((y0 + y1) / 2 / (h / grid)))
                    self.obj_pos[i, j], self.obj_col[i, j], self.obj_row[i, j] = hits[-1], col, row

    def __len__(self):
        return len(self.answers)

    def batch(self, idx: np.ndarray):
        L = int(self.lengths[idx].max())
        out = {"ids": self.ids[idx, :L], "ans_pos": self.lengths[idx] - 1, "answer": self.answers[idx],
               "images": np.asarray(self.shard.images[idx]),
               "obj_pos": self.obj_pos[idx], "obj_col": self.obj_col[idx], "obj_row": self.obj_row[idx]}
        if self.cell_targets is not None:
            out["cells"] = self.cell_targets[idx]
        return out
