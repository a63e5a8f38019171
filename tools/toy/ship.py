"""Ship a training checkpoint as a bundle in data/models: export (tools/export, ORT-vs-PyTorch self-check),
held-out evaluation through the TypeScript engine (src/dist/cli/evalToy.js -> eval.json), and MODEL_CARD.md.

  python -m tools.toy.ship <hf-checkpoint-dir> <bundle-name> [--n 300] [--max-mb 30] [--role "..."] [--skip-export]

The accuracy table of the card is the one evalToy measures on the exported ONNX bundle (ONNX Runtime), never the
training-time PyTorch numbers (those are listed separately, for reference).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from .common import RUNS

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODELS = os.path.join(REPO, "data", "models")


def dir_mb(path: str) -> float:
    return sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(path) for f in fs) / 2 ** 20


def n_params(ckpt: str) -> int:
    import math
    from safetensors import safe_open
    with safe_open(os.path.join(ckpt, "model.safetensors"), "pt") as f:
        return sum(math.prod(f.get_slice(k).get_shape()) for k in f.keys())


def curve_rows(run: str, upto: int) -> list[dict]:
    import csv
    p = os.path.join(run, "curve.csv")
    if not os.path.exists(p):
        return []
    return [r for r in csv.DictReader(open(p)) if int(r["step"]) <= upto]


def card_inputs(ckpt: str, bundle: str) -> tuple[dict, dict, dict]:
    """config.json and training.json of the checkpoint, linmech.json of the exported bundle."""
    return (json.load(open(os.path.join(ckpt, "config.json"))), json.load(open(os.path.join(ckpt, "training.json"))),
            json.load(open(os.path.join(bundle, "linmech.json"))))


def accuracy_table(evals: list[dict]) -> list[str]:
    """The card's held-out accuracy table (rows of eval.json)."""
    return (["| task | n | accuracy | chance |", "|---|---|---|---|"]
            + [f"| {r['task']} | {r['n']} | {r['accuracy']:.3f} | {r['chance']:.3f} |" for r in evals])


LICENCE = ["## Licence", "Model weights: MIT (this project). Training images use Twemoji graphics (CC-BY 4.0, see "
           "data/ATTRIBUTION.md).", ""]


def card(name: str, ckpt: str, bundle: str, evals: list[dict], role: str, n_eval: int) -> str:
    cfg, tr, meta = card_inputs(ckpt, bundle)
    args = tr["args"]
    vc, tc = cfg["vision_config"], cfg["text_config"]
    sc = meta.get("self_check", {})
    lines = [f"# {name}", "", role, "",
             "## Architecture",
             f"- `{cfg['architectures'][0]}` (Hugging Face transformers {meta['exported_with']['transformers']}), "
             f"{n_params(ckpt):,} parameters (tied input/output embeddings counted once).",
             f"- Vision tower: CLIP ViT, {vc['image_size']}x{vc['image_size']} px input, patch {vc['patch_size']} "
             f"(one patch per 16-px grid cell, {meta['tokens_per_image']} image tokens), {vc['num_hidden_layers']} layers, "
             f"width {vc['hidden_size']}, {vc['num_attention_heads']} heads, learned position embeddings; "
             f"features of the last layer without CLS (`vision_feature_select_strategy=default`).",
             f"- Projector: 2-layer MLP (GELU), {vc['hidden_size']} -> {tc['hidden_size']}.",
             f"- Decoder: {tc['model_type']} ({tc['num_hidden_layers']} layers, width {tc['hidden_size']}, "
             f"{tc['num_attention_heads']} heads, MLP {tc['intermediate_size']}, RoPE theta {tc.get('rope_theta', (tc.get('rope_parameters') or {}).get('rope_theta'))}, "
             f"RMSNorm), word-level vocabulary of {tc['vocab_size']} tokens (`tokenizer.json`, chat template "
             f"`USER: <image>\\n{{question}} ASSISTANT:`).",
             "",
             "## Training",
             f"- Command: `bash tools/toy/train-toy-llava.sh` (seeded, resumable; see tools/README.md); "
             f"this bundle is the checkpoint at step **{tr['step']}** ({tr['minutes']:.1f} min of training on 2 shared CPU cores).",
             f"- Data: scene shards from the project's scene engine (`node src/dist/cli/shards.js`, train split, "
             f"seed {args['shard_seed']}, {args['n_train']:,} scenes per task, 64x64 px, re-used across epochs); "
             "6 objects (horse, lemon, truck, kite, mushroom, cactus) never appear in training relation questions.",
             f"- Recipe: stage 0 ({args['stage0']} steps) vision pre-training, each image token classifies its grid cell's "
             "object (or `empty`) against the tied word embeddings"
             + (f" and its own column word (c0..c3) and row word (r0..r3) (position loss, weight {args['pos_weight']})"
                if args.get("pos_weight") else "")
             + f"; stage 1 every task of the mix `{args['tasks1']}`, loss on the answer token + {args['aux_weight']} x the cell loss"
             + (f" + the **binding loss** (weight {args['bind_weight']}): in the residual stream `hidden_states[{args['bind_layer']}]` "
                f"(= `blocks.{args['bind_layer'] - 1}.hook_resid_post`), read through the final norm and the tied embeddings, "
                "each object word of the question names its object's column and row word"
                if args.get("bind_weight") else "")
             + f"; AdamW lr {args['lr']} " + (("constant after warm-up" + (f", cosine-decayed to 5% from step {args['decay_from']} over "
                                                                     f"{args['decay_steps']} steps" if args.get("decay_from") else ""))
                                    if args.get("const_lr") else "cosine")
             + f", batch {args['batch']}.",
             "",
             f"## Held-out accuracy (ONNX Runtime, this bundle)",
             f"Measured by `node src/dist/cli/evalToy.js --model {name} --n {n_eval}` on freshly generated held-out scenes "
             "(held-out seed stream; relation questions about the 6 held-out objects), greedy answer. Raw numbers: `eval.json`.",
             ""] + accuracy_table(evals)
    lines += ["",
              "## Export check",
              f"`tools/export` self-check, ONNX Runtime vs PyTorch logits: prefill max |diff| "
              f"{sc.get('prefill_logits_max_abs', float('nan')):.1e}, decode {sc.get('decode_logits_max_abs', float('nan')):.1e} "
              f"(tolerance {sc.get('tolerance', 1e-4)}). Bundle size {dir_mb(bundle):.1f} MB.", ""]
    rows = curve_rows(os.path.join(RUNS, args["name"]), tr["step"])
    if rows:
        tasks = [k for k in rows[0] if k not in ("step", "minutes", "stage", "lr", "loss", "aux_acc")]
        lines += ["## Learning curve up to this checkpoint (PyTorch, 300 held-out shard scenes per task)", "",
                  "| step | min | stage | loss | " + " | ".join(tasks) + " |",
                  "|---" * (4 + len(tasks)) + "|"]
        for r in rows[::2] if len(rows) > 16 else rows:
            lines.append(f"| {r['step']} | {float(r['minutes']):.0f} | {r['stage']} | {r['loss']} | "
                         + " | ".join(r[t] or "-" for t in tasks) + " |")
        lines.append("")
    lines += LICENCE
    return "\n".join(lines)


