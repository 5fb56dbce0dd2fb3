"""The release path at real scale, without the real features: stand-ins of the real shapes for every
video needed (benchmarks/release_standins.py), then the release DAG end to end with one short epoch.

Prints, per dataset: stand-in bytes on disk, each job's seconds and peak memory (Snakemake's benchmark
files), training seconds per step at the paper's width (256) and batch (256) and the epoch that implies
over all of PSVL's 12 523 pseudo-labels, the queries predicted and counted in metrics.json, the priors,
the unknown-word share; then `snakemake -n` over the raw-video DAG of the 9 848 Charades videos (empty
stand-in mp4 files) and the unknown share of PSVL's released vocabulary against Charades-STA test.

    python -m benchmarks.bench_release_scale                      # Charades, ActivityNet, dry run
    python -m benchmarks.bench_release_scale --only charades --train-queries 0   # a full epoch
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import yaml

from benchmarks import release_standins as standins
from benchmarks._timing import dry_run

REPO = standins.REPO


def _run(cmd: list[str], cwd: Path, env: dict | None = None) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode:
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return time.perf_counter() - t0


def _snakemake(workdir: Path, config: Path, *extra: str) -> float:
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
    ]
    return _run([*cmd, "--configfile", str(config), "--cores", "2", *extra], workdir, _env())


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "MPLBACKEND": "Agg", "PSVL_QUIET": "1"}


def _jobs(workdir: Path) -> dict[str, tuple[float, float]]:
    """{rule: (seconds, max RSS MB)} from Snakemake's benchmark files."""
    out = {}
    for tsv in sorted((workdir / "benchmarks/out/psvl_release").glob("*.tsv")):
        row = list(csv.DictReader(tsv.open(), delimiter="\t"))[-1]
        out[tsv.stem] = (float(row["s"]), float(row["max_rss"]) if row["max_rss"] != "NA" else math.nan)
    return out


def release(name: str, made: dict, workdir: Path) -> None:
    cfg = yaml.safe_load(made["config"].read_text())
    cfg["results"] = "results"
    cfg["train"].update(epochs=1, threads=2)  # width and batch stay the paper's (the schema's 256, 256)
    config = workdir / "release.yaml"
    config.write_text(yaml.safe_dump(cfg))
    wall = _snakemake(workdir, config)
    out = workdir / "results/psvl_release"
    metrics = json.loads((out / "eval/metrics.json").read_text())
    seconds = float(pd.read_parquet(out / "model/train_log.parquet")["seconds"].iloc[0])
    n_train = int(
        re.search(r"training on (\d+) queries", (workdir / "logs/psvl_release/train.log").read_text())[1]
    )
    steps = math.ceil(n_train / 256)
    per_step = seconds / steps
    n_all_pseudo = made["pseudo_all"]
    full_steps = math.ceil(n_all_pseudo * 0.9 / 256)
    print(f"\n== {name}: {made['videos']} videos, {made['bytes'] / 2**30:.2f} GiB of stand-in features, "
          f"{made['pseudo']} pseudo-labels, {made['test_queries']} test queries; DAG {wall:.0f} s")  # fmt: skip
    for rule, (sec, rss) in _jobs(workdir).items():
        print(f"  {rule:<16} {sec:8.1f} s  peak {rss:8.0f} MB")
    print(f"  train: {seconds:.1f} s for {steps} steps (1 epoch, validation included) = {per_step:.1f} s/step (width 256, batch 256, "
          f"2 threads); an epoch of {n_all_pseudo} pseudo-labels ({full_steps} steps): ~{per_step * full_steps:.0f} s")  # fmt: skip
    adj = metrics["adjustments"]
    print(f"  metrics.json: n_queries {metrics['n_queries']}, missing {adj['missing_prediction']}, "
          f"true moments clipped to the video {adj['gt_clipped_to_duration']}, R@0.5 {metrics['R@0.5']:.3f}, "
          f"mean_moment R@0.5 {metrics['baselines']['mean_moment']['R@0.5']:.3f}, "
          f"fixed_window {metrics['baselines']['fixed_window']['window']} "
          f"R@0.5 {metrics['baselines']['fixed_window']['R@0.5']:.3f}")  # fmt: skip
    unk, split = metrics["unknown_words"], metrics["by_vocabulary"]
    print(f"  unknown to the model: {unk['token_share']:.1%} of tokens, {unk['query_share']:.1%} of queries; "
          f"in vocabulary n={split['in_vocabulary']['n']}, with unknown n={split['with_unknown']['n']}")  # fmt: skip


