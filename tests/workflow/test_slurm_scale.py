"""Scale: shards, not per-video jobs, keep the DAG of a 20 000-video dataset small and quick to build."""

from __future__ import annotations

import math
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from workflow_helpers import SNAKEFILE, run_env

pytestmark = pytest.mark.slow

N_VIDEOS = 20_000
SHARD_RULES = ("shards", "frames", "features", "detect", "proposals")


@pytest.fixture(scope="module")
def big_custom_dataset(tmp_path_factory) -> Path:
    """20 000 (empty) video files and a one-line corpus: a dry run lists files, it never opens them."""
    root = tmp_path_factory.mktemp("scale")
    videos = root / "videos"
    videos.mkdir()
    for i in range(N_VIDEOS):
        (videos / f"clip {i:05d}.mp4").touch()  # a space in every name, as real datasets have
    (root / "corpus.txt").write_text("a person opens the door.\n")
    return root


def _dry_run(root: Path, shard_size: int) -> tuple[dict[str, int], float, float]:
    """Job counts per rule, wall seconds and CPU seconds of `snakemake -n` on the big dataset."""
    workdir = root / f"run{shard_size}"
    workdir.mkdir()
    config = {
        "dataset": {"name": "custom", "videos_dir": str(root / "videos"), "corpus": str(root / "corpus.txt")},
        "detector": {"weights": "none"},  # DEFAULT would need COCO weights in the torch hub cache
        "features": {"extractor": "resnet18", "weights": "none"},
        "shard_size": shard_size,
    }
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.run(
        ["timeout", "-k", "10", "300", sys.executable, "-m", "snakemake", "--snakefile", str(SNAKEFILE),
         "--directory", str(workdir), "--configfile", str(workdir / "config.yaml"), "-n", "--quiet", "rules"],
        capture_output=True, text=True, env=run_env(), check=False,
    )  # fmt: skip
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    table = (out.stdout + out.stderr).split("Job stats:")[-1]
    counts = {rule: int(n) for rule, n in re.findall(r"^(\w+)\s+(\d+)\s*$", table, re.MULTILINE)}
    return counts, wall, cpu


def test_dry_run_of_20000_videos_is_quick_and_jobs_grow_with_shards_not_videos(big_custom_dataset, capsys):
    small, wall64, cpu64 = _dry_run(big_custom_dataset, 64)
    large, wall256, cpu256 = _dry_run(big_custom_dataset, 256)
    with capsys.disabled():
        print(
            f"\ndry run, {N_VIDEOS} videos: shard_size 64 -> {small['total']} jobs in {wall64:.1f} s wall "
            f"({cpu64:.1f} s CPU); shard_size 256 -> {large['total']} jobs in {wall256:.1f} s ({cpu256:.1f} s CPU)"
        )
    for counts, size in ((small, 64), (large, 256)):
        shards = math.ceil(N_VIDEOS / size)
        assert {rule: counts[rule] for rule in SHARD_RULES} == dict.fromkeys(SHARD_RULES, shards)
    # Everything else is one job per dataset: the totals differ only by the shard jobs.
    per_dataset = small["total"] - len(SHARD_RULES) * math.ceil(N_VIDEOS / 64)
    assert per_dataset == large["total"] - len(SHARD_RULES) * math.ceil(N_VIDEOS / 256)
    assert per_dataset < 25
    # The budget is 15 s; CPU time is what the DAG costs (wall time on a shared CI box also counts
    # waiting for other processes, so it gets a looser bound).
    assert cpu64 < 15, f"dry run used {cpu64:.1f} s CPU"
    assert wall64 < 60, f"dry run took {wall64:.1f} s wall"
