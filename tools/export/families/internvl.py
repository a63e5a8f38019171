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

from ..onnx_utils import ExportError
from .base import (Family, LiteProcessor, export_vision_wrapper, ort_token_embeddings, random_images, scatter_features,
                   user_message)

QUESTION = "Is the frog to the left or right of the camel?"


class InternVLVisionWrapper(torch.nn.Module):
    def __init__(self, model, feature_layer, strategy):
        super().__init__()
        self.model = model  # InternVLModel: vision_tower, multi_modal_projector, pixel_shuffle, config
        self.feature_layer, self.strategy = feature_layer, strategy

    def forward(self, pixel_values):
        return self.model.get_image_features(pixel_values, vision_feature_layer=self.feature_layer,
                                             vision_feature_select_strategy=self.strategy).pooler_output


class InternVLProcessorLite(LiteProcessor):
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

    def __call__(self, images=None, text=None, return_tensors="pt", **_):
        out = {}
        text = list(text)
        if images:
            ip = self.image_processor(images=images, crop_to_patches=True, return_tensors="pt")
            out["pixel_values"] = ip["pixel_values"]
            text = self.expand_placeholders(text, self.image_token, (
                f"{self.start_image_token}{self.image_token * (self.image_seq_length * int(n))}{self.end_image_token}"
                for n in ip["num_patches"]))
            self.num_patches = [int(n) for n in ip["num_patches"]]  # tiles per image of the last call
        enc = self.tokenizer(text, return_tensors="pt", padding=True)
        out.update(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"])
        return out


class InternVLFamily(Family):
    name = "internvl"
    architectures = ("InternVLForConditionalGeneration",)

    def load(self) -> None:
        from transformers import InternVLForConditionalGeneration

        self.load_model(InternVLForConditionalGeneration)
        self.processor = InternVLProcessorLite.from_pretrained(self.model_dir, self.config.image_seq_length)

    def export_vision(self, out_path: Path) -> None:
        wrapper = InternVLVisionWrapper(self.model.model, self.config.vision_feature_layer,
                                        self.config.vision_feature_select_strategy).eval()
        export_vision_wrapper(wrapper, out_path, self.image_size(), 2, "tiles")

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
        return self.processor.apply_chat_template(user_message("image", QUESTION), add_generation_prompt=True)

    def sample_inputs(self, seed: int = 0, batch: int = 2) -> dict:
        s = self.image_size()
        # 2:1 images: two tiles + a thumbnail each, so the tiled path is what the self-check compares
        images = random_images(seed, batch, s, 2 * s)
        enc = self.processor(images=images, text=[self.prompt()] * batch, return_tensors="pt")
        self._num_patches = self.processor.num_patches
        return {k: (v.float() if v.is_floating_point() else v) for k, v in enc.items()}

    def ort_inputs_embeds(self, sessions: dict, sample: dict) -> np.ndarray:
        ids = sample["input_ids"].numpy()
        emb = ort_token_embeddings(sessions, ids)
        pv = sample["pixel_values"].numpy()
        tid, o = int(self.config.image_token_id), 0
        for b, n in enumerate(self._num_patches):
            feats = sessions["vision"].run(None, {"pixel_values": pv[o:o + n]})[0]
            o += n
            scatter_features(emb[b], ids[b] == tid, feats, f"image tokens in row {b}")
        return emb


FAMILIES = [InternVLFamily]
