"""PyTorch reference fixtures for the real-family parity tests (test/families/*.test.ts).

    python -m tools.reference.families.build <family> <out-dir> [--seed 0]

For one family: a seeded tiny random model from the family's transformers config classes (tools/reference/families/
<family>.py) -> save_pretrained (hf/) -> tools/export (bundle/) -> reference values computed by PyTorch with
forward hooks (eager attention), written as reference.json + arrays/*.f32 (raw little-endian float32):
  - two inputs (the two objects swapped, same length): expanded ids and tokens, word positions (last sub-token of
    " " + word), the residual stream at every site (hook_embed = input of decoder layer 0, blocks.i.hook_resid_post
    = output of decoder layer i, pre-final-norm), last-position log-probs, three greedy tokens;
  - a replace edit (input 1's blocks.1 stream at both object positions written into input 0), an image edit
    (input 1's blocks.0 stream at two middle image tokens written into input 0; the last block's stream at every
    position kept) and an add edit (a seeded vector added at two layers at the last prompt position): log-probs and
    three greedy tokens, the edits applied on the prefill pass only (carried through the KV cache), as the engine
    does.
Video families (SPEC "frames"): each input is a clip of that many random frames (images/input{k}.frame{f}.png) with
a {"type": "video"} chat part; pixel_values holds every frame [frames, 3, H, W] and the image edit sits inside the
clip's video tokens.
"""
from __future__ import annotations

import argparse
import importlib
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch

FAMILIES = {"llava-1.5": "llava15", "qwen2-vl": "qwen2vl", "qwen2.5-vl": "qwen25vl", "gemma-3": "gemma3",
            "internvl3": "internvl3", "mllama": "mllama", "llava-video": "llava_video"}
QUESTIONS = ["Is the hedgehog to the left or right of the camel in the image?",
             "Is the camel to the left or right of the hedgehog in the image?"]
WORDS = ("hedgehog", "camel")
NEW_TOKENS = 3
FORMAT = 1


def spec_of(family: str) -> dict:
    if family not in FAMILIES:
        raise SystemExit(f"unknown family {family!r}; known: {', '.join(FAMILIES)}")
    return importlib.import_module(f"{__package__}.{FAMILIES[family]}").SPEC


class Arrays:
    def __init__(self, root: Path):
        self.root = root
        (root / "arrays").mkdir(parents=True, exist_ok=True)

    def put(self, name: str, x) -> dict:
        a = np.ascontiguousarray(np.asarray(x.detach().float().numpy() if torch.is_tensor(x) else x, dtype="<f4"))
        rel = f"arrays/{name}.f32"
        a.tofile(self.root / rel)
        return {"file": rel, "shape": list(a.shape)}


def word_tokens(tok, word: str) -> list[str]:
    """Sub-tokens of " " + word, leading whitespace-only pieces dropped (the engine's TextCodec.wordTokens)."""
    pieces = tok.backend_tokenizer.encode(" " + word, add_special_tokens=False).tokens
    k = 0
    while k < len(pieces) - 1 and pieces[k].strip("\u2581\u0120 \t\n") == "":
        k += 1
    return pieces[k:]


def word_position(tok, tokens: list[str], word: str) -> int:
    p = word_tokens(tok, word)
    for i in range(len(tokens) - len(p) + 1):
        if tokens[i:i + len(p)] == p:
            return i + len(p) - 1
    raise RuntimeError(f"{word!r} ({p}) not in {tokens}")


class Runner:
    """Forward passes of the HF model with capture and edit hooks on the decoder layers."""

    def __init__(self, model, layers, T_of):
        self.model, self.layers = model, layers
        self.L = len(layers)

    def forward(self, enc: dict, edits=(), capture=False, generate=0):
        T = enc["input_ids"].shape[1]
        handles, cap = [], {}
        for e in edits:
            def hook(mod, args, output, e=e):
                h = output[0] if isinstance(output, tuple) else output
                if h.shape[1] != T:  # decode steps: the edit lives on the prompt only (carried by the KV cache)
                    return output
                h = h.clone()
                pos = torch.tensor(e["positions"])
                v = e["values"].to(h.dtype)
                h[0, pos] = v if e["op"] == "replace" else h[0, pos] + v
                return (h, *output[1:]) if isinstance(output, tuple) else h
            handles.append(self.layers[e["layer"]].register_forward_hook(hook))
        if capture:
            def pre(mod, args, kwargs):
                h = args[0] if args else kwargs["hidden_states"]
                if h.shape[1] == T and "embed" not in cap:
                    cap["embed"] = h[0].detach().clone()
            handles.append(self.layers[0].register_forward_pre_hook(pre, with_kwargs=True))
            for i, layer in enumerate(self.layers):
                def post(mod, args, output, i=i):
                    h = output[0] if isinstance(output, tuple) else output
                    if h.shape[1] == T and i not in cap:
                        cap[i] = h[0].detach().clone()
                handles.append(layer.register_forward_hook(post))
        try:
            with torch.no_grad():
                out = self.model(**enc, use_cache=False, return_dict=True)
                lp = torch.log_softmax(out.logits[0, -1].float(), dim=-1)
                gen = None
                if generate:
                    cap_keys = set(cap)
                    g = self.model.generate(**enc, max_new_tokens=generate, do_sample=False, num_beams=1)
                    gen = g[0, T:].tolist()
                    eos = self.model.generation_config.eos_token_id
                    eos = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
                    for k, t in enumerate(gen):
                        if t in eos:
                            gen = gen[:k]
                            break
                    assert set(cap) == cap_keys
        finally:
            for h in handles:
                h.remove()
        sites = None
        if capture:
            sites = {"hook_embed": cap["embed"]}
            for i in range(self.L):
                sites[f"blocks.{i}.hook_resid_post"] = cap[i]
        return lp, sites, gen


