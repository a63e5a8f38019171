"""Train toy-llava-video on the scene engine's clips (one seeded, resumable command; tools/toy/train-toy-llava-video.sh).

Recipe (tools/README.md, "toy-llava-video"):
  stage 0  (--stage0 steps) the frame tokens learn to name what they show and where they are:
           object loss  every pooled video token (2x2 quadrant of a frame) classifies the objects whose box centre
                        lies in its quadrant in that frame (or `empty`) against the tied word embeddings of the 42
                        object names; on the clips' frames and on single grid scenes (which show every object,
                        held-out ones included, so their words are aligned too);
           frame loss   in the decoder, at hidden_states[--frame-layer] read through the final norm and the tied
                        embeddings (logit lens), every video token names its frame word f0..f7;
  stage 1  video-appear + video-order (loss on the one-word answer) + the *binding loss*: at hidden_states
           [--bind-layer] each object word of the question names the frame word of the frame where its object
           first appears; the stage-0 losses continue at --aux-weight / --frame-weight. AdamW, constant lr
           (optionally cosine-decayed to 5 % from --decay-from over --decay-steps).

  python -m tools.toy.video.train --name toy-llava-video --seed 0 [--resume] [--stop-at N]
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

from ..common import (add_eval_args, add_model_args, add_optim_args, add_run_args, add_shard_args, append_row,
                      decayed_lr, heldout_accuracy, load_last, make_optimizer, open_curve, optimizer_step, parse_mix, restore, save_last,
                      start_run, warmup_lr, write_run_info)
from ..data import Shard, generate
from . import build
from .data import GridFrames, VideoEncoded


def get_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_args(p, "toy-llava-video")
    add_model_args(p, kv_heads=True)
    add_shard_args(p, 30000, "clips")
    p.add_argument("--grid-task", default="grid-what", help="grounding shard (every object) for the object loss")
    p.add_argument("--grid-n", type=int, default=40000)
    p.add_argument("--grid-frames", type=int, default=32, help="grid scenes per step for the object loss")
    p.add_argument("--tasks", default="video-appear:0.5,video-order:0.5")
    add_optim_args(p)
    p.add_argument("--stage0", type=int, default=200)
    p.add_argument("--steps", type=int, default=6000, help="total steps (stage 0 included)")
    p.add_argument("--aux-weight", type=float, default=0.2, help="object loss weight in stage 1")
    p.add_argument("--frame-weight", type=float, default=0.5, help="frame loss weight (both stages)")
    p.add_argument("--frame-layer", type=int, default=2)
    p.add_argument("--bind-weight", type=float, default=1.0)
    p.add_argument("--bind-layer", type=int, default=4)
    p.add_argument("--decay-from", type=int, default=0,
                   help="from this step on, cosine-decay the lr to 5%% over --decay-steps steps (0 = constant lr)")
    p.add_argument("--decay-steps", type=int, default=1000)
    add_eval_args(p)
    p.add_argument("--stop-at", type=int, default=0)
    p.add_argument("--bench", type=int, default=0, help="time N training steps on the real shards and exit")
    return p.parse_args(argv)


def lr_at(step, args):
    """Linear warm-up over --warmup steps, then constant; cosine-decayed to 5 % from --decay-from when set."""
    return decayed_lr(args, step, warmup_lr(args.lr, step, args.warmup))


def to_pixels(frames: np.ndarray) -> torch.Tensor:
    """uint8 [..., H, W, 3] -> (x/255 - 0.5)/0.5 as [..., 3, H, W] float32 (the preprocessor's output)."""
    x = torch.from_numpy(np.ascontiguousarray(frames)).float()
    return (x / 127.5 - 1.0).movedim(-1, -3)


def video_feats(model, pixels: torch.Tensor) -> torch.Tensor:
    """[B, F, 3, H, W] -> [B, F * tokens_per_frame, D] (LlavaNextVideo's get_video_features: tower, pool, projector)."""
    return model.model.get_video_features(pixel_values_videos=pixels).pooler_output


def object_loss(model, feats, quad_obj, class_ids, empty_id):
    """feats [M, D] pooled tokens, quad_obj [M, 2] token ids (-1 none): soft-target CE over object names + empty."""
    E = model.get_input_embeddings().weight[class_ids]
    logits = feats @ E.T * (feats.shape[-1] ** 0.5)
    lut = torch.full((int(class_ids.max()) + 1,), -1, dtype=torch.long)
    lut[class_ids] = torch.arange(len(class_ids))
    q = quad_obj.clone()
    none = (q < 0).all(-1)
    q[none, 0] = empty_id
    tgt = torch.zeros(len(q), len(class_ids))
    for s in range(q.shape[1]):
        ok = q[:, s] >= 0
        tgt[ok, lut[q[ok, s]]] += 1.0
    tgt = tgt / tgt.sum(-1, keepdim=True)
    loss = -(tgt * logits.log_softmax(-1)).sum(-1).mean()
    acc = (tgt.gather(1, logits.argmax(-1, keepdim=True)) > 0).float().mean().item()
    return loss, acc


def lens(model, h, ids):
    """Logit lens: residual -> final norm -> tied embeddings of the given word ids."""
    return model.model.language_model.norm(h) @ model.get_input_embeddings().weight[ids].T


def forward(model, ids, pixels, hidden_layers=()):
    feats = video_feats(model, pixels)  # [B, 32, D]
    lm = model.model.language_model
    emb = lm.embed_tokens(ids)
    mask = (ids == model.config.video_token_id).unsqueeze(-1)
    emb = emb.masked_scatter(mask, feats.reshape(-1, feats.shape[-1]).to(emb.dtype))
    out = lm(inputs_embeds=emb, use_cache=False, output_hidden_states=bool(hidden_layers))
    return feats, out


def evaluate(model, held: dict, n: int, bs: int = 100) -> dict:
    def n_correct(b):
        ids = torch.from_numpy(b["ids"])
        _, out = forward(model, ids, to_pixels(b["frames"]))
        h = out.last_hidden_state[torch.arange(len(ids)), torch.from_numpy(b["ans_pos"])]
        return (model.lm_head(h).argmax(-1) == torch.from_numpy(b["answer"])).sum().item()
    return heldout_accuracy(model, held, n, bs, n_correct)


def main(argv=None):
    args = get_args(argv)
    run = start_run(args)
    mix = parse_mix(args.tasks)
    ckpt_path, state = load_last(args, run)

    tr = {t: Shard.load(generate(t, "train", args.n_train, args.shard_seed)) for t in mix}
    he = {t: Shard.load(generate(t, "heldout", args.n_heldout, args.shard_seed + 1)) for t in mix}
    grid = Shard.load(generate(args.grid_task, "train", args.grid_n, args.shard_seed))
    words = set(build.FRAME_WORDS)
    for sh in list(tr.values()) + list(he.values()) + [grid]:
        words |= sh.words()
        words |= {w for o in sh.info.get("objects_all", []) for w in build.words_of(o)}
    vocab = build.build_vocab(words, state["vocab"] if state else None)
    tok = build.build_tokenizer(vocab)
    enc_tr = {t: VideoEncoded(s, tok) for t, s in tr.items()}
    enc_he = {t: VideoEncoded(s, tok) for t, s in he.items()}
    gframes = GridFrames(grid, tok)
    objects = sorted({o.lower() for o in grid.info["objects_all"]})
    empty_id = vocab.index("empty")
    class_ids = torch.tensor(sorted({vocab.index(o) for o in objects} | {empty_id}))
    frame_ids = torch.tensor([vocab.index(w) for w in build.FRAME_WORDS])
    print(f"vocab {len(vocab)} ({sum(not w.startswith('<unused') for w in vocab)} used); objects {len(objects)}; "
          f"tasks {list(enc_tr)}; train clips {[len(e) for e in enc_tr.values()]}", flush=True)

    model = build.build_model(vocab, vis_width=args.vis_width, vis_layers=args.vis_layers, width=args.width,
                              layers=args.layers, heads=args.heads, kv_heads=args.kv_heads)
    print("params", build.n_params(model), flush=True)
    opt = make_optimizer(model, args)
    rng = np.random.default_rng(args.seed)
    step, elapsed = 0, 0.0
    if state:
        restore(state, model, opt, rng)
        step, elapsed = state["step"], state["elapsed"]
        print(f"resumed at step {step} ({elapsed / 60:.1f} min)", flush=True)
    write_run_info(run, vocab, args)
    tasks = list(mix)
    csv_path = open_curve(run, ["step", "minutes", "stage", "lr", "loss", "obj_acc", "frame_acc", "bind_acc"] + tasks)
    stat = {k: [] for k in ("loss", "obj", "frame", "bind", "time")}
    t0 = time.time()
    last_eval = None
    B = args.batch
    k_tok = torch.arange(build.N_VIDEO_TOKENS) // build.TOKENS_PER_FRAME  # frame of each video token

    def checkpoint():
        nonlocal t0, elapsed
        elapsed += time.time() - t0
        t0 = time.time()
        save_last(ckpt_path, model, opt, rng, step=step, elapsed=elapsed, vocab=vocab, args=vars(args))

    def mean(k, n=50):
        v = [x for x in stat[k][-n:] if x == x]
        return float(np.mean(v)) if v else float("nan")

    n_bench = 0
    while step < args.steps and not (args.stop_at and step >= args.stop_at):
        ts = time.time()
        stage = 0 if step < args.stage0 else 1
        lr = lr_at(step, args)
        for g in opt.param_groups:
            g["lr"] = lr
        w = np.array([mix[t] for t in tasks])
        per = rng.multinomial(B, w / w.sum())
        parts = [enc_tr[t].batch(rng.integers(0, len(enc_tr[t]), k)) for t, k in zip(tasks, per) if k]
        L = max(p["ids"].shape[1] for p in parts)
        cat = lambda key: torch.from_numpy(np.concatenate([p[key] for p in parts]))
        ids = torch.from_numpy(np.concatenate([np.pad(p["ids"], ((0, 0), (0, L - p["ids"].shape[1])),
                                                      constant_values=tok.pad_token_id) for p in parts]))
        pix = to_pixels(np.concatenate([p["frames"] for p in parts]))
        layers = (args.frame_layer, args.bind_layer)
        feats, out = forward(model, ids, pix, hidden_layers=layers)
        loss = torch.zeros(())
        # object loss: clip frames + grid scenes
        gimg, gq = gframes.batch(rng.integers(0, len(gframes), args.grid_frames))
        gfeats = video_feats(model, to_pixels(gimg)[:, None])  # [G, 4, D]
        allf = torch.cat([feats.reshape(-1, feats.shape[-1]), gfeats.reshape(-1, gfeats.shape[-1])])
        allq = torch.cat([cat("quad_obj").reshape(-1, 2), torch.from_numpy(gq).reshape(-1, 2)])
        ol, oacc = object_loss(model, allf, allq, class_ids, empty_id)
        loss = loss + (1.0 if stage == 0 else args.aux_weight) * ol
        stat["obj"].append(oacc)
        # frame loss: every video token names its frame word
        vstart = int((ids[0] == model.config.video_token_id).nonzero()[0])
        hv = out.hidden_states[args.frame_layer][:, vstart:vstart + build.N_VIDEO_TOKENS]
        fl_logits = lens(model, hv, frame_ids)
        tgt = k_tok.expand(ids.shape[0], -1)
        loss = loss + args.frame_weight * F.cross_entropy(fl_logits.reshape(-1, len(frame_ids)), tgt.reshape(-1))
        stat["frame"].append((fl_logits.argmax(-1) == tgt).float().mean().item())
        if stage == 1:
            h = out.last_hidden_state[torch.arange(ids.shape[0]), cat("ans_pos")]
            loss = loss + F.cross_entropy(model.lm_head(h), cat("answer"))
            if args.bind_weight:
                op, of = cat("obj_pos"), cat("obj_frame")
                b, j = torch.nonzero(op >= 0, as_tuple=True)
                hb = out.hidden_states[args.bind_layer][b, op[b, j]]
                bl = lens(model, hb, frame_ids)
                loss = loss + args.bind_weight * F.cross_entropy(bl, of[b, j])
                stat["bind"].append((bl.argmax(-1) == of[b, j]).float().mean().item())
        stat["loss"].append(optimizer_step(model, opt, loss))
        stat["time"].append(time.time() - ts)
        step += 1
        if args.bench:
            n_bench += 1
            print(f"bench step {n_bench}: {stat['time'][-1]:.3f} s", flush=True)
            if n_bench >= args.bench:
                print(f"s/step median {np.median(stat['time'][1:]):.3f} (batch {B}, {args.grid_frames} grid frames)")
                return
            continue
        if step % 50 == 0:
            mins = (elapsed + time.time() - t0) / 60
            print(f"step {step} stage {stage} lr {lr:.2e} loss {mean('loss'):.4f} obj {mean('obj'):.3f} "
                  f"frame {mean('frame'):.3f} bind {mean('bind'):.3f} {mean('time'):.2f} s/step {mins:.1f} min", flush=True)
        if step % args.eval_every == 0 and step >= args.stage0:
            res = evaluate(model, enc_he, args.eval_n)
            last_eval = res
            el = elapsed + time.time() - t0
            n = args.eval_every
            append_row(csv_path, [step, f"{el / 60:.2f}", stage, f"{lr:.3e}", f"{mean('loss', n):.4f}",
                                  f"{mean('obj', n):.3f}", f"{mean('frame', n):.3f}", f"{mean('bind', n):.3f}"]
                       + [f"{res[t]:.3f}" for t in tasks])
            print("EVAL", step, json.dumps({k: round(v, 3) for k, v in res.items()}), flush=True)
            checkpoint()
        if step % args.save_every == 0:
            res = last_eval if last_eval is not None else evaluate(model, enc_he, args.eval_n)
            build.save_hf_dir(model, vocab, os.path.join(run, f"ckpt-{step}"),
                              {"step": step, "minutes": (elapsed + time.time() - t0) / 60, "heldout_acc": res,
                               "args": vars(args)})
    res = evaluate(model, enc_he, args.eval_n)
    checkpoint()
    build.save_hf_dir(model, vocab, os.path.join(run, f"ckpt-{step}"),
                      {"step": step, "minutes": elapsed / 60, "heldout_acc": res, "args": vars(args)})
    print("FINAL", step, json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
