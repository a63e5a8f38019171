"""Llama-3.2-Vision (MllamaForConditionalGeneration, e.g. meta-llama/Llama-3.2-11B-Vision-Instruct): tiled Mllama
vision encoder (local + gated global layers, intermediate layers concatenated) -> linear projector; a Llama-3 text
model in which some layers (text_config.cross_attention_layers) are cross-attention blocks instead of self-attention.

The image never enters the token embeddings: `<|image|>` is embedded as an ordinary token and the projected vision
states reach the text only through the cross-attention layers. Layout of the bundle:

- `vision_encoder.onnx`, ONE image per call: pixel_values [1, 1, max_tiles, 3, S, S], aspect_ratio_ids [1, 1],
  aspect_ratio_mask [1, 1, max_tiles] -> for every cross-attention layer i the keys and values of the image,
  `cross_kv.{i}.key` / `cross_kv.{i}.value` [kv_heads, Nv, head_dim] (the layer's k_proj + k_norm / v_proj of the
  projected vision states; Nv = max_tiles * tokens_per_tile), and `cross_attention_key_mask` [Nv] (1 for keys of
  valid tiles, 0 for padded tiles). The keys/values are computed once per image (the engine caches them with the
  other vision features) instead of from the states in every decoder call: for the 11B model that recomputation
  would be ~0.86 TFLOP per call and row (8 layers x 6404 keys), ~50x a decode step's own work.
  Every tile is kept, padded ones included, because HF's cross-attention lets tokens BEFORE the first `<|image|>`
  attend (unmasked) to every key, padded tiles' too: `_prepare_cross_attention_mask` multiplies their all-masked
  row by full_text_row_masked_out_mask = 0, which makes it an all-zero (= attend everywhere) bias, and only the
  cross-attention block's MLP output is zeroed for those rows, not its attention output (Meta's reference code
  zeroes both; we follow transformers, which the parity tests compare against). Feeding only valid tiles would
  change those tokens.
- `decoder_model_merged.onnx`: the usual inputs plus `cross_kv.{i}.key/value` [Bc, kv_heads, Nv, head_dim] and
  `cross_attention_key_mask` [Bc, Nv], fed on EVERY call (prefill, suffix after a cached prefix, decode steps;
  never part of the self-attention KV cache). Bc = B (one image per row) or 1 (every row of the call has the same
  image: broadcast in the graph, so a sweep over one image feeds its keys once). position_ids is [2, B, S]: row 0 =
  positions 0..T-1 (Llama-3 RoPE), row 1 = 0 for tokens before the first `<|image|>` (HF's masked-out rows) and
  >= 1 from it on (those attend to the valid tiles). Decode
  steps get max(position) + 1 >= 1 in both rows, so they attend, as in HF's generate (which repeats the last prompt
  row of the cross-attention mask). One image per prompt (as HF's mask for several images differs per image).
- KV cache: only the self-attention layers have past/present tensors, named by their layer index
  (`past_key_values.{i}.key` for i in linmech.json `kv_layers`); cross-attention layers have none.
- Hooks: `blocks.{i}.hook_resid_post` = output of text layer i for every layer, cross-attention layers included
  (found as the last residual Add of /model/layers.{i}/ and checked against HF hidden states by the self-check).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..onnx_utils import ExportError, export_module
from .base import Family

QUESTION = "Is the frog to the left or right of the camel?"
STATES, KEY_MASK = "cross_attention_states", "cross_attention_key_mask"


def kv_names(i: int) -> tuple[str, str]:
    return f"cross_kv.{i}.key", f"cross_kv.{i}.value"


def cross_kv(layer, states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Keys (k_norm applied) and values of a MllamaCrossAttentionDecoderLayer for states [N, Nv, d] ->
    [N, kv_heads, Nv, head_dim], as MllamaTextCrossAttention.forward computes them."""
    a = layer.cross_attn
    N = states.shape[0]
    k = a.k_proj(states).view(N, -1, a.num_key_value_heads, a.head_dim).transpose(1, 2)
    v = a.v_proj(states).view(N, -1, a.num_key_value_heads, a.head_dim).transpose(1, 2)
    return a.k_norm(k), v


