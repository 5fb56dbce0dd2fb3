"""`psvl eval-proposals`: recall of true moments by proposals, with random and sliding baselines."""

from __future__ import annotations

import argparse
import logging

from psvl.commands._common import add_config_arguments, load_config
from psvl.core.artifacts import concat_tables, write_json
from psvl.datasets import read_annotations
from psvl.proposals.eval_proposals import evaluate_proposals

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--proposals", required=True, nargs="+", help="proposals/{shard}.parquet files")
    parser.add_argument("--annotations", required=True, help="annotations in any supported format")
    parser.add_argument("--out", required=True, help="eval/proposals.json to write")
    add_config_arguments(parser)


def run(args: argparse.Namespace) -> int:
    cfg = load_config(args)
    proposals = concat_tables("proposals", args.proposals).to_pandas()
    annotations = read_annotations(args.annotations)
    report = evaluate_proposals(proposals, annotations, cfg["proposals"])
    write_json(report, args.out)
    print(
        f"recall@0.5 {report['recall@0.5']:.3f} (random {report['baselines']['random']['recall@0.5']:.3f}, "
        f"sliding {report['baselines']['sliding']['recall@0.5']:.3f}) at "
        f"{report['proposals_per_video']:.1f} proposals/video"
    )
    return 0
