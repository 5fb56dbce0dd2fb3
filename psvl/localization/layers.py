"""Recurrent building blocks shared by the video encoder and the learned query encoder.

Why here: both `model.py` (video side) and `query_encoders.py` (text side) use them, and the model file
imports the query-encoder registry, so they live below both.
"""

from __future__ import annotations

import torch
from torch import nn


def reverse_padded(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each sequence of `x` (B, L, D) within its first `lengths[b]` steps; padding stays put."""
    steps = torch.arange(x.size(1), device=x.device)[None, :]
    lens = lengths.to(x.device)[:, None]
    idx = torch.where(steps < lens, lens - 1 - steps, steps)
    return x.gather(1, idx[:, :, None].expand_as(x))


class BiGRU(nn.Module):
    """Bidirectional GRU over padded sequences: two fused unidirectional `nn.GRU` calls, no packing."""

    def __init__(self, in_dim: int, hidden: int) -> None:
        super().__init__()
        self.fwd = nn.GRU(in_dim, hidden, batch_first=True)
        self.bwd = nn.GRU(in_dim, hidden, batch_first=True)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        lengths = mask.sum(1)
        h_fwd, _ = self.fwd(x)
        h_bwd, _ = self.bwd(reverse_padded(x, lengths))
        return torch.cat([h_fwd, reverse_padded(h_bwd, lengths)], dim=-1)
