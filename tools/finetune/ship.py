"""Ship a spatial-ID fine-tuned toy model as a small *derived* bundle: data/models/toy-llava-sidft-<run>/ holds only
the files that differ from the start bundle, plus a linmech.json naming it as `base` (src/engine/bundle.ts resolves
every other file from the base).

  python -m tools.finetune.ship <run>            (run = control | spatial | ...: tools/toy/runs/sidft-<run>/final)

Steps: (1) export the fine-tuned HF folder with the project's exporter (`python -m tools.export.export`, with its
ORT-vs-PyTorch self-check) into a scratch folder; (2) check that everything except onnx/vision_encoder.onnx is the
base bundle's — the decoder's and the token embedding's initializers bit-identical (only vision MLP weights were
trained), tokenizer / processor / config files equal — and fail otherwise; (3) copy vision_encoder.onnx and
linmech.json (the export's, with `base` and the run's provenance added) into data/models/toy-llava-sidft-<run>/;
(4) evaluate the derived bundle through the TypeScript engine (evalToy, ONNX Runtime, 200 held-out scenes per task,
like the zoo) into eval.json and write MODEL_CARD.md. The folder must stay under --max-mb (3 MB).
"""
from __future__ import annotations

import argparse
import filecmp
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

from .onnx_weights import MODELS, REPO, bundle_dir
from .train import RUNS


def inits(path: str) -> dict[str, np.ndarray]:
    return {i.name: numpy_helper.to_array(i) for i in onnx.load(path).graph.initializer}


def same_weights(a: str, b: str) -> bool:
    x, y = inits(a), inits(b)
    # initializer names of bias-free weights are export-order numbers; compare the multiset of arrays by shape+bytes
    key = lambda d: sorted((v.shape, v.tobytes()) for v in d.values())
    return key(x) == key(y)


def dir_mb(path: str) -> float:
    return sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(path) for f in fs) / 2 ** 20


