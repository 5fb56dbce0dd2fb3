"""`psvl pseudo-queries --manifest M --proposals P... --detections D... --features F... --cooccurrence C --out PQ`:
pseudo-queries (verbs then nouns) for the proposals of the train-split videos. The tagger options of the
corpus verbs (the cooccurrence file's `language`) travel on in the output's metadata, for `psvl train`."""

from __future__ import annotations

import argparse
import json
import logging

from psvl.commands._common import add_config_arguments, load_config
from psvl.config import build
from psvl.core.artifacts import read_metadata
from psvl.language.pseudo_queries import PseudoQueriesConfig, compose, load_inputs, write_pseudo_queries

log = logging.getLogger("psvl.pseudo_queries")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--manifest", required=True, help="manifest.parquet (only split == train videos are used)"
    )
    parser.add_argument("--proposals", nargs="+", required=True, help="proposals shard Parquet files")
    parser.add_argument("--detections", nargs="+", required=True, help="detections shard Parquet files")
    parser.add_argument("--features", nargs="+", required=True, help="features shards (for video durations)")
    parser.add_argument("--cooccurrence", required=True, help="corpus/cooccurrence.parquet")
    parser.add_argument("--out", required=True, help="pseudo_queries.parquet to write")
    add_config_arguments(parser)


def run(args: argparse.Namespace) -> int:
    cfg = build(PseudoQueriesConfig, load_config(args)["pseudo_queries"])
    inputs = load_inputs(args.manifest, args.proposals, args.detections, args.features, args.cooccurrence)
    log.info(
        "%d train proposals, %d detections, %d noun-verb pairs",
        len(inputs["proposals"]),
        len(inputs["detections"]),
        len(inputs["cooccurrence"]),
    )
    table, summary = compose(
        inputs["proposals"], inputs["detections"], inputs["cooccurrence"], inputs["durations"], cfg
    )
    sources = {"cooccurrence": str(args.cooccurrence)}
    language = read_metadata(args.cooccurrence).get("config", {}).get("language")
    if language is not None:
        sources["language"] = language
    write_pseudo_queries(table, summary, args.out, cfg, sources)
    log.info("summary: %s", json.dumps(summary, sort_keys=True))
    return 0
