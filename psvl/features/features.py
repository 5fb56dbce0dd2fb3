"""Features stage: one vector per temporal segment of each video (docs/features.md).

2D backbones run on the frames stage's JPEGs (decoded in batches by torchvision, here), 3D backbones on
clips decoded from the video file (clips.py), and `precomputed` imports existing .npy/.npz/HDF5 features
(precomputed.py). All three give the same table (segments.py): video_id, segment_idx, start_s, end_s,
feature (float32), so proposals and the model never know where the vectors came from. `load_features`
(segments.py, re-exported here) is the one reader the model and predictor use.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from torchvision.io import ImageReadMode, decode_jpeg
from torchvision.transforms.v2.functional import resize

from psvl.config import default
from psvl.core.devices import resolve_device
from psvl.core.failures import FailureLog
from psvl.core.progress import progress
from psvl.features.clips import extract_clip_features
from psvl.features.extractors import build_extractor, embed
from psvl.features.precomputed import import_features
from psvl.features.segments import concat_rows, frame_segments, load_features, pool_segments, video_rows
from psvl.frames.frames import FramesConfig

__all__ = ["FeaturesConfig", "decode_jpegs", "extract_features", "frame_features", "load_features", "shaping"]

log = logging.getLogger(__name__)


@dataclass
class FeaturesConfig:
    """The `features` config section (defaults live in the config schema, not here)."""

    extractor: str
    weights: str
    seed: int
    batch_size: int
    device: str
    clip_frames: int
    segment_seconds: float | None
    precomputed_path: str | None
    class_scores: bool  # also write the head's per-segment class scores (class_scores.py)


def _section(cfg: Any) -> FeaturesConfig:
    """A FeaturesConfig as is, or from a (possibly partial) `features` mapping: the schema fills the rest."""
    if isinstance(cfg, FeaturesConfig):
        return cfg
    return default(FeaturesConfig, "features", **dict(cfg or {}))


def _fps(frames_cfg: Mapping[str, Any] | FramesConfig | None) -> float:
    """frames.fps of a `frames` mapping or FramesConfig; the schema's default when it names none."""
    return float(FramesConfig.from_config(frames_cfg).fps)


def shaping(cfg: FeaturesConfig, frames_cfg: Any, dim: int | None) -> dict[str, Any]:
    """The config values that shaped a features file (written into its Parquet metadata); not
    class_scores, which adds a file beside the features and leaves them byte for byte as they were."""
    return {
        "extractor": cfg.extractor,
        "weights": cfg.weights,
        "seed": cfg.seed,
        "segment_seconds": cfg.segment_seconds,
        "frames_fps": _fps(frames_cfg),
        "clip_frames": cfg.clip_frames,
        "precomputed_path": cfg.precomputed_path,
        "dim": dim,
    }


def decode_jpegs(blobs: Iterable[bytes]):
    """JPEG bytes -> uint8 tensor (N, 3, H, W); frames of another size are resized to the first one's."""
    data = [torch.frombuffer(bytearray(b), dtype=torch.uint8) for b in blobs]
    if not data:
        raise ValueError("no frames")
    with warnings.catch_warnings():  # torchvision 0.29 flags its image codecs as moving to torchcodec
        warnings.simplefilter("ignore", DeprecationWarning)
        images = decode_jpeg(data, mode=ImageReadMode.RGB)
    size = images[0].shape[-2:]
    images = [im if im.shape[-2:] == size else resize(im, list(size), antialias=True) for im in images]
    return torch.stack(images)


