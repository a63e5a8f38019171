"""Gemma-3 (Gemma3ForConditionalGeneration): SigLIP vision tower -> average pool to mm_tokens_per_image -> RMSNorm ->
linear projection; Gemma-3 decoder (scaled embeddings, QK-norm, sandwich norms, sliding-window and global layers
with their own RoPE). Pan-and-scan is off (the processor default): one 896x896 view per image.

Image tokens attend to each other bidirectionally within an image (HF builds this mask from token_type_ids). The
decoder ONNX takes position_ids [2, B, S]: row 0 = positions, row 1 = image block id of each token of this call
(-1 for text). Inside one call, a query sees a later key of its own image block; keys before the call (the KV
cache) are causal anyway. The engine never splits a prefix inside an image for such bundles
(linmech.json image_attention = "bidirectional"). Sliding-window layers are masked (the cache keeps every key),
so the graph is exact at any length.
"""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import torch

from ..onnx_utils import ExportError
from .base import Family, export_vision_wrapper, ort_token_embeddings, random_images, scatter_features, user_message

QUESTION = "Is the frog to the left or right of the camel?"


class Gemma3TextShim(torch.nn.Module):
    """Gemma3TextModel.forward with the masks built here: causal OR same-image-block, AND the sliding window for
    sliding layers. Holds the HF modules (layers, norm, rotary embeddings) under the same names, so the graph's
    node names read /model/layers.N/..."""

    def __init__(self, text):
        super().__init__()
        self.layers, self.norm, self.rotary_emb = text.layers, text.norm, text.rotary_emb
        self.embed_tokens = text.embed_tokens
        self.layer_types = list(text.config.layer_types)
        self.sliding_window = text.config.sliding_window
        cfg = copy.deepcopy(text.config)
        cfg.layer_types = ["full_attention"] * len(self.layer_types)  # a plain cache: every key is kept
        cfg.sliding_window = None
        self.config = cfg

    def get_input_embeddings(self):
        return self.embed_tokens

    def forward(self, inputs_embeds, attention_mask=None, position_ids=None, past_key_values=None, use_cache=True,
                return_dict=True, **_):
        from transformers.cache_utils import DynamicCache
        from transformers.modeling_outputs import BaseModelOutputWithPast

        B, S = inputs_embeds.shape[0], inputs_embeds.shape[1]
        if past_key_values is None:
            past_key_values = DynamicCache(config=self.config)
        if attention_mask is None:
            attention_mask = torch.ones(B, S, dtype=torch.long)
        total = attention_mask.shape[1]
        P = total - S
        if position_ids is None:
            position_ids = torch.arange(P, total).unsqueeze(0).expand(B, S)
        if position_ids.dim() == 3:
            pos, block = position_ids[0], position_ids[1]
        else:
            pos, block = position_ids, torch.full_like(position_ids, -1)
        q = torch.arange(S).unsqueeze(1) + P  # absolute index of each query
        k = torch.arange(total).unsqueeze(0)
        causal = (k <= q).unsqueeze(0)  # [1, S, total]
        kblock = torch.cat([torch.full((B, P), -2, dtype=block.dtype), block], dim=1)  # past keys: no block
        same = (block.unsqueeze(2) == kblock.unsqueeze(1)) & (block.unsqueeze(2) >= 0)  # [B, S, total]
        keep = attention_mask.bool().unsqueeze(1)
        full = (causal | same) & keep
        neg = torch.finfo(inputs_embeds.dtype).min
        masks = {"full_attention": torch.where(full, 0.0, neg).unsqueeze(1)}
        if "sliding_attention" in self.layer_types:
            window = ((q - k) < self.sliding_window).unsqueeze(0)
            masks["sliding_attention"] = torch.where(full & window, 0.0, neg).unsqueeze(1)
        h = inputs_embeds
        pe = {lt: self.rotary_emb(h, pos, lt) for lt in sorted(set(self.layer_types))}
        for i, layer in enumerate(self.layers):
            lt = self.layer_types[i]
            h = layer(h, position_embeddings=pe[lt], attention_mask=masks[lt], position_ids=pos,
                      past_key_values=past_key_values)
        return BaseModelOutputWithPast(last_hidden_state=self.norm(h), past_key_values=past_key_values)