class CrossKVLayer(torch.nn.Module):
    """MllamaCrossAttentionDecoderLayer.forward on precomputed keys/values (same modules and parameters). Keys may
    have batch 1 for a batch of B queries (broadcast by MatMul)."""

    def __init__(self, layer):
        super().__init__()
        a = layer.cross_attn
        self.input_layernorm, self.post_attention_layernorm, self.mlp = layer.input_layernorm, layer.post_attention_layernorm, layer.mlp
        self.q_proj, self.q_norm, self.o_proj = a.q_proj, a.q_norm, a.o_proj
        self.cross_attn_attn_gate, self.cross_attn_mlp_gate = layer.cross_attn_attn_gate, layer.cross_attn_mlp_gate
        self.heads, self.head_dim, self.groups, self.scaling = a.num_heads, a.head_dim, a.num_key_value_groups, a.scaling

    def forward(self, h, key, value, cross_mask, row_mask):
        B, S = h.shape[0], h.shape[1]
        residual = h
        x = self.input_layernorm(h)
        q = self.q_norm(self.q_proj(x).view(B, S, self.heads, self.head_dim).transpose(1, 2))
        if self.groups > 1:  # repeat_kv
            Bk, kvh, N, hd = key.shape
            key = key[:, :, None].expand(Bk, kvh, self.groups, N, hd).reshape(Bk, kvh * self.groups, N, hd)
            value = value[:, :, None].expand(Bk, kvh, self.groups, N, hd).reshape(Bk, kvh * self.groups, N, hd)
        w = torch.matmul(q, key.transpose(2, 3)) * self.scaling + cross_mask
        w = torch.softmax(w, dim=-1, dtype=torch.float32).to(q.dtype)
        o = torch.matmul(w, value).transpose(1, 2).reshape(B, S, -1)
        h = residual + self.cross_attn_attn_gate.tanh() * self.o_proj(o)
        residual = h
        m = self.mlp(self.post_attention_layernorm(h)) * row_mask[:, 0]
        return residual + self.cross_attn_mlp_gate.tanh() * m


def decoder_masks(inputs_embeds, attention_mask, position_ids, key_mask):
    """The masks both text shims build from the flat inputs: RoPE positions (row 0 of position_ids), the causal
    self-attention bias [B, 1, S, total] (past + padding), the cross-attention bias [B, 1, S, Nv] (as in HF: rows
    that see the image, position_ids row 1 > 0, mask padded tiles' keys; rows before the image token get an all-zero
    bias) and the row mask [B, 1, S, 1] that zeroes the cross layers' MLP output for rows before the image."""
    S = inputs_embeds.shape[1]
    total = attention_mask.shape[1]
    P = total - S
    pos, sees = position_ids[0], position_ids[1] > 0
    neg = torch.finfo(inputs_embeds.dtype).min
    q = torch.arange(S).unsqueeze(1) + P
    k = torch.arange(total).unsqueeze(0)
    keep = (k <= q).unsqueeze(0) & attention_mask.bool().unsqueeze(1)  # [B, S, total]
    self_mask = torch.where(keep, 0.0, neg).unsqueeze(1)
    padded_key = (key_mask < 0.5).unsqueeze(1)  # [Bc, 1, Nv]
    cross_mask = torch.where(sees.unsqueeze(2) & padded_key, neg, 0.0).unsqueeze(1)
    row_mask = sees.to(inputs_embeds.dtype)[:, None, :, None]
    return pos, self_mask, cross_mask, row_mask


