"""`psvl train`: train the localization model on pseudo-queries (ours, or PSVL's released labels).

The checkpoint records the tagger options the training tokens were made with (`language`): those in the
pseudo-queries' metadata, else the corpus vocabulary's, else the `corpus` config section's."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from psvl.commands._common import add_config_arguments, load_config
from psvl.config import ConfigError, build
from psvl.core.artifacts import read_frame, read_metadata, remove_temporaries
from psvl.datasets.psvl_json import read_pseudo_queries
from psvl.features.features import load_features
from psvl.features.precomputed import PrecomputedFeatures
from psvl.language.tagger import options as tagger_options
from psvl.localization.model import ModelConfig
from psvl.localization.rounds import train_rounds
from psvl.localization.train import TrainConfig
from psvl.localization.vocab import corpus_words

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pseudo-queries", metavar="PARQUET", help="pseudo_queries.parquet")
    parser.add_argument(
        "--features", nargs="+", default=[], metavar="PARQUET", help="features/{shard}.parquet"
    )
    parser.add_argument(
        "--psvl-json", metavar="JSON", help="instead of --pseudo-queries: PSVL's released pseudo-label JSON"
    )
    parser.add_argument(
        "--features-dir",
        metavar="DIR",
        help="instead of --features: a folder of per-video .npy/.npz features (or an HDF5 file), read lazily",
    )
    parser.add_argument(
        "--vocab",
        metavar="PARQUET",
        help="corpus/vocab.parquet: its verbs and nouns join the vocabulary (model.vocab_from_corpus)",
    )
    parser.add_argument(
        "--out-dir",
        required=True,
        metavar="DIR",
        help="writes best.pt, last.pt, vocab.json, train_log.parquet here",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue from OUT_DIR/last.pt when an unfinished run left it (a finished one is retrained)",
    )
    add_config_arguments(parser)


def _queries(args: argparse.Namespace, cfg: dict):
    pq_path = args.pseudo_queries or (cfg["dataset"]["pseudo_labels"] if not args.psvl_json else None)
    if args.psvl_json:
        return read_pseudo_queries(args.psvl_json), {"pseudo_queries": args.psvl_json}
    if not pq_path:
        raise ConfigError("psvl train: give --pseudo-queries PARQUET or --psvl-json JSON")
    if str(pq_path).endswith(".json"):
        return read_pseudo_queries(pq_path), {"pseudo_queries": str(pq_path)}
    return read_frame(pq_path, "pseudo_queries"), {"pseudo_queries": str(pq_path)}


def _features(args: argparse.Namespace, cfg: dict, queries):
    features_dir = args.features_dir or (cfg["dataset"]["features_dir"] if not args.features else None)
    if features_dir:
        durations = queries.groupby("video_id")["duration_s"].first().astype(float).to_dict()
        seconds = cfg["features"]["segment_seconds"]
        meta = {
            "artifact": "features",
            "config": {
                "extractor": "precomputed",
                "precomputed_path": str(features_dir),
                "segment_seconds": seconds,
            },
        }
        return PrecomputedFeatures(features_dir, durations, seconds), meta
    if not args.features:
        raise ConfigError("psvl train: give --features PARQUET... or --features-dir DIR")
    return load_features(args.features), read_metadata(args.features[0])


def _language(sources: dict, vocab: str | None, cfg: dict) -> dict:
    """The tagger options of the training tokens, from the first input that records them."""
    for path in (sources["pseudo_queries"], vocab):
        if path and str(path).endswith(".parquet"):
            recorded = read_metadata(path).get("config", {}).get("language")
            if recorded is not None:
                log.info("language options of the training tokens (from %s): %s", path, recorded)
                return recorded
    return tagger_options(cfg["corpus"])


def run(args: argparse.Namespace) -> int:
    cfg = load_config(args)
    model_cfg = build(ModelConfig, cfg["model"])
    train_cfg = build(TrainConfig, cfg["train"])
    queries, sources = _queries(args, cfg)
    features, feat_meta = _features(args, cfg, queries)
    words = None
    if args.vocab and model_cfg.vocab_from_corpus:
        words = corpus_words(read_frame(args.vocab, "vocab"))
    provenance = {"features": feat_meta, "inputs": sources, "frames": cfg["frames"]}
    stale = remove_temporaries(args.out_dir) if Path(args.out_dir).is_dir() else 0
    if stale:  # a killed run's half-written files (the files themselves were never replaced)
        log.info("removed %d temporary files a killed run left in %s", stale, args.out_dir)
    result = train_rounds(
        queries,
        features,
        args.out_dir,
        model_cfg,
        train_cfg,
        corpus_words=words,
        resume=args.resume,
        provenance=provenance,
        language=_language(sources, args.vocab, cfg),
    )
    log.info(
        "trained %d epochs; best validation mIoU %.4f -> %s",
        result["epochs"],
        result["best_score"],
        args.out_dir,
    )
    return 0
