"""Rebuild the PyTorch toy LLaVA from a shipped ONNX bundle (the zoo's PyTorch checkpoints are not in the tree).

Why this way: the bundle holds config.json (the HF LlavaConfig) and three ONNX graphs exported from the HF module by
tools/export (torch.onnx.export, dynamo=False). Every parameter appears in them as an initializer:
- under its own module path (biases, norms, embeddings, the position table), e.g.
  `vision_tower.encoder.layers.0.mlp.fc1.bias` in vision_encoder.onnx (module root = the exporter's
  LlavaVisionWrapper, i.e. HF `model.vision_tower...` / `model.multi_modal_projector...`), `model.layers.3...` in the
  decoder (root = DecoderWrapper: HF `model.language_model...`), `embed_tokens.weight` in embed_tokens.onnx;
- or, for bias-free Linear weights the exporter folded into `MatMul(x, W^T)`, as an anonymous `onnx::MatMul_N`
  initializer; its consuming node is named after the module (`/vision_tower/encoder/layers.0/mlp/fc1/MatMul`,
  `/model/layers.0/self_attn/q_proj/MatMul`, `/lm_head/MatMul`), so the HF name is the node name's path and the
  weight is the initializer transposed.
`load_from_bundle` maps every initializer back by name, refuses to continue if any HF parameter the graphs use is
left unset (CLIP's `post_layernorm` is the one parameter no graph uses: LLaVA reads `hidden_states[-1]` before it),
checks the tied lm_head against embed_tokens, and `check_against_ort` verifies that PyTorch and ONNX Runtime give
the same prefill logits (max |diff| <= 1e-4) on seeded inputs before any training starts.
"""
from __future__ import annotations

import json
import os

import numpy as np
import onnx
import torch
from onnx import numpy_helper

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODELS = os.path.join(REPO, "data", "models")


def bundle_dir(name_or_path: str) -> str:
    d = name_or_path if os.path.isdir(name_or_path) else os.path.join(MODELS, name_or_path)
    if not os.path.exists(os.path.join(d, "linmech.json")):
        raise FileNotFoundError(f"no bundle at {d} (need linmech.json); pass a folder or a name under data/models")
    return d


def bundle_vocab(d: str) -> list[str]:
    """The word-level vocabulary in id order, from the bundle's tokenizer.json."""
    tj = json.load(open(os.path.join(d, "tokenizer.json")))
    v = tj["model"]["vocab"]
    vocab = [None] * len(v)
    for w, i in v.items():
        vocab[i] = w
    assert all(w is not None for w in vocab), "tokenizer.json vocab ids are not 0..n-1"
    return vocab


def _hf_name(graph: str, node_name: str | None, init_name: str) -> tuple[str, bool]:
    """(HF state-dict key, transpose?) of one initializer of `graph`."""
    if node_name is not None:  # onnx::MatMul_N -> the module path of its MatMul node
        path = node_name.strip("/").rsplit("/", 1)[0].replace("/", ".")
        key = path + ".weight"
        transpose = True
    else:
        key, transpose = init_name, False
    if graph == "vision":
        return "model." + key, transpose
    if graph == "embed":
        return "model.language_model." + key, transpose
    if key.startswith("lm_head."):
        return key, transpose
    assert key.startswith("model."), key
    return "model.language_model." + key[len("model."):], transpose


def onnx_state(d: str) -> dict[str, torch.Tensor]:
    """HF state-dict entries recovered from the three ONNX graphs of bundle folder `d`."""
    out: dict[str, torch.Tensor] = {}
    for graph, f in (("vision", "vision_encoder"), ("embed", "embed_tokens"), ("decoder", "decoder_model_merged")):
        m = onnx.load(os.path.join(d, "onnx", f + ".onnx"))
        consumer = {}
        for n in m.graph.node:
            for x in n.input:
                if x.startswith("onnx::"):
                    consumer.setdefault(x, []).append(n)
        for init in m.graph.initializer:
            arr = numpy_helper.to_array(init)
            if init.name.startswith("onnx::"):
                nodes = consumer.get(init.name, [])
                mm = [n for n in nodes if n.op_type == "MatMul"]
                if len(mm) != 1 or len(nodes) != 1 or arr.ndim != 2:
                    raise ValueError(f"{f}.onnx: cannot map initializer {init.name} (consumers "
                                     f"{[(n.op_type, n.name) for n in nodes]})")
                key, tr = _hf_name(graph, mm[0].name, init.name)
            else:
                key, tr = _hf_name(graph, None, init.name)
            t = torch.from_numpy(np.ascontiguousarray(arr.T if tr else arr).copy())
            if key in out and not torch.equal(out[key], t):
                raise ValueError(f"{key} appears twice with different values")
            out[key] = t
    return out


