"""InternVL3 (InternVLForConditionalGeneration, the -hf checkpoints): InternViT (CLS token, absolute position
embeddings, layer scale) -> last layer, CLS dropped -> pixel shuffle (downsample_ratio 0.5: 2x2 neighbours
concatenated) -> LayerNorm + 2-layer MLP projector; Qwen2 decoder (plain RoPE, positions 0..T-1).

Vision encoder ONNX: `pixel_values` [tiles, 3, S, S] -> `image_features` [tiles, image_seq_length, d]; one image is
one encoder call with all its tiles (InternVLProcessor's crop_to_patches, always on there: a grid of S x S tiles
with the aspect ratio closest to the image's, plus a thumbnail when the grid has more than one tile). The prompt
carries `<img>` + image_seq_length x tiles `<IMG_CONTEXT>` + `</img>` per image.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..onnx_utils import ExportError, export_module
from .base import Family

QUESTION = "Is the frog to the left or right of the camel?"


class InternVLVisionWrapper(torch.nn.Module):
    def __init__(self, model, feature_layer, strategy):
        super().__init__()
        self.model = model  # InternVLModel: vision_tower, multi_modal_projector, pixel_shuffle, config
        self.feature_layer, self.strategy = feature_layer, strategy

    def forward(self, pixel_values):
        return self.model.get_image_features(pixel_values, vision_feature_layer=self.feature_layer,
                                             vision_feature_select_strategy=self.strategy).pooler_output


class InternVLProcessorLite:
    """What InternVLProcessor does for images (tokenizer + GotOcr2 image processor with crop_to_patches on +
    `<img>`/`<IMG_CONTEXT>`/`</img>` expansion), without its video processor, which needs torchvision."""

    def __init__(self, tokenizer, image_processor, image_seq_length: int, chat_template=None):
        self.tokenizer, self.image_processor = tokenizer, image_processor
        self.image_seq_length = int(image_seq_length)
        self.chat_template = chat_template or tokenizer.chat_template
        self.image_token = tokenizer.context_image_token
        self.start_image_token, self.end_image_token = tokenizer.start_image_token, tokenizer.end_image_token

    @classmethod
    def from_pretrained(cls, d, image_seq_length: int):
        from transformers import AutoTokenizer, GotOcr2ImageProcessorPil

        return cls(AutoTokenizer.from_pretrained(d), GotOcr2ImageProcessorPil.from_pretrained(d), image_seq_length)

    def apply_chat_template(self, messages, add_generation_prompt=True):
        return self.tokenizer.apply_chat_template(messages, chat_template=self.chat_template, tokenize=False,
                                                  add_generation_prompt=add_generation_prompt)

    def __call__(self, images=None, text=None, return_tensors="pt", **_):
        out = {}
        text = list(text)
        if images:
            ip = self.image_processor(images=images, crop_to_patches=True, return_tensors="pt")
            out["pixel_values"] = ip["pixel_values"]
            counts = iter([int(n) for n in ip["num_patches"]])
            for i, t in enumerate(text):
                parts = t.split(self.image_token)
                text[i] = parts[0] + "".join(
                    f"{self.start_image_token}{self.image_token * (self.image_seq_length * next(counts))}{self.end_image_token}{p}"
                    for p in parts[1:])
            self.num_patches = [int(n) for n in ip["num_patches"]]  # tiles per image of the last call
        enc = self.tokenizer(text, return_tensors="pt", padding=True)
        out.update(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"])
        return out


class InternVLFamily(Family):
    name = "internvl"
    architectures = ("InternVLForConditionalGeneration",)

    def load(self) -> None:
        from transformers import InternVLForConditionalGeneration

        self.model = InternVLForConditionalGeneration.from_pretrained(
            self.model_dir, attn_implementation="eager", dtype=torch.float32).eval()
        self.config = self.model.config
        self.processor = InternVLProcessorLite.from_pretrained(self.model_dir, self.config.image_seq_length)

    def text_model(self):
        return self.model.model.language_model

    def lm_head(self):
        return self.model.lm_head

    def image_size(self) -> int:
        s = self.config.vision_config.image_size
        return int(s[0] if isinstance(s, (list, tuple)) else s)

    def export_vision(self, out_path: Path) -> None:
        wrapper = InternVLVisionWrapper(self.model.model, self.config.vision_feature_layer,
                                        self.config.vision_feature_select_strategy).eval()
        s = self.image_size()
        x = torch.randn(2, 3, s, s, generator=torch.Generator().manual_seed(0))
        export_module(wrapper, (x,), out_path, ["pixel_values"], ["image_features"],
                      {"pixel_values": {0: "tiles"}, "image_features": {0: "tiles"}})

    def metadata(self) -> dict:
        tok, ip = self.processor.tokenizer, self.processor.image_processor
        image_token_id = int(self.config.image_token_id)
        if tok.convert_tokens_to_ids(self.processor.image_token) != image_token_id:
            raise ExportError(f"image token {self.processor.image_token!r} has id "
                              f"{tok.convert_tokens_to_ids(self.processor.image_token)} but config.image_token_id is {image_token_id}")
        ps = self.config.vision_config.patch_size
        return {
            "decoder_type": self.config.text_config.model_type,
            "image_token": self.processor.image_token,
            "image_token_id": image_token_id,
            "start_image_token": self.processor.start_image_token,
            "start_image_token_id": int(tok.convert_tokens_to_ids(self.processor.start_image_token)),
            "end_image_token": self.processor.end_image_token,
            "end_image_token_id": int(tok.convert_tokens_to_ids(self.processor.end_image_token)),
            # per tile; an image takes this times its number of tiles
            "tokens_per_image": int(self.config.image_seq_length),
            "image_size": self.image_size(),
            "patch_size": int(ps[0] if isinstance(ps, (list, tuple)) else ps),
            "tiles": {"crop_to_patches": True, "min_patches": int(getattr(ip, "min_patches", 1) or 1),
                      "max_patches": int(getattr(ip, "max_patches", 12) or 12), "use_thumbnail": True},
        }

    def prompt(self) -> str:
        messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": QUESTION}]}]
        return self.processor.apply_chat_template(messages, add_generation_prompt=True)

    def sample_inputs(self, seed: int = 0, batch: int = 2) -> dict:
        rng = np.random.default_rng(seed)
        s = self.image_size()
        # 2:1 images: two tiles + a thumbnail each, so the tiled path is what the self-check compares
        images = [Image.fromarray(rng.integers(0, 256, (s, 2 * s, 3), dtype=np.uint8)) for _ in range(batch)]
        enc = self.processor(images=images, text=[self.prompt()] * batch, return_tensors="pt")
        self._num_patches = self.processor.num_patches
        return {k: (v.float() if v.is_floating_point() else v) for k, v in enc.items()}

    def ort_inputs_embeds(self, sessions: dict, sample: dict) -> np.ndarray:
        ids = sample["input_ids"].numpy()
        emb = sessions["embed"].run(None, {"input_ids": ids})[0].copy()
        pv = sample["pixel_values"].numpy()
        tid, o = int(self.config.image_token_id), 0
        for b, n in enumerate(self._num_patches):
            feats = sessions["vision"].run(None, {"pixel_values": pv[o:o + n]})[0]
            o += n
            mask = ids[b] == tid
            if mask.sum() != feats.shape[0] * feats.shape[1]:
                raise ExportError(f"{mask.sum()} image tokens in row {b} but the vision encoder gave {feats.shape[0]}x{feats.shape[1]}")
            emb[b, mask] = feats.reshape(-1, feats.shape[-1])
        return emb


FAMILIES = [InternVLFamily]
