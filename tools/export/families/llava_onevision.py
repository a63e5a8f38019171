"""LLaVA-OneVision (LlavaOnevisionForConditionalGeneration) as a VIDEO model: LLaVA-Video-7B-Qwen2 in its
transformers-native form (SigLIP vision tower + 2-layer MLP projector + Qwen2 decoder, `image_newline` vector).

What transformers does with a video (modeling_llava_onevision.py, LlavaOnevisionModel.get_video_features):
every frame -> vision tower -> feature layer (vision_feature_layer, -1; "full" keeps every patch: SigLIP has no
CLS) -> multi_modal_projector -> apply_pooling (the 27x27 patch grid bilinearly resized to ceil(27/2) = 14x14,
`F.interpolate(mode="bilinear")`, align_corners False) -> the frames' tokens concatenated -> ONE `image_newline`
appended after the last frame. LlavaOnevisionProcessor expands `<video>` to frames x pooled + 1 placeholders.

Vision encoder ONNX = one frame (or a batch of frames) at a time: `pixel_values` [N, 3, H, W] and `append_newline`
int64 [1] (0 or 1) -> `image_features` [N * tokens_per_frame + append_newline, d]. The adapter
(src/models/llavaOnevision.ts) feeds append_newline = 1 with the clip's last frame only, whose placeholder span is
tokens_per_frame + 1 long, so the concatenation equals HF's. Decoder: Qwen2, 1-row positions.

The still-image path (anyres tiles, per-row newlines, vision_aspect_ratio) is not exported: bundles of this family
take frames only (a single image can be passed as a one-frame clip, which is not what the processor does for images).

Preprocessing = LlavaOnevisionVideoProcessor: resize to size {height, width} (torchvision bicubic, antialias) ->
fused rescale + normalise (x - mean/rescale) / (std/rescale) in float32. That class needs torchvision, which the tools
venv does not have; `VideoProcessorLite` below does the same with torch (frames already at the model size are not
resized: identical either way).
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch

from ..onnx_utils import ExportError, export_module
from .base import Family, video_token_metadata

QUESTION = "Does the frog come before or after the camel?"
# LlavaOnevisionVideoProcessor's class defaults (used when the folder has no video processor config)
VIDEO_DEFAULTS = {"do_resize": True, "size": {"height": 384, "width": 384}, "resample": 3, "do_rescale": True,
                  "rescale_factor": 1 / 255, "do_normalize": True,
                  "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711],
                  "do_center_crop": False}
DEFAULT_MAX_FRAMES = 64  # LLaVA-Video-7B-Qwen2 was trained and evaluated with up to 64 frames


def _read_json(p: Path) -> dict:
    return json.loads(p.read_text()) if p.is_file() else {}


def video_processor_config(model_dir: Path) -> dict:
    """The video processor's settings, found as transformers' get_video_processor_dict finds them: the
    "video_processor" section of processor_config.json (transformers 5 save_pretrained), else
    video_preprocessor_config.json, else (legacy folders) preprocessor_config.json; missing keys take
    LlavaOnevisionVideoProcessor's class defaults."""
    model_dir = Path(model_dir)
    cfg = _read_json(model_dir / "processor_config.json").get("video_processor")
    for name in ("video_preprocessor_config.json", "preprocessor_config.json"):
        if cfg is None and (model_dir / name).is_file():
            cfg = _read_json(model_dir / name)
    if cfg is None:
        raise ExportError(f"{model_dir}: no video processor config (processor_config.json with a video_processor "
                          f"section, video_preprocessor_config.json or preprocessor_config.json); save the processor "
                          f"with save_pretrained into the model folder")
    out = dict(VIDEO_DEFAULTS)
    out.update({k: v for k, v in cfg.items() if v is not None})
    size = out.get("size") or {}
    if not (isinstance(size, dict) and "height" in size and "width" in size):
        raise ExportError(f"{model_dir}: the video processor's size {size!r} is not {{height, width}} (LLaVA-OneVision "
                          f"resizes frames to a fixed square)")
    if out.get("do_resize", True) and int(out.get("resample", 3)) != 3:
        raise ExportError(f"{model_dir}: the video processor resizes with resample={out['resample']}; only bicubic (3), "
                          f"LlavaOnevisionVideoProcessor's, is implemented")
    if out.get("do_center_crop"):
        raise ExportError(f"{model_dir}: the video processor centre-crops, which LlavaOnevisionVideoProcessor does not do")
    return out


