"""Export a Hugging Face VLM folder (save_pretrained of model + processor) to a linmech bundle.

    python -m tools.export.export <hf-model-dir> <out-bundle-dir> [--check | --no-check] [--threads N]

Writes config/tokenizer/preprocessor files, onnx/{vision_encoder,embed_tokens,decoder_model_merged}.onnx and
linmech.json (dimensions, image token, hook map, self-check). The self-check (ONNX Runtime vs PyTorch logits,
prefill + one KV-cache decode step, batch 2, every hook tensor vs HF hidden states) runs by default; it exits
non-zero when a difference exceeds --tol (1e-4). See tools/export/README.md.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from .onnx_utils import ExportError, max_abs, session, with_extra_outputs

FORMAT = 1
DEFAULT_TOL = 1e-4


def _read_json(p: Path) -> dict:
    with open(p) as f:
        return json.load(f)


def _write_json(p: Path, obj) -> None:
    with open(p, "w") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")


def resolve_family(model_dir: Path):
    from .families import registry

    if not model_dir.is_dir():
        raise ExportError(f"model folder not found: {model_dir} (pass a folder written by save_pretrained of the "
                          f"model and its processor)")
    cfg_path = model_dir / "config.json"
    if not cfg_path.is_file():
        raise ExportError(f"missing file: {cfg_path} (the folder must contain config.json, the weights, "
                          f"tokenizer.json and the processor config)")
    if not (model_dir / "tokenizer.json").is_file():
        raise ExportError(f"missing file: {model_dir / 'tokenizer.json'} (save the processor/tokenizer with "
                          f"save_pretrained into the model folder; bundles need the fast-tokenizer file)")
    archs = _read_json(cfg_path).get("architectures") or []
    reg = registry()
    for a in archs:
        if a in reg:
            return reg[a](model_dir)
    raise ExportError(f"unsupported architecture {archs or '(config.json has no architectures)'}; supported: "
                      f"{', '.join(sorted(reg))}")


def copy_side_files(model_dir: Path, out: Path, family) -> None:
    """config, tokenizer (+ chat template folded into tokenizer_config.json), preprocessor config."""
    need = ["tokenizer.json"]
    for n in need:
        if not (model_dir / n).is_file():
            raise ExportError(f"missing file: {model_dir / n} (save the processor/tokenizer with save_pretrained "
                              f"into the model folder)")
    for n in ["config.json", "tokenizer.json", "generation_config.json", "processor_config.json",
              "chat_template.jinja", "chat_template.json", "special_tokens_map.json"]:
        if (model_dir / n).is_file():
            shutil.copyfile(model_dir / n, out / n)
    tok_cfg = _read_json(model_dir / "tokenizer_config.json") if (model_dir / "tokenizer_config.json").is_file() else {}
    template = tok_cfg.get("chat_template")
    if not template and (model_dir / "chat_template.jinja").is_file():
        template = (model_dir / "chat_template.jinja").read_text()
    if not template and (model_dir / "chat_template.json").is_file():
        template = _read_json(model_dir / "chat_template.json").get("chat_template")
    if not template:
        template = getattr(family.processor, "chat_template", None) or getattr(family.processor.tokenizer, "chat_template", None)
    if not template:
        raise ExportError(f"no chat template found in {model_dir} (tokenizer_config.json, chat_template.jinja or "
                          f"chat_template.json)")
    tok_cfg["chat_template"] = template
    # transformers 5 writes "TokenizersBackend", which older loaders (transformers.js, transformers 4) do not know;
    # PreTrainedTokenizerFast is the same thing under its long-standing name.
    if tok_cfg.get("tokenizer_class") in (None, "TokenizersBackend"):
        tok_cfg["tokenizer_class"] = "PreTrainedTokenizerFast"
    _write_json(out / "tokenizer_config.json", tok_cfg)
    if (model_dir / "preprocessor_config.json").is_file():
        shutil.copyfile(model_dir / "preprocessor_config.json", out / "preprocessor_config.json")
    elif (model_dir / "processor_config.json").is_file() and "image_processor" in _read_json(model_dir / "processor_config.json"):
        # transformers 5 nests the image processor inside processor_config.json; the bundle layout wants it flat.
        pc = _read_json(model_dir / "processor_config.json")
        pre = dict(pc["image_processor"])
        for k in ("patch_size", "vision_feature_select_strategy", "num_additional_image_tokens", "processor_class"):
            if k in pc:
                pre.setdefault(k, pc[k])
        _write_json(out / "preprocessor_config.json", pre)
    else:
        raise ExportError(f"missing file: {model_dir / 'preprocessor_config.json'} (or processor_config.json with "
                          f"an image_processor section)")


def _torch_references(family, sample: dict, L: int) -> dict:
    """Every PyTorch value the self-check compares against, as numpy (so the torch model can be freed before
    ONNX Runtime loads the same weights: halves peak memory on large models)."""
    import torch

    model, text = family.model, family.text_model()
    B, T = sample["input_ids"].shape
    captured = {}
    h = text.layers[L - 1].register_forward_hook(
        lambda mod, args, output: captured.__setitem__("last", (output[0] if isinstance(output, tuple) else output).detach()))
    try:
        with torch.no_grad():
            ref = model(**sample, output_hidden_states=True, use_cache=True, return_dict=True)
    finally:
        h.remove()
    hs = [x.numpy() for x in ref.hidden_states]
    r = {"logits": ref.logits.numpy(), "hook_embed": hs[0], "final_norm": hs[L]}
    for i in range(L - 1):
        r[f"blocks.{i}.hook_resid_post"] = hs[i + 1]
    r[f"blocks.{L - 1}.hook_resid_post"] = captured["last"].numpy()  # pre-norm (HF's hs[L] has the norm)
    r["present"] = [(l.keys.numpy().copy(), l.values.numpy().copy()) for l in ref.past_key_values.layers]
    # one greedy decode step with HF's cache (which grows in place, hence the copies above)
    nxt = ref.logits[:, -1].argmax(-1, keepdim=True)
    mask2 = torch.cat([sample["attention_mask"], torch.ones(B, 1, dtype=sample["attention_mask"].dtype)], dim=1)
    extra = {}
    if hasattr(family, "torch_decode_position_ids"):  # M-RoPE: HF's forward cannot infer them from the mask
        extra["position_ids"] = family.torch_decode_position_ids(sample)
    if hasattr(family, "torch_decode_kwargs"):  # Mllama: the new token's row of the cross-attention mask
        extra.update(family.torch_decode_kwargs(sample))
    with torch.no_grad():
        ref2 = model(input_ids=nxt, attention_mask=mask2, past_key_values=ref.past_key_values, use_cache=True,
                     return_dict=True, **extra)
    r["next_ids"], r["mask2"], r["decode_logits"] = nxt.numpy(), mask2.numpy(), ref2.logits.numpy()
    # left padding: row 0 shifted right by 3 (mask 0 there, embeddings of id 0), positions from its first real
    # token; the decoder alone, on HF's merged embeddings
    pad = 3
    emb = torch.from_numpy(hs[0]).clone()
    emb[0, pad:] = torch.from_numpy(hs[0][0, :-pad])
    emb[0, :pad] = family.embed_tokens()(torch.zeros(1, pad, dtype=torch.long))[0].detach()
    mask_p = sample["attention_mask"].clone()
    mask_p[0, :pad] = 0
    pos_p = (mask_p.cumsum(-1) - 1).clamp(min=0)
    # families whose text model takes more (Mllama: 2-row position ids, the vision states) supply them
    pos_t = pos_p
    if hasattr(family, "padded_position_ids"):
        pos_t = torch.from_numpy(family.padded_position_ids(pos_p.numpy().astype(np.int64), pad))
    text_kw = family.torch_text_kwargs(sample) if hasattr(family, "torch_text_kwargs") else {}
    with torch.no_grad():
        last = text(inputs_embeds=emb, attention_mask=mask_p, position_ids=pos_t, return_dict=True,
                    **text_kw).last_hidden_state
        r["padded_logits"] = family.lm_head()(last).numpy()
    r["padded_feed"] = (emb.numpy(), mask_p.numpy().astype(np.int64), pos_t.numpy().astype(np.int64))
    r["pad"] = pad
    return r


def self_check(family, out: Path, meta: dict, tol: float, threads: int = 1) -> dict:
    """ORT vs PyTorch on a seeded sample (batch 2): prefill logits, inputs_embeds, every hook tensor, present KV,
    one decode step, a suffix run on a cached prefix, a left-padded batch."""
    import gc

    L = meta["num_layers"]
    onnx_dir = out / "onnx"
    sample = family.sample_inputs(seed=0, batch=2)
    ref = _torch_references(family, sample, L)
    family.model = None  # free the torch weights before ORT loads its copy
    gc.collect()

    sessions = {"vision": session(onnx_dir / "vision_encoder.onnx", threads),
                "embed": session(onnx_dir / "embed_tokens.onnx", threads)}
    embeds = family.ort_inputs_embeds(sessions, sample)
    B, T = sample["input_ids"].shape
    kvh, hd = meta["num_key_value_heads"], meta["head_dim"]
    # layers with a self-attention KV cache (linmech.json kv_layers; Mllama's cross-attention layers have none)
    kv_layers = meta.get("kv_layers", list(range(L)))
    empty = {f"past_key_values.{i}.{kv}": np.zeros((B, kvh, 0, hd), np.float32) for i in kv_layers for kv in ("key", "value")}
    # extra decoder inputs fed on every call (Mllama: cross_attention_states + key mask from the vision encoder)
    xfeed = family.decoder_feeds(sessions, sample) if hasattr(family, "decoder_feeds") else {}
    # position ids: the family's own (Qwen2-VL M-RoPE: [3, B, T] from get_rope_index; Gemma-3: [2, B, T], row 1 =
    # image block ids for the bidirectional image mask), else 0..T-1
    pos = family.position_ids(sample) if hasattr(family, "position_ids") else np.tile(np.arange(T, dtype=np.int64), (B, 1))
    rows = pos.shape[0] if pos.ndim == 3 else 1
    as_rows = lambda p2: p2 if rows == 1 else np.ascontiguousarray(np.broadcast_to(p2, (rows,) + p2.shape))
    next_pos = pos.reshape(-1, B, T).max(axis=(0, 2)) + 1  # decode steps continue at max(position) + 1
    feed = {"inputs_embeds": embeds, "attention_mask": sample["attention_mask"].numpy().astype(np.int64),
            "position_ids": pos, **empty, **xfeed}
    dec_path = onnx_dir / "decoder_model_merged.onnx"
    report = {"sample": {"batch": int(B), "prompt_tokens": int(T), "prompt": family.prompt()}, "tolerance": tol}

    # hook tensors, on a copy of the graph with them as extra outputs; its logits must equal the plain graph's
    hook_names = [t for k, t in meta["hook_map"].items() if k != "hook_embed"] + [meta["final_norm_output"]]
    tmp = with_extra_outputs(dec_path, hook_names)
    try:
        hooked = session(tmp, threads)
        hres = dict(zip([o.name for o in hooked.get_outputs()], hooked.run(None, feed)))
        del hooked
    finally:
        os.unlink(tmp)
    gc.collect()
    dec = session(dec_path, threads)
    out_names = [o.name for o in dec.get_outputs()]
    run = lambda f: dict(zip(out_names, dec.run(None, f)))
    res = run(feed)
    report["prefill_logits_max_abs"] = max_abs(res["logits"], ref["logits"])
    report["inputs_embeds_max_abs"] = max_abs(embeds, ref["hook_embed"])
    hook_diffs = {}
    for site, tensor in meta["hook_map"].items():
        hook_diffs[site] = max_abs(embeds if tensor == "inputs_embeds" else hres[tensor], ref[site])
    hook_diffs["final_norm_output"] = max_abs(hres[meta["final_norm_output"]], ref["final_norm"])
    report["hooks_max_abs"] = hook_diffs
    report["hooked_graph_logits_vs_plain_max_abs"] = max_abs(hres["logits"], res["logits"])
    def kv_diff(ours, theirs):
        # HF's sliding-window cache layers (Gemma-3) keep only the last keys; our cache keeps all (the mask slides)
        if ours.ndim == 4 and ours.shape[:2] == theirs.shape[:2] and ours.shape[2] > theirs.shape[2]:
            ours = ours[:, :, ours.shape[2] - theirs.shape[2]:]
        return max_abs(ours, theirs)
    report["present_kv_max_abs"] = max(max(kv_diff(res[f"present.{i}.key"], k), kv_diff(res[f"present.{i}.value"], v))
                                       for i, (k, v) in enumerate(ref["present"]) if i in kv_layers)

    # one decode step with the KV cache
    emb2 = sessions["embed"].run(None, {"input_ids": ref["next_ids"]})[0]
    feed2 = {"inputs_embeds": emb2, "attention_mask": ref["mask2"].astype(np.int64),
             "position_ids": as_rows(next_pos[:, None].astype(np.int64)), **xfeed}
    feed2.update({f"past_key_values.{i}.{kv}": res[f"present.{i}.{kv}"] for i in kv_layers for kv in ("key", "value")})
    report["decode_logits_max_abs"] = max_abs(run(feed2)["logits"], ref["decode_logits"])

    # prefix reuse: prefill the first k tokens, then the remaining T-k as one chunk on the cached prefix
    k = max(1, T - 6)
    pre = run({"inputs_embeds": embeds[:, :k], "attention_mask": feed["attention_mask"][:, :k],
               "position_ids": feed["position_ids"][..., :k], **empty, **xfeed})
    feed4 = {"inputs_embeds": embeds[:, k:], "attention_mask": feed["attention_mask"],
             "position_ids": feed["position_ids"][..., k:], **xfeed}
    feed4.update({f"past_key_values.{i}.{kv}": pre[f"present.{i}.{kv}"] for i in kv_layers for kv in ("key", "value")})
    report["suffix_after_prefix_logits_max_abs"] = max_abs(run(feed4)["logits"], ref["logits"][:, k:])

    # left-padded batch (padding positions themselves are not compared)
    e, m, p = ref["padded_feed"]
    pad = ref["pad"]
    padr = run({"inputs_embeds": e, "attention_mask": m, "position_ids": as_rows(p) if p.ndim == 2 else p, **empty, **xfeed})
    report["left_padded_batch_logits_max_abs"] = max_abs(padr["logits"][:, pad:], ref["padded_logits"][:, pad:])

    checks = [("prefill_logits", report["prefill_logits_max_abs"]),
              ("decode_logits", report["decode_logits_max_abs"]),
              ("inputs_embeds", report["inputs_embeds_max_abs"]),
              ("present_kv", report["present_kv_max_abs"]),
              ("suffix_after_prefix", report["suffix_after_prefix_logits_max_abs"]),
              ("left_padded_batch", report["left_padded_batch_logits_max_abs"]),
              *[(f"hook {k}", v) for k, v in hook_diffs.items()]]
    worst = {k: v for k, v in checks if not v <= tol}
    report["passed"] = not worst
    report["failures"] = worst
    return report


def export(model_dir: Path, out: Path, check: bool = True, tol: float = DEFAULT_TOL, threads: int = 1) -> dict:
    import onnx
    import torch
    import transformers

    from .decoder import export_decoder, export_embed, find_hook_map, text_dims

    torch.set_num_threads(threads)
    t0 = time.time()
    family = resolve_family(Path(model_dir))
    try:
        family.load()
    except (OSError, ValueError) as e:
        raise ExportError(f"could not load {model_dir}: {e}") from e
    out = Path(out)
    (out / "onnx").mkdir(parents=True, exist_ok=True)
    copy_side_files(Path(model_dir), out, family)
    dims = text_dims(family.config.text_config)
    if hasattr(family, "position_rows"):  # rows of position_ids the family's decoder takes (Gemma-3: 2)
        dims["position_rows"] = family.position_rows()
    if hasattr(family, "kv_layers"):  # decoder layers with a self-attention KV cache (Mllama: not the cross layers)
        dims["kv_layers"] = family.kv_layers()
    timings = {}
    t = time.time()
    family.export_vision(out / "onnx" / "vision_encoder.onnx")
    timings["vision_encoder_s"] = round(time.time() - t, 2)
    t = time.time()
    export_embed(family.embed_tokens(), out / "onnx" / "embed_tokens.onnx", family.embed_scale())
    timings["embed_tokens_s"] = round(time.time() - t, 2)
    t = time.time()
    if hasattr(family, "export_decoder"):  # a decoder with extra inputs (Mllama: cross-attention states)
        dec = family.export_decoder(dims, out / "onnx" / "decoder_model_merged.onnx")
    else:
        dec = export_decoder(family.text_model(), family.lm_head(), dims, out / "onnx" / "decoder_model_merged.onnx")
    timings["decoder_s"] = round(time.time() - t, 2)
    hook_map, final_norm = find_hook_map(dec, dims["num_layers"])
    del dec
    meta = {"format": FORMAT, "family": family.name, **dims, **family.metadata(), "hook_map": hook_map,
            "final_norm_output": final_norm,
            # provenance: the HF folder the bundle was exported from (npm run bench runs PyTorch on it)
            "source_dir": str(Path(model_dir).resolve()),
            "exported_with": {"torch": torch.__version__, "transformers": transformers.__version__,
                              "onnx": onnx.__version__, "opset": 17, "exporter": "torch.onnx.export(dynamo=False)"}}
    meta["export_seconds"] = timings
    if check:
        t = time.time()
        meta["self_check"] = self_check(family, out, meta, tol, threads)
        import onnxruntime
        meta["self_check"]["onnxruntime"] = onnxruntime.__version__
        timings["self_check_s"] = round(time.time() - t, 2)
    timings["total_s"] = round(time.time() - t0, 2)
    _write_json(out / "linmech.json", meta)
    if check and not meta["self_check"]["passed"]:
        fails = ", ".join(f"{k}={v:.3g}" for k, v in meta["self_check"]["failures"].items())
        raise ExportError(f"self-check FAILED (max abs diff > {tol}): {fails}; details in {out / 'linmech.json'}")
    return meta


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.export.export", description=__doc__.split("\n\n")[0])
    ap.add_argument("model_dir", help="folder written by save_pretrained (model + processor)")
    ap.add_argument("out_dir", help="bundle folder to write")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--check", dest="check", action="store_true", default=True,
                   help="ORT vs PyTorch self-check (default: on)")
    g.add_argument("--no-check", dest="check", action="store_false", help="skip the self-check")
    ap.add_argument("--tol", type=float, default=DEFAULT_TOL, help="max abs diff allowed (default 1e-4)")
    ap.add_argument("--threads", type=int, default=1, help="torch / ORT threads (default 1)")
    ap.add_argument("--external-data", choices=["auto", "always", "never"], default="auto",
                    help="weights in <name>.onnx_data beside each .onnx: auto (only over 2 GB, default), always, "
                         "never (fails over 2 GB: protobuf's limit)")
    a = ap.parse_args(argv)
    from . import onnx_utils
    onnx_utils.EXTERNAL_DATA = a.external_data
    try:
        meta = export(Path(a.model_dir), Path(a.out_dir), check=a.check, tol=a.tol, threads=a.threads)
    except ExportError as e:
        print(f"export error: {e}", file=sys.stderr)
        return 1
    sc = meta.get("self_check")
    msg = f"wrote {a.out_dir} ({meta['family']}, {meta['num_layers']} layers) in {meta['export_seconds']['total_s']} s"
    if sc:
        msg += (f"; self-check passed: prefill {sc['prefill_logits_max_abs']:.2e}, decode "
                f"{sc['decode_logits_max_abs']:.2e}, hooks max {max(sc['hooks_max_abs'].values()):.2e}")
    print(msg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
