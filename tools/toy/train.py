"""Train the toy LLaVA on scenes from the scene engine (one seeded, resumable command per model).

Recipe (tools/toy/README.md):
  stage 0  vision pre-training: every image token (one per 16-px grid cell) classifies the object in its cell
           (or "empty") against the *tied word embeddings* of the object names, so image tokens and object
           words start out aligned;
  stage 1  grid relations + grounding questions (prototype mix), loss on the answer token only,
           plus the stage-0 loss at a small weight; AdamW, cosine lr;
  stage 2  (when grid relations reach --switch-acc, or at --steps1) add the other relation tasks at a lower lr.

Example:
  python -m tools.toy.train --name toy-llava --seed 0 [--resume]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

from . import build
from .common import (add_eval_args, add_model_args, add_optim_args, add_run_args, add_shard_args, append_row, cosine_to_5pct, decayed_lr, heldout_accuracy, load_last, make_optimizer, open_curve, optimizer_step,
                     parse_mix, restore, save_last, start_run, warmup_lr, write_run_info)
from .data import Encoded, Shard, generate

N_RESERVED = 48  # reserved vocabulary slots for words of tasks added later (no embedding resize needed)


def get_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_args(p, "toy-llava")
    add_model_args(p)
    add_shard_args(p, 100000, "scenes")
    p.add_argument("--tasks1", default="grid-lr:0.2,grid-ab:0.2,grid-where-col:0.15,grid-where-row:0.15,grid-what:0.3")
    p.add_argument("--tasks2", default="grid-lr:0.1,grid-ab:0.1,grid-where-col:0.04,grid-where-row:0.04,grid-what:0.07,"
                                       "clutter-lr:0.13,clutter-ab:0.13,nearfar:0.13,inbetween:0.13,frontbehind:0.13")
    add_optim_args(p)
    p.add_argument("--stage0", type=int, default=300, help="vision pre-training steps")
    p.add_argument("--steps1", type=int, default=6000, help="max stage-1 steps (cosine horizon)")
    p.add_argument("--steps2", type=int, default=2000, help="stage-2 steps")
    p.add_argument("--lr2", type=float, default=3e-4)
    p.add_argument("--switch-acc", type=float, default=0.9)
    p.add_argument("--aux-weight", type=float, default=0.2)
    p.add_argument("--bind-weight", type=float, default=0.0,
                   help="weight of the binding loss: at decoder layer --bind-layer, each object word of the question "
                        "names its object's column and row word (logit lens through the tied embeddings)")
    p.add_argument("--bind-layer", type=int, default=4, help="residual stream index (hidden_states[k]) of the binding loss")
    p.add_argument("--const-lr", action="store_true", help="stage 1: constant lr after warm-up (no cosine decay)")
    p.add_argument("--decay-from", type=int, default=0,
                   help="with --const-lr: from this step on, cosine-decay the lr to 5%% over --decay-steps steps")
    p.add_argument("--decay-steps", type=int, default=2000)
    p.add_argument("--pos-weight", type=float, default=0.5,
                   help="weight of the position loss: each image token also names its column/row word (c0..c3, r0..r3)")
    add_eval_args(p)
    p.add_argument("--save-at", default="", help="extra comma-separated steps to save HF checkpoints at")
    p.add_argument("--stop-at", type=int, default=0, help="stop (resumably) after this step; 0 = run to the end")
    p.add_argument("--bench", type=int, default=0, help="time N steps on random data and exit")
    return p.parse_args(argv)


# ----------------------------------------------------------------------------------------------
# vocabulary with reserved slots

def make_vocab(words: set[str], previous: list[str] | None) -> list[str]:
    return build.vocab_with_reserved(build.SPECIALS + list(dict.fromkeys(build.BASE_WORDS)), words, previous,
                                     N_RESERVED)


# ----------------------------------------------------------------------------------------------

def to_pixels(images: np.ndarray) -> torch.Tensor:
    """uint8 [B,H,W,3] -> the CLIPImageProcessor's output: (x/255 - 0.5)/0.5, NCHW float32."""
    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float()
    return x / 127.5 - 1.0


