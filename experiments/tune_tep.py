"""Proposals (TEP) quality on the synthetic world: recall of all true events, with random and sliding baselines.

Generates a world (`psvl.synth.world_writer.generate`), samples frames and extracts the workflow's default features
(resnet18, weights none, the schema's `frames` defaults) once into --workdir, then sweeps `proposals`
settings given as `key=v1,v2` pairs (the rest: the schema's defaults). Features are cached, so later sweeps take seconds.

    python -m experiments.tune_tep --results results/dev/synthetic atomic_seconds=3,4,6 time_weight=1,2,4
    python -m experiments.tune_tep --videos 64 atomic_seconds=4,5,6,7,8 time_weight=1

Tune on the dev world (config/dev.yaml, seed 101), never on a world whose figures are reported.
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import pandas as pd
import yaml

from psvl.config import default, defaults, preset
from psvl.core.artifacts import write_table
from psvl.features.features import FeaturesConfig, extract_features
from psvl.features.segments import load_features
from psvl.frames.frames import extract_frames
from psvl.proposals.eval_proposals import evaluate_proposals
from psvl.proposals.proposals import ProposalsConfig, propose
from psvl.synth import world_writer


def features_of_world(workdir: Path, videos: int, seed: int) -> Path:
    out = workdir / f"features_{videos}_{seed}.parquet"
    if out.exists():
        return out
    world = workdir / "world"
    world_writer.generate(world, videos=videos, seed=seed)
    t = time.perf_counter()
    size = preset("synthetic")["frames"]["size"]  # the world's own 128 px, as its workflow stores them
    frames = pd.concat([extract_frames(p, p.stem, size=size) for p in sorted(world.glob("videos/*.mp4"))])
    fcfg = default(FeaturesConfig, "features", extractor="resnet18", weights="none")
    feats = extract_features(frames, fcfg, defaults("frames"))
    print(f"frames + features of {videos} videos: {time.perf_counter() - t:.0f} s")
    write_table("features", feats, out, stage="features")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("grid", nargs="*", help="proposals key=v1,v2,... (YAML values)")
    ap.add_argument("--videos", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workdir", type=Path, default=Path("experiments/out/tune_tep"))
    ap.add_argument(
        "--results",
        type=Path,
        help="sweep on a finished workflow run instead (e.g. results/synthetic: its features/*.parquet and "
        "world/events.parquet), so the workflow's own features are tuned on",
    )
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.results:
        feats = load_features(sorted(args.results.glob("features/*.parquet")))
        events = pd.read_parquet(args.results / "world" / "events.parquet")
    else:
        feats = load_features(features_of_world(args.workdir, args.videos, args.seed))
        events = pd.read_parquet(args.workdir / "world" / "events.parquet")
    durations = {vid: float(f.ends[-1]) for vid, f in feats.items()}
    times = {vid: (f.starts, f.ends) for vid, f in feats.items()}  # what time_only clusters
    ann = events.assign(duration_s=events["video_id"].map(durations))
    grid = {
        k: [yaml.safe_load(v) for v in vals.split(",")] for k, vals in (g.split("=", 1) for g in args.grid)
    }
    for values in itertools.product(*grid.values()):
        overrides = dict(zip(grid, values))
        cfg = default(ProposalsConfig, "proposals", **overrides)
        r = evaluate_proposals(propose(feats, cfg, workers=2), ann, cfg, segments=times)
        b = r["baselines"]
        print(
            f"{overrides}: R@0.3 {r['recall@0.3']:.3f} R@0.5 {r['recall@0.5']:.3f} R@0.7 {r['recall@0.7']:.3f} "
            f"| {r['proposals_per_video']:.1f}/video | random R@0.5 {b['random']['recall@0.5']:.3f} "
            f"R@0.7 {b['random']['recall@0.7']:.3f} | sliding R@0.5 {b['sliding']['recall@0.5']:.3f} "
            f"R@0.7 {b['sliding']['recall@0.7']:.3f} | time-only R@0.5 {b['time_only']['recall@0.5']:.3f} "
            f"R@0.7 {b['time_only']['recall@0.7']:.3f}"
        )


if __name__ == "__main__":
    main()
