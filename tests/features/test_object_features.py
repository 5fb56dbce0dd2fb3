"""Object channels on hand-made detections, with the expected numbers worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from psvl.cli import main
from psvl.config import ConfigError, validate
from psvl.core.artifacts import read_frame, read_metadata, write_table
from psvl.features.objects import box_motion, object_channels

SEGMENTS = pd.DataFrame(
    {
        "video_id": ["v", "v", "v", "w"],
        "segment_idx": [0, 1, 2, 0],
        "start_s": [0.0, 1.0, 2.0, 0.0],
        "end_s": [1.0, 2.0, 3.0, 2.0],
    }
)


def _dets(rows):
    return pd.DataFrame(rows, columns=["video_id", "time_s", "label", "score", "x1", "y1", "x2", "y2"])


DETECTIONS = _dets(
    [
        ("v", 0.0, "ball", 0.9, 0, 0, 10, 10),
        ("v", 0.5, "ball", 0.8, 5, 0, 15, 10),  # moved 5 px on a 10 px box: motion 0.5
        ("v", 0.5, "ball", 0.3, 50, 50, 60, 60),  # a weaker second ball in the frame: ignored
        ("v", 1.5, "Ball", 0.7, 5, 0, 15, 10),  # still (1 s after the last one: consecutive)
        ("v", 3.0, "cube", 0.6, 0, 0, 20, 20),  # at the video's end: in the last segment
        ("v", 1.0, "person", 0.99, 0, 0, 5, 5),  # not a detector class here: ignored
        ("w", 0.0, "cube", 0.5, 0, 0, 10, 10),
        ("w", 1.5, "cube", 0.4, 40, 0, 50, 10),  # 1.5 s later: not consecutive, no motion
    ]
)


def test_channels_hold_each_class_best_score_and_box_motion_per_segment():
    out = object_channels(SEGMENTS, DETECTIONS, ["ball", "cube"])
    assert out[["video_id", "segment_idx"]].values.tolist() == [["v", 0], ["v", 1], ["v", 2], ["w", 0]]
    feats = np.stack(out["feature"])  # [score ball, score cube, motion ball, motion cube]
    assert feats.dtype == np.float32
    np.testing.assert_allclose(
        feats,
        [[0.9, 0.0, 0.5, 0.0], [0.7, 0.0, 0.0, 0.0], [0.0, 0.6, 0.0, 0.0], [0.0, 0.5, 0.0, 0.0]],
        rtol=1e-6,
    )


def test_motion_is_capped_at_one_and_needs_consecutive_detections():
    d = box_motion(
        _dets(
            [
                ("v", 0.0, "a", 1, 0, 0, 10, 10),
                ("v", 0.5, "a", 1, 30, 0, 40, 10),
                ("v", 2.0, "a", 1, 0, 0, 10, 10),
            ]
        )
    )
    assert d["motion"].tolist() == [0.0, 1.0, 0.0]


def test_cli_writes_features_schema_with_labels_in_provenance(tmp_path):
    feats = SEGMENTS.assign(feature=[np.ones(3, np.float32)] * 4)
    write_table("features", feats, tmp_path / "f.parquet", stage="features")
    DETECTIONS.assign(frame_idx=0).to_parquet(tmp_path / "d.parquet")
    (tmp_path / "classes.txt").write_text("ball\ncube\n")
    rc = main(
        [
            "object-features",
            "--features",
            str(tmp_path / "f.parquet"),
            "--detections",
            str(tmp_path / "d.parquet"),
            "--classes",
            str(tmp_path / "classes.txt"),
            "--out",
            str(tmp_path / "o.parquet"),
        ]
    )
    assert rc == 0
    out = read_frame(tmp_path / "o.parquet", "features")
    assert len(out) == 4 and len(out["feature"].iloc[0]) == 4
    assert read_metadata(tmp_path / "o.parquet")["config"]["object_channels"]["labels"] == ["ball", "cube"]


def test_objects_on_the_release_path_is_a_config_error_naming_the_key():
    release = {
        "name": "psvl_release",
        "features_dir": "f",
        "pseudo_labels": "p.json",
        "annotations": "a.json",
    }
    with pytest.raises(ConfigError, match="model.visual_input"):
        validate({"dataset": release, "model": {"visual_input": "objects"}})
    assert validate({"model": {"visual_input": "objects"}})["model"]["visual_input"] == "objects"
