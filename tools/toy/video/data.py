"""Video shards of the scene engine (video-appear, video-order: 8 frames of 64x64) tokenized for toy-llava-video,
plus grid-scene frames for the object-naming loss (grounding scenes use every object, held-out ones included, so
every object word gets aligned with what the vision tower sees).

Targets per clip:
  answer      the one-token answer (before / after);
  obj_pos     position of each object word of the question (last occurrence after the video tokens);
  obj_frame   the frame at which that object first appears (video-appear: `appear`, video-order: first frame of its
              scene) -> the binding loss names the frame word f0..f7;
  quad_obj    [8 frames, 4 pooled tokens, 2] the object-name token ids visible in each pooled token's quadrant of
              each frame (-1 = none), from the boxes' centres -> the object-naming loss.
"""
from __future__ import annotations

import numpy as np

from ..build import words_of
from ..data import Shard
from .build import FRAMES, IMAGE_SIZE, N_VIDEO_TOKENS, VIDEO, expand_video, prompt_text


def quad_of_box(box, size=IMAGE_SIZE) -> int:
    x0, y0, x1, y1 = box
    qx = min(1, int((x0 + x1) / 2 / (size / 2)))
    qy = min(1, int((y0 + y1) / 2 / (size / 2)))
    return qy * 2 + qx


def frames_present(m: dict, j: int) -> range:
    if "appear" in m:
        return range(int(m["appear"][j]), FRAMES)
    a, b = m["scene_frames"][j]
    return range(int(a), int(b) + 1)


class VideoEncoded:
    def __init__(self, shard: Shard, tokenizer):
        self.shard = shard
        self.task = shard.task
        assert shard.images.ndim == 5 and shard.images.shape[1] == FRAMES, f"{shard.task}: not an {FRAMES}-frame shard"
        vid = tokenizer.convert_tokens_to_ids(VIDEO)
        enc = tokenizer([prompt_text(m["question"]) for m in shard.meta], add_special_tokens=True)["input_ids"]
        seqs = [expand_video(ids, vid) for ids in enc]
        n = len(seqs)
        self.lengths = np.array([len(s) for s in seqs], np.int64)
        L = int(self.lengths.max())
        self.ids = np.full((n, L), tokenizer.pad_token_id, np.int64)
        for i, s in enumerate(seqs):
            self.ids[i, :len(s)] = s
        ans = tokenizer([m["answer"] for m in shard.meta], add_special_tokens=False)["input_ids"]
        assert all(len(a) == 1 for a in ans), f"{shard.task}: answers must be one token"
        self.answers = np.array([a[0] for a in ans], np.int64)
        unk = tokenizer.unk_token_id
        assert not (self.ids == unk).any(), f"{shard.task}: unknown words; rebuild the vocabulary from the shards"
        self.obj_pos = np.full((n, 2), -1, np.int64)
        self.obj_frame = np.zeros((n, 2), np.int64)
        self.quad_obj = np.full((n, FRAMES, 4, 2), -1, np.int64)
        for i, m in enumerate(shard.meta):
            seq = seqs[i]
            start = seq.index(vid) + N_VIDEO_TOKENS
            for j, name in enumerate(m["objects"][:2]):
                wid = tokenizer.convert_tokens_to_ids(words_of(name)[-1])
                hits = [k for k in range(start, len(seq)) if seq[k] == wid]
                fr = frames_present(m, j)
                if hits:
                    self.obj_pos[i, j] = hits[-1]
                self.obj_frame[i, j] = fr[0]
                q = quad_of_box(m["boxes"][j])
                for f in fr:
                    slot = 0 if self.quad_obj[i, f, q, 0] < 0 else 1
                    self.quad_obj[i, f, q, slot] = wid

    def __len__(self):
        return len(self.answers)

    def batch(self, idx: np.ndarray) -> dict:
        idx = np.sort(idx)  # memmap reads in order
        L = int(self.lengths[idx].max())
        return {"ids": self.ids[idx, :L], "ans_pos": self.lengths[idx] - 1, "answer": self.answers[idx],
                "frames": np.asarray(self.shard.images[idx]), "obj_pos": self.obj_pos[idx],
                "obj_frame": self.obj_frame[idx], "quad_obj": self.quad_obj[idx]}


class GridFrames:
    """Single grid scenes (all objects) as one-frame inputs: each pooled token's 2x2-cell quadrant -> its objects."""

    def __init__(self, shard: Shard, tokenizer):
        self.shard = shard
        n = len(shard.meta)
        self.quad_obj = np.full((n, 4, 2), -1, np.int64)
        for i, m in enumerate(shard.meta):
            for o, (col, row) in zip(m["objects"], m["cells"]):
                wid = tokenizer.convert_tokens_to_ids(words_of(o)[-1])
                q = (row // 2) * 2 + col // 2
                slot = 0 if self.quad_obj[i, q, 0] < 0 else 1
                self.quad_obj[i, q, slot] = wid

    def __len__(self):
        return len(self.quad_obj)

    def batch(self, idx: np.ndarray):
        idx = np.sort(idx)
        return np.asarray(self.shard.images[idx]), self.quad_obj[idx]
