"""`psvl annotations --test FILE [--train FILE] [--durations FILE] --out annotations.parquet`."""

from __future__ import annotations

import argparse
import logging

import pandas as pd

from psvl.core.artifacts import write_table
from psvl.datasets.formats import read_annotations
from psvl.datasets.table import empty_annotations, read_durations

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--test", metavar="FILE", help="test annotations, any supported format")
    parser.add_argument("--train", metavar="FILE", help="train annotations (optional)")
    parser.add_argument("--durations", metavar="FILE", help="charades.json or a video_id,duration_s CSV")
    parser.add_argument("--out", required=True, help="annotations.parquet to write")


def combine(test: pd.DataFrame | None, train: pd.DataFrame | None) -> pd.DataFrame:
    """One table with split set by file; ids that collide across the files get a `split:` prefix."""
    parts = []
    for split, df in (("test", test), ("train", train)):
        if df is not None and len(df):
            parts.append(df.assign(split=split))
    if not parts:
        return empty_annotations()
    out = pd.concat(parts, ignore_index=True)
    dup = out["query_id"].duplicated(keep=False)
    if dup.any():
        log.warning("%d query ids occur in both files; prefixing them with their split", int(dup.sum()))
        out.loc[dup, "query_id"] = out.loc[dup, "split"] + ":" + out.loc[dup, "query_id"]
    return out


def run(args: argparse.Namespace) -> int:
    durations = read_durations(args.durations) if args.durations else None
    test = read_annotations(args.test, durations, split="test") if args.test else None
    train = read_annotations(args.train, durations, split="train") if args.train else None
    table = combine(test, train)
    shaping = {"test": args.test, "train": args.train, "durations": args.durations}
    write_table("annotations", table, args.out, stage="annotations", shaping=shaping)
    log.info(
        "annotations: %d test and %d train queries written to %s",
        int((table["split"] == "test").sum()),
        int((table["split"] == "train").sum()),
        args.out,
    )
    return 0