def resize_frames(frames: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """uint8 [F, 3, h, w] -> uint8 [F, 3, height, width] as torchvision's resize(BICUBIC, antialias=True) does on a
    uint8 tensor on CPU: torch's interpolate on the uint8 tensor itself (its fixed-point antialiased kernel; torchvision
    casts to float only on GPU or without AVX2). Same size: unchanged."""
    if tuple(frames.shape[-2:]) == (height, width):
        return frames
    return torch.nn.functional.interpolate(frames, size=(height, width), mode="bicubic", align_corners=False,
                                           antialias=True)


class VideoProcessorLite:
    """LlavaOnevisionProcessor for videos (tokenizer + LlavaOnevisionVideoProcessor + `<video>` expansion) without
    torchvision. `videos`: list of uint8 arrays [F, H, W, 3]."""

    def __init__(self, tokenizer, video_cfg: dict, num_image_tokens: int, chat_template: str | None = None):
        self.tokenizer, self.video_cfg, self.num_image_tokens = tokenizer, video_cfg, int(num_image_tokens)
        self.chat_template = chat_template or tokenizer.chat_template
        self.video_token = getattr(tokenizer, "video_token", None) or "<video>"
        self.image_token = getattr(tokenizer, "image_token", None) or "<image>"

    @classmethod
    def from_pretrained(cls, d, num_image_tokens: int | None = None):
        from transformers import AutoTokenizer

        d = Path(d)
        pc = _read_json(d / "processor_config.json")
        n = pc.get("num_image_tokens") or num_image_tokens
        if n is None:
            cfg = _read_json(d / "config.json").get("vision_config") or {}
            n = (int(cfg.get("image_size", 384)) // int(cfg.get("patch_size", 14))) ** 2
        return cls(AutoTokenizer.from_pretrained(d), video_processor_config(d), int(n))

    def tokens_per_frame(self) -> int:
        side = math.ceil(int(math.sqrt(self.num_image_tokens)) / 2)
        return side * side

    def apply_chat_template(self, messages, add_generation_prompt=True):
        return self.tokenizer.apply_chat_template(messages, chat_template=self.chat_template, tokenize=False,
                                                  add_generation_prompt=add_generation_prompt)

    def pixel_values(self, video: np.ndarray) -> torch.Tensor:
        c = self.video_cfg
        x = torch.from_numpy(np.ascontiguousarray(video)).permute(0, 3, 1, 2).contiguous()  # [F, 3, H, W] uint8
        if c.get("do_resize", True):
            x = resize_frames(x, int(c["size"]["height"]), int(c["size"]["width"]))
        x = x.to(torch.float32)
        r = float(c.get("rescale_factor", 1 / 255))
        if c.get("do_normalize", True):
            mean, std = torch.tensor(c["image_mean"]), torch.tensor(c["image_std"])
            if c.get("do_rescale", True):  # fused, as the torchvision backend does
                mean, std = mean * (1.0 / r), std * (1.0 / r)
            x = (x - mean[:, None, None]) / std[:, None, None]
        elif c.get("do_rescale", True):
            x = x * r
        return x

    def __call__(self, videos=None, text=None, images=None, return_tensors="pt", **_):
        if images:
            raise ExportError("this LLaVA-OneVision export path takes videos (frames) only, not images")
        text = list(text)
        out = {}
        if videos:
            pv = [self.pixel_values(v) for v in videos]
            if len({tuple(p.shape) for p in pv}) != 1:
                raise ExportError("videos of one batch must have the same number of frames")
            out["pixel_values_videos"] = torch.stack(pv)
            counts = iter([p.shape[0] * self.tokens_per_frame() + 1 for p in pv])
            for i, t in enumerate(text):
                parts = t.split(self.video_token)
                text[i] = parts[0] + "".join(self.video_token * next(counts) + p for p in parts[1:])
        enc = self.tokenizer(text, return_tensors="pt", padding=True)
        out.update(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"])
        return out


class OnevisionFrameWrapper(torch.nn.Module):
    """pixel_values [N, 3, H, W], append_newline int64 [1] -> [N * tokens_per_frame + append_newline, d]."""

    def __init__(self, model, feature_layer, strategy):
        super().__init__()
        self.m = model  # LlavaOnevisionModel (vision_tower, multi_modal_projector, image_newline, apply_pooling)
        self.feature_layer = feature_layer
        self.strategy = strategy

    def forward(self, pixel_values, append_newline):
        out = self.m.vision_tower(pixel_values, output_hidden_states=True, return_dict=True)
        layers = [self.feature_layer] if isinstance(self.feature_layer, int) else list(self.feature_layer)
        feats = torch.cat([out.hidden_states[i] for i in layers], dim=-1)
        if self.strategy == "default":
            feats = feats[:, 1:]
        feats = self.m.apply_pooling(self.m.multi_modal_projector(feats))
        feats = feats.reshape(-1, feats.shape[-1])
        # 0 or 1 copies of image_newline, chosen by the input (a Range of length append_newline, so no shape is fixed)
        k = torch.clamp(append_newline.reshape([]), 0, 1)
        rows = torch.arange(k) * 0
        newline = self.m.image_newline.unsqueeze(0).index_select(0, rows)
        return torch.cat([feats, newline.to(feats.dtype)], dim=0)


class LlavaOnevisionFamily(Family):
    name = "llava-onevision"
    architectures = ("LlavaOnevisionForConditionalGeneration",)

    def load(self) -> None:
        from transformers import LlavaOnevisionForConditionalGeneration

        self.model = LlavaOnevisionForConditionalGeneration.from_pretrained(
            self.model_dir, attn_implementation="eager", dtype=torch.float32).eval()
        self.config = self.model.config
        vc = self.config.vision_config
        self.processor = VideoProcessorLite.from_pretrained(self.model_dir, (vc.image_size // vc.patch_size) ** 2)
        self.tokenizer = self.processor.tokenizer
        side = vc.image_size // vc.patch_size
        if self.processor.num_image_tokens != side * side:
            raise ExportError(f"processor_config.json num_image_tokens={self.processor.num_image_tokens} but the vision "
                              f"tower gives {side}x{side} = {side * side} patches")
        s = self.processor.video_cfg["size"]
        if int(s["height"]) != vc.image_size or int(s["width"]) != vc.image_size:
            raise ExportError(f"the video processor resizes to {s} but the vision tower takes {vc.image_size} px")

    def text_model(self):
        return self.model.model.language_model

    def lm_head(self):
        return self.model.lm_head

    def image_size(self) -> int:
        return int(self.config.vision_config.image_size)

    def tokens_per_frame(self) -> int:
        vc = self.config.vision_config
        side = math.ceil((vc.image_size // vc.patch_size) / 2)  # apply_pooling: ceil(h/2) x ceil(w/2)
        return side * side

    def max_frames(self) -> int:
        vcfg = self.processor.video_cfg
        return int(vcfg.get("num_frames") or DEFAULT_MAX_FRAMES)

    def _token(self, kind: str) -> tuple[str, int]:
        tid = int(getattr(self.config, f"{kind}_token_id"))
        tok = self.tokenizer.convert_ids_to_tokens(tid)
        want = getattr(self.processor, f"{kind}_token")
        if want != tok:
            raise ExportError(f"{kind} token {want!r} of the processor is not config.{kind}_token_id={tid} ({tok!r})")
        return tok, tid

    def export_vision(self, out_path: Path) -> None:
        wrapper = OnevisionFrameWrapper(self.model.model, self.config.vision_feature_layer,
                                        self.config.vision_feature_select_strategy).eval()
        s = self.image_size()
        x = torch.randn(3, 3, s, s, generator=torch.Generator().manual_seed(0))
        export_module(wrapper, (x, torch.tensor([1], dtype=torch.int64)), out_path,
                      ["pixel_values", "append_newline"], ["image_features"],
                      {"pixel_values": {0: "frames"}, "image_features": {0: "tokens"}})

    def metadata(self) -> dict:
        v = self.processor.video_cfg
        return {
            **video_token_metadata(self),
            # one image_newline vector after the clip's last frame (vision input append_newline = 1 for that frame)
            "video_newline": "after_last_frame",
            "vision_feature_layer": self.config.vision_feature_layer,
            "vision_feature_select_strategy": self.config.vision_feature_select_strategy,
            "video_preprocessor": {k: v[k] for k in ("do_resize", "size", "resample", "do_rescale", "rescale_factor",
                                                     "do_normalize", "image_mean", "image_std") if k in v},
        }

    def prompt(self) -> str:
        messages = [{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": QUESTION}]}]
        return self.processor.apply_chat_template(messages, add_generation_prompt=True)

    def sample_frames(self) -> int:
        return min(4, self.max_frames())

    def sample_inputs(self, seed: int = 0, batch: int = 2) -> dict:
        rng = np.random.default_rng(seed)
        s, F = self.image_size(), self.sample_frames()
        videos = [rng.integers(0, 256, (F, s, s, 3), dtype=np.uint8) for _ in range(batch)]
        enc = self.processor(videos=videos, text=[self.prompt()] * batch)
        return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"],
                "pixel_values_videos": enc["pixel_values_videos"]}

    def ort_inputs_embeds(self, sessions: dict, sample: dict) -> np.ndarray:
        ids = sample["input_ids"].numpy()
        emb = sessions["embed"].run(None, {"input_ids": ids})[0].copy()
        _, vid = self._token("video")
        pv = sample["pixel_values_videos"].numpy()
        for b in range(ids.shape[0]):
            F = pv.shape[1]
            # frame by frame, as the engine feeds them; the newline with the last frame only
            feats = np.concatenate([sessions["vision"].run(None, {
                "pixel_values": pv[b, f:f + 1], "append_newline": np.array([int(f == F - 1)], np.int64)})[0]
                for f in range(F)])
            mask = ids[b] == vid
            if mask.sum() != feats.shape[0]:
                raise ExportError(f"{mask.sum()} video tokens in row {b} but the vision encoder gave {feats.shape[0]} "
                                  f"features ({F} frames x {self.tokens_per_frame()} + 1 newline expected)")
            if b == 0:  # all frames in one call gives the same features
                whole = sessions["vision"].run(None, {"pixel_values": pv[b], "append_newline": np.array([1], np.int64)})[0]
                if whole.shape != feats.shape or float(np.abs(whole - feats).max()) > 1e-5:
                    raise ExportError("the vision encoder gives other features for a batch of frames than frame by frame")
            emb[b, mask] = feats
        return emb


FAMILIES = [LlavaOnevisionFamily]