class MllamaKVShim(torch.nn.Module):
    """The exported text model: HF self-attention layers + CrossKVLayer for the cross-attention layers, under
    `layers.N` (graph nodes read /model/layers.N/...); masks from position_ids row 1 and the key mask."""

    def __init__(self, text):
        super().__init__()
        self.cross = set(int(i) for i in text.config.cross_attention_layers)
        self.layers = torch.nn.ModuleList([CrossKVLayer(l) if i in self.cross else l for i, l in enumerate(text.layers)])
        self.norm, self.rotary_emb, self.config = text.norm, text.rotary_emb, text.config

    def forward(self, inputs_embeds, attention_mask, position_ids, cache, cross: dict, key_mask):
        pos, self_mask, cross_mask, row_mask = decoder_masks(inputs_embeds, attention_mask, position_ids, key_mask)
        h = inputs_embeds
        pe = self.rotary_emb(h, pos)
        for i, layer in enumerate(self.layers):
            if i in self.cross:
                h = layer(h, cross[i][0], cross[i][1], cross_mask, row_mask)
            else:
                h = layer(h, attention_mask=self_mask, position_ids=pos, past_key_values=cache, position_embeddings=pe)
                if isinstance(h, tuple):
                    h = h[0]
        return self.norm(h)


class _SelfKV:
    """The cache object the HF self-attention layers write to: update() appends this call's keys/values to the past
    ones of that layer and records the result as the layer's present."""

    def __init__(self, past: dict):
        self.past, self.present = past, {}

    def update(self, key, value, layer_idx, *args, **kwargs):
        pk, pv = self.past[layer_idx]
        k, v = torch.cat([pk, key], dim=2), torch.cat([pv, value], dim=2)
        self.present[layer_idx] = (k, v)
        return k, v


