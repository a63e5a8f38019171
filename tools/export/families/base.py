"""The interface a family implements. The decoder/embedding export, hook map and self-check are shared
(tools/export/decoder.py, export.py); a family supplies loading, the vision encoder and the input merge."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch


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

    # -- the pieces exported ----------------------------------------------------------------------------------
    def text_model(self) -> torch.nn.Module:
        """The HF decoder stack (embeds -> last hidden state, final norm applied), e.g. LlamaModel."""
        raise NotImplementedError

    def lm_head(self) -> torch.nn.Module:
        raise NotImplementedError

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
