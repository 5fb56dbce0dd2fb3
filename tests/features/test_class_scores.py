"""features.class_scores: the backbone's own classifier head over each segment (psvl/features/class_scores.py),
written beside the features by `psvl features`, which leaves the features file as it was."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
import torchvision.models as tvm
from feature_fixtures import CFG, frames_table
from video_fixtures import write_video

from psvl.cli import main
from psvl.core.artifacts import read_frame, read_metadata, write_table
from psvl.features.class_scores import head_scores
from psvl.features.extractors import build_extractor, embed
from psvl.features.features import decode_jpegs, extract_features


def test_r2plus1d_head_scores_are_400_kinetics_logits_of_each_segment_clip(tmp_path):
    pytest.importorskip("av")
    video = write_video(tmp_path / "tiny clip.mp4", seconds=3.0, fps=8, width=48, height=48)
    extractor = build_extractor("r2plus1d_18", "none", 0)
    cfg = {"extractor": "r2plus1d_18", "weights": "none", "clip_frames": 2, "batch_size": 16}
    feats = extract_features(
        frames_table(0), cfg, {"fps": 1.0}, video_paths={"v": str(video)}, extractor=extractor
    )
    scores = head_scores(extractor, feats)
    assert len(scores) == len(feats) == 3  # one segment per second
    matrix = np.stack(scores["scores"].to_numpy())
    assert matrix.shape == (3, 400) and matrix.dtype == np.float32
    assert extractor.classes == tuple(tvm.get_model_weights("r2plus1d_18").DEFAULT.meta["categories"])
    assert extractor.classes[:2] == ("abseiling", "air drumming")
    with torch.inference_mode():
        fc = extractor.head(torch.from_numpy(feats["feature"].iloc[1])).numpy()
    np.testing.assert_allclose(matrix[1], fc, rtol=1e-5, atol=1e-6)
    assert scores[["video_id", "segment_idx", "start_s", "end_s"]].equals(
        feats[["video_id", "segment_idx", "start_s", "end_s"]]
    )


def test_resnet_segment_scores_are_the_mean_of_its_frames_logits():
    """fc is affine: the head over the pooled feature equals the frames' logits averaged as features are."""
    frames = frames_table(n_videos=1, n_frames=4, fps=2.0)  # 2 frames per 1 s segment
    extractor = build_extractor("resnet18", "none", 0)
    feats = extract_features(frames, {**CFG, "segment_seconds": 1.0}, {"fps": 2.0}, extractor=extractor)
    scores = np.stack(head_scores(extractor, feats)["scores"].to_numpy())
    per_frame = embed(extractor, decode_jpegs(frames["jpeg"]), 8, torch.device("cpu"))
    with torch.inference_mode():
        logits = extractor.head(torch.from_numpy(per_frame)).numpy()
    assert scores.shape == (2, 1000) and len(extractor.classes) == 1000
    np.testing.assert_allclose(scores, logits.reshape(2, 2, 1000).mean(1), rtol=1e-4, atol=1e-5)


def _features_command(tmp_path, out_dir: str, *extra: str) -> int:
    return main(
        [
            "features",
            "--manifest",
            str(tmp_path / "manifest.parquet"),
            "--shard",
            "00000",
            "--frames",
            str(tmp_path / "frames.parquet"),
            "--out",
            str(tmp_path / out_dir / "features" / "00000.parquet"),
            "--failures",
            str(tmp_path / out_dir / "failures.parquet"),
            "--set",
            'features={"extractor": "resnet18", "weights": "none", "batch_size": 4}',
            *extra,
        ]
    )


def test_features_command_writes_class_scores_beside_unchanged_features(tmp_path):
    write_table("frames", frames_table(n_videos=2, n_frames=3), tmp_path / "frames.parquet", stage="frames")
    manifest = pd.DataFrame(
        {"video_id": ["vid 0", "vid 1"], "path": ["a.mp4", "b.mp4"], "split": "train", "shard": 0}
    )
    write_table("manifest", manifest, tmp_path / "manifest.parquet", stage="manifest")
    assert _features_command(tmp_path, "off") == 0
    assert _features_command(tmp_path, "on", "--set", "features.class_scores=true") == 0
    assert not (tmp_path / "off" / "class_scores").exists()
    off, on = (read_frame(tmp_path / d / "features" / "00000.parquet", "features") for d in ("off", "on"))
    assert np.array_equal(np.stack(off["feature"]), np.stack(on["feature"]))
    assert (
        read_metadata(tmp_path / "on" / "features" / "00000.parquet")["config"]
        == read_metadata(tmp_path / "off" / "features" / "00000.parquet")["config"]
    )
    path = tmp_path / "on" / "class_scores" / "00000.parquet"  # the default: beside the features folder
    scores = read_frame(path, "class_scores")
    assert len(scores) == 6 and len(scores["scores"].iloc[0]) == 1000
    meta = read_metadata(path)
    assert meta["stage"] == "features" and meta["config"]["extractor"] == "resnet18"
    assert meta["config"]["classes"] == list(tvm.ResNet18_Weights.DEFAULT.meta["categories"])


def test_class_scores_flag_without_the_config_key_exits_2(tmp_path, capsys):
    write_table("frames", frames_table(n_videos=1, n_frames=2), tmp_path / "frames.parquet", stage="frames")
    manifest = pd.DataFrame({"video_id": ["vid 0"], "path": ["a.mp4"], "split": "train", "shard": [0]})
    write_table("manifest", manifest, tmp_path / "manifest.parquet", stage="manifest")
    rc = _features_command(tmp_path, "x", "--class-scores", str(tmp_path / "cs.parquet"))
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and err == ["psvl features: --class-scores needs features.class_scores: true"]


def test_detector_backbone_refuses_class_scores_before_any_work(tmp_path, capsys):
    rc = main(
        [
            "features",
            "--manifest",
            str(tmp_path / "m.parquet"),
            "--frames",
            str(tmp_path / "f.parquet"),
            "--out",
            str(tmp_path / "o.parquet"),
            "--failures",
            str(tmp_path / "x.parquet"),
            "--set",
            'features={"extractor": "detector_backbone", "class_scores": true}',
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1
    assert "config.features.class_scores" in err[0] and "'detector_backbone' has none" in err[0]
