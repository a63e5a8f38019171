"""The interface a family implements. The decoder/embedding export, hook map and self-check are shared
(tools/export/decoder.py, export.py); a family supplies loading, the vision encoder and the input merge."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..onnx_utils import ExportError, export_module


# -- helpers the families share ---------------------------------------------------------------------------------

def user_message(kind: str, question: str) -> list[dict]:
    """One user turn: a `kind` ("image" / "video") part, then the question (the paper's layout)."""
    return [{"role": "user", "content": [{"type": kind}, {"type": "text", "text": question}]}]


def random_images(seed: int, batch: int, height: int, width: int) -> list:
    """`batch` seeded uniform-noise RGB PIL images of height x width (the self-check's sample images)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    return [Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)) for _ in range(batch)]


def export_vision_wrapper(wrapper: torch.nn.Module, out_path: Path, size: int, n: int, axis: str) -> None:
    """Trace `wrapper` (pixel_values [n, 3, size, size] -> image_features [n, ...]) with a seeded random input;
    dimension 0 of both is dynamic, named `axis`."""
    x = torch.randn(n, 3, size, size, generator=torch.Generator().manual_seed(0))
    export_module(wrapper, (x,), out_path, ["pixel_values"], ["image_features"],
                  {"pixel_values": {0: axis}, "image_features": {0: axis}})


def rope_metadata(text_config) -> dict:
    """linmech.json `rope` (type) and `rope_theta` of a plain-RoPE decoder config (rope_parameters in
    transformers 5, rope_scaling before)."""
    tc = text_config
    rope = (getattr(tc, "rope_parameters", None) or getattr(tc, "rope_scaling", None) or {})
    return {
        "rope": rope.get("rope_type", "default") if isinstance(rope, dict) else "default",
        "rope_theta": float(rope.get("rope_theta", getattr(tc, "rope_theta", 10000.0))) if isinstance(rope, dict) else None,
    }


def video_token_metadata(family) -> dict:
    """linmech.json fields every video family writes: image/video tokens, one frame's token count (also as
    tokens_per_image: still images are not exported), frames, frame size, patch size, the decoder's rope. The family
    provides `_token(kind)`, `tokens_per_frame()`, `max_frames()` and `image_size()`."""
    image_token, image_id = family._token("image")
    video_token, video_id = family._token("video")
    tc = family.config.text_config
    tpf = family.tokens_per_frame()
    return {
        "decoder_type": tc.model_type,
        "image_token": image_token,
        "image_token_id": image_id,
        "tokens_per_image": tpf,
        "video_token": video_token,
        "video_token_id": video_id,
        "tokens_per_frame": tpf,
        "max_frames": family.max_frames(),
        "image_size": family.image_size(),
        "patch_size": int(family.config.vision_config.patch_size),
        **rope_metadata(tc),
    }


def ort_token_embeddings(sessions: dict, ids: np.ndarray) -> np.ndarray:
    """embed_tokens.onnx on `ids`, as a writable array (the visual features are written into it)."""
    return sessions["embed"].run(None, {"input_ids": ids})[0].copy()


def scatter_features(emb: np.ndarray, mask: np.ndarray, feats: np.ndarray, what: str) -> None:
    """emb[mask] = the vision encoder's features in order; `what` names the placeholder tokens for the error."""
    if mask.sum() != int(np.prod(feats.shape[:-1])):
        raise ExportError(f"{mask.sum()} {what} but the vision encoder gave {'x'.join(map(str, feats.shape[:-1]))} "
                          f"features")
    emb[mask] = feats.reshape(-1, feats.shape[-1])


class LiteProcessor:
    """Base of the processors written here instead of transformers' (whose video processors need torchvision):
    chat template rendering and placeholder expansion in the text."""

    tokenizer = None
    chat_template = None

    def apply_chat_template(self, messages, add_generation_prompt=True):
        return self.tokenizer.apply_chat_template(messages, chat_template=self.chat_template, tokenize=False,
                                                  add_generation_prompt=add_generation_prompt)

    @staticmethod
    def expand_placeholders(text: list[str], token: str, replacements) -> list[str]:
        """Each `token` in the texts, in order, becomes the next string of `replacements`."""
        out = []
        for t in text:
            parts = t.split(token)
            out.append(parts[0] + "".join(next(replacements) + p for p in parts[1:]))
        return out


class Family:
    name = "base"
    architectures: tuple[str, ...] = ()

    def __init__(self, model_dir: Path):
        self.model_dir = Path(model_dir)
        self.model = None
        self.processor = None

    # -- loading ----------------------------------------------------------------------------------------------
    def load(self) -> None:
        raise NotImplementedError

    def load_model(self, cls) -> None:
        """self.model = cls.from_pretrained(model_dir) in float32 with eager attention, eval mode; self.config."""
        self.model = cls.from_pretrained(self.model_dir, attn_implementation="eager", dtype=torch.float32).eval()
        self.config = self.model.config

    # -- the pieces exported ----------------------------------------------------------------------------------
    def text_model(self) -> torch.nn.Module:
        """The HF decoder stack (embeds -> last hidden state, final norm applied), e.g. LlamaModel; here the
        language model of a *ForConditionalGeneration (model.model.language_model)."""
        return self.model.model.language_model

    def lm_head(self) -> torch.nn.Module:
        return self.model.lm_head

    def image_size(self) -> int:
        """Side of the vision tower's square input (vision_config.image_size; a [H, W] pair gives H)."""
        s = self.config.vision_config.image_size
        return int(s[0] if isinstance(s, (list, tuple)) else s)

    def embed_tokens(self) -> torch.nn.Module:
        return self.text_model().get_input_embeddings()

    def embed_scale(self) -> float | None:
        return None

    def export_vision(self, out_path: Path) -> None:
        raise NotImplementedError

    def metadata(self) -> dict:
        """Family-specific linmech.json fields (image token, tokens per image, image size, rope, ...)."""
        raise NotImplementedError

    # -- self-check -------------------------------------------------------------------------------------------
    def sample_inputs(self, seed: int = 0, batch: int = 2) -> dict:
        """Processor output (torch tensors) for `batch` seeded random images with one question."""
        raise NotImplementedError

    def ort_inputs_embeds(self, sessions: dict, sample: dict) -> np.ndarray:
        """inputs_embeds for the decoder, computed with the exported vision/embedding ONNX sessions."""
        raise NotImplementedError
