"""What the two toy trainers share (tools/toy/train.py: toy-llava, tools/toy/video/train.py: toy-llava-video):
argument groups, the shapes of the lr schedule, the run folder, checkpoint save/resume, the optimiser step and the
learning-curve CSV. Each trainer keeps its own losses, data and stage logic."""
from __future__ import annotations

import csv
import json
import math
import os

import numpy as np
import torch

RUNS = os.path.join(__file__.rsplit(os.sep, 1)[0], "runs")


def parse_mix(s: str) -> dict[str, float]:
    out = {}
    for part in s.split(","):
        if part:
            k, v = part.split(":")
            out[k] = float(v)
    return out


# ----------------------------------------------------------------------------------------------
# argument groups (each trainer adds its own flags between them, in the order of its --help)

def add_run_args(p, name: str) -> None:
    p.add_argument("--name", default=name)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true")
    p.add_argument("--threads", type=int, default=2)


def add_model_args(p, kv_heads: bool = False) -> None:
    p.add_argument("--width", type=int, default=128)
    p.add_argument("--layers", type=int, default=8)
    p.add_argument("--heads", type=int, default=4)
    if kv_heads:
        p.add_argument("--kv-heads", type=int, default=4)
    p.add_argument("--vis-width", type=int, default=128)
    p.add_argument("--vis-layers", type=int, default=2)


def add_shard_args(p, n_train: int, unit: str) -> None:
    p.add_argument("--n-train", type=int, default=n_train, help=f"{unit} per task in the training shard")
    p.add_argument("--n-heldout", type=int, default=1000)
    p.add_argument("--shard-seed", type=int, default=1000)


def add_optim_args(p) -> None:
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--wd", type=float, default=0.01)
    p.add_argument("--warmup", type=int, default=100)


def add_eval_args(p) -> None:
    p.add_argument("--eval-every", type=int, default=250)
    p.add_argument("--eval-n", type=int, default=300)
    p.add_argument("--save-every", type=int, default=500)


# ----------------------------------------------------------------------------------------------
# lr schedule shapes

def warmup_lr(lr: float, s: int, warmup: int) -> float:
    """Linear warm-up: lr * (s + 1) / warmup for the first `warmup` steps s, then lr."""
    return lr * min(1.0, (s + 1) / warmup)


def cosine_to_5pct(frac: float) -> float:
    """Cosine from 1 (frac 0) to 0.05 (frac 1)."""
    return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac))


def decayed_lr(args, step: int, otherwise: float) -> float:
    """--decay-from/--decay-steps: from step `decay_from` on (when set), the lr cosine-decays to 5 % over
    `decay_steps` steps and stays there; before that (or without --decay-from) `otherwise`."""
    if args.decay_from and step >= args.decay_from:
        return args.lr * cosine_to_5pct(min(1.0, (step - args.decay_from) / max(1, args.decay_steps)))
    return otherwise


# ----------------------------------------------------------------------------------------------
# run folder, checkpoints, optimiser, learning curve

def start_run(args) -> str:
    """Threads and seed from the arguments; the run folder RUNS/<name> (created)."""
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    run = os.path.join(RUNS, args.name)
    os.makedirs(run, exist_ok=True)
    return run


def load_last(args, run: str) -> tuple[str, dict | None]:
    """The checkpoint path RUNS/<name>/last.pt and, with --resume, its state (None when there is none)."""
    ckpt_path = os.path.join(run, "last.pt")
    state = torch.load(ckpt_path, weights_only=False) if args.resume and os.path.exists(ckpt_path) else None
    if args.resume and state is None:
        print("no checkpoint to resume from; starting fresh", flush=True)
    return ckpt_path, state


def make_optimizer(model, args) -> torch.optim.AdamW:
    return torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.wd, betas=(0.9, 0.98))


def restore(state: dict, model, opt, rng) -> None:
    """Model, optimiser and both random generators from a last.pt state (the caller reads its own counters)."""
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["opt"])
    rng.bit_generator.state = state["rng"]
    torch.set_rng_state(state["torch_rng"])


def save_last(ckpt_path: str, model, opt, rng, **counters) -> None:
    """Write last.pt atomically: model, optimiser, random generators, then `counters` in the order given."""
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "rng": rng.bit_generator.state,
                "torch_rng": torch.get_rng_state(), **counters}, ckpt_path + ".tmp")
    os.replace(ckpt_path + ".tmp", ckpt_path)


def write_run_info(run: str, vocab: list[str], args) -> None:
    json.dump(vocab, open(os.path.join(run, "vocab.json"), "w"))
    json.dump(vars(args), open(os.path.join(run, "args.json"), "w"), indent=1)


def optimizer_step(model, opt, loss) -> float:
    """One AdamW step with gradient clipping at 1.0; returns the loss value."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    return loss.item()


@torch.no_grad()
def heldout_accuracy(model, held: dict, n: int | dict[str, int], bs: int, n_correct) -> dict[str, float]:
    """Accuracy per task on the first `n` held-out items (one count for every task, or one per task), in batches of
    `bs`; `n_correct(batch)` counts the right answers of one `enc.batch(idx)`. The model is in eval mode meanwhile."""
    model.eval()
    res = {}
    for task, enc in held.items():
        m = min(n[task] if isinstance(n, dict) else n, len(enc))
        correct = 0
        for s in range(0, m, bs):
            correct += n_correct(enc.batch(np.arange(s, min(m, s + bs))))
        res[task] = correct / m
    model.train()
    return res


def open_curve(run: str, header: list[str]) -> str:
    """RUNS/<name>/curve.csv, with `header` written when the file is new (a resumed run appends)."""
    csv_path = os.path.join(run, "curve.csv")
    if not os.path.exists(csv_path):
        append_row(csv_path, header, mode="w")
    return csv_path


def append_row(csv_path: str, row: list, mode: str = "a") -> None:
    with open(csv_path, mode, newline="") as f:
        csv.writer(f).writerow(row)
