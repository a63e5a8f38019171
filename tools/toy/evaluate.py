"""Held-out accuracy of a saved toy LLaVA (a save_pretrained folder), through the public HF pipeline:
LlavaProcessor(images, chat-template prompt) -> LlavaForConditionalGeneration -> greedy answer word.

  python -m tools.toy.evaluate <hf-dir> [--tasks grid-lr,grid-ab,...] [--n 300] [--out results.json]

Held-out shards come from the scene engine (`--split heldout`: held-out objects in relation questions,
fresh positions and seeds); they are generated on first use into tools/toy/shards/.
"""
from __future__ import annotations

import argparse
import json
from collections import defaultdict

import numpy as np
import torch
from transformers import LlavaForConditionalGeneration, LlavaProcessor

from .data import Shard, generate

ALL_TASKS = ["grid-lr", "grid-ab", "grid-where-col", "grid-where-row", "grid-what",
             "clutter-lr", "clutter-ab", "nearfar", "inbetween", "frontbehind"]


@torch.no_grad()
def greedy_answers(model, proc, images, questions, bs=100, max_new_tokens=3):
    """Greedy decoding of the answer for each (image, question); returns the decoded answer words.
    Prompts of equal token length are batched together (no padding needed)."""
    prompts = [proc.apply_chat_template([{"role": "user", "content": [
        {"type": "image"}, {"type": "text", "text": q}]}], add_generation_prompt=True) for q in questions]
    groups = defaultdict(list)
    for i, p in enumerate(prompts):
        groups[len(proc.tokenizer(p)["input_ids"])].append(i)
    out = [None] * len(prompts)
    eos = proc.tokenizer.eos_token_id
    for _, idx in sorted(groups.items()):
        for s in range(0, len(idx), bs):
            sub = idx[s:s + bs]
            enc = proc(images=[images[i] for i in sub], text=[prompts[i] for i in sub], return_tensors="pt")
            gen = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False, eos_token_id=eos,
                                 pad_token_id=proc.tokenizer.pad_token_id)
            new = gen[:, enc["input_ids"].shape[1]:]
            for j, i in enumerate(sub):
                toks = new[j].tolist()
                if eos in toks:
                    toks = toks[:toks.index(eos)]
                out[i] = proc.tokenizer.decode(toks, skip_special_tokens=True).strip()
    return out


def evaluate_dir(path, tasks, n=300, n_heldout=1000, shard_seed=1001, threads=2):
    torch.set_num_threads(threads)
    model = LlavaForConditionalGeneration.from_pretrained(path).eval()
    proc = LlavaProcessor.from_pretrained(path)
    res = {}
    for task in tasks:
        try:
            sh = Shard.load(generate(task, "heldout", n_heldout, shard_seed))
        except Exception as e:
            print(f"{task}: no held-out shard ({e})")
            continue
        m = min(n, len(sh.meta))
        imgs = [np.asarray(sh.images[i]) for i in range(m)]
        qs = [sh.meta[i]["question"] for i in range(m)]
        ans = greedy_answers(model, proc, imgs, qs)
        res[task] = float(np.mean([a == sh.meta[i]["answer"].lower() for i, a in enumerate(ans)]))
        print(f"{task:16s} {res[task]:.3f}  (n={m}; e.g. {qs[0]!r} -> {ans[0]!r}, truth {sh.meta[0]['answer']!r})",
              flush=True)
    return res


def main():
    p = argparse.ArgumentParser()
    p.add_argument("hf_dir")
    p.add_argument("--tasks", default=",".join(ALL_TASKS))
    p.add_argument("--n", type=int, default=300)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default="")
    a = p.parse_args()
    res = evaluate_dir(a.hf_dir, [t for t in a.tasks.split(",") if t], a.n, threads=a.threads)
    if a.out:
        json.dump(res, open(a.out, "w"), indent=1)


if __name__ == "__main__":
    main()
