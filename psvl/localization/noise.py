"""Noise-resistant training: per-query loss weights from the model's agreement with its pseudo-label.

Why: pseudo-labels are noisy (a proposal whose nouns were mis-detected, a moment whose boundaries are
off). After a warm-up, the model has learned what most labels agree on; a query whose prediction barely
overlaps its pseudo-label is more likely a wrong label than a hard example, so its loss counts less.
The idea follows SPL (Zheng et al., "Generating Structured Pseudo Labels for Noise-resistant Zero-shot
Video Sentence Localization", ACL 2023), which weights samples by the IoU of prediction and pseudo-label;
the code is ours. The weight is IoU / `noise_full_iou`, clipped to [`noise_min_weight`, 1], read from
the training forward pass itself (detached: no extra pass, and no gradient through the weight).
"""

from __future__ import annotations

import numpy as np
import torch

from psvl.core.spans import iou


def agreement_weights(
    moment: np.ndarray, target: np.ndarray, full_iou: float, min_weight: float
) -> np.ndarray:
    """(B,) weights: the IoU of each predicted moment with its pseudo-label over `full_iou`, clipped to
    [`min_weight`, 1]. Moments normalized (B, 2)."""
    agree = iou(np.asarray(moment, np.float64), np.asarray(target, np.float64))
    return np.clip(agree / full_iou, min_weight, 1.0)


class NoiseWeights:
    """The `train` section's noise_* settings for one run; remembers each training query's last weight
    (`last`, by row of the training dataset; 1 until it is weighted) for inspection and tests."""

    def __init__(self, cfg, n_queries: int) -> None:
        self.on = bool(cfg.noise_weights)
        self.warmup, self.full_iou, self.min_weight = (
            cfg.noise_warmup,
            cfg.noise_full_iou,
            cfg.noise_min_weight,
        )
        self.last = np.ones(n_queries)

    def __call__(self, epoch: int, moment: torch.Tensor, target: torch.Tensor, rows) -> torch.Tensor | None:
        """The batch's weights in epoch `epoch` (0-based), or None (equal weights) when off or warming up."""
        if not self.on or epoch < self.warmup:
            return None
        w = agreement_weights(
            moment.detach().float().cpu().numpy(),
            target.float().cpu().numpy(),
            self.full_iou,
            self.min_weight,
        )
        self.last[np.asarray(rows)] = w
        return torch.as_tensor(w, dtype=torch.float32, device=moment.device)

    def summary(self) -> str:
        """`mean weight 0.82, 12% below 0.5` of the last weights, for the epoch's log line."""
        return f"mean weight {self.last.mean():.2f}, {100 * (self.last < 0.5).mean():.0f}% below 0.5"
