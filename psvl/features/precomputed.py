"""Import precomputed features (`features.extractor: precomputed`) into the features table.

Layouts users already have: a folder of per-video `.npy` / `.npz` (key `features`, T x D; the PSVL and
lighthouse release layout) or one HDF5 file with `f[vid]['c3d_features']` (ActivityNet's C3D file).
Segments are placed by `features.segment_seconds` when set, otherwise spread evenly over the video's
duration, so imported rows carry the same times, dtype and shape as extracted ones.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd

from psvl.core.failures import FailureLog
from psvl.features.segments import VideoFeatures, concat_rows, video_rows

log = logging.getLogger(__name__)

HDF5_SUFFIXES = {".h5", ".hdf5", ".hdf"}
HDF5_KEYS = ("c3d_features", "features")


def _from_folder(root: Path, video_id: str) -> np.ndarray:
    for suffix in (".npy", ".npz"):
        path = root / f"{video_id}{suffix}"
        if path.is_file():
            break
    else:
        raise FileNotFoundError(f"no {video_id}.npy or {video_id}.npz in {root}")
    if path.suffix == ".npy":
        return np.load(path, allow_pickle=False)
    with np.load(path, allow_pickle=False) as npz:
        if "features" in npz.files:
            return npz["features"]
        if len(npz.files) == 1:
            return npz[npz.files[0]]
        raise KeyError(f"{path}: no 'features' array (found {', '.join(npz.files)})")


def _from_hdf5(h5, video_id: str) -> np.ndarray:
    for key in (video_id, f"v_{video_id}", video_id.removeprefix("v_")):
        if key in h5:
            node = h5[key]
            if hasattr(node, "shape"):
                return node[()]
            for name in HDF5_KEYS:
                if name in node:
                    return node[name][()]
            raise KeyError(f"{key}: no c3d_features dataset (found {', '.join(node.keys())})")
    raise KeyError(f"no group {video_id!r} in {h5.filename}")


def place_segments(n: int, segment_seconds: float | None, duration: float | None):
    """[start, end] of `n` imported segments: fixed length when known, else an even split of the duration."""
    if segment_seconds:
        starts = np.arange(n, dtype=np.float64) * segment_seconds
        ends = starts + segment_seconds
        if duration:
            ends = np.minimum(ends, max(duration, starts[-1]))
        return starts, ends
    if not duration or duration <= 0:
        raise ValueError(
            "cannot place imported features in time: no duration known and segment_seconds unset"
        )
    edges = np.linspace(0.0, float(duration), n + 1)
    return edges[:-1], edges[1:]


def import_features(
    cfg: Any,
    video_ids: list[str],
    durations: Mapping[str, float],
    failures: FailureLog | None = None,
) -> pd.DataFrame:
    """Features rows for `video_ids` read from `cfg.precomputed_path` (folder or HDF5 file)."""
    if not cfg.precomputed_path:
        raise ValueError("features.extractor is precomputed but features.precomputed_path is not set")
    root = Path(cfg.precomputed_path).expanduser()
    if not root.exists():
        raise FileNotFoundError(f"features.precomputed_path {root} does not exist")
    h5 = None
    if root.is_file() and root.suffix.lower() in HDF5_SUFFIXES:
        h5 = h5py.File(root, "r")
    parts = []
    try:
        for video_id in video_ids:
            try:
                arr = _from_hdf5(h5, video_id) if h5 is not None else _from_folder(root, video_id)
                arr = np.asarray(arr, dtype=np.float32)
                if arr.ndim == 1:
                    arr = arr[None, :]
                if arr.ndim != 2 or arr.shape[0] == 0:
                    raise ValueError(f"expected a T x D array, got shape {arr.shape}")
                starts, ends = place_segments(len(arr), cfg.segment_seconds, durations.get(video_id))
            except Exception as exc:
                if failures is None:
                    raise
                failures.add(video_id, exc)
                continue
            parts.append(video_rows(video_id, arr, starts, ends))
    finally:
        if h5 is not None:
            h5.close()
    log.info("imported features of %d/%d videos from %s", len(parts), len(video_ids), root)
    return concat_rows(parts)


class PrecomputedFeatures(Mapping):
    """{video_id: VideoFeatures (T x D features, start_s, end_s)} over a folder of per-video .npy/.npz or one HDF5 file,
    reading nothing until a video is asked for: a .npy is memory-mapped, an HDF5 video is an h5py dataset
    (read when converted), so a dataset larger than memory trains and predicts (`lazy`: the consumers
    convert a video at a time). Keys are the ids of `durations` whose file or group exists; segments are
    placed as `import_features` places them (`segment_seconds`, else an even split of the duration)."""

    lazy = True

    def __init__(
        self, path: str | Path, durations: Mapping[str, float], segment_seconds: float | None = None
    ) -> None:
        self.root = Path(path).expanduser()
        if not self.root.exists():
            raise FileNotFoundError(f"precomputed features {self.root} do not exist")
        self.durations = {str(k): float(v) for k, v in durations.items() if float(v) > 0}  # not NaN
        self.segment_seconds = segment_seconds
        self._h5 = None
        if self.root.is_file() and self.root.suffix.lower() in HDF5_SUFFIXES:
            self._h5 = h5py.File(self.root, "r")
            names = set(self._h5.keys())
            found = {v for v in self.durations if {v, f"v_{v}", v.removeprefix("v_")} & names}
        else:
            found = {p.stem for p in self.root.iterdir() if p.suffix in (".npy", ".npz")} & set(
                self.durations
            )
        self._ids, self._known = sorted(found), found
        if len(self._ids) < len(self.durations):
            log.warning(
                "%d of %d videos have no features in %s",
                len(self.durations) - len(self._ids),
                len(self.durations),
                self.root,
            )

    def _array(self, video_id: str):
        if self._h5 is not None:
            for key in (video_id, f"v_{video_id}", video_id.removeprefix("v_")):
                if key in self._h5:
                    node = self._h5[key]
                    if hasattr(node, "shape"):
                        return node
                    for name in HDF5_KEYS:
                        if name in node:
                            return node[name]
                    raise KeyError(f"{key}: no c3d_features dataset (found {', '.join(node.keys())})")
        npy = self.root / f"{video_id}.npy"
        if npy.is_file():
            return np.load(npy, mmap_mode="r", allow_pickle=False)
        return _from_folder(self.root, video_id)

    def __getitem__(self, video_id: str) -> VideoFeatures:
        if video_id not in self._known:
            raise KeyError(video_id)
        arr = self._array(video_id)
        if arr.ndim == 1:
            arr = np.asarray(arr)[None, :]
        elif arr.ndim > 2 and math.prod(arr.shape[1:-1]) == 1:  # e.g. I3D's T x 1 x 1 x 1024
            shape = (arr.shape[0], arr.shape[-1])  # a memory map stays one; an HDF5 dataset is read here
            arr = arr.reshape(shape) if isinstance(arr, np.ndarray) else np.asarray(arr).reshape(shape)
        if arr.ndim != 2 or arr.shape[0] == 0:
            raise ValueError(f"{video_id}: expected a T x D feature array, got shape {arr.shape}")
        starts, ends = place_segments(arr.shape[0], self.segment_seconds, self.durations[video_id])
        return VideoFeatures(arr, starts, ends)

    def __contains__(self, video_id: object) -> bool:
        return video_id in self._known

    def __iter__(self):
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)
