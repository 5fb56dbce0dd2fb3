"""`psvl ground --class-scores class_scores/*.parquet --test-queries Q --out predictions.parquet`: the
training-free localizer (`predict.localizer: class_scores`; psvl.localization.class_grounding, config
section `class_grounding`). Writes the same predictions table as `psvl predict`; needs no torch."""

from __future__ import annotations

import argparse
import logging

from psvl.commands._common import add_config_arguments, load_config
from psvl.config import ConfigError
from psvl.core.artifacts import read_frame, read_metadata, write_table
from psvl.features.segments import load_features
from psvl.localization.class_grounding import GroundingConfig, ground

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--class-scores", nargs="+", required=True, metavar="PARQUET", help="class_scores/{shard}.parquet"
    )
    parser.add_argument("--test-queries", required=True, metavar="PARQUET", help="test_queries.parquet")
    parser.add_argument("--out", required=True, metavar="PARQUET", help="predictions.parquet to write")
    add_config_arguments(parser)


def class_names(paths: list[str]) -> list[str]:
    """The class names the shards' provenance records; every shard must name the same classes."""
    names = None
    for path in paths:
        got = read_metadata(path).get("config", {}).get("classes")
        if not got:
            raise ConfigError(f"{path}: a class_scores file without its class names (config.classes)")
        if names is not None and got != names:
            raise ConfigError(f"{path}: names other classes than {paths[0]}")
        names = got
    return list(names or [])


def run(args: argparse.Namespace) -> int:
    from psvl.language.class_names import class_words

    cfg = load_config(args)
    try:
        grounding = GroundingConfig.from_config(cfg["class_grounding"])
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    names = class_names(args.class_scores)
    queries = read_frame(args.test_queries, "test_queries")
    scores = load_features(args.class_scores, kind="class_scores", column="scores")
    missing = sorted(set(queries["video_id"]) - set(scores))
    if missing:
        raise ConfigError(
            f"{len(missing)} test videos have no class scores (first: {missing[0]}); give every shard's file"
        )
    table = ground(queries, scores, class_words(names), grounding)
    write_table(
        "predictions",
        table,
        args.out,
        stage="ground",
        shaping={"localizer": "class_scores", "classes": len(names), **cfg["class_grounding"]},
    )
    log.info(
        "%d queries grounded on %d classes (%d name no class) -> %s",
        len(table),
        len(names),
        int(table["no_known_words"].sum()),
        args.out,
    )
    return 0
