"""`psvl convert IN --out OUT [--to FORMAT] [--durations FILE]`: between annotation formats."""

from __future__ import annotations

import argparse
import logging

from psvl.datasets.formats import READERS, WRITERS, read_annotations, write_annotations

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help="annotation file in any supported format")
    parser.add_argument("--out", required=True, help="file to write; its suffix picks the format")
    parser.add_argument("--from", dest="src", choices=READERS.names(), help="input format (default: detect)")
    parser.add_argument(
        "--to", choices=WRITERS.names(), help="output format (default: from the suffix; .json is ActivityNet)"
    )
    parser.add_argument("--durations", help="charades.json or a video_id,duration_s CSV")
    parser.add_argument("--split", choices=["train", "test"], help="split to record (default: from the name)")


def run(args: argparse.Namespace) -> int:
    df = read_annotations(args.input, args.durations, split=args.split, fmt=args.src)
    write_annotations(df, args.out, fmt=args.to)
    log.info("convert: %d queries of %d videos written to %s", len(df), df["video_id"].nunique(), args.out)
    return 0