def load_from_bundle(name_or_path: str):
    """(model, vocab, bundle folder): a LlavaForConditionalGeneration with the bundle's weights, in eval mode."""
    from transformers import LlavaConfig, LlavaForConditionalGeneration
    d = bundle_dir(name_or_path)
    cfg = LlavaConfig.from_pretrained(d)
    torch.manual_seed(0)  # post_layernorm (unused) gets a deterministic init
    model = LlavaForConditionalGeneration(cfg)
    sd = model.state_dict()
    got = onnx_state(d)
    lm = got.pop("lm_head.weight", None)
    unknown = [k for k in got if k not in sd]
    if unknown:
        raise ValueError(f"ONNX initializers without an HF parameter: {unknown[:5]}")
    for k, v in got.items():
        if tuple(sd[k].shape) != tuple(v.shape):
            raise ValueError(f"{k}: ONNX shape {tuple(v.shape)} vs HF {tuple(sd[k].shape)}")
    unset = [k for k in sd if k not in got and k != "lm_head.weight" and "post_layernorm" not in k
             and "rotary" not in k and "inv_freq" not in k]
    if unset:
        raise ValueError(f"HF parameters the bundle does not define: {unset[:5]}")
    model.load_state_dict(got, strict=False)
    emb = model.get_input_embeddings().weight
    assert emb.data_ptr() == model.get_output_embeddings().weight.data_ptr(), "embeddings are not tied"
    if lm is not None and not torch.allclose(lm, emb.detach(), atol=0):
        raise ValueError("the decoder's lm_head differs from embed_tokens; the toy ties them")
    vocab = bundle_vocab(d)
    assert len(vocab) == cfg.text_config.vocab_size
    return model.eval(), vocab, d


def ort_prefill_logits(d: str, input_ids: np.ndarray, pixel_values: np.ndarray, threads: int = 1) -> np.ndarray:
    """Logits [B,T,V] of the bundle's three ONNX graphs (vision -> image features written at the image tokens ->
    decoder prefill with an empty KV cache), the way the TypeScript engine runs them."""
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    sess = {k: ort.InferenceSession(os.path.join(d, "onnx", f), so, providers=["CPUExecutionProvider"])
            for k, f in (("vision", "vision_encoder.onnx"), ("embed", "embed_tokens.onnx"),
                         ("decoder", "decoder_model_merged.onnx"))}
    meta = json.load(open(os.path.join(d, "linmech.json")))
    feats = sess["vision"].run(None, {"pixel_values": pixel_values.astype(np.float32)})[0]
    emb = sess["embed"].run(None, {"input_ids": input_ids.astype(np.int64)})[0].copy()
    mask = input_ids == meta["image_token_id"]
    emb[mask] = feats.reshape(-1, feats.shape[-1])
    B, T = input_ids.shape
    feed = {"inputs_embeds": emb, "attention_mask": np.ones((B, T), np.int64),
            "position_ids": np.tile(np.arange(T, dtype=np.int64), (B, 1))}
    for i in range(meta["num_layers"]):
        for kv in ("key", "value"):
            feed[f"past_key_values.{i}.{kv}"] = np.zeros((B, meta["num_key_value_heads"], 0, meta["head_dim"]), np.float32)
    names = [o.name for o in sess["decoder"].get_outputs()]
    return dict(zip(names, sess["decoder"].run(None, feed)))["logits"]


def sample_batch(vocab: list[str], seed: int = 0, batch: int = 3):
    """Seeded check inputs: random 64x64 images (as CLIP-normalised pixels) and a relation prompt."""
    from tools.toy.build import IMAGE, N_IMAGE_TOKENS, build_tokenizer, prompt_text
    tok = build_tokenizer(vocab)
    ids = tok(prompt_text("Is the frog to the left or right of the camel?"))["input_ids"]
    k = ids.index(vocab.index(IMAGE))
    ids = ids[:k] + [vocab.index(IMAGE)] * N_IMAGE_TOKENS + ids[k + 1:]
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (batch, 64, 64, 3), dtype=np.uint8)
    pix = img.astype(np.float32).transpose(0, 3, 1, 2) / 127.5 - 1.0
    return np.array([ids] * batch, np.int64), pix


def torch_logits(model, input_ids: np.ndarray, pixel_values: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model(input_ids=torch.from_numpy(input_ids), pixel_values=torch.from_numpy(pixel_values),
                     use_cache=False).logits.numpy()


def check_against_ort(model, vocab, d: str, tol: float = 1e-4) -> float:
    """max |PyTorch − ONNX Runtime| of the prefill logits on seeded inputs; raises when over `tol`."""
    ids, pix = sample_batch(vocab)
    diff = float(np.abs(torch_logits(model, ids, pix) - ort_prefill_logits(d, ids, pix)).max())
    if not diff <= tol:
        raise AssertionError(f"PyTorch model rebuilt from {d} differs from ONNX Runtime by {diff:.2e} > {tol}")
    return diff


if __name__ == "__main__":
    import sys
    torch.set_num_threads(1)
    m, v, d = load_from_bundle(sys.argv[1] if len(sys.argv) > 1 else "toy-llava-zoo-1000")
    print(f"{d}: logits max |torch - ORT| = {check_against_ort(m, v, d):.2e}")