def build(family: str, out_dir: Path, seed: int = 0, check: bool = True) -> dict:
    from PIL import Image
    import transformers
    from transformers import AutoProcessor

    from tools.export.export import export

    torch.set_num_threads(1)
    t0 = time.time()
    spec = spec_of(family)
    out_dir = Path(out_dir)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    hf = spec["build_hf"](out_dir / "hf", seed=seed)
    t_export = time.time()
    meta = export(hf, out_dir / "bundle", check=check)
    t_export = time.time() - t_export
    cls = getattr(transformers, spec["model_class"])
    model = cls.from_pretrained(hf, attn_implementation="eager", dtype=torch.float32).eval()
    processor = spec["processor"](hf) if "processor" in spec else AutoProcessor.from_pretrained(hf)
    tok = processor.tokenizer
    layers = spec["layers"](model)
    runner = Runner(model, layers, None)
    L, d = len(layers), meta["hidden_size"]
    arrays = Arrays(out_dir)
    (out_dir / "images").mkdir()
    W, H = spec["image_size"]
    inputs, encs, sites_of = [], [], []
    frames = spec.get("frames")  # video families: a clip of this many frames per input instead of one image
    for k, q in enumerate(QUESTIONS):
        rng = np.random.default_rng(seed * 1000 + 17 + k)
        if frames:
            pngs = [f"images/input{k}.frame{f}.png" for f in range(frames)]
            for f in pngs:
                Image.fromarray(rng.integers(0, 256, (H, W, 3), dtype=np.uint8)).save(out_dir / f)
            video = np.stack([np.asarray(Image.open(out_dir / f).convert("RGB")) for f in pngs])
            messages = [{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": q}]}]
            text = processor.apply_chat_template(messages, add_generation_prompt=True)
            enc = dict(processor(videos=[video], text=[text], return_tensors="pt", **spec.get("processor_kwargs", {})))
        else:
            png = f"images/input{k}.png"
            Image.fromarray(rng.integers(0, 256, (H, W, 3), dtype=np.uint8)).save(out_dir / png)
            image = Image.open(out_dir / png).convert("RGB")
            messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": q}]}]
            text = processor.apply_chat_template(messages, add_generation_prompt=True)
            enc = dict(processor(images=[image], text=[text], return_tensors="pt", **spec.get("processor_kwargs", {})))
        for key, v in list(enc.items()):
            if torch.is_tensor(v) and v.is_floating_point():
                enc[key] = v.float()
        ids = enc["input_ids"][0].tolist()
        tokens = tok.convert_ids_to_tokens(ids)
        lp, sites, gen = runner.forward(enc, capture=True, generate=NEW_TOKENS)
        rec = {**({"frames": pngs} if frames else {"image": png}), "question": q, "text": text, "input_ids": ids, "tokens": tokens,
               "positions": {w: word_position(tok, tokens, w) for w in WORDS},
               "hidden": {s: arrays.put(f"input{k}.{s}", v) for s, v in sites.items()},
               "last_logprobs": arrays.put(f"input{k}.last_logprobs", lp), "last_argmax": int(lp.argmax()),
               "generate": gen}
        pv = enc["pixel_values_videos"][0] if frames else enc.get("pixel_values")  # video: [frames, 3, H, W]
        if pv is not None and pv.dim() == 4 and spec.get("compare_pixels", True):
            rec["pixel_values"] = arrays.put(f"input{k}.pixel_values", pv)
        inputs.append(rec)
        encs.append(enc)
        sites_of.append(sites)
    if len(inputs[0]["input_ids"]) != len(inputs[1]["input_ids"]):
        raise RuntimeError("inputs 0 and 1 must have the same length")

    p0 = inputs[0]["positions"]
    rep_pos = [p0[w] for w in WORDS]
    rep_site = "blocks.1.hook_resid_post"
    rep_vals = sites_of[1][rep_site][rep_pos]
    T0 = len(inputs[0]["input_ids"])
    add_layers = [0, L - 1]
    g = torch.Generator().manual_seed(seed + 99)
    base = torch.randn(d, generator=g)
    patches = []
    rep_edits = [{"layer": 1, "op": "replace", "positions": rep_pos, "values": rep_vals}]
    lp, _, gen = runner.forward(encs[0], rep_edits, generate=NEW_TOKENS)
    patches.append({"name": "replace", "edits": [{"op": "replace", "site": rep_site, "positions": rep_pos,
                                                  "values": arrays.put("replace_values", rep_vals)}],
                    "last_logprobs": arrays.put("patch_replace.last_logprobs", lp), "generate": gen})
    # an edit inside the first image: two middle image tokens at blocks.0 replaced by input 1's values; the
    # last block's stream is kept at every position (families with bidirectional image attention change image
    # tokens before the edit too)
    vis_id = meta["video_token_id"] if frames else meta["image_token_id"]
    img = [i for i, t in enumerate(inputs[0]["input_ids"]) if t == vis_id]
    img_pos = [img[len(img) // 2 - 1], img[len(img) // 2]]
    # the layer edited: spec "image_edit_layer", default 0 (Mllama: 1, its first cross-attention layer — the single
    # <|image|> token's stream does not depend on the image before it)
    il = spec.get("image_edit_layer", 0)
    img_vals = sites_of[1][f"blocks.{il}.hook_resid_post"][img_pos]
    lp, img_sites, gen = runner.forward(encs[0], [{"layer": il, "op": "replace", "positions": img_pos, "values": img_vals}],
                                        capture=True, generate=NEW_TOKENS)
    last_site = f"blocks.{L - 1}.hook_resid_post"
    patches.append({"name": "image", "edits": [{"op": "replace", "site": f"blocks.{il}.hook_resid_post", "positions": img_pos,
                                                "values": arrays.put("image_values", img_vals)}],
                    "last_logprobs": arrays.put("patch_image.last_logprobs", lp), "generate": gen,
                    "hidden": {last_site: arrays.put(f"patch_image.{last_site}", img_sites[last_site])}})
    scale = 1.0
    for scale in (2.0, 4.0, 8.0, 16.0):
        add_edits = [{"layer": l, "op": "add", "positions": [T0 - 1], "values": (base * scale)[None]} for l in add_layers]
        lp, _, gen = runner.forward(encs[0], add_edits, generate=NEW_TOKENS)
        if gen != inputs[0]["generate"]:
            break
    patches.append({"name": "add", "edits": [{"op": "add", "site": f"blocks.{l}.hook_resid_post", "positions": [T0 - 1],
                                              "vector": "steer"} for l in add_layers],
                    "last_logprobs": arrays.put("patch_add.last_logprobs", lp), "generate": gen,
                    "changes_generation": gen != inputs[0]["generate"]})
    ref = {"format": FORMAT, "family": family, "bundle_family": meta["family"], "seed": seed, "num_layers": L,
           "hidden_size": d, "new_tokens": NEW_TOKENS, "sites": ["hook_embed"] + [f"blocks.{i}.hook_resid_post" for i in range(L)],
           "inputs": inputs, "vectors": {"steer": arrays.put("steer", base * scale)}, "patches": patches,
           "export_self_check": meta.get("self_check"), "export_seconds": round(t_export, 2),
           "hf_bytes": sum(p.stat().st_size for p in (out_dir / "hf").rglob("*") if p.is_file()),
           "params": sum(p.numel() for p in model.parameters()),
           "text_params": sum(p.numel() for p in spec["text_model"](model).parameters()) if "text_model" in spec else None,
           "versions": meta["exported_with"]}
    ref["build_seconds"] = round(time.time() - t0, 1)
    with open(out_dir / "reference.json", "w") as f:
        json.dump(ref, f, indent=1)
        f.write("\n")
    return ref


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.reference.families.build", description=__doc__.split("\n\n")[0])
    ap.add_argument("family", choices=sorted(FAMILIES))
    ap.add_argument("out_dir")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    ref = build(a.family, Path(a.out_dir), seed=a.seed)
    print(f"wrote {a.out_dir}/reference.json ({ref['family']}, {ref['num_layers']} layers) in {ref['build_seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
