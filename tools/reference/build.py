"""Build the tiny-LLaVA parity fixtures: seeded random HF model -> bundle (tools/export) + PyTorch reference values.

    python -m tools.reference.build <out-dir> [--seed 0]

Writes <out-dir>/hf/ (save_pretrained), <out-dir>/bundle/ (the exported ONNX bundle), <out-dir>/images/*.png,
<out-dir>/arrays/*.f32 (raw little-endian float32, C order; shapes in the JSON) and <out-dir>/reference.json.
Conventions: tools/reference/README.md. Deterministic for a given seed (one torch thread).
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch

FORMAT = 1
# Input 0 and input 1 have the same length and the same token positions, with the two objects swapped: the
# replace edit copies input 1's stream into input 0 at the positions of "frog" and "camel".
QUESTIONS = [
    "Is the frog to the left or right of the camel?",
    "Is the camel to the left or right of the frog?",
    "Is the frog above or below the camel?",
]
REPLACE_LAYER = 1
STEER_LAYERS = [0, 2]
NEW_TOKENS = 3


class Arrays:
    def __init__(self, root: Path):
        self.root = root
        (root / "arrays").mkdir(parents=True, exist_ok=True)

    def put(self, name: str, x) -> dict:
        a = np.ascontiguousarray(np.asarray(x.detach().numpy() if torch.is_tensor(x) else x, dtype="<f4"))
        rel = f"arrays/{name}.f32"
        a.tofile(self.root / rel)
        return {"file": rel, "shape": list(a.shape), "dtype": "float32"}


def word_position(tokens: list[str], word: str, occurrence: int = 1) -> int:
    """Index (in the expanded sequence) of the `occurrence`-th token equal to `word` (words are single tokens in
    the tiny word-level vocabulary, so last sub-token == the token)."""
    hits = [i for i, t in enumerate(tokens) if t == word]
    if len(hits) < occurrence:
        raise ValueError(f'word "{word}" not found {occurrence}x in tokens {tokens}')
    return hits[occurrence - 1]


def edit_hooks(layers, edits: list[dict]):
    """Register forward hooks on decoder layers implementing edits: {"layer", "positions", "op": replace|add,
    "values": [K, d] tensor}. Returns the handles. The hook rewrites the layer's output = the residual stream after
    the block (blocks.{i}.hook_resid_post), so later layers read the edited stream."""
    handles = []
    for e in edits:
        def hook(mod, args, output, e=e):
            h = output[0] if isinstance(output, tuple) else output
            h = h.clone()
            pos = torch.tensor(e["positions"], dtype=torch.long)
            if e["op"] == "replace":
                h[:, pos] = e["values"].to(h.dtype)
            else:
                h[:, pos] = h[:, pos] + e["values"].to(h.dtype)
            return (h, *output[1:]) if isinstance(output, tuple) else h
        handles.append(layers[e["layer"]].register_forward_hook(hook))
    return handles


def run(model, enc, edits=(), capture=False):
    """One forward pass (batch 1); returns (last-position log-probs, per-site hidden states or None, output)."""
    text = model.model.language_model
    L = text.config.num_hidden_layers
    captured = {}
    handles = edit_hooks(text.layers, list(edits))
    if capture:  # registered after the edit hooks, so it sees the edited stream
        handles.append(text.layers[L - 1].register_forward_hook(
            lambda m, a, o: captured.__setitem__("last", (o[0] if isinstance(o, tuple) else o).detach().clone())))
    try:
        with torch.no_grad():
            out = model(**enc, output_hidden_states=capture, use_cache=True, return_dict=True)
    finally:
        for h in handles:
            h.remove()
    logprobs = torch.log_softmax(out.logits[0, -1].float(), dim=-1)
    sites = None
    if capture:
        hs = out.hidden_states
        sites = {"hook_embed": hs[0][0]}
        for i in range(L - 1):
            sites[f"blocks.{i}.hook_resid_post"] = hs[i + 1][0]
        sites[f"blocks.{L - 1}.hook_resid_post"] = captured["last"][0]  # pre-norm (HF's hs[L] is normed)
    return logprobs, sites, out


def greedy(model, enc, edits=(), n=NEW_TOKENS) -> list[int]:
    """Greedy decoding; edits are applied on the prefill pass only and reach later tokens through the KV cache."""
    logprobs, _, out = run(model, enc, edits)
    ids = [int(out.logits[0, -1].argmax())]
    past = out.past_key_values
    mask = enc["attention_mask"]
    for _ in range(n - 1):
        mask = torch.cat([mask, torch.ones(1, 1, dtype=mask.dtype)], dim=1)
        with torch.no_grad():
            o = model(input_ids=torch.tensor([[ids[-1]]]), attention_mask=mask, past_key_values=past,
                      use_cache=True, return_dict=True)
        past = o.past_key_values
        ids.append(int(o.logits[0, -1].argmax()))
    return ids


def check_bundle(out_dir: Path, inputs: list[dict], meta: dict) -> dict:
    """The clean references re-computed with ONNX Runtime from the bundle (plain graph + hook tensors as extra
    outputs): max abs diffs, so a fixture set is known to be consistent with its bundle."""
    from tools.export.onnx_utils import max_abs, session, with_extra_outputs

    onnx_dir = out_dir / "bundle" / "onnx"
    vis, emb = session(onnx_dir / "vision_encoder.onnx"), session(onnx_dir / "embed_tokens.onnx")
    hooks = {k: v for k, v in meta["hook_map"].items() if k != "hook_embed"}
    tmp = with_extra_outputs(onnx_dir / "decoder_model_merged.onnx", list(hooks.values()))
    try:
        dec = session(tmp)
        names = [o.name for o in dec.get_outputs()]
        worst = {"last_logprobs": 0.0, "hidden": 0.0}
        for rec in inputs:
            load = lambda a: np.fromfile(out_dir / a["file"], dtype="<f4").reshape(a["shape"])
            ids = np.array([rec["input_ids"]], dtype=np.int64)
            e = emb.run(None, {"input_ids": ids})[0]
            f = vis.run(None, {"pixel_values": load(rec["pixel_values"])})[0]
            e[ids == meta["image_token_id"]] = f.reshape(-1, f.shape[-1])
            T = ids.shape[1]
            feed = {"inputs_embeds": e, "attention_mask": np.ones((1, T), np.int64),
                    "position_ids": np.arange(T, dtype=np.int64)[None]}
            for i in range(meta["num_layers"]):
                for kv in ("key", "value"):
                    feed[f"past_key_values.{i}.{kv}"] = np.zeros((1, meta["num_key_value_heads"], 0, meta["head_dim"]), np.float32)
            r = dict(zip(names, dec.run(None, feed)))
            logits = r["logits"][0, -1].astype(np.float64)
            lp = logits - logits.max() - np.log(np.exp(logits - logits.max()).sum())
            worst["last_logprobs"] = max(worst["last_logprobs"], max_abs(lp, load(rec["last_logprobs"])))
            worst["hidden"] = max(worst["hidden"], max_abs(e[0], load(rec["hidden"]["hook_embed"])),
                                  *[max_abs(r[t][0], load(rec["hidden"][s])) for s, t in hooks.items()])
    finally:
        tmp.unlink()
    return worst


def build(out_dir: Path, seed: int = 0, check: bool = True) -> dict:
    from PIL import Image
    from transformers import AutoProcessor, LlavaForConditionalGeneration

    from tools.export.export import export
    from tools.reference.tiny import TINY_LLAVA, build_tiny_llava

    torch.set_num_threads(1)
    t0 = time.time()
    out_dir = Path(out_dir)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    hf = build_tiny_llava(out_dir / "hf", seed=seed)
    meta = export(hf, out_dir / "bundle", check=check)
    model = LlavaForConditionalGeneration.from_pretrained(hf, attn_implementation="eager").eval()
    processor = AutoProcessor.from_pretrained(hf)
    tok = processor.tokenizer
    L = model.config.text_config.num_hidden_layers
    d = model.config.text_config.hidden_size
    arrays = Arrays(out_dir)
    (out_dir / "images").mkdir()

    inputs, encs, sites_by_input = [], [], []
    s = TINY_LLAVA["image_size"]
    for k, q in enumerate(QUESTIONS):
        rng = np.random.default_rng(seed * 1000 + 17 + k)
        img = rng.integers(0, 256, (s, s, 3), dtype=np.uint8)
        png = f"images/input{k}.png"
        Image.fromarray(img).save(out_dir / png)
        image = Image.open(out_dir / png).convert("RGB")
        messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": q}]}]
        text = processor.apply_chat_template(messages, add_generation_prompt=True)
        enc = processor(images=image, text=text, return_tensors="pt")
        enc = {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"],
               "pixel_values": enc["pixel_values"].float()}
        ids = enc["input_ids"][0].tolist()
        tokens = tok.convert_ids_to_tokens(ids)
        logprobs, sites, _ = run(model, enc, capture=True)
        rec = {
            "id": k, "image": png, "question": q, "messages": messages, "text": text,
            "input_ids": ids, "tokens": tokens, "num_tokens": len(ids),
            "image_token_positions": [i for i, t in enumerate(ids) if t == model.config.image_token_id],
            "positions": {w: word_position(tokens, w) for w in ("frog", "camel")},
            "pixel_values": arrays.put(f"input{k}.pixel_values", enc["pixel_values"]),
            "hidden": {site: arrays.put(f"input{k}.{site}", v) for site, v in sites.items()},
            "last_logprobs": arrays.put(f"input{k}.last_logprobs", logprobs),
            "last_argmax": int(logprobs.argmax()),
            "generate_greedy": greedy(model, enc),
        }
        inputs.append(rec)
        encs.append(enc)
        sites_by_input.append(sites)
    if inputs[0]["positions"] != {"frog": inputs[1]["positions"]["camel"], "camel": inputs[1]["positions"]["frog"]} \
            or inputs[0]["num_tokens"] != inputs[1]["num_tokens"]:
        raise RuntimeError("inputs 0 and 1 must have the same length with frog/camel swapped")

    # the edits, all on input 0
    p0 = inputs[0]["positions"]
    pos_rep = [p0["frog"], p0["camel"]]
    site_rep = f"blocks.{REPLACE_LAYER}.hook_resid_post"
    rep_values = sites_by_input[1][site_rep][pos_rep]
    g = torch.Generator().manual_seed(seed + 99)
    steer = torch.randn(d, generator=g) * 2.0
    steer_file = arrays.put("steer_vector", steer)
    edit_a = [{"layer": REPLACE_LAYER, "op": "replace", "positions": pos_rep, "values": rep_values}]
    edit_b = [{"layer": l, "op": "add", "positions": [p0["frog"]], "values": steer[None]} for l in STEER_LAYERS]
    # (d) the same vector at the last prompt position: with random weights the frog-position edit (b) barely moves
    # the last position, so (d) is the case whose greedy tokens differ from the clean run (a discriminating test of
    # "edit on prefill only, carried through the KV cache").
    last = inputs[0]["num_tokens"] - 1
    edit_d = [{"layer": l, "op": "add", "positions": [last], "values": steer[None]} for l in STEER_LAYERS]
    describe_d = [{"op": "add", "site": f"blocks.{l}.hook_resid_post", "positions": [last],
                   "vector": "steer_vector"} for l in STEER_LAYERS]
    describe_a = [{"op": "replace", "site": site_rep, "positions": pos_rep,
                   "source": {"input": 1, "site": site_rep, "positions": pos_rep},
                   "values": arrays.put("patch_a.replace_values", rep_values)}]
    describe_b = [{"op": "add", "site": f"blocks.{l}.hook_resid_post", "positions": [p0["frog"]],
                   "vector": "steer_vector"} for l in STEER_LAYERS]
    patches = []
    for name, edits, desc in [("a_replace", edit_a, describe_a), ("b_add", edit_b, describe_b),
                              ("c_both", edit_a + edit_b, describe_a + describe_b),
                              ("d_add_last", edit_d, describe_d)]:
        logprobs, sites, _ = run(model, encs[0], edits, capture=True)
        patches.append({
            "name": name, "input": 0, "edits": desc,
            "last_logprobs": arrays.put(f"patch_{name}.last_logprobs", logprobs),
            "last_argmax": int(logprobs.argmax()),
            "hidden": {site: arrays.put(f"patch_{name}.{site}", v) for site, v in sites.items()},
            "max_abs_change_vs_clean": float((logprobs - torch.from_numpy(
                np.fromfile(out_dir / inputs[0]["last_logprobs"]["file"], dtype="<f4"))).abs().max()),
        })
    generation = {
        "new_tokens": NEW_TOKENS, "input": 0,
        "clean": inputs[0]["generate_greedy"],
        "b_add_prefill_only": greedy(model, encs[0], edit_b),
        "c_both_prefill_only": greedy(model, encs[0], edit_a + edit_b),
        "d_add_last_prefill_only": greedy(model, encs[0], edit_d),
    }
    if generation["d_add_last_prefill_only"] == generation["clean"]:
        raise RuntimeError("steering edit (d) does not change the greedy tokens; pick another seed/scale")
    ort_parity = check_bundle(out_dir, inputs, meta) if check else None
    ref = {
        "format": FORMAT,
        "model": "tiny-llava", "seed": seed,
        "hf_dir": "hf", "bundle_dir": "bundle",
        "num_layers": L, "hidden_size": d, "vocab_size": model.config.text_config.vocab_size,
        "image_token_id": model.config.image_token_id, "tokens_per_image": meta["tokens_per_image"],
        "sites": ["hook_embed"] + [f"blocks.{i}.hook_resid_post" for i in range(L)],
        "conventions": {
            "positions": "0-based indices into the expanded sequence (BOS and the 16 image tokens included)",
            "hook_embed": "decoder input embeddings after the image features are merged (HF hidden_states[0])",
            "blocks.i.hook_resid_post": "residual stream after decoder block i (HF hidden_states[i+1]); for the "
                                        "last block the pre-final-norm residual (HF's last entry has the norm)",
            "edits": "applied to the output of decoder layer i (= blocks.i.hook_resid_post) with PyTorch forward "
                     "hooks, so blocks > i read the edited stream; replace sets the vectors, add adds them",
            "generation": "greedy; edits on the prefill pass only, carried to new tokens through the KV cache",
            "logprobs": "log_softmax of the last position's float32 logits",
            "arrays": "raw little-endian float32, C order, shape in the JSON; hidden states are [T, d] (batch 1)",
        },
        "inputs": inputs,
        "vectors": {"steer_vector": steer_file},
        "patches": patches,
        "generation": generation,
        "export_self_check": meta.get("self_check"),
        "ort_parity_clean": ort_parity,
        "versions": meta["exported_with"],
        "build_seconds": None,
    }
    ref["build_seconds"] = round(time.time() - t0, 1)
    with open(out_dir / "reference.json", "w") as f:
        json.dump(ref, f, indent=1)
        f.write("\n")
    return ref


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.reference.build", description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    ref = build(Path(a.out_dir), seed=a.seed)
    print(f"wrote {a.out_dir}/reference.json ({len(ref['inputs'])} inputs, {len(ref['patches'])} patches) "
          f"in {ref['build_seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