def card(name: str, base: str, run: str, training: dict, evals: list[dict], base_evals: list[dict], meta: dict) -> str:
    args = training["args"]
    fin = training["final"]
    be = {e["task"]: e["accuracy"] for e in base_evals}
    sc = meta.get("self_check", {})
    lines = [f"# {name}", "",
             f"`{base}` after spatial-ID fine-tuning run **{run}** (tools/finetune, tools/README.md \"Spatial-ID "
             "fine-tuning\"). A *derived bundle*: only `onnx/vision_encoder.onnx` differs from the base; every other "
             f"file is read from `data/models/{base}` (linmech.json `\"base\"`).", "",
             "## Training",
             f"- Command: `python -m tools.finetune.train --run {args['run']}"
             + (f" --seed {args['seed']} --data-seed {args['data_seed']}" if args['seed'] else "")
             + (f" --layer {args['layer']}" if args['layer'] != 4 else "") + f" --steps {args['steps']}` "
             f"({training['minutes']:.1f} min on 2 shared CPU cores).",
             f"- Trainable: fc1/fc2 weight matrices of both CLIP vision blocks (262,144 weights); AdamW lr {args['lr']}, "
             f"wd {args['wd']}, linear schedule with 3 % warm-up, batch {args['batch']}, {args['steps']} steps.",
             f"- Data: 4x4 grid tiles in groups sharing (subject, its cell, reference object); "
             + ("grouped batches" if args["run"] != "control-random" else "random batches")
             + "; loss: answer cross-entropy"
             + (f" + 1 x L_sid at hidden_states[{args['layer']}]" if args['run'] == 'spatial' else "") + ".",
             f"- Last PyTorch evaluation (step {fin['step']}): clutter-lr {fin['clutter-lr']}, clutter-ab "
             f"{fin['clutter-ab']}, grid-lr {fin['grid-lr']}, grid-ab {fin['grid-ab']}, held-out L_sid {fin['heldout_sid']}.",
             "",
             "## Held-out accuracy (ONNX Runtime, this bundle; base for comparison)",
             f"`node src/dist/cli/evalToy.js --model {name} --n 200` (fresh held-out scenes, held-out objects, greedy answer).",
             "", "| task | n | accuracy | base | chance |", "|---|---|---|---|---|"]
    lines += [f"| {e['task']} | {e['n']} | {e['accuracy']:.3f} | {be.get(e['task'], float('nan')):.3f} | {e['chance']:.3f} |" for e in evals]
    lines += ["", "## Export check",
              f"`tools/export` self-check of the fine-tuned model, ORT vs PyTorch: prefill {sc.get('prefill_logits_max_abs', float('nan')):.1e}, "
              f"decode {sc.get('decode_logits_max_abs', float('nan')):.1e} (tolerance {sc.get('tolerance', 1e-4)}); decoder and "
              "token-embedding weights verified bit-identical to the base's before they were dropped.", "",
              "## Licence", "Model weights: MIT (this project). Training images use Twemoji graphics (CC-BY 4.0, see "
              "data/ATTRIBUTION.md).", ""]
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run")
    p.add_argument("--name", default="")
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--max-mb", type=float, default=3.0)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args(argv)
    ckpt = os.path.join(RUNS, f"sidft-{a.run}", "final")
    training = json.load(open(os.path.join(ckpt, "training.json")))
    base = training["base"]
    bdir = bundle_dir(base)
    name = a.name or f"toy-llava-sidft-{a.run}"
    out = os.path.join(MODELS, name)
    with tempfile.TemporaryDirectory(prefix="sidft-export-") as tmp:
        full = os.path.join(tmp, "bundle")
        r = subprocess.run([sys.executable, "-m", "tools.export.export", ckpt, full, "--threads", str(a.threads)], cwd=REPO)
        if r.returncode:
            sys.exit(f"export of {ckpt} failed (exit {r.returncode})")
        for f in ("embed_tokens.onnx", "decoder_model_merged.onnx"):
            if not same_weights(os.path.join(full, "onnx", f), os.path.join(bdir, "onnx", f)):
                sys.exit(f"{f} of the fine-tuned export differs from {base}'s: only the vision encoder may change")
        if same_weights(os.path.join(full, "onnx", "vision_encoder.onnx"), os.path.join(bdir, "onnx", "vision_encoder.onnx")):
            sys.exit("the fine-tuned vision encoder equals the base's: nothing was trained")
        for f in ("tokenizer.json", "tokenizer_config.json", "preprocessor_config.json", "config.json",
                  "generation_config.json", "chat_template.jinja"):
            pa, pb = os.path.join(full, f), os.path.join(bdir, f)
            if os.path.exists(pa) and os.path.exists(pb) and not filecmp.cmp(pa, pb, shallow=False):
                if not (f.endswith(".json") and json.load(open(pa)) == json.load(open(pb))):
                    sys.exit(f"{f} of the export differs from {base}'s; a derived bundle cannot take it from the base")
        meta = json.load(open(os.path.join(full, "linmech.json")))
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(os.path.join(out, "onnx"))
        shutil.copy(os.path.join(full, "onnx", "vision_encoder.onnx"), os.path.join(out, "onnx", "vision_encoder.onnx"))
    meta = {"base": base, "derived": {
        "what": "spatial-ID fine-tuning (tools/finetune): only onnx/vision_encoder.onnx differs from the base",
        "run": a.run, "files": ["onnx/vision_encoder.onnx"], "trainable": "vision_tower.encoder.layers.{0,1}.mlp.fc{1,2}.weight",
        "args": training["args"]}, **{k: v for k, v in meta.items() if k != "source_dir"}}
    json.dump(meta, open(os.path.join(out, "linmech.json"), "w"), indent=2)
    ev = os.path.join(out, "eval.json")
    r = subprocess.run(["node", os.path.join(REPO, "src", "dist", "cli", "evalToy.js"), "--model", out, "--n", str(a.n),
                        "--json", ev], cwd=REPO)
    if r.returncode:
        sys.exit(f"evalToy on {out} failed (exit {r.returncode})")
    evals = json.load(open(ev))
    for e in evals:
        e["model"] = name
    json.dump(evals, open(ev, "w"), indent=1)
    base_evals = json.load(open(os.path.join(bdir, "eval.json")))
    open(os.path.join(out, "MODEL_CARD.md"), "w").write(card(name, base, a.run, training, evals, base_evals, meta))
    mb = dir_mb(out)
    if mb > a.max_mb:
        sys.exit(f"{out} is {mb:.2f} MB, over the {a.max_mb} MB limit")
    print(f"shipped {out} ({mb:.2f} MB)")


if __name__ == "__main__":
    main()
