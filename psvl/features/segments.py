"""The features table: one row per temporal segment (video_id, segment_idx, start_s, end_s, feature).

Shared by every way of making features (2D frames in features.py, 3D clips in clips.py, imports in
precomputed.py): how segments are timed and pooled, how a video's rows are built, and `load_features`, the
one reader the model, the predictor and the proposals stage use; a video's features travel as one
`VideoFeatures`. No torch here, so reading features stays cheap.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from psvl.core.artifacts import concat_tables
from psvl.core.spans import feature_duration

COLUMNS = ["video_id", "segment_idx", "start_s", "end_s", "feature"]


@dataclass(frozen=True)
class VideoFeatures:
    """One video's segment features and where its segments lie in time (seconds)."""

    array: Any  # T x D float32: a numpy array, or a memory map / HDF5 dataset (`PrecomputedFeatures`)
    starts: np.ndarray  # (T,) start_s of each segment
    ends: np.ndarray  # (T,) end_s of each segment

    @property
    def duration(self) -> float:
        """What model fractions are taken of: the end of the last segment (`spans.feature_duration`)."""
        return feature_duration(self.ends)


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


def concat_rows(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """The rows of several videos as one table (an empty table with the columns when there are none)."""
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in COLUMNS})
    return pd.concat(parts, ignore_index=True)


def load_features(
    paths: Iterable[str | os.PathLike] | str | os.PathLike, kind: str = "features", column: str = "feature"
) -> dict[str, VideoFeatures]:
    """{video_id: VideoFeatures (T x D float32, start_s (T,), end_s (T,))} from features Parquet shards
    (or another per-segment artifact of the same layout: `kind` class_scores, `column` scores).

    Reads the list column's flat values in one go (no per-row Python objects), so loading thousands of
    videos stays fast.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    table = concat_tables(kind, list(paths))
    if table.num_rows == 0:
        return {}
    table = table.sort_by([("video_id", "ascending"), ("segment_idx", "ascending")])
    col = table.column(column).combine_chunks()
    lengths = pc.list_value_length(col).to_numpy(zero_copy_only=False)
    flat = col.flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    vids = table.column("video_id").to_numpy(zero_copy_only=False)
    starts = table.column("start_s").to_numpy()
    ends = table.column("end_s").to_numpy()
    bounds = np.flatnonzero(vids[1:] != vids[:-1]) + 1
    out: dict[str, VideoFeatures] = {}
    for lo, hi in zip(np.concatenate([[0], bounds]), np.concatenate([bounds, [len(vids)]])):
        dims = set(lengths[lo:hi].tolist())
        if len(dims) != 1:
            raise pa.ArrowInvalid(f"features of video {vids[lo]} have mixed dimensions {sorted(dims)}")
        feats = flat[offsets[lo] : offsets[hi]].reshape(hi - lo, -1)
        out[str(vids[lo])] = VideoFeatures(feats, starts[lo:hi].copy(), ends[lo:hi].copy())
    return out
