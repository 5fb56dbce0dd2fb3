"""`psvl plan --config my_config.yaml`: which shards a rerun adds, rewrites or keeps, and why, on one
screen, before `snakemake` runs anything."""

from __future__ import annotations

import argparse
from collections import Counter

from psvl.commands._common import add_config_arguments, load_config
from psvl.core.console import count
from psvl.datasets.shards import plan, read_record, scan


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)
    parser.add_argument("--all", action="store_true", help="list kept shards too (default: only changes)")


def run(args: argparse.Namespace) -> int:
    cfg = load_config(args)
    ds = cfg["dataset"]
    if not ds.get("videos_dir"):
        raise SystemExit(
            f"psvl plan: dataset {ds['name']!r} has no videos_dir; the synthetic world is regenerated "
            "whole from its config, so its shards never change one by one"
        )
    record_dir = f"{cfg['results']}/{ds['name']}/shards/record"
    p = plan(scan(ds["videos_dir"], ds["video_glob"]), read_record(record_dir), cfg["shard_size"])
    counts = Counter(p.status.values())
    n_videos = sum(len(v) for v in p.shards.values())
    print(
        f"{ds['name']}: {count(n_videos, 'video')} in {count(len(p.shards), 'shard')}: {counts['new']} new, "
        f"{counts['changed']} changed, {counts['kept']} kept"
        + (
            f"; {count(len(p.dropped), 'recorded shard')} now empty ({', '.join(p.dropped)})"
            if p.dropped
            else ""
        )
    )
    for shard, status in p.status.items():
        if status != "kept" or args.all:
            print(f"  {shard}  {status:<8} {p.reasons[shard]}")
    if counts["new"] or counts["changed"]:
        print(
            "Per-video stages (frames, features, detect, proposals) run for the new and changed shards "
            "only; the merged stages (manifest, pseudo_queries, train, predict, evaluate) rerun after them."
        )
    else:
        print("No shard changes: per-video stages have nothing to redo.")
    return 0
