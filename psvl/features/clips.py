"""3D backbones (r2plus1d_18, ...): one clip of `clip_frames` frames per segment, decoded from the video.

The 2D path reuses the frames stage's JPEGs, but a 3D model needs frames at the video's own rate, so
here PyAV decodes the file sequentially (seeking is several times slower for dense sampling), keeps a
small centre-cropped copy of every frame and picks, for each segment, `clip_frames` frames evenly spread
over it. Segments default to one per sampled frame time (length 1 / frames.fps), so TEP sees the same
time grid whichever extractor made the features.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import torch

from psvl.core.failures import FailureLog
from psvl.features.extractors import Extractor, embed
from psvl.features.segments import concat_rows, video_rows

log = logging.getLogger(__name__)

# A clip costs about as much memory as this many frames, so batches of clips are this much smaller.
CLIP_COST = 8


def decode_small(path: str, size: int) -> tuple[np.ndarray, np.ndarray, float]:
    """All frames of `path` as uint8 (N, size, size, 3) centre crops, their times, and the duration."""
    import av  # lazy: CLIP_COST is read where PyAV is not installed (benchmarks/gpu_throughput.py)

    frames, times = [], []
    with av.open(str(path)) as container:
        if not container.streams.video:
            raise ValueError(f"{path}: no video stream")
        stream = container.streams.video[0]
        rate = float(stream.average_rate or 25)
        for i, frame in enumerate(container.decode(stream)):
            w, h = frame.width, frame.height
            scale = size / min(w, h)
            rw, rh = max(size, round(w * scale)), max(size, round(h * scale))
            img = frame.to_ndarray(format="rgb24", width=rw, height=rh)
            y0, x0 = (rh - size) // 2, (rw - size) // 2
            frames.append(img[y0 : y0 + size, x0 : x0 + size])
            times.append(float(frame.time) if frame.time is not None else i / rate)
    if not frames:
        raise ValueError(f"{path}: no decodable frames")
    times_arr = np.asarray(times)
    duration = float(times_arr.max() + 1.0 / rate)
    return np.stack(frames), times_arr, duration


def clip_indices(times: np.ndarray, starts: np.ndarray, ends: np.ndarray, clip_frames: int) -> np.ndarray:
    """(n_segments, clip_frames) indices of the decoded frames nearest to evenly spread clip times."""
    frac = (np.arange(clip_frames) + 0.5) / clip_frames
    wanted = starts[:, None] + (ends - starts)[:, None] * frac[None, :]
    order = np.argsort(times)
    sorted_t = times[order]
    pos = np.clip(np.searchsorted(sorted_t, wanted), 1, len(sorted_t) - 1) if len(sorted_t) > 1 else None
    if pos is None:
        return np.zeros(wanted.shape, dtype=np.int64)
    left, right = sorted_t[pos - 1], sorted_t[pos]
    pick = np.where(np.abs(wanted - left) <= np.abs(right - wanted), pos - 1, pos)
    return order[pick]


def extract_clip_features(
    extractor: Extractor,
    video_paths: Mapping[str, str],
    cfg: Any,
    fps: float,
    device,
    failures: FailureLog | None,
    frames_df: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Features rows of every video in `video_paths` from clips decoded out of the video files."""
    seg = float(cfg.segment_seconds or 1.0 / fps)
    parts = []
    for video_id, path in sorted(video_paths.items()):
        try:
            frames, times, duration = decode_small(path, extractor.input_size or 112)
            n = max(1, math.ceil(duration / seg - 1e-9))
            starts = np.arange(n) * seg
            ends = np.minimum(starts + seg, duration)
            idx = clip_indices(times, starts, ends, cfg.clip_frames)
            clips = torch.from_numpy(frames[idx]).permute(0, 4, 1, 2, 3)  # (n, 3, T, H, W)
            feats = embed(extractor, clips, max(1, cfg.batch_size // CLIP_COST), device)
        except Exception as exc:
            if failures is None:
                raise
            failures.add(str(video_id), exc)
            continue
        parts.append(video_rows(str(video_id), feats, starts, ends))
    return concat_rows(parts)
