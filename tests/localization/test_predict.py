"""Prediction: Predictor (encode once, predict per query), batch tables, and the train/predict CLI."""

from __future__ import annotations

import dataclasses
import json
import logging

import numpy as np
import pandas as pd
import pytest
import torch
from model_fixtures import TINY, toy_world

from psvl.cli import main
from psvl.config import ConfigError, default
from psvl.core.artifacts import read_frame, read_metadata, write_table
from psvl.core.spans import iou
from psvl.features.features import extract_features, load_features
from psvl.features.segments import VideoFeatures
from psvl.frames.frames import extract_frames
from psvl.localization.predict import PredictConfig, Predictor
from psvl.localization.train import TrainConfig, train
from psvl.synth.render import write_mp4

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("model")
    queries, feats = toy_world(n_videos=6)
    train(
        queries,
        feats,
        out,
        TINY,
        default(TrainConfig, "train", epochs=1, batch_size=8, threads=1, val_fraction=0.2),
    )
    return out, queries, feats


def test_predict_table_matches_one_video_predictor_and_carries_no_ground_truth(trained):
    model_dir, queries, feats = trained
    predictor = Predictor.load(model_dir, "cpu")
    table = predictor.predict_table(queries, feats, batch_size=5)
    assert len(table) == len(queries)
    assert (table["pred_start_s"] <= table["pred_end_s"]).all()
    assert (table["pred_end_s"] <= queries["duration_s"] + 1e-9).all() and (table["pred_start_s"] >= 0).all()
    assert list(table.columns) == ["query_id", "video_id", "pred_start_s", "pred_end_s", "no_known_words"]
    vid = queries["video_id"].iloc[0]
    predictor.encode(feats[vid].array, float(queries["duration_s"].iloc[0]))
    for _, q in queries[queries["video_id"] == vid].iterrows():
        start, end, score = predictor.predict(list(q["tokens"]))[0]
        row = table[table["query_id"] == q["query_id"]].iloc[0]
        assert start == pytest.approx(row["pred_start_s"], abs=1e-4)
        assert end == pytest.approx(row["pred_end_s"], abs=1e-4)
        assert 0.0 <= score <= 1.0 + 1e-6


def test_a_model_without_named_channels_ignores_video_classes(trained):
    model_dir, queries, feats = trained
    cfg = default(PredictConfig, "predict", device="cpu", video_classes=True)
    predictor = Predictor.load(model_dir, cfg=cfg)
    assert predictor.classes is None and predictor.words.video_classes is None
    table = predictor.predict_table(queries, feats)
    plain = Predictor.load(model_dir, "cpu").predict_table(queries, feats)
    pd.testing.assert_frame_equal(table, plain)


def test_queries_of_videos_without_features_get_no_prediction(trained):
    model_dir, queries, feats = trained
    kept = dict(list(feats.items())[1:])
    table = Predictor.load(model_dir, "cpu").predict_table(queries, kept)
    assert set(table["video_id"]) == set(kept) and len(table) == int(queries["video_id"].isin(kept).sum())


def _features_frame(feats):
    rows = [
        {
            "video_id": v,
            "segment_idx": i,
            "start_s": f.starts[i],
            "end_s": f.ends[i],
            "feature": f.array[i].tolist(),
        }
        for v, f in feats.items()
        for i in range(len(f.array))
    ]
    return pd.DataFrame(rows)