def add_ship_args(p) -> None:
    """The flags both ship commands have after their checkpoint/name arguments."""
    p.add_argument("--n", type=int, default=300)
    p.add_argument("--max-mb", type=float, default=30)


def add_ship_mode_args(p) -> None:
    p.add_argument("--skip-export", action="store_true")
    p.add_argument("--card-only", action="store_true", help="rewrite MODEL_CARD.md from the existing eval.json")


def ship(a, export_args: list[str], make_card) -> None:
    """Export `a.ckpt` to data/models/<a.name> (unless --skip-export/--card-only), check the size, evaluate the
    bundle through the TypeScript engine into eval.json (unless --card-only) and write MODEL_CARD.md =
    make_card(bundle, evals)."""
    bundle = os.path.join(MODELS, a.name)
    if not (a.skip_export or a.card_only):
        r = subprocess.run([sys.executable, "-m", "tools.export.export", a.ckpt, bundle] + export_args, cwd=REPO)
        if r.returncode:
            sys.exit(f"export of {a.ckpt} failed (exit {r.returncode})")
    mb = dir_mb(bundle)
    if mb > a.max_mb:
        sys.exit(f"{bundle} is {mb:.1f} MB, over the {a.max_mb} MB limit")
    ev = os.path.join(bundle, "eval.json")
    if not a.card_only:
        r = subprocess.run(["node", os.path.join(REPO, "src", "dist", "cli", "evalToy.js"), "--model", bundle,
                            "--n", str(a.n), "--json", ev], cwd=REPO)
        if r.returncode:
            sys.exit(f"evalToy on {bundle} failed (exit {r.returncode})")
    evals = json.load(open(ev))
    for e in evals:  # the bundle name, not the absolute path, in the shipped file
        e["model"] = a.name
    json.dump(evals, open(ev, "w"), indent=1)
    open(os.path.join(bundle, "MODEL_CARD.md"), "w").write(make_card(bundle, evals))
    print(f"shipped {bundle} ({mb:.1f} MB)")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("ckpt")
    p.add_argument("name")
    add_ship_args(p)
    p.add_argument("--role", default="")
    add_ship_mode_args(p)
    a = p.parse_args()
    role = a.role or "Toy LLaVA of the linmech project."
    ship(a, [], lambda bundle, evals: card(a.name, a.ckpt, bundle, evals, role, a.n))


if __name__ == "__main__":
    main()
