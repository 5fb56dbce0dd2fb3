"""Running a trained model on query batches: one forward call, and one loop over a dataset's queries.

Why one place: training's validation, the refinement rounds and `psvl predict` all ask the model the same
question (where is this query in this video, and how sure is it); a change to the model's inputs is made
here once. `attention_inside` is the confidence `psvl predict` reports and refinement thresholds: the
share of the model's temporal attention that falls inside the moment it predicts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from psvl.core.spans import segment_centres
from psvl.localization.batches import QueryDataset, batches
from psvl.localization.model import PSVLNet


class ModelInputs(Protocol):
    """What `infer` reads of a batch (`psvl.localization.batches.Batch` is one)."""

    tokens: torch.Tensor  # (B, L) long
    token_mask: torch.Tensor  # (B, L) bool
    video: torch.Tensor  # (B, T, D) float32
    video_mask: torch.Tensor  # (B, T) bool
    texts: list[str]  # (B,) the queries as text (sentence-model query encoders)
    named: torch.Tensor | None  # (B, C) class weights (named object channels), else None


@dataclass(frozen=True)
class Inputs:
    """Model inputs without targets: the queries `Predictor` batches (training's `Batch` has targets too)."""

    tokens: torch.Tensor
    token_mask: torch.Tensor
    video: torch.Tensor
    video_mask: torch.Tensor
    texts: list[str]
    named: torch.Tensor | None = None


def infer(model: PSVLNet, batch: ModelInputs, encoded: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """The model's `moment` (B, 2), normalized, and temporal `attention` (B, T) for a batch.

    `encoded`: `model.encode_video(batch.video, batch.video_mask)`, when the caller computed it once per
    video for many queries (possible only without named object channels, whose encoding reads the query).
    """
    b = batch
    if encoded is None:
        return model(b.tokens, b.token_mask, b.video, b.video_mask, b.texts, b.named)
    return model.localize(b.tokens, b.token_mask, encoded, b.video_mask, b.texts)


def attention_inside(attention: np.ndarray, moments: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The share of each query's attention weights on segments whose centre lies in its moment."""
    centres = segment_centres(mask.sum(1), attention.shape[1])
    inside = (centres >= moments[:, :1]) & (centres <= moments[:, 1:]) & mask
    return (attention * inside).sum(1)


def predict_dataset(
    model: PSVLNet, data: QueryDataset, batch_size: int, device: torch.device, amp: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """(normalized moments (N, 2), attention share inside each moment (N,)) of a dataset's queries, with
    the centre sampling phase; `amp` autocasts (bf16 where supported, else fp16) as training does."""
    model.eval()
    moments, scores = np.zeros((len(data), 2)), np.zeros(len(data))
    dtype = torch.bfloat16 if device.type == "cpu" or torch.cuda.is_bf16_supported() else torch.float16
    with torch.inference_mode(), torch.autocast(device.type, dtype=dtype, enabled=amp):
        for rows in batches(len(data), batch_size):
            b = data.collate(rows).to(device)
            out = infer(model, b)
            moments[rows] = m = out["moment"].float().cpu().numpy()
            scores[rows] = attention_inside(
                out["attention"].float().cpu().numpy(), m, b.video_mask.cpu().numpy()
            )
    return moments, scores
