"""`psvl shards --plan P --shard K --digest D --out L`: write one shard's list from the run's plan.

The workflow's `shards` rule runs it per shard, with the plan the Snakefile wrote at parse time
(`results/DATASET/shard_plan.tsv`): the job reads that one file and never lists the videos folder. By
hand, `--videos-dir D --record R --shard-size N` (or `--from-registry`) plans from the folder instead.
"""

from __future__ import annotations

import argparse
import logging

from psvl.commands._common import add_config_arguments, load_config
from psvl.datasets.registry import DATASETS
from psvl.datasets.shards import digest, plan, read_plan, read_record, scan, write_list

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--shard", required=True, help="the shard to write (00003)")
    parser.add_argument("--out", required=True, help="the shard's list to write (RECORD/SHARD.tsv)")
    parser.add_argument(
        "--plan",
        help="the run's plan (results/DATASET/shard_plan.tsv, written at parse time): copy the shard's "
        "rows from it, listing nothing (the workflow's way)",
    )
    parser.add_argument(
        "--digest", help="with --plan: the digest the shard was planned with; another one stops the job"
    )
    parser.add_argument("--videos-dir", help="folder of videos (without --plan)")
    parser.add_argument("--glob", default="**/*", help="glob under the folder (default **/*)")
    parser.add_argument(
        "--record", help="folder of the record's copies of the lists (results/DATASET/shards/record)"
    )
    parser.add_argument("--shard-size", type=int, help="videos per new shard (without --plan)")
    parser.add_argument(
        "--no-stat",
        action="store_true",
        help="record no size or time (the synthetic world, planned before its files exist)",
    )
    parser.add_argument(
        "--from-registry",
        action="store_true",
        help="list the videos by name as the dataset registry does (a kind with no video files, e.g. "
        "charades_timelines; needs the config: --set dataset=... results=... and the kind's sections) "
        "instead of scanning",
    )
    add_config_arguments(parser)


def run(args: argparse.Namespace) -> int:
    shard = f"{int(args.shard):05d}"
    if args.plan:
        videos = read_plan(args.plan, shard).get(shard, ())
        reason = f"from {args.plan}"
        if args.digest and digest(videos) != args.digest:
            raise SystemExit(
                f"psvl shards: shard {shard} in {args.plan} is not the one this job was planned with "
                "(another snakemake parse rewrote the plan since: the folder changed); run snakemake again"
            )
    else:
        videos, reason = _planned(args, shard)
    write_list(videos, args.out)  # the record itself is updated by `psvl manifest --record`
    log.info("shard %s: %d videos (%s) -> %s", shard, len(videos), reason, args.out)
    return 0


def _planned(args: argparse.Namespace, shard: str) -> tuple[tuple, str]:
    """By hand: plan from the folder (or the registry) and the record, as the Snakefile does."""
    missing = [f"--{a.replace('_', '-')}" for a in ("record", "shard_size") if getattr(args, a) is None]
    if not args.from_registry and args.videos_dir is None:
        missing.insert(0, "--videos-dir")
    if missing:
        raise SystemExit(f"psvl shards: without --plan, give {' and '.join(missing)}")
    if args.from_registry:
        cfg = load_config(args)
        name = cfg["dataset"]["name"]
        current = DATASETS.get(name).sources(cfg, f"{cfg['results']}/{name}").videos()
    else:
        current = scan(args.videos_dir, args.glob, look=not args.no_stat)
    p = plan(current, read_record(args.record), args.shard_size)
    if shard not in p.shards:
        raise SystemExit(f"psvl shards: shard {shard} is not in the plan (shards: {', '.join(p.shards)})")
    return p.shards[shard], p.reasons[shard]
