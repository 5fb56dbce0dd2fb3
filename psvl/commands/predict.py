"""`psvl predict`: localize test queries in batch, or one query in one video file (config section `predict`).

The tagger options of the queries (the test_queries file's `language`, else the `corpus` config section,
which also simplifies `--query`) must equal those the checkpoint records; else one line names both.
A query without a word the model was trained on is flagged: a warning line (text), `no_known_words`
(`--json` and the predictions table)."""

from __future__ import annotations

import argparse
import json
import logging
import sys

import torch

from psvl.commands._common import add_config_arguments, load_config, user_set
from psvl.config import ConfigError, build
from psvl.core.artifacts import read_frame, read_metadata, write_table
from psvl.features.features import load_features
from psvl.features.precomputed import PrecomputedFeatures
from psvl.frames.frames import FramesConfig
from psvl.language.tagger import options as tagger_options
from psvl.localization.predict import PredictConfig, Predictor

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", required=True, metavar="DIR", help="model folder (best.pt) or a checkpoint"
    )
    batch = parser.add_argument_group("batch: a table of test queries")
    batch.add_argument(
        "--test-queries", metavar="PARQUET", help="test_queries.parquet (tokens already simplified)"
    )
    batch.add_argument(
        "--features", nargs="+", default=[], metavar="PARQUET", help="features/{shard}.parquet"
    )
    batch.add_argument(
        "--features-dir",
        metavar="DIR",
        help="instead of --features: a folder of per-video .npy/.npz features (or an HDF5 file), read lazily",
    )
    batch.add_argument("--out", metavar="PARQUET", help="predictions.parquet to write")
    one = parser.add_argument_group("one video")
    one.add_argument(
        "--video", metavar="FILE", help="a video file: frames and features are extracted as in training"
    )
    one.add_argument("--query", metavar="TEXT", help="a sentence, e.g. 'person opens the door'")
    one.add_argument("--json", action="store_true", help="print JSON instead of text")
    add_config_arguments(parser)


def _features(args: argparse.Namespace, cfg: dict, queries):
    """The test videos' features: Parquet shards (in memory), or precomputed ones read a video at a time
    (placed in time with the test queries' durations, as `psvl train --features-dir` does)."""
    if not args.features_dir:
        return load_features(args.features)
    durations = queries.groupby("video_id")["duration_s"].first().astype(float).to_dict()
    return PrecomputedFeatures(args.features_dir, durations, cfg["features"]["segment_seconds"])


def run(args: argparse.Namespace) -> int:
    cfg = load_config(args)
    predict_cfg = build(PredictConfig, cfg["predict"])
    torch.set_num_threads(predict_cfg.threads)
    language, where = tagger_options(cfg["corpus"]), "the corpus config section"
    if args.test_queries and not args.video:
        recorded = read_metadata(args.test_queries).get("config", {}).get("language")
        if recorded is not None:
            language, where = recorded, str(args.test_queries)
    predictor = Predictor.load(args.model, cfg=predict_cfg, language=language, where=where)
    if predict_cfg.video_classes and not predictor.classes and user_set(args, "predict", "video_classes"):
        log.info("predict.video_classes: this model has no named object channels; ignored")
    if args.video:
        if args.query is None:
            raise ConfigError("--video needs --query TEXT, e.g. --query 'person opens the door'")
        if not args.query.strip():
            raise ConfigError(
                f"--query {args.query!r} is empty: give a sentence, e.g. 'person opens the door'"
            )
        # the frame settings training recorded, under those the user gave (a config file or --set frames)
        given = args.config or any(s.startswith("frames") for s in args.overrides)
        frames_cfg = FramesConfig.from_config(
            predictor.provenance.get("frames"), cfg["frames"] if given else None
        )
        predictor.encode_file(args.video, frames_cfg)
        tokens = predictor.tokens(args.query)
        start, end, score = predictor.predict(tokens)[0]
        unknown = not predictor.has_known_word(tokens)
        warning = (
            f"warning: no word of the query {args.query!r} was trained (tokens {tokens}): the moment is the "
            "model's prior for this video, not a match"
        )
        if args.json:
            out = {
                "video": args.video,
                "query": args.query,
                "tokens": tokens,
                "start_s": round(start, 3),
                "end_s": round(end, 3),
                "score": round(score, 4),
                "no_known_words": unknown,
            }
            sys.stdout.write(json.dumps(out) + "\n")
            if unknown:
                log.warning("%s", warning)
        else:
            sys.stdout.write(f"{start:.3f} {end:.3f}  ({' '.join(tokens)}; score {score:.3f})\n")
            if unknown:
                sys.stdout.write(warning + "\n")
        return 0
    if not (args.test_queries and (args.features or args.features_dir) and args.out):
        raise ConfigError(
            "give --test-queries, --features and --out (batch; --features-dir DIR instead of --features for "
            "precomputed features), or --video and --query (one video)"
        )
    queries = read_frame(args.test_queries, "test_queries")
    table = predictor.predict_table(queries, _features(args, cfg, queries))
    write_table(
        "predictions",
        table,
        args.out,
        stage="predict",
        shaping={
            "model": str(args.model),
            "num_segments": predictor.num_segments,
            "language": predictor.language,
            "query_encoder": predictor.model.config.query_encoder,
            "unknown_words": predict_cfg.unknown_words,
        },
    )
    log.info("%d of %d queries predicted -> %s (scored by psvl evaluate)", len(table), len(queries), args.out)
    return 0