class MllamaTextShim(torch.nn.Module):
    """MllamaTextModel.forward on the projected vision STATES with the masks built here from position_ids row 1 and
    the key mask, the HF layer modules called as they are. The PyTorch side of the self-check's left-padded batch
    (text_model()); the exported graph is MllamaKVShim (keys/values precomputed), so that check also compares the
    two paths."""

    def __init__(self, text):
        super().__init__()
        self.layers, self.norm, self.rotary_emb = text.layers, text.norm, text.rotary_emb
        self.embed_tokens = text.embed_tokens
        self.cross = set(int(i) for i in text.config.cross_attention_layers)
        self.config = text.config

    def get_input_embeddings(self):
        return self.embed_tokens

    def forward(self, inputs_embeds, attention_mask=None, position_ids=None, past_key_values=None,
                cross_attention_states=None, cross_attention_key_mask=None, use_cache=True, return_dict=True, **_):
        from transformers.modeling_outputs import BaseModelOutputWithPast

        B, S = inputs_embeds.shape[0], inputs_embeds.shape[1]
        L = len(self.layers)
        if past_key_values is None:
            e = inputs_embeds.new_zeros(B, self.config.num_key_value_heads, 0,
                                        self.config.hidden_size // self.config.num_attention_heads)
            past_key_values = _SelfKV({i: (e, e) for i in range(L) if i not in self.cross})
        if attention_mask is None:
            attention_mask = torch.ones(B, S, dtype=torch.long)
        pos, self_mask, cross_mask, row_mask = decoder_masks(inputs_embeds, attention_mask, position_ids,
                                                             cross_attention_key_mask)
        h = inputs_embeds
        pe = self.rotary_emb(h, pos)
        for i, layer in enumerate(self.layers):
            if i in self.cross:
                h = layer(h, cross_attention_states=cross_attention_states, cross_attention_mask=cross_mask,
                          attention_mask=None, full_text_row_masked_out_mask=row_mask, past_key_values=None)
            else:
                h = layer(h, attention_mask=self_mask, position_ids=pos, past_key_values=past_key_values,
                          position_embeddings=pe)
            if isinstance(h, tuple):
                h = h[0]
        return BaseModelOutputWithPast(last_hidden_state=self.norm(h), past_key_values=past_key_values)


class MllamaDecoderWrapper(torch.nn.Module):
    """Flat interface: inputs_embeds, attention_mask, position_ids, key mask, cross keys/values (cross layers in
    order), past keys/values (kv_layers in order) -> logits, present keys/values."""

    def __init__(self, text: MllamaKVShim, lm_head, kv_layers: list[int], cross_layers: list[int]):
        super().__init__()
        self.model, self.lm_head, self.kv_layers, self.cross_layers = text, lm_head, kv_layers, cross_layers

    def forward(self, inputs_embeds, attention_mask, position_ids, key_mask, *rest):
        nc = 2 * len(self.cross_layers)
        cross = {i: (rest[2 * k], rest[2 * k + 1]) for k, i in enumerate(self.cross_layers)}
        past = rest[nc:]
        cache = _SelfKV({i: (past[2 * k], past[2 * k + 1]) for k, i in enumerate(self.kv_layers)})
        h = self.model(inputs_embeds, attention_mask, position_ids, cache, cross, key_mask)
        present = []
        for i in self.kv_layers:
            present += list(cache.present[i])
        return (self.lm_head(h), *present)


class MllamaVisionWrapper(torch.nn.Module):
    """One image: vision model + projector -> states [1, Nv, d_text]; then the per-key tile mask [Nv] and every
    cross-attention layer's keys and values [kv_heads, Nv, head_dim]."""

    def __init__(self, model, cross_layers: list[int]):
        super().__init__()
        self.vision_model, self.multi_modal_projector = model.vision_model, model.multi_modal_projector
        self.cross_layers = cross_layers
        self.text_layers = model.language_model.layers

    def forward(self, pixel_values, aspect_ratio_ids, aspect_ratio_mask):
        h = self.vision_model(pixel_values=pixel_values, aspect_ratio_ids=aspect_ratio_ids,
                              aspect_ratio_mask=aspect_ratio_mask).last_hidden_state  # [1, 1, T, P, vd]
        T, P = h.shape[2], h.shape[3]
        states = self.multi_modal_projector(h).reshape(1, T * P, -1)
        key_mask = aspect_ratio_mask.reshape(T, 1).expand(T, P).reshape(T * P).to(states.dtype)
        out = [key_mask]
        for i in self.cross_layers:
            k, v = cross_kv(self.text_layers[i], states)
            out += [k[0], v[0]]
        return tuple(out)


class MllamaFamily(Family):
    name = "mllama"
    architectures = ("MllamaForConditionalGeneration",)

    def load(self) -> None:
        from transformers import AutoProcessor, MllamaForConditionalGeneration

        self.model = MllamaForConditionalGeneration.from_pretrained(
            self.model_dir, attn_implementation="eager", dtype=torch.float32).eval()
        self.processor = AutoProcessor.from_pretrained(self.model_dir)
        self.config = self.model.config
        self._text = MllamaTextShim(self.model.model.language_model)
        vc = self.config.vision_config
        self.tile = int(vc.image_size)
        self.max_tiles = int(vc.max_num_tiles)
        self.tokens_per_tile = (self.tile // int(vc.patch_size)) ** 2 + 1
        ip = self.processor.image_processor
        if int(ip.max_image_tiles) != self.max_tiles or int(ip.size["height"]) != self.tile:
            raise ExportError(f"image processor (max_image_tiles {ip.max_image_tiles}, size {ip.size}) does not match "
                              f"the vision config (max_num_tiles {self.max_tiles}, image_size {self.tile})")

    def text_model(self):
        return self._text

    def lm_head(self):
        return self.model.lm_head

    def embed_tokens(self):
        return self.model.model.language_model.embed_tokens

    def position_rows(self) -> int:
        return 2

    def cross_layers(self) -> list[int]:
        return sorted(int(i) for i in self.config.text_config.cross_attention_layers)

    def kv_layers(self) -> list[int]:
        cross = set(self.cross_layers())
        return [i for i in range(self.config.text_config.num_hidden_layers) if i not in cross]

    # -- export ---------------------------------------------------------------------------------------------------
    def export_vision(self, out_path: Path) -> None:
        g = torch.Generator().manual_seed(0)
        x = torch.randn(1, 1, self.max_tiles, 3, self.tile, self.tile, generator=g)
        ids = torch.tensor([[2]], dtype=torch.long)
        mask = torch.zeros(1, 1, self.max_tiles, dtype=torch.long)
        mask[..., :2] = 1
        names = [KEY_MASK] + [n for i in self.cross_layers() for n in kv_names(i)]
        export_module(MllamaVisionWrapper(self.model.model, self.cross_layers()).eval(), (x, ids, mask), out_path,
                      ["pixel_values", "aspect_ratio_ids", "aspect_ratio_mask"], names, {})

    def cross_input_names(self) -> list[str]:
        return [KEY_MASK] + [n for i in self.cross_layers() for n in kv_names(i)]

    def export_decoder(self, dims: dict, out_path: Path):
        """Traced at batch 2, past 3, new 5, 7 vision tokens (all distinct, none 0/1) with the cross keys at batch
        2; the vision batch axis is dynamic (1 broadcasts over the rows; the self-check and the tests run both)."""
        kv, cl = dims["kv_layers"], self.cross_layers()
        B, P, T, N = 2, 3, 5, 7
        g = torch.Generator().manual_seed(0)
        emb = torch.randn(B, T, dims["hidden_size"], generator=g)
        mask = torch.ones(B, P + T, dtype=torch.long)
        pos = torch.arange(P, P + T).unsqueeze(0).repeat(B, 1)
        pos = torch.stack([pos, (pos >= P + 2).long()])
        key_mask = torch.tensor([[1, 1, 1, 0, 0, 1, 0], [1, 0, 1, 1, 1, 1, 1]], dtype=torch.float32)
        kvh, hd = dims["num_key_value_heads"], dims["head_dim"]
        cross = [torch.randn(B, kvh, N, hd, generator=g) for _ in range(2 * len(cl))]
        cn = [n for i in cl for n in kv_names(i)]
        past = [torch.randn(B, dims["num_key_value_heads"], P, dims["head_dim"], generator=g) for _ in range(2 * len(kv))]
        pn = [n for i in kv for n in (f"past_key_values.{i}.key", f"past_key_values.{i}.value")]
        prn = [n for i in kv for n in (f"present.{i}.key", f"present.{i}.value")]
        dyn = {"inputs_embeds": {0: "batch_size", 1: "sequence_length"},
               "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
               "position_ids": {1: "batch_size", 2: "sequence_length"},
               KEY_MASK: {0: "vision_batch", 1: "vision_tokens"},
               "logits": {0: "batch_size", 1: "sequence_length"}}
        for n in cn:
            dyn[n] = {0: "vision_batch", 2: "vision_tokens"}
        for n in pn:
            dyn[n] = {0: "batch_size", 2: "past_sequence_length"}
        for n in prn:
            dyn[n] = {0: "batch_size", 2: "total_sequence_length"}
        wrapper = MllamaDecoderWrapper(MllamaKVShim(self.model.model.language_model), self.lm_head(), kv, cl).eval()
        return export_module(wrapper, (emb, mask, pos, key_mask, *cross, *past), out_path,
                             ["inputs_embeds", "attention_mask", "position_ids", KEY_MASK] + cn + pn, ["logits"] + prn, dyn)

    def metadata(self) -> dict:
        tok = self.processor.tokenizer
        image_token = "<|image|>"
        image_token_id = int(self.config.image_token_id)
        if tok.convert_tokens_to_ids(image_token) != image_token_id:
            raise ExportError(f"{image_token} has id {tok.convert_tokens_to_ids(image_token)} in the tokenizer but "
                              f"config.image_token_index is {image_token_id}")
        ip = self.processor.image_processor
        vc = self.config.vision_config
        return {
            "decoder_type": self.config.text_config.model_type,
            "image_token": image_token,
            "image_token_id": image_token_id,
            # vision tokens per image (cross-attention keys, padded tiles included); no placeholder expansion
            "tokens_per_image": self.max_tiles * self.tokens_per_tile,
            "tokens_per_tile": self.tokens_per_tile,
            "image_size": self.tile,
            "patch_size": int(vc.patch_size),
            "max_image_tiles": self.max_tiles,
            "supported_aspect_ratios": [list(map(int, a)) for a in vc.supported_aspect_ratios],
            "cross_attention": {"layers": self.cross_layers(), "inputs": self.cross_input_names()},
            "position_row_meaning": ["position", "sees_image"],
            "rope": "llama3" if (self.config.text_config.rope_parameters or {}).get("rope_type") == "llama3" else "default",
            "bos_token": tok.bos_token,
            "resample": int(getattr(ip, "resample", 2) or 2),
        }

    # -- self-check -------------------------------------------------------------------------------------------
    def prompt(self) -> str:
        messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": QUESTION}]}]
        return self.processor.apply_chat_template(messages, add_generation_prompt=True)

    def sample_inputs(self, seed: int = 0, batch: int = 2) -> dict:
        rng = np.random.default_rng(seed)
        # two aspect ratios in one batch (1x2 tiles + 2 padded, 2x1 tiles + 2 padded)
        sizes = [(self.tile, 2 * self.tile), (2 * self.tile, self.tile)]
        images = [Image.fromarray(rng.integers(0, 256, sizes[b % 2] + (3,), dtype=np.uint8)) for b in range(batch)]
        enc = self.processor(images=[[im] for im in images], text=[self.prompt()] * batch, return_tensors="pt",
                             add_special_tokens=False)  # the chat template writes <|begin_of_text|>
        sample = {k: (v.float() if v.is_floating_point() else v) for k, v in enc.items()}
        self._positions = self.decoder_positions(sample["cross_attention_mask"].numpy())
        return sample

    @staticmethod
    def decoder_positions(cross_attention_mask: np.ndarray) -> np.ndarray:
        """[2, B, T]: positions 0..T-1 and 1 where the token sees the image (processor's mask row not all 0)."""
        B, T = cross_attention_mask.shape[:2]
        sees = cross_attention_mask.reshape(B, T, -1).any(-1)
        return np.stack([np.tile(np.arange(T), (B, 1)), sees.astype(np.int64)]).astype(np.int64)

    def position_ids(self, sample: dict) -> np.ndarray:
        return self._positions

    def ort_inputs_embeds(self, sessions: dict, sample: dict) -> np.ndarray:
        ids = sample["input_ids"].numpy()
        return sessions["embed"].run(None, {"input_ids": ids})[0]

    def decoder_feeds(self, sessions: dict, sample: dict) -> dict:
        """Cross keys/values + key mask for every decoder call: the exported vision encoder, image by image, stacked
        over the batch."""
        pv = sample["pixel_values"].numpy()
        vis = sessions["vision"]
        names = [o.name for o in vis.get_outputs()]
        rows = [dict(zip(names, vis.run(None, {"pixel_values": pv[b:b + 1],
                                                "aspect_ratio_ids": sample["aspect_ratio_ids"][b:b + 1].numpy(),
                                                "aspect_ratio_mask": sample["aspect_ratio_mask"][b:b + 1].numpy()})))
                for b in range(pv.shape[0])]
        return {n: np.stack([r[n] for r in rows]) for n in names}

    def torch_decode_kwargs(self, sample: dict) -> dict:
        # HF generate repeats the last prompt row of the cross-attention mask for each new token
        return {"cross_attention_mask": sample["cross_attention_mask"][:, -1:]}

    def torch_text_kwargs(self, sample: dict) -> dict:
        """Extra inputs of text_model() for the left-padded check (the shim takes the vision states directly)."""
        with torch.no_grad():
            h = self.model.model.vision_model(pixel_values=sample["pixel_values"], aspect_ratio_ids=sample["aspect_ratio_ids"],
                                              aspect_ratio_mask=sample["aspect_ratio_mask"]).last_hidden_state
            B, T, P = h.shape[0], h.shape[2], h.shape[3]
            states = self.model.model.multi_modal_projector(h).reshape(B, T * P, -1)
        key_mask = sample["aspect_ratio_mask"].reshape(B, T, 1).expand(B, T, P).reshape(B, T * P).float()
        return {STATES: states, KEY_MASK: key_mask}

    def padded_position_ids(self, pos_p: np.ndarray, pad: int) -> np.ndarray:
        """Row 1 of the left-padded batch: row 0 of the sample shifted right by `pad` (padding sees no image)."""
        sees = self._positions[1].copy()
        sees[0, pad:] = self._positions[1][0, :-pad]
        sees[0, :pad] = 0
        return np.stack([pos_p, sees]).astype(np.int64)


FAMILIES = [MllamaFamily]
