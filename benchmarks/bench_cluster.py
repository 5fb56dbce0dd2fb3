"""What sharding buys the scheduler: time for `snakemake -n` to plan a `custom` dataset of N videos with
shards of 64 videos (the default) against the peer design of one job per video (shard_size 1); or, with
`--base-ref`, this checkout's planning against another commit's (the same dataset, runs alternating).

    python -m benchmarks.bench_cluster                 # 1000 videos, 3 repeats (about a minute)
    python -m benchmarks.bench_cluster --videos 20000  # the issue's scale (per-video peer: minutes)
    python -m benchmarks.bench_cluster --videos 20000 --base-ref 8665810 --repeats 5   # vs a commit

Prints, per design (or per checkout): jobs, median wall seconds and median CPU seconds (user+sys of
snakemake: what the planning costs, without the waiting a shared machine adds), and their ratios. The
base commit is exported with `git archive` into a temporary folder and planned with its own Snakefile
and package (PYTHONPATH), so both figures come from the same machine, folder and minute.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

import yaml

from benchmarks._timing import REPO, DryRun, dry_run


def plan(root: Path, shard_size: int, repo: Path = REPO) -> DryRun:
    """One `snakemake -n` over the videos under root/videos, with `repo`'s Snakefile and package."""
    workdir = Path(tempfile.mkdtemp(dir=root))
    return dry_run(workdir, _config(root, workdir, shard_size), _env(repo), repo=repo)


def shards_job(root: Path, shard_size: int, repo: Path, repeats: int) -> float:
    """Median CPU seconds of one `shards` job (the middle shard) of `repo`'s workflow: its command as a
    dry run prints it (`-p`, so either commit's own arguments), run by itself `repeats` times."""
    workdir = Path(tempfile.mkdtemp(dir=root))
    config = _config(root, workdir, shard_size)
    shard = f"{len(list((root / 'videos').iterdir())) // shard_size // 2:05d}"
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(repo / "Snakefile"), "--directory",
           str(workdir), "--configfile", str(config), "-n", "-p", "--cores", "1",
           f"results/custom/shards/{shard}.tsv"]  # fmt: skip
    proc = subprocess.run(cmd, cwd=workdir, env=_env(repo), capture_output=True, text=True, check=True)
    text = proc.stdout + proc.stderr  # snakemake 9: "Shell command: psvl shards ... > log 2>&1"
    line = next(x for x in text.splitlines() if "psvl shards " in x)
    job = line[line.index("psvl shards ") :].split(" > ")[0]  # its log redirection aside
    cpus = []
    for _ in range(repeats):
        c0 = _children_cpu()
        subprocess.run(["bash", "-c", job], cwd=workdir, env=_env(repo), check=True, capture_output=True)
        cpus.append(_children_cpu() - c0)
    return statistics.median(cpus)


def _config(root: Path, workdir: Path, shard_size: int) -> Path:
    config = {
        "dataset": {"name": "custom", "videos_dir": str(root / "videos"), "corpus": str(root / "corpus.txt")},
        "detector": {"weights": "none"},
        "features": {"weights": "none"},  # planning reads no weights; without this the plan asks for them
        "shard_size": shard_size,
    }
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    return workdir / "config.yaml"


def _env(repo: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(repo), "PSVL_QUIET": "1"}


def _children_cpu() -> float:
    u = resource.getrusage(resource.RUSAGE_CHILDREN)
    return u.ru_utime + u.ru_stime


def export(ref: str, into: Path) -> Path:
    """The tree of commit `ref` of this repository, written under `into` (no worktree, no checkout)."""
    tar = into / "base.tar"
    with open(tar, "wb") as fh:
        subprocess.run(["git", "-C", str(REPO), "archive", ref], stdout=fh, check=True)
    tree = into / "base"
    with tarfile.open(tar) as archive:
        archive.extractall(tree, filter="data")
    return tree


def medians(name: str, size: int, runs: list[DryRun]) -> tuple[int, float, float]:
    jobs, wall, cpu = (
        runs[0].jobs,
        statistics.median(r.wall for r in runs),
        statistics.median(r.cpu for r in runs),
    )
    print(f"{name:>24} (shard_size {size:>3}): {jobs:>6} jobs, median {wall:6.2f} s wall, {cpu:6.2f} s CPU")
    return jobs, wall, cpu


def alternate(designs: dict[str, Callable[[], DryRun]], repeats: int) -> dict[str, list[DryRun]]:
    """`repeats` runs of each design, taken in turn, so a change in the machine's load hits both."""
    runs: dict[str, list[DryRun]] = {name: [] for name in designs}
    for _ in range(repeats):
        for name, run in designs.items():
            runs[name].append(run())
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--shard-size", type=int, default=64)
    parser.add_argument(
        "--base-ref", help="a commit to plan beside this checkout (instead of the per-video peer)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "videos").mkdir()
        for i in range(args.videos):
            (root / "videos" / f"clip {i:05d}.mp4").touch()
        (root / "corpus.txt").write_text("a person opens the door.\n")
        size = args.shard_size
        if args.base_ref:
            base = export(args.base_ref, root)
            short = subprocess.run(
                ["git", "-C", str(REPO), "rev-parse", "--short", args.base_ref],
                capture_output=True, text=True, check=True,
            ).stdout.strip()  # fmt: skip
            label = f"base {short}"
            runs = alternate(
                {label: lambda: plan(root, size, base), "this checkout": lambda: plan(root, size)},
                args.repeats,
            )
            (jb, wb, cb), (jh, wh, ch) = (medians(name, size, r) for name, r in runs.items())
            print(
                f"{args.videos} videos, {args.repeats} repeats each: base / this checkout = {wb / wh:.2f}x wall, "
                f"{cb / ch:.2f}x CPU ({jb} vs {jh} jobs; load average {os.getloadavg()[0]:.1f})"
            )
            n_shards = math.ceil(args.videos / size)
            jobs = {
                name: shards_job(root, size, tree, args.repeats)
                for name, tree in ((label, base), ("this checkout", REPO))
            }
            (_, sb), (_, sh) = jobs.items()
            print(
                f"one shards job: {label} {sb:.2f} s CPU, this checkout {sh:.2f} s CPU (median of {args.repeats}); "
                f"a run's {n_shards} shards jobs: {sb * n_shards:.0f} vs {sh * n_shards:.0f} s CPU ({sb / sh:.1f}x)"
            )
            return
        runs = alternate(
            {"shards": lambda: plan(root, size), "per-video": lambda: plan(root, 1)}, args.repeats
        )
        (js, ws, cs), (jv, wv, cv) = (medians(name, s, r) for (name, r), s in zip(runs.items(), (size, 1)))
    print(
        f"{args.videos} videos, {args.repeats} repeats: per-video / shards = {jv / js:.1f}x jobs, "
        f"{wv / ws:.2f}x wall, {cv / cs:.2f}x CPU"
    )


if __name__ == "__main__":
    main()