def test_train_and_predict_commands_write_their_artifacts(tmp_path):
    queries, feats = toy_world(n_videos=6)
    pq = write_table("pseudo_queries", queries, tmp_path / "pseudo_queries.parquet", stage="test")
    names = sorted(feats)
    shards = [
        write_table(
            "features",
            _features_frame({v: feats[v] for v in part}),
            tmp_path / f"f{i}.parquet",
            stage="features",
            shaping={"extractor": "resnet18", "frames_fps": 2.0},
        )
        for i, part in enumerate([names[:3], names[3:]])
    ]
    vocab = write_table(
        "vocab",
        {"lemma": ["roll", "the"], "pos": ["VERB", "DET"], "count": [3, 9]},
        tmp_path / "vocab.parquet",
        stage="corpus",
    )
    model_cfg = json.dumps({**dataclasses.asdict(TINY)})
    out = tmp_path / "model"
    argv = [
        "train",
        "--pseudo-queries",
        str(pq),
        "--features",
        *map(str, shards),
        "--vocab",
        str(vocab),
        "--out-dir",
        str(out),
        "--resume",
        "--set",
        f"model={model_cfg}",
        "--set",
        'train={"epochs": 2, "batch_size": 8, "threads": 1}',
    ]
    assert main(argv) == 0
    assert {p.name for p in out.iterdir()} >= {"best.pt", "last.pt", "vocab.json", "train_log.parquet"}
    best = torch.load(out / "best.pt", weights_only=True)
    assert "roll" in best["vocab"] and "the" not in best["vocab"]  # corpus verbs/nouns only
    assert best["provenance"]["features"]["config"]["extractor"] == "resnet18"
    assert len(read_frame(out / "train_log.parquet", "train_log")) == 2
    assert main(argv) == 0  # a finished run resumes to nothing new
    assert len(read_frame(out / "train_log.parquet", "train_log")) == 2

    test = queries.drop(columns=["verbs", "nouns"]).assign(sentence=lambda d: d["tokens"].map(" ".join))
    tq = write_table("test_queries", test, tmp_path / "test_queries.parquet", stage="test")
    pred = tmp_path / "eval" / "predictions.parquet"
    assert (
        main(
            [
                "predict",
                "--model",
                str(out),
                "--test-queries",
                str(tq),
                "--features",
                *map(str, shards),
                "--out",
                str(pred),
                "--set",
                'train={"threads": 1}',
            ]
        )
        == 0
    )
    table = read_frame(pred, "predictions")
    assert len(table) == len(queries) and table["query_id"].tolist() == queries["query_id"].tolist()
    assert read_metadata(pred)["stage"] == "predict"
    assert table["no_known_words"].dtype == bool  # the flag reaches the file
    # `psvl evaluate` joins the truth from the test queries: IoU in seconds, and the trained words
    # from the trained_words.json `psvl train` wrote beside best.pt
    metrics, per_query = tmp_path / "eval" / "metrics.json", tmp_path / "eval" / "per_query.parquet"
    scoring = ["--pred", str(pred), "--gt", str(tq), "--vocab", str(out / "best.pt"), "--out", str(metrics)]
    assert main(["evaluate", *scoring, "--per-query", str(per_query)]) == 0
    scored = read_frame(per_query, "per_query")
    moments = table[["pred_start_s", "pred_end_s"]].to_numpy()
    assert np.allclose(scored["iou"], iou(moments, queries[["start_s", "end_s"]].to_numpy()), atol=1e-12)
    assert scored["no_known_words"].tolist() == table["no_known_words"].tolist()
    result = json.loads(metrics.read_text())
    trained_words = set(best["vocab"][4 : best["vocab_trained"]])
    n_unknown = sum(t not in trained_words for tokens in queries["tokens"] for t in tokens)
    share = n_unknown / sum(map(len, queries["tokens"]))
    assert result["n_queries"] == len(queries) and result["unknown_words"]["token_share"] == share


CONTENT = {"model": "en_core_web_sm", "simplify": "content", "stop_verbs": ["be", "keep", "start"]}
PSVL = {"model": "en_core_web_sm", "simplify": "psvl", "stop_verbs": []}


