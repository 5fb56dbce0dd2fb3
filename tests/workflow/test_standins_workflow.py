"""The Charades timelines benchmark through Snakemake (docs/standins.md): a small subset end to end, the
dev split's hygiene, and the full config's plan. Needs the shared Charades-STA files beside the repo."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pyarrow.parquet as pq
import pytest
import yaml
from repo_paths import SHARED_DATA
from workflow_helpers import REPO, run_env, run_snakemake

from psvl.core.artifacts import read_metadata
from psvl.datasets.timelines_split import is_dev, listed_videos, sta_video_ids, write_split

DATA = SHARED_DATA
STA = DATA / "charades-sta"
RELEASE = DATA / "psvl-reference" / "charades_train_pseudo_supervision_TEP_PS.json"
CONFIG = REPO / "config" / "charades_timelines.yaml"

pytestmark = pytest.mark.skipif(not STA.is_dir(), reason="needs ../shared/data/charades-sta beside the repo")


def _lines(path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line.strip()]


def test_dev_videos_and_their_sentences_stay_out_of_training_and_corpus(tmp_path):
    train, test = str(STA / "charades_sta_train.txt"), str(STA / "charades_sta_test.txt")
    counts = write_split(train, test, tmp_path, fraction=0.2, seed=0, pseudo_labels=str(RELEASE))
    dev_ids = {line.split()[0] for line in _lines(tmp_path / "dev.txt")}
    train_ids = {line.split()[0] for line in _lines(tmp_path / "train.txt")}
    assert not dev_ids & train_ids
    assert len(dev_ids | train_ids) == len(sta_video_ids(train)) == 5338
    assert 0.17 < len(dev_ids) / 5338 < 0.23  # the seeded fifth
    assert len(_lines(tmp_path / "test.txt")) == 3720
    corpus = set(_lines(tmp_path / "corpus.txt"))
    dev_only = {line.split("##", 1)[1].strip() for line in _lines(tmp_path / "dev.txt")} - {
        line.split("##", 1)[1].strip() for line in _lines(tmp_path / "train.txt")
    }
    assert (
        dev_only and not dev_only & corpus
    )  # a dev sentence is in the corpus only if a train video has it too
    released = {r["vid"] for r in json.loads((tmp_path / "pseudo_labels.json").read_text())}
    assert released and not released & dev_ids and counts["release_labels"] < 12523
    # a video's membership depends only on (seed, id): the same with a subset listed
    assert all(is_dev(v, 0.2, 0) for v in dev_ids) and not any(is_dev(v, 0.2, 0) for v in train_ids)
    assert len(listed_videos(train, test, 5)) == 10


def _small_config(workdir) -> None:
    cfg = yaml.safe_load(CONFIG.read_text())
    for key in ("annotations", "train_annotations", "durations", "pseudo_labels"):
        cfg["dataset"][key] = str((REPO / cfg["dataset"][key]).resolve())
    cfg["standins"].update(classes=str((REPO / cfg["standins"]["classes"]).resolve()), max_videos=12)
    cfg["shard_size"] = 8
    cfg["model"].update(num_segments=32, word_dim=32, hidden=32, fusion_dim=32, fusion_layers=1)
    cfg["train"].update(epochs=1, batch_size=32)
    (workdir / "tiny_config.yaml").write_text(yaml.safe_dump(cfg))


def test_timelines_workflow_runs_end_to_end_on_a_subset(tmp_path):
    _small_config(tmp_path)
    run_snakemake(tmp_path)
    r = tmp_path / "results" / "charades_timelines"
    split = json.loads((r / "standins" / "split.json").read_text())
    manifest = pq.read_table(r / "manifest.parquet").to_pandas()
    assert len(manifest) == 24 and manifest["shard"].nunique() == 3  # 12 train + 12 test videos, shards of 8
    dev_ids = {line.split()[0] for line in _lines(r / "standins" / "dev.txt")}
    assert len(dev_ids) == split["dev_videos"]
    assert set(manifest.loc[manifest["split"] == "train", "video_id"]).isdisjoint(dev_ids)
    assert (manifest["split"] == "train").sum() == 12 - len(dev_ids)
    features = pq.read_table(r / "features" / "00000.parquet")
    assert features.num_rows > 8 and len(features["feature"][0]) == 256  # standins.dim
    assert pq.read_table(r / "detections" / "00000.parquet").num_rows > 0
    pseudo = pq.read_table(r / "pseudo_queries.parquet").to_pandas()
    assert set(pseudo["video_id"]) <= set(manifest.loc[manifest["split"] == "train", "video_id"])
    metrics = json.loads((r / "eval" / "metrics.json").read_text())
    assert metrics["n_queries"] == split["dev"]  # the dev queries, not the test ones (standins.split: dev)
    assert {"query_shuffled", "random_proposal"} <= set(metrics["baselines"])
    # predict.localizer class_scores (the config's choice): psvl ground on the stand-ins' class scores
    assert read_metadata(r / "eval" / "predictions.parquet")["stage"] == "ground"
    assert len(pq.read_table(r / "class_scores" / "00000.parquet")["scores"][0]) == 157
    assert (r / "model" / "best.pt").exists()  # the paper's model is still trained, for the table beside
    proposals = json.loads((r / "eval" / "proposals.json").read_text())
    assert proposals["n_moments"] == split["train"]  # the training videos' real train moments
    assert set(proposals["baselines"]) == {"random", "sliding", "time_only"}
    standins = json.loads((r / "eval" / "standins.json").read_text())
    assert 0 < standins["frame_map"]["value"] < 1 and standins["frame_map"]["band"] == [0.17, 0.20]
    assert standins["detection_rates"]["figures"] and "passed" in standins["detection_rates"]
    release = standins["pseudo_moments"]["release"]
    assert round(release["relative_length_mean"], 3) == 0.314 and round(release["per_video"], 2) == 3.95
    # standins.split: test (the report's run) re-runs only what reads the evaluated queries, same model
    cfg = yaml.safe_load((tmp_path / "tiny_config.yaml").read_text())
    cfg["standins"]["split"] = "test"
    (tmp_path / "tiny_config.yaml").write_text(yaml.safe_dump(cfg))
    plan = run_snakemake(tmp_path, extra=["-n", "--quiet", "rules"], log_name="plan.log")
    assert plan.returncode == 0
    rows = [line.split() for line in (tmp_path / "plan.log").read_text().splitlines()]
    planned = {row[0] for row in rows if len(row) == 2 and row[1].isdigit()}
    assert planned - {"total"} == {"test_queries", "predict", "evaluate", "stats", "all"} | {
        rule for rule in planned if rule.startswith("plot")
    }


def test_full_config_plans_quickly_with_one_standins_job_per_shard(tmp_path):
    cmd = [sys.executable, "-m", "snakemake", "-n", "--quiet", "rules", "--cores", "2"]
    cmd += ["--configfile", str(CONFIG), "--config", f"results={tmp_path}"]
    start = time.monotonic()
    out = subprocess.run(cmd, cwd=REPO, env=run_env(), capture_output=True, text=True, check=True)
    assert time.monotonic() - start < 60
    counts = {line.split()[0]: line.split()[1] for line in out.stdout.splitlines() if len(line.split()) == 2}
    assert counts["standins"] == "7" and counts["proposals"] == "7"  # 6 672 videos, shard_size 1000
    assert "frames" not in counts and "detect" not in counts and "features" not in counts
