"""`psvl standins --manifest shards/S.tsv --timelines charades.json --classes C.txt --features F --detections D`:
one shard's stand-in segment features and detections, made from the videos' Charades action timelines
(psvl.standins, docs/standins.md); no video is read. Or `psvl standins --split-out DIR ...`: the
benchmark's split files (dev and test queries, train moments, the unpaired corpus; psvl.datasets.timelines_split)."""

from __future__ import annotations

import argparse
import logging

import numpy as np
import pandas as pd

from psvl.commands._common import add_config_arguments, load_config
from psvl.core.artifacts import write_json, write_table
from psvl.core.failures import FailureLog
from psvl.datasets.shards import videos_of_shard

log = logging.getLogger("psvl.standins")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--manifest", help="this shard's list (shards/{shard}.tsv) or a manifest.parquet")
    parser.add_argument("--shard", help="with a manifest.parquet: the shard to make")
    parser.add_argument("--timelines", help="charades.json (the action timelines)")
    parser.add_argument("--features", help="features/{shard}.parquet to write")
    parser.add_argument("--detections", help="detections/{shard}.parquet to write")
    parser.add_argument(
        "--class-scores", help="class_scores/{shard}.parquet to write: the class evidence the features carry"
    )
    parser.add_argument("--failures", help="failures/standins/{shard}.parquet: videos without a timeline")
    parser.add_argument("--split-out", metavar="DIR", help="instead: write the split files into DIR")
    parser.add_argument("--train", help="with --split-out: Charades-STA train txt")
    parser.add_argument("--test", help="with --split-out: Charades-STA test txt")
    parser.add_argument("--pseudo-labels", help="with --split-out: PSVL's release JSON (written minus dev)")
    add_config_arguments(parser)


def _split(args: argparse.Namespace, st: dict) -> int:
    from psvl.datasets.timelines_split import write_split

    counts = write_split(
        args.train,
        args.test,
        args.split_out,
        fraction=st["dev_fraction"],
        seed=st["dev_seed"],
        max_videos=st["max_videos"],
        pseudo_labels=args.pseudo_labels,
    )
    write_json(counts, f"{args.split_out}/split.json")
    log.info("standins split: %s", counts)
    return 0


def _shard(args: argparse.Namespace, st: dict) -> int:
    from psvl.standins.classes import read_classes
    from psvl.standins.detections import standin_detections
    from psvl.standins.features import class_scores, segment_bounds, standin_features
    from psvl.standins.timelines import read_timelines

    if not st["classes"]:
        raise SystemExit("psvl standins: config.standins.classes: the Charades classes file is not set")
    timelines = read_timelines(args.timelines)
    classes = read_classes(st["classes"])
    seconds = st["segment_seconds"]
    feats, scores, dets, missing = [], [], [], FailureLog("standins")
    for vid, _path in videos_of_shard(args.manifest, args.shard):
        tl = timelines.get(vid)
        if tl is None:
            missing.add(vid, "no timeline")
            continue
        s = class_scores(tl, classes, quality=st["quality"], segment_s=seconds, seed=st["seed"])
        x = standin_features(
            tl, classes, quality=st["quality"], segment_s=seconds, dim=st["dim"], seed=st["seed"], scores=s
        )
        starts, ends = segment_bounds(tl.duration_s, seconds)
        feats.append(_segments(vid, starts, ends, "feature", x))
        scores.append(_segments(vid, starts, ends, "scores", s))
        dets.append(standin_detections(tl, classes, segment_s=seconds, seed=st["seed"], **st["detections"]))
    shaping = {"extractor": "standins", **{k: st[k] for k in ("quality", "segment_seconds", "dim", "seed")}}
    write_table("features", _concat(feats), args.features, stage="standins", shaping=shaping)
    if args.class_scores:
        names = [c.name for c in classes]
        write_table(
            "class_scores",
            _concat(scores),
            args.class_scores,
            stage="standins",
            shaping={**shaping, "classes": names},
        )
    dshaping = {**shaping, "detections": st["detections"]}
    write_table("detections", _concat(dets), args.detections, stage="standins", shaping=dshaping)
    if args.failures:
        missing.write(args.failures)
    log.info("standins: %d videos (%d without a timeline) -> %s", len(feats), len(missing), args.features)
    return 0


def _segments(vid: str, starts: np.ndarray, ends: np.ndarray, column: str, x: np.ndarray) -> pd.DataFrame:
    """One video's per-segment rows of a features-like artifact (`column`: feature or scores)."""
    return pd.DataFrame(
        {
            "video_id": vid,
            "segment_idx": np.arange(len(x), dtype=np.int32),
            "start_s": starts,
            "end_s": ends,
            column: list(x.astype(np.float32)),
        }
    )


def _concat(parts: list[pd.DataFrame]) -> pd.DataFrame | dict:
    return pd.concat(parts, ignore_index=True) if parts else {}


def run(args: argparse.Namespace) -> int:
    st = load_config(args)["standins"]
    if args.split_out:
        return _split(args, st)
    if not (args.manifest and args.timelines and args.features and args.detections):
        raise SystemExit(
            "psvl standins: give --manifest, --timelines, --features and --detections (or --split-out)"
        )
    return _shard(args, st)