def image_features(model, pixels):
    feats = model.model.get_image_features(pixel_values=pixels)
    if hasattr(feats, "pooler_output"):
        feats = feats.pooler_output
    if isinstance(feats, (list, tuple)):
        feats = torch.stack(list(feats))
    return feats  # [B,16,D]


def cell_loss(model, feats, cells, class_ids: torch.Tensor):
    """Each image token classifies its cell against the tied embeddings of object names + 'empty'."""
    emb = model.get_input_embeddings().weight[class_ids]  # [C,D]
    logits = feats @ emb.T * (feats.shape[-1] ** 0.5)
    lut = torch.full((int(class_ids.max()) + 1,), -1, dtype=torch.long)
    lut[class_ids] = torch.arange(len(class_ids))
    tgt = lut[cells]
    loss = F.cross_entropy(logits.reshape(-1, len(class_ids)), tgt.reshape(-1))
    acc = (logits.argmax(-1) == tgt).float().mean().item()
    return loss, acc


def pos_loss(model, feats, col_ids: torch.Tensor, row_ids: torch.Tensor, grid: int = 4):
    """Each image token (row-major cell k) classifies its own column word c{k%4} and row word r{k//4} against the
    tied embeddings, so position, like identity, is written into the image tokens in the words' own directions."""
    E = model.get_input_embeddings().weight
    k = torch.arange(feats.shape[1])
    scale = feats.shape[-1] ** 0.5
    lc = feats @ E[col_ids].T * scale
    lr = feats @ E[row_ids].T * scale
    tc, tr = (k % grid).expand(feats.shape[0], -1), (k // grid).expand(feats.shape[0], -1)
    loss = F.cross_entropy(lc.reshape(-1, grid), tc.reshape(-1)) + F.cross_entropy(lr.reshape(-1, grid), tr.reshape(-1))
    acc = 0.5 * ((lc.argmax(-1) == tc).float().mean() + (lr.argmax(-1) == tr).float().mean()).item()
    return loss, acc


def answer_logits(model, ids, pixels, ans_pos, return_feats=False, hidden_layer=None):
    out = model.model(input_ids=ids, pixel_values=pixels, use_cache=False,
                      output_hidden_states=hidden_layer is not None)
    h = out.last_hidden_state[torch.arange(ids.shape[0]), ans_pos]
    logits = model.lm_head(h)
    if hidden_layer is not None:
        return logits, out.image_hidden_states, out.hidden_states[hidden_layer]
    if return_feats:
        return logits, out.image_hidden_states
    return logits


def bind_loss(model, hidden, obj_pos, obj_col, obj_row, col_ids, row_ids):
    """Each object word of the question (obj_pos >= 0) classifies its object's column word c0..c3 and row word
    r0..r3 from the residual stream at one middle layer, read through the final norm and the tied embeddings
    (logit lens). This gives every relation scene two dense targets on exactly the tokens where the paper finds
    spatial IDs, instead of one bit at the answer; it is the step that lets the 8-layer model leave chance."""
    b, j = torch.nonzero(obj_pos >= 0, as_tuple=True)
    if len(b) == 0:
        return hidden.sum() * 0, float("nan")
    h = model.model.language_model.norm(hidden[b, obj_pos[b, j]])
    E = model.get_input_embeddings().weight
    lc, lr = h @ E[col_ids].T, h @ E[row_ids].T
    tc, tr = obj_col[b, j], obj_row[b, j]
    loss = F.cross_entropy(lc, tc) + F.cross_entropy(lr, tr)
    acc = 0.5 * ((lc.argmax(-1) == tc).float().mean() + (lr.argmax(-1) == tr).float().mean()).item()
    return loss, acc


def collate(parts, pad_id):
    L = max(p["ids"].shape[1] for p in parts)
    ids = np.concatenate([np.pad(p["ids"], ((0, 0), (0, L - p["ids"].shape[1])), constant_values=pad_id) for p in parts])
    return (torch.from_numpy(ids), to_pixels(np.concatenate([p["images"] for p in parts])),
            torch.from_numpy(np.concatenate([p["ans_pos"] for p in parts])),
            torch.from_numpy(np.concatenate([p["answer"] for p in parts])))


def collate_bind(parts):
    return tuple(torch.from_numpy(np.concatenate([p[k] for p in parts])) for k in ("obj_pos", "obj_col", "obj_row"))


def evaluate(model, heldout: dict[str, Encoded], n: int | dict[str, int], bs: int = 150) -> dict[str, float]:
    """Held-out answer accuracy per task (n: items per task, one count or one per task)."""
    def n_correct(b):
        ids, pix, pos, ans = collate([b], 0)
        return (answer_logits(model, ids, pix, pos).argmax(-1) == ans).sum().item()
    return heldout_accuracy(model, heldout, n, bs, n_correct)


def lr_at(step, args, stage2_start):
    if step < args.stage0:
        return warmup_lr(args.lr, step, args.warmup)
    if stage2_start is None:
        s = step - args.stage0
        if args.const_lr:
            return decayed_lr(args, step, warmup_lr(args.lr, s, args.warmup))
        return warmup_lr(args.lr, s, args.warmup) * cosine_to_5pct(min(1.0, s / max(1, args.steps1)))
    s = step - stage2_start
    frac = min(1.0, s / max(1, args.steps2))
    return warmup_lr(args.lr2, s, 50) * 0.5 * (1 + math.cos(math.pi * frac))


def save_hf(model, vocab, path, meta):
    from .save import save_hf_dir
    save_hf_dir(model, vocab, path, meta)


def main(argv=None):
    args = get_args(argv)
    run = start_run(args)
    mix1, mix2 = parse_mix(args.tasks1), parse_mix(args.tasks2)

    if args.bench:
        return bench(args)

    ckpt_path, state = load_last(args, run)

    # ---- shards (train + heldout) for every task whose generator exists
    def have(task):
        try:
            return True, generate(task, "train", args.n_train, args.shard_seed), \
                generate(task, "heldout", args.n_heldout, args.shard_seed + 1)
        except Exception as e:  # generator not written yet (stage-2 tasks arrive later)
            print(f"[shards] {task}: not available ({e.__class__.__name__})")
            return False, None, None

    shards_train, shards_held = {}, {}
    for task in list(dict.fromkeys(list(mix1) + list(mix2))):
        ok, tr, he = have(task)
        if ok:
            shards_train[task], shards_held[task] = Shard.load(tr), Shard.load(he)
    missing1 = [t for t in mix1 if t not in shards_train]
    assert not missing1, f"stage-1 tasks without shards: {missing1}"

    words = set()
    for sh in list(shards_train.values()) + list(shards_held.values()):
        words |= sh.words()
    vocab = make_vocab(words, state["vocab"] if state else None)
    tok = build.build_tokenizer(vocab)
    empty_id = vocab.index("empty")
    enc_train = {t: Encoded(s, tok, empty_id) for t, s in shards_train.items()}
    enc_held = {t: Encoded(s, tok, empty_id) for t, s in shards_held.items()}
    objects = sorted({w for sh in shards_train.values() for k in ("objects_train", "objects_heldout")
                      for o in sh.info.get(k, []) or [] for w in [o.lower()]})
    cell_ids = {int(x) for e in enc_train.values() if e.cell_targets is not None for x in np.unique(e.cell_targets)}
    class_ids = torch.tensor(sorted({vocab.index(o) for o in objects if o in vocab} | cell_ids | {empty_id}))
    col_ids = torch.tensor([vocab.index(f"c{i}") for i in range(4)])
    row_ids = torch.tensor([vocab.index(f"r{i}") for i in range(4)])
    print(f"vocab {len(vocab)} ({sum(not w.startswith('<unused') for w in vocab)} used); objects {len(objects)}; "
          f"tasks {list(enc_train)}")

    model = build.build_model(len(vocab), vis_width=args.vis_width, vis_layers=args.vis_layers,
                              width=args.width, layers=args.layers, heads=args.heads)
    print("params", build.n_params(model))
    opt = make_optimizer(model, args)
    rng = np.random.default_rng(args.seed)
    step, stage2_start, elapsed = 0, None, 0.0
    if state:
        restore(state, model, opt, rng)
        step, stage2_start, elapsed = state["step"], state["stage2_start"], state["elapsed"]
        print(f"resumed at step {step} (stage2_start={stage2_start}, {elapsed / 60:.1f} min)")
    write_run_info(run, vocab, args)

    all_tasks = list(dict.fromkeys(list(mix1) + list(mix2)))
    csv_path = open_curve(run, ["step", "minutes", "stage", "lr", "loss", "aux_acc"] + all_tasks)

    total = None
    save_at = {int(s) for s in args.save_at.split(",") if s}
    grid_cells = [t for t in enc_train if enc_train[t].cell_targets is not None]
    stat = {"loss": [], "aux": [], "pos": [], "bind": []}
    t0 = time.time()
    last_eval = None

    def checkpoint():
        nonlocal t0, elapsed
        elapsed += time.time() - t0
        t0 = time.time()
        save_last(ckpt_path, model, opt, rng, step=step, stage2_start=stage2_start, elapsed=elapsed, vocab=vocab,
                  args=vars(args))

    def refresh():
        """Load stage-2 tasks whose generators appeared after the run started (no-op when all exist)."""
        nonlocal vocab, tok
        new = {}
        for task in mix2:
            if task not in enc_train:
                ok, tr, he = have(task)
                if ok:
                    new[task] = (Shard.load(tr), Shard.load(he))
        if not new:
            return
        ws = set()
        for a, b in new.values():
            ws |= a.words() | b.words()
        vocab = make_vocab(ws, vocab)
        tok = build.build_tokenizer(vocab)
        for task, (a, b) in new.items():
            enc_train[task], enc_held[task] = Encoded(a, tok, empty_id), Encoded(b, tok, empty_id)
        json.dump(vocab, open(os.path.join(run, "vocab.json"), "w"))
        print(f"[shards] added {list(new)}; vocab now {sum(not w.startswith('<unused') for w in vocab)} words", flush=True)

    while True:
        stage = 0 if step < args.stage0 else (1 if stage2_start is None else 2)
        if stage == 2 and step >= stage2_start + args.steps2:
            break
        if stage == 1 and step >= args.stage0 + args.steps1:
            if not [t for t in mix2 if t not in mix1 and t in enc_train]:
                break
            stage2_start = step
            print(f"stage 2 starts at step {step} (end of stage 1)", flush=True)
            continue
        if args.stop_at and step >= args.stop_at:
            break
        lr = lr_at(step, args, stage2_start)
        for g in opt.param_groups:
            g["lr"] = lr
        if stage == 0:
            per = rng.multinomial(args.batch, [1 / len(grid_cells)] * len(grid_cells))
            imgs, cells = [], []
            for t, k in zip(grid_cells, per):
                if k:
                    idx = rng.integers(0, len(enc_train[t]), k)
                    imgs.append(np.asarray(enc_train[t].shard.images[idx]))
                    cells.append(enc_train[t].cell_targets[idx])
            feats = image_features(model, to_pixels(np.concatenate(imgs)))
            loss, acc = cell_loss(model, feats, torch.from_numpy(np.concatenate(cells)), class_ids)
            stat["aux"].append(acc)
            if args.pos_weight:
                pl, pacc = pos_loss(model, feats, col_ids, row_ids)
                loss = loss + args.pos_weight * pl
                stat["pos"].append(pacc)
        else:
            mix = mix1 if stage == 1 else {t: w for t, w in mix2.items() if t in enc_train}
            tasks = list(mix)
            w = np.array([mix[t] for t in tasks])
            per = rng.multinomial(args.batch, w / w.sum())
            parts, cell_parts, cell_rows = [], [], []
            row = 0
            for t, k in zip(tasks, per):
                if not k:
                    continue
                b = enc_train[t].batch(rng.integers(0, len(enc_train[t]), k))
                parts.append(b)
                if "cells" in b:
                    cell_parts.append(b["cells"])
                    cell_rows.append(np.arange(row, row + k))
                row += k
            ids, pix, pos, ans = collate(parts, tok.pad_token_id)
            if args.bind_weight:
                logits, feats, hid = answer_logits(model, ids, pix, pos, hidden_layer=args.bind_layer)
            else:
                logits, feats = answer_logits(model, ids, pix, pos, return_feats=True)
            loss = F.cross_entropy(logits, ans)
            if args.bind_weight:
                bl, bacc = bind_loss(model, hid, *collate_bind(parts), col_ids, row_ids)
                loss = loss + args.bind_weight * bl
                stat["bind"].append(bacc)
            if args.aux_weight and cell_parts:
                rows = torch.from_numpy(np.concatenate(cell_rows))
                feats = feats.reshape(ids.shape[0], -1, feats.shape[-1])[rows]
                aux, acc = cell_loss(model, feats, torch.from_numpy(np.concatenate(cell_parts)), class_ids)
                loss = loss + args.aux_weight * aux
                stat["aux"].append(acc)
                if args.pos_weight:
                    pl, pacc = pos_loss(model, feats, col_ids, row_ids)
                    loss = loss + args.pos_weight * pl
                    stat["pos"].append(pacc)
        stat["loss"].append(optimizer_step(model, opt, loss))
        step += 1

        if step % 50 == 0:
            mins = (elapsed + time.time() - t0) / 60
            print(f"step {step} stage {stage} lr {lr:.2e} loss {np.mean(stat['loss'][-50:]):.4f} "
                  f"aux {np.mean(stat['aux'][-50:]) if stat['aux'] else float('nan'):.3f} "
                  f"pos {np.mean(stat['pos'][-50:]) if stat['pos'] else float('nan'):.3f} "
                  f"bind {np.nanmean(stat['bind'][-50:]) if stat['bind'] else float('nan'):.3f} {mins:.1f} min", flush=True)
        if step % args.eval_every == 0 and step > args.stage0:
            el = elapsed + time.time() - t0
            res = evaluate(model, enc_held, args.eval_n)
            t0 += 0  # eval time counts as training wall time
            last_eval = res
            append_row(csv_path, [step, f"{el / 60:.2f}", stage, f"{lr:.3e}",
                                  f"{np.mean(stat['loss'][-args.eval_every:]):.4f}",
                                  f"{np.mean(stat['aux'][-args.eval_every:]) if stat['aux'] else float('nan'):.3f}"]
                       + [f"{res[t]:.3f}" if t in res else "" for t in all_tasks])
            print("EVAL", step, json.dumps({k: round(v, 3) for k, v in res.items()}), flush=True)
            if stage == 1 and [t for t in mix2 if t not in enc_train]:
                refresh()
            if stage == 1 and min(res.get("grid-lr", 0), res.get("grid-ab", 0)) >= args.switch_acc \
                    and [t for t in mix2 if t not in mix1 and t in enc_train]:
                stage2_start = step
                print(f"stage 2 starts at step {step}", flush=True)
            checkpoint()
        if step % args.save_every == 0 or step in save_at:
            res = last_eval if last_eval is not None else evaluate(model, enc_held, args.eval_n)
            save_hf(model, vocab, os.path.join(run, f"ckpt-{step}"),
                    {"step": step, "minutes": (elapsed + time.time() - t0) / 60, "heldout_acc": res,
                     "args": vars(args)})
    # final
    res = evaluate(model, enc_held, args.eval_n)
    checkpoint()
    save_hf(model, vocab, os.path.join(run, "final" if not args.stop_at else f"ckpt-{step}"),
            {"step": step, "minutes": elapsed / 60, "heldout_acc": res, "args": vars(args)})
    print("FINAL", step, json.dumps(res), flush=True)


def bench(args):
    vocab = make_vocab({f"obj{i}" for i in range(30)}, None)
    model = build.build_model(len(vocab), vis_width=args.vis_width, vis_layers=args.vis_layers,
                              width=args.width, layers=args.layers, heads=args.heads)
    print("params", build.n_params(model))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    B, L = args.batch, 34
    ts = []
    for i in range(args.bench):
        ids = torch.randint(10, 60, (B, L))
        ids[:, 3:19] = vocab.index(build.IMAGE)
        pix = torch.randn(B, 3, 64, 64)
        pos = torch.full((B,), L - 1)
        t = time.time()
        logits, feats = answer_logits(model, ids, pix, pos, return_feats=True)
        loss = F.cross_entropy(logits, torch.randint(10, 60, (B,)))
        opt.zero_grad()
        loss.backward()
        opt.step()
        ts.append(time.time() - t)
    print(f"s/step {np.median(ts[2:]):.3f} (batch {B}, seq {L}), feats {tuple(feats.shape)}")


if __name__ == "__main__":
    main()