def test_predictor_refuses_other_language_options_than_the_checkpoints_and_accepts_old_ones(trained, caplog):
    model_dir, _, _ = trained
    assert Predictor.load(model_dir, "cpu").language == PSVL  # train() without language: schema defaults
    assert Predictor.load(model_dir, "cpu").tokens("person start laughing.") == ["start", "laugh", "person"]
    with pytest.raises(
        ConfigError, match="was made with simplify=psvl .* but x.parquet uses simplify=content"
    ):
        Predictor.load(model_dir, "cpu", language=CONTENT, where="x.parquet")
    old = torch.load(model_dir / "best.pt", weights_only=True)
    del old["language"]  # a checkpoint from before the record
    with caplog.at_level(logging.WARNING):
        predictor = Predictor(old, language=CONTENT)
    assert "records no language options" in caplog.text
    assert predictor.tokens("person start laughing.") == ["laugh", "person"]  # simplified as given


def test_train_records_the_pseudo_queries_language_and_predict_refuses_a_mismatch(tmp_path, capsys):
    queries, feats = toy_world(n_videos=4)
    pq = write_table("pseudo_queries", queries, tmp_path / "pq.parquet", "test", {"language": CONTENT})
    shard = write_table("features", _features_frame(feats), tmp_path / "f.parquet", "features")
    out = tmp_path / "model"
    tiny = json.dumps(dataclasses.asdict(TINY))
    argv = ["train", "--pseudo-queries", str(pq), "--features", str(shard), "--out-dir", str(out)]
    cfg = ["--set", f"model={tiny}", "--set", 'train={"epochs": 1, "batch_size": 8, "threads": 1}']
    assert main([*argv, *cfg]) == 0
    assert torch.load(out / "best.pt", weights_only=True)["language"] == CONTENT

    test = queries.drop(columns=["verbs", "nouns"]).assign(sentence=lambda d: d["tokens"].map(" ".join))
    pred = ["predict", "--model", str(out), "--features", str(shard), "--out", str(tmp_path / "p.parquet")]
    for language, rc in ((PSVL, 2), (CONTENT, 0)):
        tq = write_table("test_queries", test, tmp_path / "tq.parquet", "test", {"language": language})
        assert main([*pred, "--test-queries", str(tq)]) == rc
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "language options differ" in err[0]
    assert "simplify=content" in err[0] and f"{tmp_path / 'tq.parquet'} uses simplify=psvl" in err[0]
    # a test_queries file without the record is checked against the corpus section (psvl by default)
    tq = write_table("test_queries", test, tmp_path / "tq.parquet", "test")
    assert main([*pred, "--test-queries", str(tq)]) == 2
    content = ["--set", "corpus.simplify=content", "--set", 'corpus.stop_verbs=["be", "keep", "start"]']
    assert main([*pred, "--test-queries", str(tq), *content]) == 0


