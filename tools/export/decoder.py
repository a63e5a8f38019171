"""The language-model half of every bundle, shared by the families: `embed_tokens.onnx` and
`decoder_model_merged.onnx` (inputs_embeds + attention_mask + position_ids + flat past KV -> logits + present KV),
and the hook map (residual stream after each decoder block) found in the exported graph and verified in ORT."""
from __future__ import annotations

import re
from pathlib import Path

import onnx
import torch
from transformers.cache_utils import DynamicCache

from .onnx_utils import ExportError, export_module


class EmbedWrapper(torch.nn.Module):
    def __init__(self, embed: torch.nn.Module, scale: float | None = None):
        super().__init__()
        self.embed_tokens = embed
        self.scale = scale

    def forward(self, input_ids):
        x = self.embed_tokens(input_ids)
        return x if self.scale is None else x * self.scale


class DecoderWrapper(torch.nn.Module):
    """HF text model + lm_head behind a flat-tensor interface. The attribute is called `model` so node names in
    the exported graph read `/model/layers.{i}/...` like optimum's exports."""

    def __init__(self, text_model: torch.nn.Module, lm_head: torch.nn.Module, num_layers: int):
        super().__init__()
        self.model = text_model
        self.lm_head = lm_head
        self.num_layers = num_layers

    def forward(self, inputs_embeds, attention_mask, position_ids, *past):
        cache = DynamicCache(ddp_cache_data=[(past[2 * i], past[2 * i + 1]) for i in range(self.num_layers)],
                             config=self.model.config)
        out = self.model(inputs_embeds=inputs_embeds, attention_mask=attention_mask, position_ids=position_ids,
                         past_key_values=cache, use_cache=True, return_dict=True)
        logits = self.lm_head(out.last_hidden_state)
        present = []
        for layer in out.past_key_values.layers:
            present += [layer.keys, layer.values]
        return (logits, *present)


def position_rows(text_config) -> int:
    """3 for multimodal rotary positions (Qwen2-VL / Qwen2.5-VL M-RoPE: `mrope_section` in the rope parameters,
    position_ids [3, B, S]), else 1 ([B, S])."""
    rp = getattr(text_config, "rope_parameters", None) or getattr(text_config, "rope_scaling", None) or {}
    return 3 if isinstance(rp, dict) and rp.get("mrope_section") else 1


def text_dims(text_config) -> dict:
    heads = text_config.num_attention_heads
    head_dim = getattr(text_config, "head_dim", None) or text_config.hidden_size // heads
    return {
        "num_layers": text_config.num_hidden_layers,
        "hidden_size": text_config.hidden_size,
        "vocab_size": text_config.vocab_size,
        "num_attention_heads": heads,
        "num_key_value_heads": getattr(text_config, "num_key_value_heads", None) or heads,
        "head_dim": head_dim,
        "position_rows": position_rows(text_config),
    }


def past_names(num_layers: int) -> list[str]:
    return [f"past_key_values.{i}.{kv}" for i in range(num_layers) for kv in ("key", "value")]


def present_names(num_layers: int) -> list[str]:
    return [f"present.{i}.{kv}" for i in range(num_layers) for kv in ("key", "value")]


def export_embed(embed: torch.nn.Module, out_path: Path, scale: float | None = None) -> None:
    ids = torch.tensor([[1, 2, 3], [3, 2, 1]], dtype=torch.long)
    export_module(EmbedWrapper(embed, scale).eval(), (ids,), out_path, ["input_ids"], ["inputs_embeds"],
                  {"input_ids": {0: "batch_size", 1: "sequence_length"},
                   "inputs_embeds": {0: "batch_size", 1: "sequence_length"}})


def export_decoder(text_model: torch.nn.Module, lm_head: torch.nn.Module, dims: dict, out_path: Path) -> onnx.ModelProto:
    """Traced at batch 2, past 3, new 5 (all distinct, none 0/1, so no shape is specialised); the self-check
    then runs other shapes, past 0 included."""
    L = dims["num_layers"]
    B, P, T = 2, 3, 5
    g = torch.Generator().manual_seed(0)
    emb = torch.randn(B, T, dims["hidden_size"], generator=g)
    mask = torch.ones(B, P + T, dtype=torch.long)
    pos = torch.arange(P, P + T).unsqueeze(0).repeat(B, 1)
    rows = dims.get("position_rows", 1)
    if rows > 1:  # M-RoPE: [rows, B, T], rows made distinct so none is specialised
        pos = torch.stack([pos + 7 * r for r in range(rows)])
    past = [torch.randn(B, dims["num_key_value_heads"], P, dims["head_dim"], generator=g) for _ in range(2 * L)]
    inputs = ["inputs_embeds", "attention_mask", "position_ids"] + past_names(L)
    outputs = ["logits"] + present_names(L)
    dyn = {"inputs_embeds": {0: "batch_size", 1: "sequence_length"},
           "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
           "position_ids": {0: "batch_size", 1: "sequence_length"} if rows == 1 else {1: "batch_size", 2: "sequence_length"},
           "logits": {0: "batch_size", 1: "sequence_length"}}
    for n in past_names(L):
        dyn[n] = {0: "batch_size", 2: "past_sequence_length"}
    for n in present_names(L):
        dyn[n] = {0: "batch_size", 2: "total_sequence_length"}
    wrapper = DecoderWrapper(text_model, lm_head, L).eval()
    return export_module(wrapper, (emb, mask, pos, *past), out_path, inputs, outputs, dyn)


_LAYER_ADD = re.compile(r"^/model/layers\.(\d+)/Add(?:_(\d+))?$")


def find_hook_map(model: onnx.ModelProto, num_layers: int) -> tuple[dict, str]:
    """Residual stream after block i = output of the LAST Add node directly in scope `/model/layers.{i}/`
    (the second residual add, `h + mlp(norm(h))`; `Add` is the first, after attention). The final-norm output
    is the first input of the lm_head MatMul. Both are verified numerically by the caller."""
    last: dict[int, onnx.NodeProto] = {}
    for node in model.graph.node:  # nodes are in topological order
        m = _LAYER_ADD.match(node.name)
        if m and node.op_type == "Add":
            last[int(m.group(1))] = node
    missing = [i for i in range(num_layers) if i not in last]
    if missing:
        raise ExportError(f"hook map: no residual Add found for decoder layers {missing} "
                          f"(expected nodes named /model/layers.N/Add_1)")
    hook_map = {"hook_embed": "inputs_embeds"}
    for i in range(num_layers):
        hook_map[f"blocks.{i}.hook_resid_post"] = last[i].output[0]
    heads = [n for n in model.graph.node if n.name.startswith("/lm_head/") and n.op_type in ("MatMul", "Gemm")]
    if not heads:
        raise ExportError("hook map: lm_head MatMul not found in the decoder graph")
    return hook_map, heads[0].input[0]
