"""`psvl shards --videos-dir D --record R --shard-size N --shard K --out L`: write one shard's list.

The workflow's `shards` rule runs it per shard; the plan is `psvl.datasets.shards.plan` over the folder
and the record, the same one the Snakefile computed at parse time.
"""

from __future__ import annotations

import argparse
import logging

from psvl.commands._common import add_config_arguments, load_config
from psvl.datasets.registry import DATASETS
from psvl.datasets.shards import plan, read_record, scan, write_list

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--videos-dir", required=True, help="folder of videos")
    parser.add_argument("--glob", default="**/*", help="glob under the folder (default **/*)")
    parser.add_argument(
        "--record",
        required=True,
        help="folder of the record's copies of the lists (results/DATASET/shards/record)",
    )
    parser.add_argument("--shard-size", type=int, required=True, help="videos per new shard")
    parser.add_argument("--shard", required=True, help="the shard to write (00003)")
    parser.add_argument("--out", required=True, help="the shard's list to write (RECORD/SHARD.tsv)")
    parser.add_argument(
        "--no-stat",
        action="store_true",
        help="record no size or time (the synthetic world, planned before its files exist)",
    )
    parser.add_argument(
        "--from-registry",
        action="store_true",
        help="list the videos by name as the dataset registry does (a kind with no video files, e.g. "
        "charades_timelines; needs the config: --set dataset=... results=... and the kind's sections) instead of scanning",
    )
    add_config_arguments(parser)


def run(args: argparse.Namespace) -> int:
    shard = f"{int(args.shard):05d}"
    if args.from_registry:
        cfg = load_config(args)
        name = cfg["dataset"]["name"]
        current = DATASETS.get(name).sources(cfg, f"{cfg['results']}/{name}").videos()
    else:
        current = scan(args.videos_dir, args.glob, look=not args.no_stat)
    p = plan(current, read_record(args.record), args.shard_size)
    if shard not in p.shards:
        raise SystemExit(f"psvl shards: shard {shard} is not in the plan (shards: {', '.join(p.shards)})")
    write_list(p.shards[shard], args.out)  # the record itself is updated by `psvl manifest --record`
    log.info("shard %s: %d videos (%s) -> %s", shard, len(p.shards[shard]), p.reasons[shard], args.out)
    return 0
