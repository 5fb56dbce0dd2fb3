"""`psvl eval-pseudo-queries --pseudo-queries PQ --annotations A [--events events.parquet] --out J`:
how often pseudo-queries over a true event name its verb and its object."""

from __future__ import annotations

import argparse
import json
import logging

from psvl.commands._common import add_config_arguments, load_config
from psvl.core.artifacts import read_frame, read_metadata, write_json
from psvl.language.eval_pseudo_queries import evaluate_pseudo_queries, read_truth
from psvl.language.tagger import Tagger

log = logging.getLogger("psvl.eval_pseudo_queries")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pseudo-queries", required=True, help="pseudo_queries.parquet")
    parser.add_argument(
        "--annotations", required=True, help="annotations (any supported format) with true moments"
    )
    parser.add_argument("--events", help="synthetic world events.parquet (object, action): used as the truth")
    parser.add_argument("--iou", type=float, default=0.5, help="IoU a pseudo-query needs with a true event")
    parser.add_argument("--out", required=True, help="JSON report to write")
    add_config_arguments(parser)


def run(args: argparse.Namespace) -> int:
    tagger = Tagger.from_config(load_config(args)["corpus"])
    queries = read_frame(args.pseudo_queries, "pseudo_queries")
    truth = read_truth(args.annotations, args.events, tagger)
    report = evaluate_pseudo_queries(queries, truth, args.iou, read_metadata(args.pseudo_queries))
    report["truth"] = "events" if args.events else "annotations"
    write_json(report, args.out)
    log.info("%s", json.dumps(report, sort_keys=True))
    return 0
