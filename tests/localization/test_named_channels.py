"""Query-named object channels: which classes a query names, their tracks, and a model that reads them
from training through `psvl predict` (batch and one video)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch
from model_fixtures import TINY

from psvl.config import ConfigError, default, validate
from psvl.features.segments import VideoFeatures
from psvl.localization.model import PSVLConfig, PSVLNet
from psvl.localization.named_channels import channel_classes, class_weights, named_tracks
from psvl.localization.predict import PredictConfig, Predictor
from psvl.localization.train import TrainConfig, train
from psvl.localization.video_classes import VideoClasses, present_classes

torch.set_num_threads(1)
CLASSES = ["ball", "cube", "star", "dining table"]
META = {"config": {"object_channels": {"labels": CLASSES, "channels": ["score", "motion"]}}}


def test_a_query_spreads_its_weight_over_the_classes_it_names():
    w = class_weights([["spin", "ball"], ["Cube", "ball"], ["walk", "person"], ["set", "table"]], CLASSES)
    assert w.dtype == np.float32 and w.shape == (4, 4)
    np.testing.assert_array_equal(w[0], [1, 0, 0, 0])
    np.testing.assert_array_equal(w[1], [0.5, 0.5, 0, 0])  # case-insensitive, two classes share
    np.testing.assert_array_equal(w[2], [0, 0, 0, 0])  # names no class: zeros, never a guess
    np.testing.assert_array_equal(w[3], [0, 0, 0, 1])  # a multi-word class by its last word


def test_named_tracks_are_the_weighted_score_and_motion_channels():
    video = torch.arange(2 * 3 * 8, dtype=torch.float32).view(2, 3, 8)  # C = 4: scores 0-3, motions 4-7
    weights = torch.tensor([[1.0, 0, 0, 0], [0, 0.5, 0.5, 0]])
    tracks = named_tracks(video, weights)
    assert tracks.shape == (2, 3, 2)
    torch.testing.assert_close(tracks[0], video[0][:, [0, 4]])
    torch.testing.assert_close(tracks[1, :, 0], video[1][:, 1:3].mean(1))
    torch.testing.assert_close(tracks[1, :, 1], video[1][:, 5:7].mean(1))


def test_class_names_come_from_the_object_channels_metadata_or_fail_naming_the_key():
    assert channel_classes(META) == CLASSES
    with pytest.raises(ValueError, match="model.named_channels"):
        channel_classes({"config": {"extractor": "resnet18"}})


def test_named_channels_without_object_channels_is_a_config_error_naming_the_key():
    with pytest.raises(ConfigError, match="model.named_channels"):
        validate(
            {"dataset": {"name": "synthetic"}, "model": {"visual_input": "features", "named_channels": True}}
        )


def test_a_model_with_named_classes_needs_them_and_its_encoding_depends_on_them():
    cfg = PSVLConfig.from_model(TINY, vocab_size=10, video_dim=8, named_classes=4)
    model = PSVLNet(cfg).eval()
    video, mask = torch.rand(1, 12, 8), torch.ones(1, 12, dtype=torch.bool)
    with pytest.raises(ValueError, match="named="):
        model.encode_video(video, mask)
    a = model.encode_video(video, mask, torch.tensor([[1.0, 0, 0, 0]]))
    b = model.encode_video(video, mask, torch.tensor([[0, 1.0, 0, 0]]))
    assert not torch.allclose(a, b)
    plain = PSVLNet(PSVLConfig.from_model(TINY, vocab_size=10, video_dim=8))
    assert plain.video_encoder.proj[0].in_features + 2 == model.video_encoder.proj[0].in_features


def object_world(n_videos: int = 10, seed: int = 0):
    """Object-channel features (4 classes: 4 scores, then 4 motions) where two objects act in turn and
    sit still otherwise; a query names the acting object. (pseudo_queries frame, features)"""
    rng = np.random.default_rng(seed)
    feats, rows = {}, []
    for v in range(n_videos):
        vid = f"video {v:02d}"
        T = int(rng.integers(24, 40))
        x = np.zeros((T, 8), np.float32)
        first, second = rng.choice(3, size=2, replace=False)
        cut = int(rng.integers(8, T - 8))
        for c, (a, b) in ((first, (0, cut)), (second, (cut, T))):
            x[:, c] = 0.9  # on screen the whole video, still
            x[a:b, 4 + c] = rng.uniform(0.3, 0.6, size=b - a)  # moving only in its event
            rows.append(
                {
                    "query_id": f"{vid}#{c}",
                    "video_id": vid,
                    "start_s": a * 0.5,
                    "end_s": b * 0.5,
                    "duration_s": T * 0.5,
                    "verbs": ["move"],
                    "nouns": [CLASSES[c]],
                    "tokens": ["move", CLASSES[c]],
                }
            )
        starts = np.arange(T) * 0.5
        feats[vid] = VideoFeatures(x, starts, starts + 0.5)
    return pd.DataFrame(rows), feats


@pytest.fixture(scope="module")
def named_model(tmp_path_factory):
    queries, feats = object_world()
    out = tmp_path_factory.mktemp("named")
    model_cfg = dataclasses.replace(TINY, named_channels=True, visual_input="objects")
    train_cfg = default(TrainConfig, "train", epochs=12, batch_size=4, lr=5e-3, val_fraction=0.2, threads=1)
    train(queries, feats, out, model_cfg, train_cfg, provenance={"features": META})
    return out, queries, feats


def test_named_channels_train_and_predict_in_batch_and_one_video_alike(named_model):
    out, queries, feats = named_model
    ckpt = torch.load(out / "best.pt", weights_only=True)
    assert ckpt["model"]["config"]["named_classes"] == 4
    predictor = Predictor.load(out, "cpu")
    assert predictor.classes == CLASSES
    table = predictor.predict_table(queries, feats, batch_size=3)
    assert len(table) == len(queries) and table["pred_end_s"].gt(table["pred_start_s"]).all()
    # the two queries of a video name different objects and get different moments
    per_video = table.groupby("video_id")["pred_start_s"].nunique()
    assert (per_video == 2).all()
    row = queries.iloc[0]
    predictor.encode(feats[row["video_id"]].array, row["duration_s"])
    start, end, _ = predictor.predict(list(row["tokens"]))[0]
    assert start == pytest.approx(table.iloc[0]["pred_start_s"], abs=1e-4)
    assert end == pytest.approx(table.iloc[0]["pred_end_s"], abs=1e-4)


def test_training_named_channels_on_features_without_class_names_fails_naming_the_key(tmp_path):
    queries, feats = object_world(n_videos=4)
    model_cfg = dataclasses.replace(TINY, named_channels=True)
    train_cfg = default(TrainConfig, "train", epochs=1, batch_size=4, threads=1)
    with pytest.raises(ValueError, match="model.named_channels"):
        train(queries, feats, tmp_path, model_cfg, train_cfg, provenance={"features": {"config": {}}})


def test_with_nearest_words_a_synonym_names_its_class_for_either_query_encoder(named_model):
    out, _, _ = named_model
    cfg = default(PredictConfig, "predict", device="cpu", unknown_words="nearest")
    predictor = Predictor.load(out, cfg=cfg)
    *_, named = predictor.inputs([["move", "sphere"], ["move", "kitchen"]])
    np.testing.assert_array_equal(named.numpy(), [[1, 0, 0, 0], [0, 0, 0, 0]])  # sphere -> ball; no class
    *_, plain = Predictor.load(out, "cpu").inputs([["move", "sphere"]])
    assert not plain.numpy().any()  # `unk` (the schema default): an unknown word names nothing


def test_present_classes_read_the_score_channels_of_valid_segments_only():
    video = torch.zeros(2, 4, 6)  # C = 3: scores 0-2, motions 3-5
    video[0, 1, 0] = 0.9  # class 0 seen in video 0
    video[0, 2, 1] = 0.3  # class 1 too weak
    video[1, 3, 2] = 0.9  # class 2 only in a padded segment of video 1
    video[:, :, 3:] = 1.0  # motion never counts
    mask = torch.tensor([[True] * 4, [True, True, True, False]])
    present = present_classes(video, mask, 3, min_score=0.5)
    np.testing.assert_array_equal(present, [[True, False, False], [False, False, False]])


def test_video_classes_name_the_nearest_class_the_video_shows_and_leave_named_queries_alone():
    matcher = VideoClasses(
        ["ball", "cube", "star", "ring"],
        known=["move", "ball", "cube", "star", "ring"],
        name="all-MiniLM-L6-v2",
    )
    lists = [["move", "sphere"], ["move", "sphere"], ["move", "cube"], ["move"], ["move", "sphere"]]
    present = np.array(
        [
            [True, True, False, False],
            [False, True, True, False],
            [True, True, True, True],
            [True] * 4,
            [False] * 4,
        ]
    )
    weights = class_weights(lists, ["ball", "cube", "star", "ring"])
    out = matcher.fill(weights, lists, present)
    np.testing.assert_array_equal(out[0], [1, 0, 0, 0])  # sphere -> the ball in its video
    assert out[1, 0] == 0 and out[1].sum() == 1 and out[1, 1:3].any()  # no ball here: a class it shows
    np.testing.assert_array_equal(out[2], [0, 1, 0, 0])  # names its class already: unchanged
    assert not out[3].any() and not out[4].any()  # no unknown word; no class detected: still unnamed
    assert not weights[0].any()  # the input is not modified


def test_with_video_classes_predict_names_a_detected_class_in_batch_and_one_video_alike(named_model):
    out, queries, feats = named_model
    cfg = default(PredictConfig, "predict", device="cpu", video_classes=True)
    predictor = Predictor.load(out, cfg=cfg)
    table = queries.assign(tokens=[["move", "sphere"]] * len(queries))
    pred = predictor.predict_table(table, feats, batch_size=3)
    plain = Predictor.load(out, "cpu").predict_table(table, feats, batch_size=3)
    assert not np.allclose(pred["pred_start_s"], plain["pred_start_s"])  # the unknown noun now names a track
    row = table.iloc[0]
    predictor.encode(feats[row["video_id"]].array, row["duration_s"])
    start, end, _ = predictor.predict(["move", "sphere"])[0]
    assert start == pytest.approx(pred.iloc[0]["pred_start_s"], abs=1e-4)
    assert end == pytest.approx(pred.iloc[0]["pred_end_s"], abs=1e-4)
