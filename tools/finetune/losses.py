"""The spatial-ID loss of the authors' fine-tuning script (reference-code-spec §8), for one batch:

  e_i = residual stream H[ℓ] at the reference object's word (last occurrence of its last sub-token) of item i,
  ŝ_i = e_i − mean_batch(e)               (predicted spatial ID: the batch-centred activation),
  g_i = U_ℓ(x2_i, y2_i)                    (universal ID at the reference object's true cell),
  L_sid = 1 − mean_i cos(ŝ_i, g_i).

Batch centring removes what the items share (the objects' semantics when the batch fixes (obj1, cell1, obj2));
with random batches it also removes nothing object-specific, which is one reason the authors pair the loss with
grouped batches. Items whose ŝ_i is exactly zero (a batch of one) have no direction; they are skipped, and a batch
with none left gives NaN.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def sid_loss(e: torch.Tensor, g: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """L_sid for activations e [N,d] and target IDs g [N,d]."""
    if e.ndim != 2 or e.shape != g.shape:
        raise ValueError(f"sid_loss: e {tuple(e.shape)} and g {tuple(g.shape)} must both be [N, d]")
    s = e - e.mean(0, keepdim=True)
    ok = s.norm(dim=-1) > eps
    if not bool(ok.any()):
        return e.sum() * float("nan")
    return 1 - F.cosine_similarity(s[ok], g[ok], dim=-1, eps=eps).mean()


def ids_at(universal: torch.Tensor, cells: torch.Tensor) -> torch.Tensor:
    """Universal IDs [m, m, d] (index [row][col], as out/universal-ids stores them) at cells [N, 2] = (col, row)."""
    return universal[cells[:, 1], cells[:, 0]]
