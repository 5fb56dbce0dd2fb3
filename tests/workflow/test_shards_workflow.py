"""A growing collection through the real workflow: after a finished 3-shard custom run, adding one video
runs only its new shard's per-video stages (plus the merged manifest); touching the folder or adding a
non-video file plans nothing; replacing or removing a video reruns only its own shard. Checked with the job
list of a dry run and with the output mtimes after a real run."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from video_fixtures import write_video
from workflow_helpers import mtimes, run_snakemake, write_config

pytestmark = pytest.mark.slow

OUT = Path("results") / "custom"
PER_SHARD = ("frames", "features", "detections", "proposals")
SHARD_RULES = ("shards", "frames", "features", "detect", "proposals")


def _targets(shards: list[str]) -> list[str]:
    return [str(OUT / "manifest.parquet")] + [
        str(OUT / d / f"{s}.parquet") for s in shards for d in PER_SHARD
    ]


def _planned(workdir: Path, shards: list[str]) -> dict[str, list[str]]:
    """rule -> shards (or '-') of the jobs a dry run plans for the run's targets."""
    proc = run_snakemake(workdir, _targets(shards), extra=["-n"], log_name="dry.log")
    assert proc.returncode == 0
    text = (workdir / "dry.log").read_text()
    jobs: dict[str, list[str]] = {}
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", text):
        m = re.match(r"(?:local)?rule (\w+):", block)
        if m:
            shard = re.search(r"wildcards: shard=(\d{5})", block)
            jobs.setdefault(m.group(1), []).append(shard.group(1) if shard else "-")
    return {rule: sorted(v) for rule, v in jobs.items()}


def test_a_growing_folder_reruns_only_the_shards_that_changed(tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    for i in range(5):  # shards of 2: 00000 (v0, v1), 00001 (v2, v3), 00002 (v4)
        write_video(videos / f"v{i} clip.mp4", seconds=2.0)
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("a person opens the door\n")
    workdir = tmp_path / "run"
    dataset = {"name": "custom", "videos_dir": str(videos), "corpus": str(corpus)}
    overrides = {
        "detector": {"weights": "none", "score_threshold": 0.0, "input_size": 32},  # not its own 800 px
        "features": {"extractor": "resnet18", "weights": "none"},
        "frames": {"fps": 1.0, "size": 32},
    }
    write_config(workdir, {"dataset": dataset, "shard_size": 2, **overrides})
    three = ["00000", "00001", "00002"]
    run_snakemake(workdir, _targets(three))

    # (b) touching the folder or adding a non-video file: nothing to do
    (videos / "notes.txt").write_text("not a video\n")
    os.utime(videos)
    assert _planned(workdir, three) == {}

    # (a) one new video: only its new shard, plus the merged manifest. "v0b" sorts between v0 and v1,
    # so a listing cut into shards would have moved every later video.
    write_video(videos / "v0b clip.mp4", seconds=2.0)
    four = [*three, "00003"]
    assert _planned(workdir, four) == {rule: ["00003"] for rule in SHARD_RULES} | {"manifest": ["-"]}
    kept = mtimes(workdir, f"{OUT}/*/0000[012].parquet")
    run_snakemake(workdir, _targets(four))
    assert mtimes(workdir, f"{OUT}/*/0000[012].parquet") == kept
    assert "v0b clip" in (workdir / OUT / "shards" / "00003.tsv").read_text()

    # (c) one video's content replaced: only its shard
    write_video(videos / "v2 clip.mp4", seconds=3.0)
    assert _planned(workdir, four) == {rule: ["00001"] for rule in SHARD_RULES} | {"manifest": ["-"]}
    kept = mtimes(workdir, f"{OUT}/*/0000[023].parquet")
    run_snakemake(workdir, _targets(four))
    assert mtimes(workdir, f"{OUT}/*/0000[023].parquet") == kept

    # (d) one video removed: only its shard
    (videos / "v1 clip.mp4").unlink()
    assert _planned(workdir, four) == {rule: ["00000"] for rule in SHARD_RULES} | {"manifest": ["-"]}
    kept = mtimes(workdir, f"{OUT}/*/0000[123].parquet")
    run_snakemake(workdir, _targets(four))
    assert mtimes(workdir, f"{OUT}/*/0000[123].parquet") == kept
    assert "v1 clip" not in (workdir / OUT / "shards" / "00000.tsv").read_text()
    assert _planned(workdir, four) == {}


def _plan_fails_before_any_job(tmp_path, videos, corpus) -> str:
    """Dry-run a custom dataset; assert it failed with no job planned; return snakemake's log."""
    dataset = {"name": "custom", "videos_dir": str(videos), "corpus": str(corpus)}
    workdir = tmp_path / "run"
    write_config(workdir, {"dataset": dataset, "detector": {"weights": "none"}})
    proc = run_snakemake(workdir, extra=["-n"], check=False)
    log = (workdir / "snakemake.log").read_text()
    assert proc.returncode != 0 and "rule " not in log  # no job was planned, let alone run
    return log


@pytest.mark.parametrize("case", ["missing", "empty"])
def test_a_missing_or_empty_videos_folder_stops_before_any_job_with_one_line(tmp_path, case):
    videos = tmp_path / "videos"
    if case == "empty":
        videos.mkdir()
        (videos / "notes.txt").write_text("not a video\n")
    log = _plan_fails_before_any_job(tmp_path, videos, tmp_path / "corpus.txt")
    why = "does not exist" if case == "missing" else "no videos under"
    assert "config.dataset.videos_dir: " in log and why in log
    if case == "empty":
        assert "1 files under" in log and "notes.txt" in log


@pytest.mark.parametrize("case", ["missing", "empty"])
def test_a_missing_or_empty_corpus_stops_before_any_job_with_one_line(tmp_path, case):
    videos = tmp_path / "videos"
    videos.mkdir()
    write_video(videos / "v0.mp4", seconds=1.0)
    corpus = tmp_path / "corpus.txt"
    if case == "empty":
        corpus.write_text("\n  \n")
    log = _plan_fails_before_any_job(tmp_path, videos, corpus)
    why = "does not exist" if case == "missing" else "is empty"
    assert f"config.dataset.corpus: {corpus} {why}" in log
