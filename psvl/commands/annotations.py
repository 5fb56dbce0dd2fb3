"""`psvl annotations --test FILE [FILE ...] [--train FILE] [--durations FILE] --out annotations.parquet`.

Several test files (ActivityNet's val_1 and val_2 annotate the same videos) are queried together; their
query ids are prefixed with the file's stem (`val_2:v_x#0`) so the two sets never collide."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import pandas as pd

from psvl.core.artifacts import write_table
from psvl.datasets.formats import read_annotations
from psvl.datasets.table import empty_annotations, read_durations

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--test",
        nargs="+",
        metavar="FILE",
        help="test annotations, any supported format (several: ids prefixed)",
    )
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


def _tests(paths: list[str], durations) -> pd.DataFrame:
    """The test files' queries; with several files, each id is prefixed with its file's stem."""
    parts = [read_annotations(p, durations, split="test") for p in paths]
    if len(parts) > 1:
        parts = [
            df.assign(query_id=Path(p).stem + ":" + df["query_id"].astype(str)) for p, df in zip(paths, parts)
        ]
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]


def run(args: argparse.Namespace) -> int:
    durations = read_durations(args.durations) if args.durations else None
    test = _tests(args.test, durations) if args.test else None
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
