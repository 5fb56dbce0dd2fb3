"""`psvl manifest --videos-dir DIR --glob G --annotations A --shard-size N [--shard-lists L...] --out M`."""

from __future__ import annotations

import argparse
from pathlib import Path

from psvl.core.artifacts import read_frame, write_table
from psvl.datasets.manifest import build_manifest
from psvl.datasets.shards import read_list, write_list


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--videos-dir", required=True, help="folder of videos")
    parser.add_argument("--glob", default="**/*", help="glob under the folder (default **/*)")
    parser.add_argument("--annotations", help="annotations.parquet; videos with test queries get split=test")
    parser.add_argument("--shard-size", type=int, default=64, help="videos per shard (default 64)")
    parser.add_argument(
        "--shard-lists", nargs="+", help="shards/{shard}.tsv lists (the workflow's): keep their assignment"
    )
    parser.add_argument(
        "--record",
        help="with --shard-lists: copy them into this folder, the record the next run plans from "
        "(results/DATASET/shards/record)",
    )
    parser.add_argument("--out", required=True, help="manifest.parquet to write")


def run(args: argparse.Namespace) -> int:
    test_ids: list[str] = []
    if args.annotations:
        ann = read_frame(args.annotations, "annotations", columns=["video_id", "split"])
        test_ids = ann.loc[ann["split"] == "test", "video_id"].unique().tolist()
    df = build_manifest(args.videos_dir, args.glob, test_ids, args.shard_size, args.shard_lists)
    shaping = {"videos_dir": args.videos_dir, "glob": args.glob, "shard_size": args.shard_size}
    write_table("manifest", df, args.out, stage="manifest", shaping=shaping)
    if args.record and args.shard_lists:
        # The record moves only here, after every list of the run is written (psvl.datasets.shards).
        for path in args.shard_lists:
            write_list(read_list(path), Path(args.record) / Path(path).name)
    return 0
