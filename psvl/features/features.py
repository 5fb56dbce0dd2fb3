"""Features stage: one vector per temporal segment of each video (DESIGN section 5, issue 3).

2D backbones run on the frames stage's JPEGs (decoded in batches by torchvision), 3D backbones on clips
decoded from the video file, and `precomputed` imports existing .npy/.npz/HDF5 features. All three give
the same table: video_id, segment_idx, start_s, end_s, feature (float32), so TEP and the model never know
where the vectors came from. `load_features` is the one reader the model and predictor use.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from psvl.core.devices import resolve_device
from psvl.core.failures import FailureLog
from psvl.core.progress import progress

log = logging.getLogger(__name__)

COLUMNS = ["video_id", "segment_idx", "start_s", "end_s", "feature"]


@dataclass
class FeaturesConfig:
    """The `features` config section (defaults live in the config schema, not here)."""

    extractor: str = "resnet18"
    weights: str = "none"
    seed: int = 0
    batch_size: int = 64
    device: str = "auto"
    clip_frames: int = 8
    segment_seconds: float | None = None
    precomputed_path: str | None = None


def _section(cfg: Any, cls: type) -> Any:
    if isinstance(cfg, cls):
        return cfg
    from psvl.config import build

    return build(cls, dict(cfg or {}))


def _fps(frames_cfg: Any) -> float:
    fps = frames_cfg.get("fps", 2.0) if isinstance(frames_cfg, Mapping) else getattr(frames_cfg, "fps", 2.0)
    return float(fps)


def shaping(cfg: FeaturesConfig, frames_cfg: Any, dim: int | None) -> dict[str, Any]:
    """The config values that shaped a features file (written into its Parquet metadata)."""
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
    import torch
    from torchvision.io import ImageReadMode, decode_jpeg
    from torchvision.transforms.v2.functional import resize

    data = [torch.frombuffer(bytearray(b), dtype=torch.uint8) for b in blobs]
    if not data:
        raise ValueError("no frames")
    with warnings.catch_warnings():  # torchvision 0.29 flags its image codecs as moving to torchcodec
        warnings.simplefilter("ignore", DeprecationWarning)
        images = decode_jpeg(data, mode=ImageReadMode.RGB)
    size = images[0].shape[-2:]
    images = [im if im.shape[-2:] == size else resize(im, list(size), antialias=True) for im in images]
    return torch.stack(images)


def embed(extractor, batch_u8, batch_size: int, device) -> np.ndarray:
    """Run the backbone over uint8 inputs ((N,3,H,W) or (N,3,T,H,W)) in batches; float32 (N, dim).

    Normalisation happens per batch on the device, so only uint8 data ever sits in host memory.
    """
    import torch

    shape = (1, 3) + (1,) * (batch_u8.dim() - 2)
    mean = torch.tensor(extractor.mean, device=device).view(shape)
    std = torch.tensor(extractor.std, device=device).view(shape)
    module = extractor.module.to(device)
    use_amp = device.type == "cuda"
    out = []
    with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
        for i in range(0, len(batch_u8), batch_size):
            x = batch_u8[i : i + batch_size].to(device, non_blocking=True).float().div_(255.0)
            out.append(module((x - mean) / std).float().cpu())
    return torch.cat(out).numpy().astype(np.float32, copy=False)


def frame_segments(times: np.ndarray, fps: float, segment_seconds: float | None):
    """Which segment each frame belongs to, and the segments' [start, end] in seconds.

    One segment per frame by default: [t - 0.5/fps, t + 0.5/fps] clipped at 0. With `segment_seconds`
    L, frames are pooled into buckets [jL, (j+1)L); empty buckets are dropped and the rest renumbered,
    and the last segment ends where its last frame's span ends.
    """
    times = np.asarray(times, dtype=np.float64)
    half = 0.5 / fps
    if not segment_seconds:
        idx = np.arange(len(times))
        return idx, np.maximum(times - half, 0.0), times + half
    bucket = np.floor(times / segment_seconds).astype(np.int64)
    uniq, idx = np.unique(bucket, return_inverse=True)
    starts = uniq * float(segment_seconds)
    ends = np.minimum((uniq + 1) * float(segment_seconds), times.max() + half)
    return idx, starts, np.maximum(ends, starts)


def pool_segments(feats: np.ndarray, assign: np.ndarray, n: int) -> np.ndarray:
    """Mean of the frame features of each segment."""
    sums = np.zeros((n, feats.shape[1]), dtype=np.float64)
    np.add.at(sums, assign, feats)
    counts = np.bincount(assign, minlength=n)[:, None]
    return (sums / np.maximum(counts, 1)).astype(np.float32)


def video_rows(video_id: str, feats: np.ndarray, starts, ends) -> pd.DataFrame:
    """The features rows of one video (feature kept as float32 arrays)."""
    feats = np.asarray(feats, dtype=np.float32)
    return pd.DataFrame(
        {
            "video_id": video_id,
            "segment_idx": np.arange(len(feats), dtype=np.int32),
            "start_s": np.asarray(starts, dtype=np.float64),
            "end_s": np.asarray(ends, dtype=np.float64),
            "feature": list(feats),
        }
    )


def _concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in COLUMNS})
    return pd.concat(parts, ignore_index=True)


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
    cfg = _section(features_cfg, FeaturesConfig)
    fps = _fps(frames_cfg)
    if cfg.extractor == "precomputed":
        from psvl.features.precomputed import import_features

        ids = list(video_paths) if video_paths else list(pd.unique(frames_df["video_id"]))
        return import_features(cfg, ids, _durations_from_frames(frames_df, fps, durations), failures)
    if extractor is None:
        from psvl.features.extractors import build_extractor

        extractor = build_extractor(cfg.extractor, cfg.weights, cfg.seed)
    device = resolve_device(cfg.device)
    if extractor.kind == "3d":
        from psvl.features.clips import extract_clip_features

        if not video_paths:
            raise ValueError(f"features.extractor {cfg.extractor} decodes clips: video paths are required")
        return extract_clip_features(extractor, video_paths, cfg, fps, device, failures, frames_df)
    parts = []
    for video_id in sorted(set(video_paths or ()) - set(frames_df["video_id"].astype(str))):
        if failures is None:
            raise ValueError(f"{video_id}: no frames")
        failures.add(video_id, "no frames for this video (see failures/frames)")
    frames_df = frames_df.sort_values(["video_id", "frame_idx"], kind="stable")
    feats = frame_features(extractor, frames_df, cfg.batch_size, device, failures)
    for video_id, group in frames_df.groupby("video_id", sort=True):
        if str(video_id) not in feats:
            continue
        assign, starts, ends = frame_segments(group["time_s"].to_numpy(), fps, cfg.segment_seconds)
        pooled = pool_segments(feats[str(video_id)], assign, len(starts))
        parts.append(video_rows(str(video_id), pooled, starts, ends))
    return _concat(parts)


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
    import torch

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


def load_features(paths: Iterable[str | os.PathLike] | str | os.PathLike) -> dict[str, tuple]:
    """{video_id: (features T x D float32, start_s (T,), end_s (T,))} from features Parquet shards.

    Reads the list column's flat values in one go (no per-row Python objects), so loading thousands of
    videos stays fast.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    from psvl.core.artifacts import concat_tables

    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    table = concat_tables("features", list(paths))
    if table.num_rows == 0:
        return {}
    table = table.sort_by([("video_id", "ascending"), ("segment_idx", "ascending")])
    col = table.column("feature").combine_chunks()
    lengths = pc.list_value_length(col).to_numpy(zero_copy_only=False)
    flat = col.flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    vids = table.column("video_id").to_numpy(zero_copy_only=False)
    starts = table.column("start_s").to_numpy()
    ends = table.column("end_s").to_numpy()
    bounds = np.flatnonzero(vids[1:] != vids[:-1]) + 1
    out: dict[str, tuple] = {}
    for lo, hi in zip(np.concatenate([[0], bounds]), np.concatenate([bounds, [len(vids)]])):
        dims = set(lengths[lo:hi].tolist())
        if len(dims) != 1:
            raise pa.ArrowInvalid(f"features of video {vids[lo]} have mixed dimensions {sorted(dims)}")
        feats = flat[offsets[lo] : offsets[hi]].reshape(hi - lo, -1)
        out[str(vids[lo])] = (feats, starts[lo:hi].copy(), ends[lo:hi].copy())
    return out
