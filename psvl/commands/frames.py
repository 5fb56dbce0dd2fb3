"""`psvl frames --manifest M --shard K --out frames.parquet --failures F` (a workflow shard) or
`psvl frames --video a.mp4 [--video b.mp4 ...] --out frames.parquet` (by hand; exits 1 when a given video cannot be decoded, after writing the files)."""

from __future__ import annotations

import argparse
from pathlib import Path

from psvl.commands._common import add_config_arguments, load_config, shard_name
from psvl.core import console
from psvl.datasets.shards import videos_of_shard
from psvl.frames.frames import FramesConfig, extract_many, write_frames


def add_arguments(parser: argparse.ArgumentParser) -> None:
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--manifest", help="a shard's list shards/{shard}.tsv, or manifest.parquet with --shard")
    src.add_argument("--video", action="append", help="a video file (repeatable); its id is the file stem")
    parser.add_argument("--shard", help="shard number or name (00003) of the manifest to process")
    parser.add_argument("--out", required=True, help="frames Parquet to write")
    parser.add_argument("--failures", help="failures Parquet to write (always written, maybe empty)")
    add_config_arguments(parser)


def run(args: argparse.Namespace) -> int:
    cfg = FramesConfig.from_config(load_config(args)["frames"])
    if args.manifest:
        if args.shard is None and not args.manifest.endswith(".tsv"):
            raise SystemExit("psvl frames: --manifest needs --shard")
        videos = videos_of_shard(args.manifest, args.shard)
    else:
        videos = [(Path(v).stem, v) for v in args.video]
    frames, failures = extract_many(videos, cfg)
    write_frames(frames, failures, args.out, args.failures, cfg)
    console.done(
        f"frames {shard_name(args)}",
        console.count(len(videos), "video"),
        console.count(frames.num_rows, "frame"),
        console.count(len(failures), "failure"),
        *([console.count(failures.warnings, "partial decode")] if failures.warnings else []),
    )
    # A shard with bad videos is a success (they are recorded); by hand, a bad video is the user's error.
    return 1 if args.video and len(failures) else 0
