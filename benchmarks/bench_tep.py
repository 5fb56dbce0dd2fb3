"""Proposals (TEP) speed: time per video at 128 and 1024 segments, and 10 000 videos of 128 segments on 2 cores.

Compares the shipped path (BLAS/OpenMP pinned to one thread per video, videos spread over worker
processes) with the peer a first implementation would write: the same k-means settings, but sklearn and
BLAS left at their default threading inside each tiny per-video call. Features are piecewise-constant 512-d vectors plus noise (3 events per
video); timings do not depend on what the features show. Medians of --repeats runs are printed.

    python -m benchmarks.bench_tep                 # ~1 minute: per-video timings + 10k extrapolation
    python -m benchmarks.bench_tep --videos 10000  # measure the 10 000-video run for real
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from benchmarks._timing import Timing, timed
from psvl.config import default
from psvl.features.segments import VideoFeatures
from psvl.proposals.proposals import ProposalsConfig, propose, propose_video


def world(n_videos: int, n_segments: int, dim: int = 512, seed: int = 0) -> dict[str, tuple]:
    rng = np.random.default_rng(seed)
    out = {}
    for v in range(n_videos):
        label = np.sort(rng.integers(0, 3, n_segments))
        x = (rng.normal(size=(3, dim)) + 2)[label] + rng.normal(size=(n_segments, dim))
        starts = np.arange(n_segments) * 0.5
        out[f"v{v:05d}"] = VideoFeatures(x.astype(np.float32), starts, starts + 0.5)
    return out


def ms_per_video(fn, n_videos: int, repeats: int) -> Timing:
    """Median wall and CPU milliseconds per video of `fn()` (CPU time: this process only)."""
    return timed(fn, repeats, per=n_videos / 1000, children=False)


def peer(feats: dict, cfg: ProposalsConfig) -> None:
    """The same TEP with sklearn/BLAS default threading inside every per-video call (no pinning)."""
    for vid, f in feats.items():
        propose_video(vid, f.array, f.starts, f.ends, cfg)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--videos", type=int, default=0, help="also time this many 128-segment videos end to end")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args()
    cfg = default(ProposalsConfig, "proposals")  # the shipped defaults, from the config schema
    load = os.getloadavg()[0]
    print(f"{os.cpu_count()} cores, load average {load:.1f} (wall times stretch with load; CPU times do not)")
    propose(world(2, 128), cfg)  # warm-up: imports
    rows = []
    for n_seg, n_vid in ((128, 64), (1024, 4)):
        feats = world(n_vid, n_seg)
        ours = ms_per_video(lambda f=feats: propose(f, cfg), n_vid, args.repeats)
        few = dict(list(feats.items())[: max(2, n_vid // 4)])
        theirs = ms_per_video(lambda f=few: peer(f, cfg), len(few), 1)
        rows.append((n_seg, ours, theirs))
        print(
            f"{n_seg:5d} segments: {ours.wall:8.1f} ms wall, {ours.cpu:7.1f} ms CPU per video | peer (library "
            f"threading per call): {theirs.wall:8.1f} ms wall, {theirs.cpu:7.1f} ms CPU | wall ratio "
            f"{theirs.wall / ours.wall:.1f}x"
        )
    print(
        f"1024 vs 128 segments: {rows[1][1].cpu / rows[0][1].cpu:.1f}x CPU time for 8x segments "
        "(the T x T similarity alone is 64x the work)"
    )
    cpu_128 = rows[0][1].cpu
    print(
        f"10 000 videos x 128 segments, {args.workers} workers: ~{cpu_128 * 10:.0f} s CPU -> "
        f"~{cpu_128 * 10 / args.workers:.0f} s on {args.workers} idle cores (target < 180 s)"
    )
    many = world(512, 128, seed=1)
    wall = ms_per_video(lambda: propose(many, cfg, workers=args.workers), len(many), 1).wall
    print(
        f"measured with {args.workers} worker processes under the current load: {wall:.2f} ms/video wall -> "
        f"10 000 videos ~ {wall * 10:.0f} s"
    )
    if args.videos:
        feats = world(args.videos, 128, seed=2)
        t = time.perf_counter()
        propose(feats, cfg, workers=args.workers)
        print(
            f"measured: {args.videos} videos x 128 segments in {time.perf_counter() - t:.1f} s "
            f"with {args.workers} workers"
        )


if __name__ == "__main__":
    main()