_MEMORY = """
import dataclasses, json, resource, sys, numpy as np, pandas as pd
from psvl.datasets.psvl_json import read_pseudo_queries
from psvl.features.precomputed import PrecomputedFeatures
from psvl.localization.batches import QueryDataset
from psvl.localization.vocab import Vocab
queries = read_pseudo_queries(sys.argv[1])
durations = queries.groupby("video_id")["duration_s"].first().to_dict()
features = PrecomputedFeatures(sys.argv[2], durations)
if sys.argv[3] == "eager":
    features = {v: dataclasses.replace(f, array=np.array(f.array, np.float32)) for v, f in features.items()}
data = QueryDataset(queries, features, Vocab.build(queries["tokens"]), 128, 10)
data.feature_stats()
for i in range(0, 2048, 256):
    data.collate(range(i, i + 256))
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def memory(workdir: Path, data: Path) -> None:
    """Peak memory of reading every video of the whole release (QueryDataset, its normalization
    statistics and 8 batches of 256): lazily vs every array loaded first."""
    made = standins.charades(workdir, data, n_test_queries=1, all_videos=True)
    feats = workdir / "features"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    peaks = {}
    for how in ("lazy", "eager"):
        cmd = [sys.executable, "-c", _MEMORY, str(workdir / "pseudo_labels.json"), str(feats), how]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
        peaks[how] = float(proc.stdout.split()[-1])
    print(f"\n== memory: {made['videos']} Charades videos, {made['bytes'] / 2**30:.2f} GiB of features: peak "
          f"{peaks['lazy']:.0f} MB read lazily vs {peaks['eager']:.0f} MB loaded first")  # fmt: skip


def raw_video_plan(workdir: Path, data: Path) -> None:
    """`snakemake -n` over the full raw-video DAG of the 9 848 Charades videos (empty mp4 stand-ins)."""
    ids = sorted(json.loads((data / "charades-sta/charades.json").read_text()))
    videos = workdir / "videos"
    standins.empty_videos(videos, ids)
    cfg = yaml.safe_load((REPO / "config/charades_sta.yaml").read_text())
    root = data / "charades-sta"
    cfg["dataset"].update(
        videos_dir=str(videos),
        annotations=str(root / "charades_sta_test.txt"),
        train_annotations=str(root / "charades_sta_train.txt"),
        durations=str(root / "charades.json"),
        corpus=str(root / "charades_sta_train.txt"),
    )
    config = workdir / "raw.yaml"
    config.write_text(yaml.safe_dump(cfg))
    os.environ["PSVL_DOWNLOAD_WEIGHTS"] = "1"  # listing only: no weights are read
    for label, weights in (("shipped config", None), ("weights: none (no torchvision import)", "none")):
        if weights:
            cfg["features"]["weights"] = cfg["detector"]["weights"] = weights
            config.write_text(yaml.safe_dump(cfg))
        for _ in range(2):
            plan = dry_run(workdir, config, _env())
            print(f"== dry run (snakemake -n), raw-video DAG of {len(ids)} Charades videos in "
                  f"{math.ceil(len(ids) / cfg.get('shard_size', 64))} shards, {label}: {plan.wall:.1f} s wall, "
                  f"{plan.cpu:.1f} s CPU (load average {os.getloadavg()[0]:.1f})")  # fmt: skip


def release_vocabulary(data: Path, workdir: Path) -> None:
    """PSVL's whole released vocabulary against the Charades-STA test queries (simplified as ours)."""
    from psvl.cli import main
    from psvl.evaluation.vocabulary import unknown_words

    release_ = json.loads((data / "psvl-reference/charades_train_pseudo_supervision_TEP_PS.json").read_text())
    known = {t for item in release_ for t in item["tokens"]}
    ann, test = workdir / "annotations.parquet", workdir / "test_queries.parquet"
    root = data / "charades-sta"
    main(
        [
            "annotations",
            "--test",
            str(root / "charades_sta_test.txt"),
            "--durations",
            str(root / "charades.json"),
            "--out",
            str(ann),
        ]
    )
    main(["test-queries", "--annotations", str(ann), "--split", "test", "--out", str(test)])
    got = unknown_words(pd.read_parquet(test)["tokens"], known)
    print(f"\n== PSVL's released vocabulary ({len(known)} words) vs Charades-STA test: {got['token_share']:.1%} "
          f"of {got['n_tokens']} tokens and {got['query_share']:.1%} of {got['n_queries']} queries unknown")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared/data")
    parser.add_argument("--work", type=Path, default=Path("/tmp/psvl_release_scale"))
    parser.add_argument(
        "--train-queries", type=int, default=1024, help="pseudo-labels of the short epoch (0: all)"
    )
    parser.add_argument("--anet-test-videos", type=int, default=0, help="ActivityNet val videos (0: all)")
    parser.add_argument("--only", choices=["charades", "activitynet", "dry-run", "vocabulary", "memory"])
    args = parser.parse_args()
    n = args.train_queries or None
    if args.only in (None, "vocabulary"):
        release_vocabulary(args.data, args.work / "vocabulary")
    if args.only in (None, "charades"):
        t0 = time.perf_counter()
        made = standins.charades(args.work / "charades/in", args.data, n_pseudo=n, all_videos=True)
        print(f"charades stand-ins written in {time.perf_counter() - t0:.0f} s")
        release("Charades-STA (I3D-like .npy, 1024-d, 1.5/s)", made, args.work / "charades")
    if args.only in (None, "activitynet"):
        t0 = time.perf_counter()
        made = standins.activitynet(
            args.work / "activitynet/in",
            args.data,
            args.anet_test_videos or None,
            n_pseudo=n,
            all_videos=True,
        )
        print(f"activitynet stand-ins written in {time.perf_counter() - t0:.0f} s")
        release("ActivityNet Captions (C3D-like HDF5, 500-d, 1/s)", made, args.work / "activitynet")
    if args.only in (None, "memory"):
        memory(args.work / "memory", args.data)
    if args.only in (None, "dry-run"):
        raw_video_plan(args.work / "dry_run", args.data)


if __name__ == "__main__":
    main()
