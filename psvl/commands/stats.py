"""`psvl stats --results R/ --out stats.json`: per-stage counts of a results folder for the run report."""

from __future__ import annotations

import argparse
import logging

from psvl.core.artifacts import write_json
from psvl.evaluation.stage_counts import collect

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--results", required=True, metavar="DIR", help="a dataset's results folder")
    parser.add_argument("--out", required=True, metavar="JSON", help="stats.json to write")


def run(args: argparse.Namespace) -> int:
    stats = collect(args.results)
    write_json(stats, args.out)
    log.info("counts: %s", ", ".join(f"{k} {v}" for k, v in stats["counts"].items()))
    return 0
