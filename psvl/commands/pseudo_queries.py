"""`psvl pseudo-queries --manifest M --proposals P... --detections D... --features F... --cooccurrence C --out PQ`:
pseudo-queries (verbs then nouns) for the proposals of the train-split videos. The tagger options of the
corpus verbs (the cooccurrence file's `language`) travel on in the output's metadata, for `psvl train`.
No query at all stops the run here (exit 2, one line naming the cause and the key to change): training
on nothing is pointless, and its error would name neither."""

from __future__ import annotations

import argparse
import json
import logging

from psvl.commands._common import add_config_arguments, load_config
from psvl.config import build
from psvl.core import console
from psvl.core.artifacts import read_metadata
from psvl.core.errors import EmptyOutputError
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
    threshold, key = score_threshold(args.detections, cfg.min_score)
    with_detections = summary["proposals"] - summary["proposals_without_detections"]
    found = (
        f"{with_detections} of {console.count(summary['proposals'], 'proposal')} had a detection above "
        f"score_threshold {threshold:g}"
    )
    console.done("pseudo_queries", found, console.count(summary["queries"], "query", "queries"))
    if not summary["queries"]:
        raise EmptyOutputError(f"no pseudo-queries to train on: {why_none(summary, found, key)}")
    sources = {"cooccurrence": str(args.cooccurrence)}
    language = read_metadata(args.cooccurrence).get("config", {}).get("language")
    if language is not None:
        sources["language"] = language
    write_pseudo_queries(table, summary, args.out, cfg, sources)
    log.info("summary: %s", json.dumps(summary, sort_keys=True))
    return 0


def score_threshold(detections: list[str], min_score: float) -> tuple[float, str]:
    """The score a detection needed to count here, and the config key that sets it: the detector's
    threshold (from the detection shards' metadata) or pseudo_queries.min_score, whichever is higher."""
    found = [read_metadata(p).get("config", {}).get("score_threshold") for p in detections]
    detector = max((float(t) for t in found if t is not None), default=None)
    if detector is None or min_score > detector:
        return min_score, "pseudo_queries.min_score"
    return detector, "detector.score_threshold"


def why_none(summary: dict, found: str, key: str) -> str:
    """Why no proposal got a query, and what to change."""
    if not summary["proposals"]:
        return "no train-split video has a proposal (check the manifest's split and the proposals stage)"
    if summary["proposals_without_detections"] < summary["proposals"]:
        return (
            f"{found}, but none has a label denser inside than outside; "
            "set pseudo_queries.noun_ranking: frequency"
        )
    return f"{found}; lower {key} (or use a detector that knows these videos' objects)"
