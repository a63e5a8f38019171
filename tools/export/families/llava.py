"""LLaVA (LlavaForConditionalGeneration): vision tower (CLIP/SigLIP) -> feature layer select (+ drop CLS for the
"default" strategy) -> MLP projector; decoder = any HF causal text model (Llama for LLaVA-1.5 and toy-llava,
Qwen2 works the same way)."""
from __future__ import annotations

from pathlib import Path

import torch

from ..onnx_utils import ExportError
from .base import (Family, export_vision_wrapper, ort_token_embeddings, random_images, rope_metadata,
                   scatter_features, user_message)

QUESTION = "Is the frog to the left or right of the camel?"


class LlavaVisionWrapper(torch.nn.Module):
    """pixel_values [B,3,H,W] -> image_features [B, tokens_per_image, hidden]. Mirrors
    LlavaModel.get_image_features without its per-image list split (which would fix B in the trace)."""

    def __init__(self, vision_tower, projector, feature_layer, strategy):
        super().__init__()
        self.vision_tower = vision_tower
        self.multi_modal_projector = projector
        self.feature_layer = feature_layer
        self.strategy = strategy

    def forward(self, pixel_values):
        out = self.vision_tower(pixel_values, output_hidden_states=True, return_dict=True)
        layers = [self.feature_layer] if isinstance(self.feature_layer, int) else list(self.feature_layer)
        feats = [out.hidden_states[i] for i in layers]
        if self.strategy == "default":
            feats = [f[:, 1:] for f in feats]
        return self.multi_modal_projector(torch.cat(feats, dim=-1))


class LlavaFamily(Family):
    name = "llava"
    architectures = ("LlavaForConditionalGeneration",)

    def load(self) -> None:
        from transformers import AutoProcessor, LlavaForConditionalGeneration

        self.load_model(LlavaForConditionalGeneration)
        self.processor = AutoProcessor.from_pretrained(self.model_dir)

    def tokens_per_image(self) -> int:
        vc = self.config.vision_config
        n = (vc.image_size // vc.patch_size) ** 2
        # CLIP prepends a CLS token, which the "default" strategy drops; "full" keeps it.
        return n + (1 if self.config.vision_feature_select_strategy == "full" and "clip" in vc.model_type else 0)

    def export_vision(self, out_path: Path) -> None:
        m = self.model.model
        wrapper = LlavaVisionWrapper(m.vision_tower, m.multi_modal_projector, self.config.vision_feature_layer,
                                     self.config.vision_feature_select_strategy).eval()
        export_vision_wrapper(wrapper, out_path, self.image_size(), 2, "batch_size")

    def metadata(self) -> dict:
        tok = self.processor.tokenizer
        image_token = getattr(self.processor, "image_token", None) or "<image>"
        image_token_id = int(self.config.image_token_id)
        if tok.convert_tokens_to_ids(image_token) != image_token_id:
            raise ExportError(f"image token {image_token!r} has id {tok.convert_tokens_to_ids(image_token)} in the "
                              f"tokenizer but config.image_token_id is {image_token_id}")
        tc = self.config.text_config
        return {
            "decoder_type": tc.model_type,
            "image_token": image_token,
            "image_token_id": image_token_id,
            "tokens_per_image": self.tokens_per_image(),
            "image_size": self.image_size(),
            "patch_size": int(self.config.vision_config.patch_size),
            **rope_metadata(tc),
        }

    def prompt(self) -> str:
        messages = user_message("image", QUESTION)
        if getattr(self.processor, "chat_template", None):
            return self.processor.apply_chat_template(messages, add_generation_prompt=True)
        return f"USER: <image>\n{QUESTION} ASSISTANT:"

    def sample_inputs(self, seed: int = 0, batch: int = 2) -> dict:
        s = self.image_size()
        images = random_images(seed, batch, s, s)
        text = self.prompt()
        enc = self.processor(images=images, text=[text] * batch, return_tensors="pt")
        return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"],
                "pixel_values": enc["pixel_values"].float()}

    def ort_inputs_embeds(self, sessions: dict, sample: dict):
        ids = sample["input_ids"].numpy()
        emb = ort_token_embeddings(sessions, ids)
        feats = sessions["vision"].run(None, {"pixel_values": sample["pixel_values"].numpy()})[0]
        scatter_features(emb, ids == int(self.config.image_token_id), feats, "image tokens in the prompt")
        return emb


FAMILIES = [LlavaFamily]
