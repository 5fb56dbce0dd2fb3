"""Precomputed features (PSVL .npy folder, ActivityNet C3D HDF5) import into the same table as extraction."""

from __future__ import annotations

import functools

import h5py
import numpy as np
import pytest
from feature_fixtures import CFG, frames_table

from psvl.core.failures import FailureLog
from psvl.features.extractors import build_extractor
from psvl.features.features import extract_features
from psvl.features.precomputed import place_segments


@functools.cache
def _extracted(phase: float, segment_seconds=None):
    cfg = dict(CFG, segment_seconds=segment_seconds)
    return extract_features(frames_table(phase=phase), cfg, {"fps": 2.0}, extractor=_r18())


@functools.cache
def _r18():
    return build_extractor("resnet18", "none", 0)


def _write_layouts(df, tmp_path):
    folder = tmp_path / "npy"
    folder.mkdir()
    h5_path = tmp_path / "c3d.hdf5"
    with h5py.File(h5_path, "w") as h5:
        for vid, group in df.groupby("video_id"):
            arr = np.stack(group["feature"]).astype(np.float64)  # stored as float64: the import casts
            np.save(folder / f"{vid}.npy", arr)
            h5.create_group(vid).create_dataset("c3d_features", data=arr)
    return folder, h5_path


def _same_table(a, b):
    assert list(a.columns) == list(b.columns)
    assert a["video_id"].tolist() == b["video_id"].tolist()
    assert a["segment_idx"].tolist() == b["segment_idx"].tolist()
    np.testing.assert_allclose(a["start_s"], b["start_s"])
    np.testing.assert_allclose(a["end_s"], b["end_s"])
    assert b["feature"].iloc[0].dtype == np.float32
    np.testing.assert_allclose(np.stack(a["feature"]), np.stack(b["feature"]), rtol=1e-6)


@pytest.mark.parametrize("layout", ["npy", "hdf5"])
def test_import_spread_over_duration_matches_extractor_for_centred_frames(tmp_path, layout):
    extracted = _extracted(phase=0.5)  # frames at (k + 0.5) / fps: segments tile [0, T / fps]
    folder, h5_path = _write_layouts(extracted, tmp_path)
    path = folder if layout == "npy" else h5_path
    cfg = dict(CFG, extractor="precomputed", precomputed_path=str(path))
    imported = extract_features(frames_table(phase=0.5), cfg, {"fps": 2.0})
    _same_table(extracted, imported)


@pytest.mark.parametrize("layout", ["npy", "hdf5"])
def test_import_with_segment_seconds_matches_extractor_pooling_layout(tmp_path, layout):
    extracted = _extracted(phase=0.0, segment_seconds=1.0)
    folder, h5_path = _write_layouts(extracted, tmp_path)
    path = folder if layout == "npy" else h5_path
    cfg = dict(CFG, extractor="precomputed", precomputed_path=str(path), segment_seconds=1.0)
    imported = extract_features(frames_table(phase=0.0), cfg, {"fps": 2.0})
    _same_table(extracted, imported)
    assert imported["end_s"].max() == 4.75  # last frame at 4.5 s plus half a frame


def test_npz_with_features_key_and_missing_video_is_a_failure_row(tmp_path):
    np.savez(tmp_path / "a.npz", features=np.ones((4, 3)), other=np.zeros(2))
    cfg = dict(CFG, extractor="precomputed", precomputed_path=str(tmp_path))
    failures = FailureLog("features")
    df = extract_features(
        frames_table(n_videos=0),
        cfg,
        {"fps": 2.0},
        failures=failures,
        video_paths={"a": "a.mp4", "b": "b.mp4"},
        durations={"a": 8.0, "b": 8.0},
    )
    assert df["end_s"].tolist() == [2.0, 4.0, 6.0, 8.0]
    assert failures.video_ids == {"b"}


def test_place_segments_needs_a_duration_or_a_segment_length():
    starts, ends = place_segments(3, 2.0, 5.0)
    assert starts.tolist() == [0.0, 2.0, 4.0] and ends.tolist() == [2.0, 4.0, 5.0]
    with pytest.raises(ValueError, match="no duration known"):
        place_segments(3, None, None)
