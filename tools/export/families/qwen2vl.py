"""Qwen2-VL and Qwen2.5-VL (Qwen2VLForConditionalGeneration, Qwen2_5_VLForConditionalGeneration).

Vision encoder ONNX: `pixel_values` [1, 3, H, W] = the resized, normalised image (H, W multiples of
patch_size * merge_size, chosen by the adapter with Qwen's smart_resize) -> `image_features` [H*W/(14*14*4), d].
Patchification (temporal_patch_size copies of the frame, merge-window order), the 2-D vision rotary positions
and Qwen2.5-VL's window attention are computed inside the graph from H and W, so any resolution runs through one
graph (HF computes them in Python loops over grid_thw, which a trace would freeze). Window attention is written as
a block-diagonal mask over window ids instead of HF's permute-split-unpermute; the result is the same.
Decoder: M-RoPE, position_ids [3, B, S] (tools/export/decoder.py: position_rows = 3); the adapter computes them
like get_rope_index.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..onnx_utils import ExportError, export_module
from .base import Family, LiteProcessor, ort_token_embeddings, random_images, scatter_features, user_message

QUESTION = "Is the frog to the left or right of the camel?"


def _rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


class QwenVisionWrapper(torch.nn.Module):
    def __init__(self, visual, vcfg, windowed: bool):
        super().__init__()
        self.visual = visual
        self.ps, self.tps, self.m = int(vcfg.patch_size), int(vcfg.temporal_patch_size), int(vcfg.spatial_merge_size)
        self.windowed = windowed
        if windowed:
            self.ws = int(vcfg.window_size) // self.m // self.ps  # window side in merged-grid units
            self.full = set(int(i) for i in vcfg.fullatt_block_indexes)

    def forward(self, pixel_values):
        ps, tps, m = self.ps, self.tps, self.m
        x = pixel_values[0]
        C, H, W = x.shape[0], x.shape[1], x.shape[2]
        gh, gw = H // ps, W // ps
        # [C, gh/m, m, ps, gw/m, m, ps] -> [gh/m, gw/m, m, m, C, tps, ps, ps] (the processor's patch order)
        x = x.reshape(C, gh // m, m, ps, gw // m, m, ps).permute(1, 4, 2, 5, 0, 3, 6)
        x = x.unsqueeze(5).expand(-1, -1, -1, -1, -1, tps, -1, -1).reshape(-1, C * tps * ps * ps)
        h = self.visual.patch_embed(x)
        hpos = torch.arange(gh).unsqueeze(1).expand(gh, gw)
        wpos = torch.arange(gw).unsqueeze(0).expand(gh, gw)
        hpos = hpos.reshape(gh // m, m, gw // m, m).transpose(1, 2).flatten()
        wpos = wpos.reshape(gh // m, m, gw // m, m).transpose(1, 2).flatten()
        cos, sin = self.visual.rotary_pos_emb(h, torch.stack([hpos, wpos], dim=-1))
        cos, sin = cos.unsqueeze(-2).float(), sin.unsqueeze(-2).float()
        mask = None
        if self.windowed:
            n_ww = (gw // m + self.ws - 1) // self.ws
            win = (hpos // m // self.ws) * n_ww + (wpos // m // self.ws)
            mask = torch.where(win.unsqueeze(0) == win.unsqueeze(1), 0.0, torch.finfo(torch.float32).min)
        for i, blk in enumerate(self.visual.blocks):
            h = h + self._attn(blk.attn, blk.norm1(h), cos, sin, None if (mask is None or i in self.full) else mask)
            h = h + blk.mlp(blk.norm2(h))
        return self.visual.merger(h)

    @staticmethod
    def _attn(a, x, cos, sin, mask):
        n = x.shape[0]
        q, k, v = a.qkv(x).reshape(n, 3, a.num_heads, -1).permute(1, 0, 2, 3).unbind(0)
        q = q * cos + _rotate_half(q) * sin
        k = k * cos + _rotate_half(k) * sin
        q, k, v = q.transpose(0, 1), k.transpose(0, 1), v.transpose(0, 1)  # [heads, n, hd]
        w = torch.matmul(q, k.transpose(1, 2)) * a.scaling
        if mask is not None:
            w = w + mask
        w = torch.softmax(w, dim=-1, dtype=torch.float32)
        o = torch.matmul(w, v).transpose(0, 1).reshape(n, -1)
        return a.proj(o)


def unpatchify(pixel_values: np.ndarray, grid_thw, vcfg) -> np.ndarray:
    """The processor's flattened patches of one image [N, C*tps*ps*ps] -> the normalised image [1, C, H, W]."""
    ps, tps, m = int(vcfg.patch_size), int(vcfg.temporal_patch_size), int(vcfg.spatial_merge_size)
    t, gh, gw = (int(v) for v in grid_thw)
    C = pixel_values.shape[1] // (tps * ps * ps)
    x = pixel_values.reshape(gh // m, gw // m, m, m, C, tps, ps, ps)[:, :, :, :, :, 0]
    x = x.transpose(4, 0, 2, 5, 1, 3, 6).reshape(C, gh * ps, gw * ps)
    return x[None].astype(np.float32)


class QwenProcessorLite(LiteProcessor):
    """What Qwen2VLProcessor does for images (tokenizer + Qwen2VLImageProcessorPil + placeholder expansion +
    mm_token_type_ids), without its video processor, which needs torchvision; loads from a save_pretrained
    folder."""

    def __init__(self, tokenizer, image_processor, chat_template=None):
        self.tokenizer, self.image_processor = tokenizer, image_processor
        self.chat_template = chat_template or tokenizer.chat_template
        self.image_token = getattr(tokenizer, "image_token", None) or "<|image_pad|>"
        self.image_token_id = tokenizer.convert_tokens_to_ids(self.image_token)

    @classmethod
    def from_pretrained(cls, d):
        from transformers import AutoTokenizer, Qwen2VLImageProcessorPil

        return cls(AutoTokenizer.from_pretrained(d), Qwen2VLImageProcessorPil.from_pretrained(d))

    def __call__(self, images=None, text=None, return_tensors="pt", **_):
        out = {}
        text = list(text)
        if images:
            ip = self.image_processor(images=images, return_tensors="pt")
            out["pixel_values"], out["image_grid_thw"] = ip["pixel_values"], ip["image_grid_thw"]
            merge = int(self.image_processor.merge_size) ** 2
            text = self.expand_placeholders(text, self.image_token,
                                            (self.image_token * (int(g.prod()) // merge) for g in ip["image_grid_thw"]))
        enc = self.tokenizer(text, return_tensors="pt", padding=True)
        ids = enc["input_ids"]
        out.update(input_ids=ids, attention_mask=enc["attention_mask"],
                   mm_token_type_ids=(ids == self.image_token_id).to(torch.int32))
        return out


class Qwen2VLFamily(Family):
    name = "qwen2-vl"
    architectures = ("Qwen2VLForConditionalGeneration",)
    windowed = False

    def model_class(self):
        from transformers import Qwen2VLForConditionalGeneration
        return Qwen2VLForConditionalGeneration

    def load(self) -> None:
        self.load_model(self.model_class())
        self.processor = QwenProcessorLite.from_pretrained(self.model_dir)
        self._images = []

    def _ip(self):
        return self.processor.image_processor

    def export_vision(self, out_path: Path) -> None:
        vc = self.config.vision_config
        wrapper = QwenVisionWrapper(self.model.model.visual, vc, self.windowed).eval()
        f = int(vc.patch_size) * int(vc.spatial_merge_size)
        # traced at 3f x 5f (distinct, not square); other sizes are checked by the self-check / parity tests
        x = torch.randn(1, 3, 3 * f, 5 * f, generator=torch.Generator().manual_seed(0))
        export_module(wrapper, (x,), out_path, ["pixel_values"], ["image_features"],
                      {"pixel_values": {2: "height", 3: "width"}, "image_features": {0: "image_tokens"}})

    def metadata(self) -> dict:
        tok, vc, ip = self.processor.tokenizer, self.config.vision_config, self._ip()
        image_token = self.processor.image_token
        image_token_id = int(self.config.image_token_id)
        if tok.convert_tokens_to_ids(image_token) != image_token_id:
            raise ExportError(f"image token {image_token!r} has id {tok.convert_tokens_to_ids(image_token)} but "
                              f"config.image_token_id is {image_token_id}")
        size = dict(ip.size) if getattr(ip, "size", None) else {}
        min_px = int(size.get("shortest_edge", getattr(ip, "min_pixels", 56 * 56)))
        max_px = int(size.get("longest_edge", getattr(ip, "max_pixels", 28 * 28 * 1280)))
        f = int(vc.patch_size) * int(vc.spatial_merge_size)
        tc = self.config.text_config
        rp = getattr(tc, "rope_parameters", None) or {}
        return {
            "decoder_type": tc.model_type,
            "image_token": image_token,
            "image_token_id": image_token_id,
            # dynamic resolution: the count depends on the image size (H*W / (patch*merge)^2); this is a 448x448 image's
            "tokens_per_image": (448 // f) ** 2,
            "image_size": 448,
            "dynamic_resolution": True,
            "patch_size": int(vc.patch_size),
            "temporal_patch_size": int(vc.temporal_patch_size),
            "merge_size": int(vc.spatial_merge_size),
            "min_pixels": min_px,
            "max_pixels": max_px,
            "vision_start_token_id": int(self.config.vision_start_token_id),
            "rope": "mrope",
            "mrope_section": list(rp.get("mrope_section", [])),
            "rope_theta": float(rp.get("rope_theta", 1e6)),
        }

    def prompt(self) -> str:
        return self.processor.apply_chat_template(user_message("image", QUESTION), add_generation_prompt=True)

    def sample_inputs(self, seed: int = 0, batch: int = 2) -> dict:
        vc = self.config.vision_config
        f = int(vc.patch_size) * int(vc.spatial_merge_size)
        images = random_images(seed, batch, 4 * f, 3 * f)
        enc = self.processor(images=images, text=[self.prompt()] * batch, return_tensors="pt")
        grid = enc["image_grid_thw"]
        pv = enc["pixel_values"].float().numpy()
        self._images, o = [], 0
        for g in grid.tolist():
            n = g[0] * g[1] * g[2]
            self._images.append(unpatchify(pv[o:o + n], g, vc))
            o += n
        sample = {k: (v.float() if v.is_floating_point() else v) for k, v in enc.items()}
        pos, _ = self.model.model.get_rope_index(sample["input_ids"], image_grid_thw=sample["image_grid_thw"],
                                                  attention_mask=sample["attention_mask"],
                                                  mm_token_type_ids=sample["mm_token_type_ids"])
        self._positions = pos.numpy().astype(np.int64)
        return sample

    def position_ids(self, sample: dict) -> np.ndarray:
        """[3, B, T] M-RoPE positions of the last sample_inputs (HF's get_rope_index; kept because the self-check
        frees the torch model before ONNX Runtime runs)."""
        return self._positions

    def torch_decode_position_ids(self, sample: dict) -> torch.Tensor:
        """[3, B, 1] positions of the first generated token (max(position) + 1 in every row)."""
        B = self._positions.shape[1]
        nxt = self._positions.max(axis=(0, 2)) + 1
        return torch.from_numpy(np.ascontiguousarray(np.broadcast_to(nxt[None, :, None], (3, B, 1))))

    def ort_inputs_embeds(self, sessions: dict, sample: dict) -> np.ndarray:
        ids = sample["input_ids"].numpy()
        emb = ort_token_embeddings(sessions, ids)
        tid = int(self.config.image_token_id)
        for b, img in enumerate(self._images):
            feats = sessions["vision"].run(None, {"pixel_values": img})[0]  # [image tokens, d]
            scatter_features(emb[b], ids[b] == tid, feats, f"image tokens in row {b}")
        return emb


class Qwen25VLFamily(Qwen2VLFamily):
    name = "qwen2.5-vl"
    architectures = ("Qwen2_5_VLForConditionalGeneration",)
    windowed = True

    def model_class(self):
        from transformers import Qwen2_5_VLForConditionalGeneration
        return Qwen2_5_VLForConditionalGeneration


FAMILIES = [Qwen2VLFamily, Qwen25VLFamily]
