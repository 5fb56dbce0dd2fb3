"""Class grounding on a raw-video run: a `custom` folder of tiny videos with features.class_scores: true and
predict.localizer: class_scores runs frames -> features (+ the head's class scores) -> psvl ground through
Snakemake, with no training; without a class-scores source the run stops before any job."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from video_fixtures import write_video
from workflow_helpers import run_snakemake, skip_unless_stages, write_config

from psvl.core.artifacts import read_frame, read_metadata

pytestmark = pytest.mark.slow

OUT = Path("results") / "custom"
QUERIES = {"a": "a person is abseiling", "b": "someone playing guitar", "c": "he opens the door"}


def _custom_run(tmp_path: Path, overrides: dict) -> Path:
    videos = tmp_path / "videos"
    videos.mkdir()
    for name in QUERIES:
        write_video(videos / f"clip {name}.mp4", seconds=4.0, fps=4, width=48, height=48)
    records = [
        {"qid": i, "query": q, "vid": f"clip {name}", "duration": 4.0, "relevant_windows": [[1.0, 3.0]]}
        for i, (name, q) in enumerate(QUERIES.items())
    ]
    (tmp_path / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (tmp_path / "corpus.txt").write_text("a person opens the door\n")
    dataset = {
        "name": "custom",
        "videos_dir": str(videos),
        "corpus": str(tmp_path / "corpus.txt"),
        "annotations": str(tmp_path / "test.jsonl"),
    }
    workdir = tmp_path / "run"
    base = {
        "dataset": dataset,
        "detector": {"weights": "none"},
        "shard_size": 2,
        "frames": {"fps": 1.0, "size": 32},
    }
    write_config(workdir, {**base, **overrides})
    return workdir


def test_raw_video_run_grounds_queries_on_the_r2plus1d_heads_kinetics_scores(tmp_path):
    skip_unless_stages(pytest, ("annotations", "manifest", "frames", "features", "test-queries", "ground"))
    features = {"extractor": "r2plus1d_18", "weights": "none", "clip_frames": 2, "class_scores": True}
    workdir = _custom_run(tmp_path, {"features": features, "predict": {"localizer": "class_scores"}})
    run_snakemake(workdir, [str(OUT / "eval" / "predictions.parquet")])

    r = workdir / OUT
    assert not (r / "model").exists()  # no training: the classes each query names
    shards = sorted(p.name for p in (r / "class_scores").glob("*.parquet"))
    assert shards == ["00000.parquet", "00001.parquet"]  # 3 videos in shards of 2
    scores = read_frame(r / "class_scores" / "00000.parquet", "class_scores")
    assert len(scores) == 8 and {len(s) for s in scores["scores"]} == {400}  # 2 videos x 4 s at 1 fps
    classes = read_metadata(r / "class_scores" / "00000.parquet")["config"]["classes"]
    assert len(classes) == 400 and "abseiling" in classes and "playing guitar" in classes
    predictions = pq.read_table(r / "eval" / "predictions.parquet").to_pandas()
    assert sorted(predictions["query_id"].astype(str)) == ["0", "1", "2"]
    assert (predictions["pred_start_s"] >= 0).all() and (predictions["pred_end_s"] <= 4.0 + 1e-6).all()
    assert (predictions["pred_end_s"] > predictions["pred_start_s"]).all()
    assert read_metadata(r / "eval" / "predictions.parquet")["stage"] == "ground"


def test_class_scores_localizer_without_a_source_stops_before_any_job(tmp_path):
    features = {"extractor": "resnet18", "weights": "none"}
    workdir = _custom_run(tmp_path, {"features": features, "predict": {"localizer": "class_scores"}})
    proc = run_snakemake(workdir, extra=["--dry-run"], check=False)
    log = (workdir / "snakemake.log").read_text()
    assert proc.returncode != 0
    lines = [line for line in log.splitlines() if "config.predict.localizer" in line]
    assert len(lines) == 1 and "config.features.class_scores" in lines[0]
    assert not (workdir / "results").exists()
