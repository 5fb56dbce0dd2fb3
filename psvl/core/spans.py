"""Temporal span math in one place: IoU, pairwise IoU, seconds<->normalized, clipping, resampling, and
where a segment's centre lies.

Every other module calls these instead of re-deriving IoU. Spans are `[start, end]` arrays of shape
(..., 2), in seconds on disk and normalized to [0, 1] inside the model. A zero-length span has IoU 0 with
everything except an identical zero-length span, which is defined as 0 as well (no overlap measure).
"""

from __future__ import annotations

import numpy as np


def _as_spans(spans) -> np.ndarray:
    arr = np.asarray(spans, dtype=np.float64)
    if arr.shape[-1] != 2:
        raise ValueError(f"spans must have a last dimension of 2 (start, end); got shape {arr.shape}")
    return arr


def order(spans) -> np.ndarray:
    """Swap start and end where start > end (predictions can come out reversed)."""
    arr = _as_spans(spans)
    return np.stack([arr[..., 0].clip(max=arr[..., 1]), arr[..., 1].clip(min=arr[..., 0])], axis=-1)


def clip(spans, duration) -> np.ndarray:
    """Order spans and clip them to [0, duration] (duration broadcasts over leading dims)."""
    arr = order(spans)
    dur = np.asarray(duration, dtype=np.float64)[..., None]
    return np.clip(arr, 0.0, dur)


def length(spans) -> np.ndarray:
    arr = _as_spans(spans)
    return np.maximum(arr[..., 1] - arr[..., 0], 0.0)


def iou(a, b) -> np.ndarray:
    """Element-wise temporal IoU of two equally shaped span arrays (reversed spans are ordered first)."""
    a, b = order(a), order(b)
    inter = np.maximum(np.minimum(a[..., 1], b[..., 1]) - np.maximum(a[..., 0], b[..., 0]), 0.0)
    union = length(a) + length(b) - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def pairwise_iou(a, b) -> np.ndarray:
    """IoU of every span in `a` (N, 2) against every span in `b` (M, 2): an (N, M) matrix."""
    a, b = order(a).reshape(-1, 2), order(b).reshape(-1, 2)
    return iou(a[:, None, :], b[None, :, :])


def to_normalized(spans, duration) -> np.ndarray:
    """Seconds -> fractions of the video (clipped to [0, 1]); a zero duration gives zeros."""
    arr = clip(spans, duration)
    dur = np.asarray(duration, dtype=np.float64)[..., None]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(dur > 0, arr / np.where(dur > 0, dur, 1.0), 0.0)


def to_seconds(spans, duration) -> np.ndarray:
    """Fractions of the video -> seconds (ordered and clipped to [0, duration])."""
    arr = np.clip(order(spans), 0.0, 1.0)
    return arr * np.asarray(duration, dtype=np.float64)[..., None]


def recall_at(ious, thresholds=(0.1, 0.3, 0.5, 0.7)) -> dict[str, float]:
    """R@1 at each IoU threshold plus mIoU, averaged per query (not per batch)."""
    ious = np.asarray(ious, dtype=np.float64).ravel()
    out = {f"R@{t:g}": float((ious >= t).mean()) if ious.size else 0.0 for t in thresholds}
    out["mIoU"] = float(ious.mean()) if ious.size else 0.0
    out["n_queries"] = int(ious.size)
    return out


def resample_indices(n_in: int, n_out: int, phase: float = 0.5) -> np.ndarray:
    """Indices that pick `n_out` of `n_in` segments by stride sampling (n_in >= n_out).

    `phase` in [0, 1) places the pick inside each stride window: 0.5 is the centre (evaluation),
    a random phase augments training. When n_in < n_out the identity is returned; the caller pads.
    """
    if n_in <= 0 or n_out <= 0:
        raise ValueError(f"resample_indices needs positive sizes, got n_in={n_in}, n_out={n_out}")
    if n_in <= n_out:
        return np.arange(n_in)
    if not 0.0 <= phase < 1.0:
        raise ValueError(f"phase must lie in [0, 1), got {phase}")
    stride = n_in / n_out
    idx = np.floor((np.arange(n_out) + phase) * stride).astype(np.int64)
    return np.clip(idx, 0, n_in - 1)


def segment_mask(spans_norm, n_segments: int, n_valid=None) -> np.ndarray:
    """Boolean (N, n_segments) mask of segments whose centre lies inside each normalized span.

    `n_valid` (scalar or (N,)) is the number of real (unpadded) segments: the span is laid over them and
    never over padding. Every non-empty span covers at least the segment holding its midpoint.
    """
    spans = np.clip(order(spans_norm).reshape(-1, 2), 0.0, 1.0)
    n_valid = np.broadcast_to(np.asarray(n_segments if n_valid is None else n_valid), (len(spans),))
    valid = np.arange(n_segments)[None, :] < n_valid[:, None]
    centres = segment_centres(n_valid, n_segments)
    inside = (centres >= spans[:, :1]) & (centres <= spans[:, 1:]) & valid
    mid = np.minimum(((spans[:, 0] + spans[:, 1]) / 2 * n_valid).astype(np.int64), np.maximum(n_valid - 1, 0))
    inside[np.arange(len(spans)), mid] |= n_valid > 0
    return inside


def segment_centres(n_valid, n_segments: int):
    """Each segment's centre as a fraction of its video's real length: (i + 0.5) / n_valid, (N, n_segments).

    `n_valid` (N,) counts the real (unpadded) segments of each video (at least 1 is assumed); positions
    past it lie beyond 1. A numpy array gives float64; a torch tensor gives float32 on its device (the
    model's positional encoding and its regression head read positions this way).
    """
    if isinstance(n_valid, np.ndarray):
        return (np.arange(n_segments)[None, :] + 0.5) / np.maximum(n_valid[:, None], 1)
    import torch  # lazy: the tensor's caller already imported torch; numpy callers never pay for it

    n = n_valid[:, None].clamp(min=1).to(torch.float32)
    return (torch.arange(n_segments, device=n_valid.device, dtype=torch.float32)[None, :] + 0.5) / n


def feature_duration(ends: np.ndarray) -> float:
    """The duration model fractions are taken of: the end of the video's last feature segment, as for
    training (pseudo-queries take `duration_s` from the features). NaN when the features carry no times."""
    ends = np.asarray(ends, dtype=np.float64)
    return float(np.nanmax(ends)) if ends.size and np.isfinite(ends).any() else float("nan")
