"""The manifest and shards: listing and shard assignment match what the Snakefile counts at parse time,
test videos are marked by their annotations, and `snakemake -n` over 20 000 videos stays fast with a job
count that grows with shards, not videos."""

from __future__ import annotations

import json
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest
from repo_paths import REPO

from psvl.datasets.manifest import build_manifest
from psvl.datasets.videos import list_videos, shard_names, shard_of


def touch_videos(root: Path, n: int) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (root / f"v{i:05d}.mp4").touch()
    return root


def test_manifest_assigns_shards_in_listing_order_and_marks_test_videos(tmp_path):
    root = touch_videos(tmp_path / "videos", 10)
    (root / "notes.txt").write_text("not a video")
    (root / ".hidden.mp4").touch()
    df = build_manifest(root, "**/*", test_video_ids=["v00003", "v00007", "absent"], shard_size=4)
    assert df["video_id"].tolist() == [f"v{i:05d}" for i in range(10)]
    assert df["shard"].tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 2, 2]
    assert df["shard"].tolist() == [shard_of(i, 4) for i in range(10)]
    assert df["shard"].nunique() == len(shard_names(len(list_videos(root)), 4)) == 3
    assert df.loc[df["split"] == "test", "video_id"].tolist() == ["v00003", "v00007"]
    assert df["path"].tolist() == [str(root / f"v{i:05d}.mp4") for i in range(10)]


def test_relative_videos_dir_gives_relative_paths(tmp_path, monkeypatch):
    touch_videos(tmp_path / "videos", 2)
    monkeypatch.chdir(tmp_path)
    assert build_manifest("videos", "**/*", [], 64)["path"].tolist() == [
        "videos/v00000.mp4",
        "videos/v00001.mp4",
    ]


def test_nested_folders_give_path_ids_and_match_annotations_by_stem(tmp_path):
    root = tmp_path / "videos"
    (root / "a").mkdir(parents=True)
    (root / "b").mkdir()
    (root / "a" / "x1.mp4").touch()
    (root / "b" / "y2.mkv").touch()
    df = build_manifest(root, "**/*", test_video_ids=["y2"], shard_size=64)
    assert df["video_id"].tolist() == ["a/x1", "b/y2"]
    assert df["split"].tolist() == ["train", "test"]
    assert df["shard"].tolist() == [0, 0]


def test_glob_selects_videos(tmp_path):
    root = touch_videos(tmp_path / "videos", 3)
    (root / "clip.mkv").touch()
    assert build_manifest(root, "*.mkv", [], 2)["video_id"].tolist() == ["clip"]


def _dry_run(
    workdir: Path, videos_dir: Path, corpus: Path, shard_size: int
) -> tuple[float, float, dict[str, int]]:
    cfg = workdir.parent / f"{workdir.name}.yaml"
    dataset = {"name": "custom", "videos_dir": str(videos_dir), "corpus": str(corpus)}
    detector = {"weights": "none"}  # DEFAULT would need COCO weights in the torch hub cache
    features = {"extractor": "resnet18", "weights": "none"}
    cfg.write_text(
        json.dumps({"dataset": dataset, "detector": detector, "features": features, "shard_size": shard_size})
    )
    cmd = [
        sys.executable, "-m", "snakemake", "-n", "--quiet", "rules", "host", "reason",
        "-s", str(REPO / "Snakefile"), "-d", str(workdir), "--configfile", str(cfg),
    ]  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=REPO)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    table = r.stdout.split("Job stats:")[1]
    counts = {m[0]: int(m[1]) for m in re.findall(r"^(\w+)\s+(\d+)$", table, flags=re.MULTILINE)}
    return wall, cpu, counts


@pytest.mark.slow
def test_dry_run_over_20000_videos_is_fast_and_jobs_grow_with_shards(tmp_path):
    many = touch_videos(tmp_path / "many", 20_000)
    few = touch_videos(tmp_path / "few", 2_000)
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("a person opens the door\n")
    wall, cpu, big = _dry_run(tmp_path / "w1", many, corpus, shard_size=64)
    # 15 s is the budget; on a shared 2-core box wall time also counts waiting for other processes
    # (about 10 s wall, 4 s CPU here), so CPU time gets the budget and wall time a looser bound.
    assert cpu < 15, f"snakemake -n over 20 000 videos used {cpu:.1f} s CPU"
    assert wall < 60, f"snakemake -n over 20 000 videos took {wall:.1f} s wall"
    assert big["frames"] == big["features"] == 313  # ceil(20000 / 64) shard jobs, not 20000 video jobs
    _, _, coarse = _dry_run(tmp_path / "w2", many, corpus, shard_size=640)
    _, _, small = _dry_run(tmp_path / "w3", few, corpus, shard_size=64)
    assert coarse["frames"] == small["frames"] == 32
    assert coarse["total"] == small["total"]  # 10x the videos, same shards: the same DAG
    per_shard_rules = sum(1 for k, v in big.items() if k != "total" and v == 313)
    assert big["total"] - coarse["total"] == per_shard_rules * (313 - 32)
