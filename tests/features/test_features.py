"""Features stage: segment times, pooling, failures, weights handling, and the features table reader."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from feature_fixtures import CFG, frames_table, jpeg

from psvl.core.artifacts import read_metadata, write_table
from psvl.core.failures import FailureLog
from psvl.features.extractors import WeightsError, build_extractor, embed
from psvl.features.features import FeaturesConfig, extract_features
from psvl.features.segments import frame_segments, load_features
from psvl.synth.render import write_mp4


@pytest.fixture(scope="module")
def r18():
    return build_extractor("resnet18", "none", 0)


def test_one_segment_per_frame_spans_half_a_frame_each_side_clipped_at_zero():
    assign, starts, ends = frame_segments(np.array([0.0, 0.5, 1.0]), 2.0, None)
    assert assign.tolist() == [0, 1, 2]
    assert starts.tolist() == [0.0, 0.25, 0.75]
    assert ends.tolist() == [0.25, 0.75, 1.25]


def test_segment_seconds_pools_frames_into_buckets_and_last_segment_ends_at_last_frame():
    assign, starts, ends = frame_segments(np.arange(7) / 2.0, 2.0, 1.5)  # frames 0..3 s
    assert assign.tolist() == [0, 0, 0, 1, 1, 1, 2]
    assert starts.tolist() == [0.0, 1.5, 3.0]
    assert ends.tolist() == [1.5, 3.0, 3.25]


def test_resnet18_features_are_512_float32_one_row_per_frame_and_seeded(r18):
    df = extract_features(frames_table(), CFG, {"fps": 2.0}, extractor=r18)
    assert len(df) == 20 and df["video_id"].nunique() == 2
    assert df["feature"].iloc[0].dtype == np.float32 and df["feature"].iloc[0].shape == (512,)
    again = build_extractor("resnet18", "none", 0).module.state_dict()  # a fresh build, same seed
    assert all(torch.equal(v, again[k]) for k, v in r18.module.state_dict().items())
    other = build_extractor("resnet18", "none", 1).module.state_dict()
    assert not torch.equal(other["conv1.weight"], again["conv1.weight"])


def test_batched_features_equal_one_frame_at_a_time(r18):
    images = torch.stack([torch.full((3, 32, 32), v, dtype=torch.uint8) for v in (0, 80, 160, 240)])
    batched = embed(r18, images, 4, torch.device("cpu"))
    single = embed(r18, images, 1, torch.device("cpu"))
    np.testing.assert_allclose(batched, single, rtol=1e-4, atol=1e-5)
    assert np.abs(batched[0] - batched[3]).max() > 1e-3  # different inputs give different features


def test_undecodable_video_is_recorded_and_a_video_without_frames_is_not_recorded_again(r18):
    frames = frames_table()
    frames.loc[frames["video_id"] == "vid 1", "jpeg"] = b"not a jpeg"
    failures = FailureLog("features")
    paths = {"vid 0": "a.mp4", "vid 1": "b.mp4", "vid 2": "c.mp4"}  # vid 2 has no frames at all
    df = extract_features(frames, CFG, {"fps": 2.0}, failures=failures, video_paths=paths, extractor=r18)
    assert sorted(df["video_id"].unique()) == ["vid 0"]
    # vid 2 failed in frames, which recorded it: features does not count it a second time
    assert sorted(failures.video_ids) == ["vid 1"]


def test_features_table_round_trips_through_load_features(tmp_path, r18):
    df = extract_features(
        frames_table(n_videos=2), dict(CFG, segment_seconds=2.0), {"fps": 2.0}, extractor=r18
    )
    path = write_table("features", df, tmp_path / "f.parquet", stage="features", shaping={"dim": 512})
    loaded = load_features([path])
    feats, starts, ends = loaded["vid 1"].array, loaded["vid 1"].starts, loaded["vid 1"].ends
    assert feats.shape == (3, 512) and feats.dtype == np.float32
    assert starts.tolist() == [0.0, 2.0, 4.0] and ends.tolist() == [2.0, 4.0, 4.75]
    np.testing.assert_array_equal(feats, np.stack(df[df["video_id"] == "vid 1"]["feature"]))
    assert read_metadata(path)["config"]["dim"] == 512


def test_local_checkpoint_gives_the_same_features_as_the_model_it_was_saved_from(tmp_path):
    import torchvision

    torch.manual_seed(3)
    model = torchvision.models.resnet18()
    torch.save(model.state_dict(), tmp_path / "r18.pt")
    from_path = build_extractor("resnet18", str(tmp_path / "r18.pt"), 0)
    from_seed = build_extractor("resnet18", "none", 3)
    x = torch.randint(0, 255, (2, 3, 32, 32), dtype=torch.uint8)
    np.testing.assert_allclose(
        embed(from_path, x, 2, torch.device("cpu")), embed(from_seed, x, 2, torch.device("cpu")), rtol=1e-5
    )


def test_failed_weights_download_mock_names_the_file_and_where_to_put_it(monkeypatch, tmp_path):
    import urllib.error

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(WeightsError) as err:
        build_extractor("resnet18", "IMAGENET1K_V1", 0)
    message = str(err.value)
    assert "resnet18-f37072fd.pth" in message and str(tmp_path / "hub" / "checkpoints") in message


def test_unknown_weights_name_and_missing_checkpoint_are_clear_errors():
    with pytest.raises(WeightsError, match="neither a local file nor a torchvision weights name"):
        build_extractor("resnet18", "IMAGENET_V9", 0)
    with pytest.raises(WeightsError, match="does not exist"):
        build_extractor("resnet18", "/nonexistent/model.pth", 0)
    with pytest.raises(WeightsError, match="unknown feature extractor"):
        build_extractor("vgg99", "none", 0)


def test_features_config_defaults_come_from_the_schema():
    from psvl import config

    built = config.default(FeaturesConfig, "features")
    assert (built.extractor, built.weights) == tuple(
        config.defaults("features")[k] for k in ("extractor", "weights")
    )
    assert (built.extractor, built.weights) == ("resnet50", "DEFAULT")  # ImageNet features for real videos


def _write_mp4(path, n_frames: int = 16, fps: int = 8, size: int = 32) -> None:
    """Flat grey frames whose level steps every 8 frames, through the project's own H.264 writer."""
    levels = 20 * (np.arange(n_frames) // 8)
    write_mp4(
        np.broadcast_to(levels[:, None, None, None], (n_frames, size, size, 3)).astype(np.uint8), path, fps
    )


def test_clip_indices_pick_frames_spread_evenly_inside_each_segment():
    from psvl.features.clips import clip_indices

    times = np.arange(16) / 8.0  # 2 s at 8 fps
    idx = clip_indices(times, np.array([0.0, 1.0]), np.array([1.0, 2.0]), 4)
    assert idx.tolist() == [[1, 3, 5, 7], [9, 11, 13, 15]]


def test_r2plus1d_clips_from_the_video_give_one_512_vector_per_segment(tmp_path):
    _write_mp4(tmp_path / "clip video.mp4")
    cfg = {"extractor": "r2plus1d_18", "weights": "none", "clip_frames": 2, "batch_size": 16}
    failures = FailureLog("features")
    paths = {"ok": str(tmp_path / "clip video.mp4"), "broken": str(tmp_path / "missing.mp4")}
    df = extract_features(frames_table(0), cfg, {"fps": 1.0}, failures=failures, video_paths=paths)
    assert df["start_s"].tolist() == [0.0, 1.0] and df["end_s"].tolist() == [1.0, 2.0]
    assert df["feature"].iloc[0].shape == (512,) and df["feature"].iloc[0].dtype == np.float32
    assert failures.video_ids == {"broken"}


def test_features_command_writes_shard_features_failures_and_provenance(tmp_path):
    from psvl.cli import main
    from psvl.core.artifacts import read_frame

    frames = frames_table(n_videos=2, n_frames=6)
    write_table("frames", frames, tmp_path / "frames.parquet", stage="frames")
    manifest = pd.DataFrame(
        {
            "video_id": ["vid 0", "vid 1", "vid 9"],
            "path": ["a.mp4", "b.mp4", "c.mp4"],
            "split": "train",
            "shard": [3, 3, 4],
        }
    )
    write_table("manifest", manifest, tmp_path / "manifest.parquet", stage="manifest")
    out, fails = tmp_path / "features" / "00003.parquet", tmp_path / "failures.parquet"
    rc = main(
        [
            "features",
            "--manifest",
            str(tmp_path / "manifest.parquet"),
            "--shard",
            "00003",
            "--frames",
            str(tmp_path / "frames.parquet"),
            "--out",
            str(out),
            "--failures",
            str(fails),
            "--set",
            'features={"extractor": "resnet18", "weights": "none", "batch_size": 4}',
            "--set",
            'frames={"fps": 2.0}',
        ]
    )
    assert rc == 0
    df = read_frame(out, "features")
    assert len(df) == 12 and sorted(df["video_id"].unique()) == ["vid 0", "vid 1"]
    assert len(read_frame(fails, "failures")) == 0
    meta = read_metadata(out)
    assert meta["stage"] == "features"
    assert {k: meta["config"][k] for k in ("extractor", "weights", "dim", "segment_seconds")} == {
        "extractor": "resnet18",
        "weights": "none",
        "dim": 512,
        "segment_seconds": None,
    }


def test_schema_extractor_choices_are_the_registry_plus_precomputed():
    from psvl import config
    from psvl.features.extractors import EXTRACTORS

    enum = config.schema()["properties"]["features"]["properties"]["extractor"]["enum"]
    assert sorted(enum) == sorted([*EXTRACTORS.names(), "precomputed"])


def test_features_command_with_missing_checkpoint_exits_2_with_one_line(tmp_path, capsys):
    from psvl.cli import main

    write_table("frames", frames_table(1, 2), tmp_path / "frames.parquet", stage="frames")
    manifest = pd.DataFrame({"video_id": ["vid 0"], "path": ["a.mp4"], "split": "train", "shard": [0]})
    write_table("manifest", manifest, tmp_path / "manifest.parquet", stage="manifest")
    rc = main(
        [
            "features",
            "--manifest",
            str(tmp_path / "manifest.parquet"),
            "--shard",
            "00000",
            "--frames",
            str(tmp_path / "frames.parquet"),
            "--out",
            str(tmp_path / "f.parquet"),
            "--failures",
            str(tmp_path / "x.parquet"),
            "--set",
            "features.extractor=resnet18",
            "--set",
            "features.weights=/no/such/r18.pth",
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "/no/such/r18.pth does not exist" in err[0]
    assert not (tmp_path / "f.parquet").exists()


def test_batches_spanning_videos_and_sizes_give_the_same_features_as_one_video_at_a_time(r18):
    frames = frames_table(n_videos=3, n_frames=5)
    small = frames["video_id"] == "vid 1"
    frames.loc[small, "jpeg"] = [jpeg(40 + k, size=24) for k in range(int(small.sum()))]
    frames.loc[small, ["width", "height"]] = 24
    mixed = extract_features(frames, dict(CFG, batch_size=4), {"fps": 2.0}, extractor=r18)
    for vid, group in frames.groupby("video_id"):
        alone = extract_features(group, dict(CFG, batch_size=64), {"fps": 2.0}, extractor=r18)
        got = np.stack(mixed[mixed["video_id"] == vid]["feature"])
        np.testing.assert_allclose(got, np.stack(alone["feature"]), rtol=1e-4, atol=1e-5)
    assert len(mixed) == 15