class Gemma3VisionWrapper(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.vision_tower = model.vision_tower
        self.multi_modal_projector = model.multi_modal_projector

    def forward(self, pixel_values):
        return self.multi_modal_projector(self.vision_tower(pixel_values=pixel_values).last_hidden_state)


class Gemma3Family(Family):
    name = "gemma-3"
    architectures = ("Gemma3ForConditionalGeneration",)

    def load(self) -> None:
        from transformers import AutoProcessor, Gemma3ForConditionalGeneration

        self.load_model(Gemma3ForConditionalGeneration)
        self.processor = AutoProcessor.from_pretrained(self.model_dir)
        self._text = Gemma3TextShim(self.model.model.language_model)

    def text_model(self):
        return self._text

    def position_rows(self) -> int:
        return 2

    def embed_tokens(self):
        return self.model.model.language_model.embed_tokens  # Gemma3TextScaledWordEmbedding: scale included

    def export_vision(self, out_path: Path) -> None:
        export_vision_wrapper(Gemma3VisionWrapper(self.model.model).eval(), out_path, self.image_size(), 2, "batch_size")

    def metadata(self) -> dict:
        tok = self.processor.tokenizer
        image_token_id = int(self.config.image_token_id)
        if tok.convert_tokens_to_ids(tok.image_token) != image_token_id:
            raise ExportError(f"image token {tok.image_token!r} has id {tok.convert_tokens_to_ids(tok.image_token)} "
                              f"but config.image_token_id is {image_token_id}")
        if getattr(self.processor.image_processor, "do_pan_and_scan", None):
            raise ExportError("pan-and-scan is on in the processor config; linmech supports Gemma-3 with it off "
                              "(the default): set do_pan_and_scan to false in preprocessor_config.json")
        tc = self.config.text_config
        return {
            "decoder_type": tc.model_type,
            # the chat template writes boi_token; the adapter expands it to the processor's full image sequence
            "image_token": tok.boi_token,
            "image_token_id": image_token_id,
            "image_soft_token": tok.image_token,
            "boi_token": tok.boi_token,
            "eoi_token": tok.eoi_token,
            "tokens_per_image": int(self.config.mm_tokens_per_image),
            "image_size": self.image_size(),
            "patch_size": int(self.config.vision_config.patch_size),
            "image_attention": "bidirectional",
            "position_row_meaning": ["position", "image_block"],
            "sliding_window": int(tc.sliding_window),
            "layer_types": list(tc.layer_types),
        }

    def prompt(self) -> str:
        return self.processor.apply_chat_template(user_message("image", QUESTION), add_generation_prompt=True)

    def sample_inputs(self, seed: int = 0, batch: int = 2) -> dict:
        s = self.image_size()
        images = random_images(seed, batch, s, s)
        enc = self.processor(images=[[im] for im in images], text=[self.prompt()] * batch, return_tensors="pt",
                             add_special_tokens=False)  # the chat template writes <bos>
        sample = {k: (v.float() if v.is_floating_point() else v) for k, v in enc.items() if k != "num_crops"}
        self._positions = self.decoder_positions(sample["input_ids"].numpy(), sample["token_type_ids"].numpy())
        return sample

    @staticmethod
    def decoder_positions(ids: np.ndarray, token_type_ids: np.ndarray) -> np.ndarray:
        """[2, B, T]: positions 0..T-1 and image block ids (k for the k-th image's tokens, -1 for text)."""
        B, T = ids.shape
        img = token_type_ids == 1
        start = img & ~np.pad(img, ((0, 0), (1, 0)))[:, :-1]
        block = np.where(img, np.cumsum(start, axis=1) - 1, -1)
        return np.stack([np.tile(np.arange(T), (B, 1)), block]).astype(np.int64)

    def position_ids(self, sample: dict) -> np.ndarray:
        return self._positions

    def ort_inputs_embeds(self, sessions: dict, sample: dict) -> np.ndarray:
        ids = sample["input_ids"].numpy()
        emb = ort_token_embeddings(sessions, ids)
        feats = sessions["vision"].run(None, {"pixel_values": sample["pixel_values"].numpy()})[0]
        scatter_features(emb, ids == int(self.config.image_token_id), feats, "image tokens")
        return emb


FAMILIES = [Gemma3Family]
