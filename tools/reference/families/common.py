"""Helpers shared by the tiny family builders."""
from __future__ import annotations

import torch


def widen_init(model: torch.nn.Module, seed: int) -> None:
    """N(0, 1/fan_in) weights (norm weights 1 +- 0.1, biases 0.02 N(0,1)) instead of HF's 0.02 init, so the tiny
    model's outputs depend on the image, the words and every layer (same recipe as tools/reference/tiny.py)."""
    # Gemma-style RMSNorms scale by (1 + weight): their parameter is zero-centred
    zero_centred = {f"{m_name}.weight" for m_name, m in model.named_modules()
                    if type(m).__name__.startswith("Gemma") and type(m).__name__.endswith("RMSNorm")}
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() >= 2:
                p.copy_(torch.randn(p.shape, generator=g) * (1.0 / p.shape[-1] ** 0.5))
            elif "norm" in name and name.endswith("weight"):
                base = 0.0 if name in zero_centred else 1.0
                p.copy_(base + 0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.02 * torch.randn(p.shape, generator=g))