def extract_features(
    frames_df: pd.DataFrame,
    features_cfg: Any,
    frames_cfg: Any,
    failures: FailureLog | None = None,
    video_paths: Mapping[str, str] | None = None,
    extractor=None,
    durations: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Features table (DataFrame in the features schema) for the videos of `frames_df`.

    2D extractors read the JPEGs in `frames_df`; 3D extractors decode clips from `video_paths`
    (video_id -> file); `precomputed` reads `features_cfg.precomputed_path`. A video that fails is
    recorded in `failures` (or raises when no FailureLog is given) and the rest completes.
    """
    cfg = _section(features_cfg)
    fps = _fps(frames_cfg)
    if cfg.extractor == "precomputed":
        ids = list(video_paths) if video_paths else list(pd.unique(frames_df["video_id"]))
        return import_features(cfg, ids, _durations_from_frames(frames_df, fps, durations), failures)
    if extractor is None:
        extractor = build_extractor(cfg.extractor, cfg.weights, cfg.seed)
    device = resolve_device(cfg.device)
    if extractor.kind == "3d":
        if not video_paths:
            raise ValueError(f"features.extractor {cfg.extractor} decodes clips: video paths are required")
        return extract_clip_features(extractor, video_paths, cfg, fps, device, failures, frames_df)
    parts = []
    for video_id in sorted(set(video_paths or ()) - set(frames_df["video_id"].astype(str))):
        if failures is None:
            raise ValueError(f"{video_id}: no frames")
        # not a features failure: the frames stage recorded why (one row per bad video, not one per stage)
        log.info("%s: no frames (recorded in failures/frames); skipped", video_id)
    frames_df = frames_df.sort_values(["video_id", "frame_idx"], kind="stable")
    feats = frame_features(extractor, frames_df, cfg.batch_size, device, failures)
    for video_id, group in frames_df.groupby("video_id", sort=True):
        if str(video_id) not in feats:
            continue
        assign, starts, ends = frame_segments(group["time_s"].to_numpy(), fps, cfg.segment_seconds)
        pooled = pool_segments(feats[str(video_id)], assign, len(starts))
        parts.append(video_rows(str(video_id), pooled, starts, ends))
    return concat_rows(parts)


def frame_features(
    extractor, frames_df: pd.DataFrame, batch_size: int, device, failures: FailureLog | None
) -> dict[str, np.ndarray]:
    """Per-frame features of every video in `frames_df` (sorted by video, frame), batches spanning videos.

    Batches are cut across video boundaries so short videos still fill them (on a GPU that is most of the
    speed); JPEGs are decoded one batch at a time, so long videos never sit in memory whole. Frames of one
    batch with different sizes run as separate sub-batches (never resized to a neighbour's size), and eval-
    mode BatchNorm makes each frame's features independent of its batch mates. A video with an undecodable
    frame is recorded in `failures` and dropped.
    """
    out: dict[str, list[np.ndarray]] = {}
    bad: set[str] = set()
    vids = frames_df["video_id"].astype(str).to_numpy()
    blobs = frames_df["jpeg"].to_numpy()
    for lo in progress(range(0, len(vids), batch_size), desc="features", unit="batch"):
        pieces: list[tuple[str, object]] = []
        for vid in dict.fromkeys(vids[lo : lo + batch_size]):
            if vid in bad:
                continue
            mask = vids[lo : lo + batch_size] == vid
            try:
                pieces.append((vid, decode_jpegs(blobs[lo : lo + batch_size][mask])))
            except Exception as exc:
                if failures is None:
                    raise
                failures.add(vid, exc)
                bad.add(vid)
                out.pop(vid, None)
        by_size: dict[tuple, list] = {}
        for vid, images in pieces:
            by_size.setdefault(tuple(images.shape[-2:]), []).append((vid, images))
        for items in by_size.values():
            feats = embed(extractor, torch.cat([im for _, im in items]), batch_size, device)
            for (vid, images), chunk in zip(
                items, np.split(feats, np.cumsum([len(im) for _, im in items])[:-1])
            ):
                out.setdefault(vid, []).append(chunk)
    return {vid: np.concatenate(chunks) for vid, chunks in out.items() if vid not in bad}


def _durations_from_frames(frames_df: pd.DataFrame, fps: float, given: Mapping[str, float] | None):
    out = {}
    if frames_df is not None and len(frames_df):
        last = frames_df.groupby("video_id")["time_s"].max() + 0.5 / fps
        out.update({str(k): float(v) for k, v in last.items()})
    out.update(dict(given or {}))
    return out
