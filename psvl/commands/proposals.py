"""`psvl proposals`: temporal event proposals for one shard's videos (k-means TEP, random or sliding)."""

from __future__ import annotations

import argparse
import dataclasses
import logging

from psvl.commands._common import add_config_arguments, load_config, shard_name
from psvl.config import build
from psvl.core import console
from psvl.core.artifacts import read_frame, read_metadata, write_table
from psvl.datasets.shards import videos_of_shard
from psvl.features.segments import load_features
from psvl.proposals.proposals import ProposalsConfig, propose

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--features", required=True, nargs="+", help="features/{shard}.parquet")
    parser.add_argument(
        "--manifest", help="the shard's list (.tsv) or manifest.parquet: videos it lacks are logged"
    )
    parser.add_argument("--out", required=True, help="proposals/{shard}.parquet to write")
    parser.add_argument("--workers", type=int, default=1, help="processes over videos (same result)")
    add_config_arguments(parser)


def run(args: argparse.Namespace) -> int:
    cfg = build(ProposalsConfig, load_config(args)["proposals"])
    features = load_features(args.features)
    if args.manifest:
        if args.manifest.endswith(".tsv"):
            known = {v for v, _ in videos_of_shard(args.manifest)}
        else:
            known = set(read_frame(args.manifest, columns=["video_id"])["video_id"].astype(str))
        unknown = sorted(set(features) - known)
        if unknown:
            log.warning("%d videos with features are not in the manifest, e.g. %s", len(unknown), unknown[:3])
    df = propose(features, cfg, workers=args.workers)
    shaping = {**dataclasses.asdict(cfg), "features": read_metadata(args.features[0]).get("config", {})}
    write_table("proposals", df, args.out, stage="proposals", shaping=shaping)
    console.done(
        f"proposals {shard_name(args, args.out)}",
        console.count(len(features), "video"),
        console.count(len(df), "proposal"),
        cfg.method,
    )
    return 0
