"""LLaVA-NeXT-Video (LlavaNextVideoForConditionalGeneration; toy-llava-video, LLaVA-NeXT-Video-7B): the video path.

Vision encoder ONNX = one frame (or a batch of frames) -> its pooled, projected tokens: `pixel_values` [N, 3, H, W]
-> vision tower -> feature layer(s) (CLS dropped for the "default" strategy) -> vision_resampler (LlavaNextVideoPooler:
average/max pool or conv, stride spatial_pool_stride) -> multi_modal_projector -> `image_features`
[N, tokens_per_frame, d]. This is LlavaNextVideoModel.get_video_features for one frame at a time; a clip's frames are
concatenated in order at the expanded `<video>` placeholder (frames x tokens_per_frame positions; the engine's
llava-video adapter, src/models/llavaVideo.ts). Decoder: any HF causal LM (Qwen2 for the toy), 1-row positions.
The still-image (anyres) path of LLaVA-NeXT is not exported: bundles of this family take frames only.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from ..onnx_utils import ExportError
from .base import Family, export_vision_wrapper, ort_token_embeddings, scatter_features, user_message, video_token_metadata

QUESTION = "Does the frog come before or after the camel?"


class VideoFrameWrapper(torch.nn.Module):
    def __init__(self, vision_tower, resampler, projector, feature_layer, strategy):
        super().__init__()
        self.vision_tower = vision_tower
        self.vision_resampler = resampler
        self.multi_modal_projector = projector
        self.feature_layer = feature_layer
        self.strategy = strategy

    def forward(self, pixel_values):
        out = self.vision_tower(pixel_values, output_hidden_states=True, return_dict=True)
        layers = [self.feature_layer] if isinstance(self.feature_layer, int) else list(self.feature_layer)
        feats = torch.cat([out.hidden_states[i] for i in layers], dim=-1)
        if self.strategy == "default":
            feats = feats[:, 1:]
        return self.multi_modal_projector(self.vision_resampler(feats))


class LlavaNextVideoFamily(Family):
    name = "llava-video"
    architectures = ("LlavaNextVideoForConditionalGeneration",)

    def load(self) -> None:
        from transformers import AutoTokenizer, LlavaNextVideoForConditionalGeneration

        self.load_model(LlavaNextVideoForConditionalGeneration)
        self.tokenizer = AutoTokenizer.from_pretrained(self.model_dir)
        pre = self.model_dir / "preprocessor_config.json"
        self.pre = json.loads(pre.read_text()) if pre.is_file() else {}

        class _P:  # what copy_side_files asks of a processor: the chat template
            pass
        self.processor = _P()
        self.processor.tokenizer = self.tokenizer
        self.processor.chat_template = getattr(self.tokenizer, "chat_template", None)

    def tokens_per_frame(self) -> int:
        vc = self.config.vision_config
        side = vc.image_size // vc.patch_size
        return (side // int(self.config.spatial_pool_stride)) ** 2

    def max_frames(self) -> int:
        return int(self.pre.get("num_frames") or 8)

    def _token(self, kind: str) -> tuple[str, int]:
        tid = int(getattr(self.config, f"{kind}_token_id", None) if getattr(self.config, f"{kind}_token_id", None) is not None
                  else getattr(self.config, f"{kind}_token_index"))
        tok = self.tokenizer.convert_ids_to_tokens(tid)
        want = getattr(self.tokenizer, f"{kind}_token", None)
        if want and want != tok:
            raise ExportError(f"{kind} token {want!r} of the tokenizer is not config.{kind}_token_id={tid} ({tok!r})")
        return tok, tid

    def export_vision(self, out_path: Path) -> None:
        m = self.model.model
        wrapper = VideoFrameWrapper(m.vision_tower, m.vision_resampler, m.multi_modal_projector,
                                    self.config.vision_feature_layer, self.config.vision_feature_select_strategy).eval()
        export_vision_wrapper(wrapper, out_path, self.image_size(), 3, "frames")

    def metadata(self) -> dict:
        return {
            **video_token_metadata(self),
            "spatial_pool_mode": self.config.spatial_pool_mode,
            "spatial_pool_stride": int(self.config.spatial_pool_stride),
        }

    def prompt(self) -> str:
        messages = user_message("video", QUESTION)
        if getattr(self.tokenizer, "chat_template", None):
            return self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        return f"USER: <video>\n{QUESTION} ASSISTANT:"

    def _normalise(self, frames: np.ndarray) -> np.ndarray:
        """uint8 [..., H, W, 3] at the model's size -> rescaled, normalised [..., 3, H, W] float32."""
        p = self.pre
        x = frames.astype(np.float32) * np.float32(p.get("rescale_factor", 1 / 255) if p.get("do_rescale", True) else 1.0)
        if p.get("do_normalize", True):
            x = (x - np.array(p.get("image_mean", [0.5] * 3), np.float32)) / np.array(p.get("image_std", [0.5] * 3), np.float32)
        return np.moveaxis(x, -1, -3).astype(np.float32)

    def sample_inputs(self, seed: int = 0, batch: int = 2) -> dict:
        rng = np.random.default_rng(seed)
        s, F = self.image_size(), self.max_frames()
        frames = rng.integers(0, 256, (batch, F, s, s, 3), dtype=np.uint8)
        _, vid = self._token("video")
        ids = self.tokenizer(self.prompt())["input_ids"]
        if ids.count(vid) != 1:
            raise ExportError(f"the chat template's prompt has {ids.count(vid)} video placeholders; expected 1")
        k = ids.index(vid)
        ids = ids[:k] + [vid] * (F * self.tokens_per_frame()) + ids[k + 1:]
        input_ids = torch.tensor([ids] * batch)
        return {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids),
                "pixel_values_videos": torch.from_numpy(self._normalise(frames))}

    def ort_inputs_embeds(self, sessions: dict, sample: dict) -> np.ndarray:
        ids = sample["input_ids"].numpy()
        emb = ort_token_embeddings(sessions, ids)
        _, vid = self._token("video")
        pv = sample["pixel_values_videos"].numpy()
        for b in range(ids.shape[0]):
            feats = sessions["vision"].run(None, {"pixel_values": pv[b]})[0]  # [F, tokens_per_frame, d]
            scatter_features(emb[b], ids[b] == vid, feats, f"video tokens in row {b}")
        return emb


FAMILIES = [LlavaNextVideoFamily]
