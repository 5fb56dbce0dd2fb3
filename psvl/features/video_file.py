"""One video file to a model's input (`psvl predict --video`): the frames and features stages' work on a
file no workflow has seen, with the extractor and frame rate a checkpoint records, so the features are
those training read."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from psvl.config import ConfigError
from psvl.core.spans import feature_duration
from psvl.features.features import extract_features
from psvl.frames.decode import VideoError
from psvl.frames.frames import FramesConfig, extract_frames

# The keys of a features file's metadata (`features.shaping`) that choose its extractor and segments.
EXTRACTOR_KEYS = ("extractor", "weights", "seed", "segment_seconds", "clip_frames", "precomputed_path")


def video_file_features(
    path: str | os.PathLike,
    features_meta: Mapping[str, Any],
    frames: Mapping[str, Any] | FramesConfig | None = None,
) -> tuple[np.ndarray, float]:
    """(segment features T x D float32, duration in seconds) of one video file, decoded once.

    `features_meta`: the features config training read (a checkpoint's `provenance.features.config`);
    its `frames_fps` overrides `frames.fps`. `frames`: frame settings over the `frames` section's schema
    defaults. The duration is `feature_duration` of the features, as the batch path's. A file that cannot
    be decoded is a VideoError naming it; a model that reads object channels is a ConfigError.
    """
    if "object_channels" in features_meta:
        raise ConfigError(
            "this model reads object channels (model.visual_input: objects), which need the detector: "
            "predict with --features from the workflow's object_features shards, not --video"
        )
    cfg = FramesConfig.from_config(frames, {"fps": features_meta.get("frames_fps") or None})
    video_id = Path(path).stem
    if not Path(path).is_file():  # not a decoding problem: ffprobe would not help
        what = "a folder, not a video file" if Path(path).is_dir() else "missing file"
        raise VideoError(f"{what}: {path}")
    try:
        frames_df = extract_frames(path, video_id, cfg.fps, cfg.size, cfg.jpeg_quality)
    except VideoError as exc:
        where = "" if str(path) in str(exc) else f"{path}: "
        raise VideoError(f"{where}{exc}; check that it plays (ffprobe), or re-encode it") from exc
    if frames_df.empty:
        raise VideoError(f"{path}: no frames could be decoded; check that it plays (ffprobe)")
    extractor = {k: features_meta[k] for k in EXTRACTOR_KEYS if k in features_meta}
    df = extract_features(frames_df, extractor, cfg, video_paths={video_id: str(path)})
    if df.empty:
        raise VideoError(f"{path}: no features could be extracted from its frames")
    df = df.sort_values("segment_idx")
    features = np.stack([np.asarray(f, np.float32) for f in df["feature"]])
    return features, feature_duration(df["end_s"].to_numpy(np.float64))
