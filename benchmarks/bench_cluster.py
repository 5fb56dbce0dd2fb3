"""What sharding buys the scheduler: time for `snakemake -n` to plan a `custom` dataset of N videos with
shards of 64 videos (the default) against the peer design of one job per video (shard_size 1).

    python -m benchmarks.bench_cluster                 # 1000 videos, 3 repeats (about a minute)
    python -m benchmarks.bench_cluster --videos 20000  # the issue's scale (per-video peer: minutes)

Prints, per design: jobs, median wall seconds and median CPU seconds (user+sys of snakemake: what the
planning costs, without the waiting a shared machine adds), and the per-video / shard ratios.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import yaml

from benchmarks._timing import DryRun, dry_run


def plan(root: Path, shard_size: int) -> DryRun:
    """One `snakemake -n` over the videos under root/videos."""
    workdir = Path(tempfile.mkdtemp(dir=root))
    config = {
        "dataset": {"name": "custom", "videos_dir": str(root / "videos"), "corpus": str(root / "corpus.txt")},
        "detector": {"weights": "none"},
        "features": {"weights": "none"},  # planning reads no weights; without this the plan asks for them
        "shard_size": shard_size,
    }
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    return dry_run(workdir, workdir / "config.yaml")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--shard-size", type=int, default=64)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "videos").mkdir()
        for i in range(args.videos):
            (root / "videos" / f"clip {i:05d}.mp4").touch()
        (root / "corpus.txt").write_text("a person opens the door.\n")
        results = {}
        for name, size in (("shards", args.shard_size), ("per-video", 1)):
            runs = [plan(root, size) for _ in range(args.repeats)]
            jobs = runs[0].jobs
            wall = statistics.median(r.wall for r in runs)
            cpu = statistics.median(r.cpu for r in runs)
            results[name] = (jobs, wall, cpu)
            print(
                f"{name:>9} (shard_size {size:>3}): {jobs:>6} jobs, median {wall:6.2f} s wall, {cpu:6.2f} s CPU"
            )
    (js, ws, cs), (jv, wv, cv) = results["shards"], results["per-video"]
    print(
        f"{args.videos} videos, {args.repeats} repeats: per-video / shards = {jv / js:.1f}x jobs, "
        f"{wv / ws:.2f}x wall, {cv / cs:.2f}x CPU"
    )


if __name__ == "__main__":
    main()
