"""`psvl export-psvl --pseudo-queries PQ --out X.json`: pseudo-queries in PSVL's released JSON format,
so PSVL's reference code (or anyone comparing with it) can train on them unchanged."""

from __future__ import annotations

import argparse
import logging

from psvl.core.artifacts import read_frame
from psvl.datasets import write_pseudo_queries

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pseudo-queries", required=True, help="pseudo_queries.parquet")
    parser.add_argument("--out", required=True, help="PSVL pseudo-label JSON to write")


def run(args: argparse.Namespace) -> int:
    df = read_frame(args.pseudo_queries, "pseudo_queries")
    write_pseudo_queries(df, args.out)
    log.info(
        "export-psvl: %d pseudo-queries of %d videos written to %s",
        len(df),
        df["video_id"].nunique(),
        args.out,
    )
    return 0
