"""`psvl eval-proposals`: recall of true moments by proposals, with random, sliding and time-only baselines."""

from __future__ import annotations

import argparse
import logging

from psvl.commands._common import add_config_arguments, load_config
from psvl.core.artifacts import concat_tables, write_json
from psvl.datasets import read_annotations
from psvl.proposals.eval_proposals import durations_of, evaluate_proposals, segment_times, uniform_segments

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--proposals", required=True, nargs="+", help="proposals/{shard}.parquet files")
    parser.add_argument("--annotations", required=True, help="annotations in any supported format")
    parser.add_argument("--out", required=True, help="eval/proposals.json to write")
    parser.add_argument(
        "--features",
        nargs="+",
        help="features/{shard}.parquet files: the segment times the time_only baseline clusters (only the "
        "time columns are read); without them, a uniform grid of features.segment_seconds or 1/frames.fps",
    )
    add_config_arguments(parser)


def run(args: argparse.Namespace) -> int:
    cfg = load_config(args)
    proposals = concat_tables("proposals", args.proposals).to_pandas()
    annotations = read_annotations(args.annotations)
    if args.features:
        segments, grid = segment_times(args.features), "features"
    else:
        step = float(cfg["features"].get("segment_seconds") or 1.0 / float(cfg["frames"]["fps"]))
        segments = uniform_segments(durations_of(proposals, annotations), step)
        grid = f"uniform {step:g} s"
    report = evaluate_proposals(proposals, annotations, cfg["proposals"], segments)
    report["baselines"]["time_only"]["segments"] = grid
    write_json(report, args.out)
    others = ", ".join(f"{m} {b['recall@0.5']:.3f}" for m, b in report["baselines"].items())
    print(
        f"recall@0.5 {report['recall@0.5']:.3f} ({others}) at {report['proposals_per_video']:.1f} proposals/video"
    )
    return 0