def _write_mp4(path, n_frames: int = 32, fps: int = 8, size: int = 32) -> None:
    """Flat grey frames whose level steps every 8 frames, through the project's own H.264 writer."""
    levels = 60 * (np.arange(n_frames) // 8)
    write_mp4(
        np.broadcast_to(levels[:, None, None, None], (n_frames, size, size, 3)).astype(np.uint8), path, fps
    )


FEAT_CFG = {"extractor": "resnet18", "weights": "none", "seed": 0, "segment_seconds": None, "frames_fps": 2.0}
FRAMES_CFG = {"fps": 2.0, "size": 32, "jpeg_quality": 90}


@pytest.fixture(scope="module")
def video_model(tmp_path_factory):
    """A tiny model on 512-d features whose checkpoint records random-init ResNet-18 features at 2 fps."""
    out = tmp_path_factory.mktemp("video_model") / "model"
    queries, feats = toy_world(n_videos=4, dim=512)
    train(
        queries,
        feats,
        out,
        TINY,
        default(TrainConfig, "train", epochs=1, batch_size=8, threads=1),
        provenance={"features": {"config": FEAT_CFG}, "frames": FRAMES_CFG},
    )
    return out


def test_predict_on_a_video_file_extracts_features_as_in_training_and_prints_seconds(
    video_model, tmp_path, capsys
):
    video = tmp_path / "my clip.mp4"
    _write_mp4(video)
    argv = ["predict", "--model", str(video_model), "--video", str(video), "--query", "the ball spins"]
    assert main([*argv, "--json", "--set", 'predict={"threads": 1}']) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["tokens"] == ["spin", "ball"] and out["no_known_words"] is False
    assert 0.0 <= out["start_s"] <= out["end_s"] <= 4.0
    # the same moment as features made by the frames and features stages with the training settings
    frames = extract_frames(video, "my clip", fps=2.0, size=32, jpeg_quality=90)
    table = extract_features(frames, {k: v for k, v in FEAT_CFG.items() if k != "frames_fps"}, {"fps": 2.0})
    predictor = Predictor.load(video_model, "cpu")
    predictor.encode(np.stack(table["feature"].map(np.asarray)), float(table["end_s"].max()))
    start, end, _ = predictor.predict(["spin", "ball"])[0]
    assert (round(start, 3), round(end, 3)) == (out["start_s"], out["end_s"])


def test_one_video_and_batch_prediction_give_the_same_moment_for_the_same_query(
    video_model, tmp_path, capsys
):
    # 33 frames at 8 fps: the container says 4.125 s, the features (2 fps, one segment per frame) end at
    # 4.25 s. Before, `--video` took 4.25 s and the batch path the annotation's 4.125 s: 3% apart.
    video = tmp_path / "clip.mp4"
    _write_mp4(video, n_frames=33)
    stage_cfg = [
        *("--set", f"frames={json.dumps(FRAMES_CFG)}"),
        *("--set", 'features={"extractor": "resnet18", "weights": "none", "seed": 0}'),
    ]
    # the workflow's frames and features stages on a one-video shard list
    shard_list = tmp_path / "00000.tsv"
    shard_list.write_text(f"video_id\tpath\tsize_bytes\tmtime_ns\nclip\t{video}\t\t\n")
    frames, feats = tmp_path / "frames.parquet", tmp_path / "features.parquet"
    assert main(["frames", "--video", str(video), "--out", str(frames), *stage_cfg]) == 0
    failures = str(tmp_path / "failures.parquet")
    argv = ["features", "--manifest", str(shard_list), "--frames", str(frames), "--out", str(feats)]
    assert main([*argv, "--failures", failures, *stage_cfg]) == 0
    assert read_frame(feats, "features")["end_s"].max() == pytest.approx(4.25)

    predictor = Predictor.load(video_model, "cpu")
    sentences = ["the ball spins", "a cube slides", "the ring bounces", "a star spins"]
    tq = tmp_path / "test_queries.parquet"
    test = pd.DataFrame(
        {
            "query_id": [f"clip#{i}" for i in range(len(sentences))],
            "video_id": "clip",
            "sentence": sentences,
            "tokens": [predictor.tokens(s) for s in sentences],  # as the test-queries stage simplifies
            "start_s": 0.5,
            "end_s": 2.0,
            "duration_s": 33 / 8,  # what an annotation file (or ffprobe) says
        }
    )
    write_table("test_queries", test, tq, stage="test", shaping={"language": PSVL})

    stored = load_features([feats])
    batch = predictor.predict_table(test, stored)
    predictor.encode_file(video, FRAMES_CFG)
    for i, sentence in enumerate(sentences):
        start, end, _ = predictor.predict(sentence)[0]
        # exact against a batch of that one query: the same float32 features, weights and float64 seconds
        alone = predictor.predict_table(test.iloc[[i]], stored).iloc[0]
        assert (start, end) == (alone["pred_start_s"], alone["pred_end_s"])
        # within 1e-6 s against the 4-query batch: BLAS kernels for 4 rows round float32 differently
        # than for 1 (measured ~5e-7 s here, ~1e-7 of the duration)
        assert (start, end) == pytest.approx(
            (batch.at[i, "pred_start_s"], batch.at[i, "pred_end_s"]), abs=1e-6
        )

    # and through the CLI: `--video --json` prints the batch prediction's seconds, rounded to ms
    pred = tmp_path / "predictions.parquet"
    common = ["predict", "--model", str(video_model), "--set", 'predict={"threads": 1}']
    assert main([*common, "--test-queries", str(tq), "--features", str(feats), "--out", str(pred)]) == 0
    table = read_frame(pred, "predictions")
    assert main([*common, "--video", str(video), "--query", sentences[0], "--json", *stage_cfg]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (out["start_s"], out["end_s"]) == (
        round(table.at[0, "pred_start_s"], 3),
        round(table.at[0, "pred_end_s"], 3),
    )


def test_a_query_without_a_trained_word_is_flagged_and_still_predicted(video_model, tmp_path, capsys, caplog):
    video = tmp_path / "clip.mp4"
    _write_mp4(video)
    frames = extract_frames(video, "clip", fps=2.0, size=32, jpeg_quality=90)
    table = extract_features(frames, {k: v for k, v in FEAT_CFG.items() if k != "frames_fps"}, {"fps": 2.0})
    array = np.stack(table["feature"].map(np.asarray))
    feats = {"clip": VideoFeatures(array, table["start_s"].to_numpy(), table["end_s"].to_numpy())}
    test = pd.DataFrame(
        {
            "query_id": ["q0", "q1", "q2"],
            "video_id": "clip",
            "sentence": ["the ball spins", "the of and", "a zebra yawns"],
            "tokens": [["spin", "ball"], [], ["yawn", "zebra"]],
            "start_s": 0.5,
            "end_s": 2.0,
            "duration_s": 4.0,
        }
    )
    predictor = Predictor.load(video_model, "cpu")
    with caplog.at_level(logging.WARNING):
        batch = predictor.predict_table(test, feats)
    assert batch["no_known_words"].tolist() == [False, True, True]
    assert "2 queries have no word the model was trained on" in caplog.text
    assert "q1 'the of and'" in caplog.text and "q2 'a zebra yawns'" in caplog.text
    predictor.encode(feats["clip"].array, float(table["end_s"].max()))
    for tokens, row in zip(test["tokens"], batch.itertuples()):  # the flag leaves the numbers alone
        start, end, _ = predictor.predict(list(tokens))[0]
        assert (start, end) == pytest.approx((row.pred_start_s, row.pred_end_s), abs=1e-6)

    argv = ["predict", "--model", str(video_model), "--video", str(video), "--query", "the of and"]
    assert main([*argv, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["no_known_words"] is True and out["tokens"] == []
    assert (out["start_s"], out["end_s"]) == (
        round(batch.at[1, "pred_start_s"], 3),
        round(batch.at[1, "pred_end_s"], 3),
    )
    assert main(argv) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"{out['start_s']:.3f} {out['end_s']:.3f}")
    assert lines[1].startswith("warning: no word of the query 'the of and' was trained")


def test_training_from_the_psvl_release_json_and_npy_folder(tmp_path):
    queries, feats = toy_world(n_videos=5)
    folder = tmp_path / "npy"
    folder.mkdir()
    for vid, f in feats.items():
        np.save(folder / f"{vid}.npy", f.array)
    labels = [
        {
            "vid": r.video_id,
            "duration": r.duration_s,
            "tokens": list(r.tokens),
            "timestamp": [r.start_s / r.duration_s, r.end_s / r.duration_s],
        }
        for r in queries.itertuples()
    ]
    (tmp_path / "pseudo.json").write_text(json.dumps(labels))
    out = tmp_path / "model"
    assert (
        main(
            [
                "train",
                "--psvl-json",
                str(tmp_path / "pseudo.json"),
                "--features-dir",
                str(folder),
                "--out-dir",
                str(out),
                "--set",
                f"model={json.dumps(dataclasses.asdict(TINY))}",
                "--set",
                'train={"epochs": 1, "batch_size": 8, "threads": 1}',
            ]
        )
        == 0
    )
    best = torch.load(out / "best.pt", weights_only=True)
    assert best["model"]["config"]["video_dim"] == 16
    assert {"spin", "ball"} <= set(best["vocab"])
