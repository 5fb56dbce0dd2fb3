"""`psvl object-features --features F --detections D [--checkpoint M --classes C] --out O`: per segment,
each detector class's best score and box motion (psvl.features.objects), on the segments of F."""

from __future__ import annotations

import argparse
import logging

from psvl.commands._common import add_config_arguments, load_config, shard_name
from psvl.config import ConfigError, build
from psvl.core import console
from psvl.core.artifacts import read_frame, write_table
from psvl.detection.config import DetectorConfig
from psvl.detection.detectors import describe_detector
from psvl.detection.nouns import BACKGROUND
from psvl.features.objects import BOX, MAX_GAP_S, object_channels

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--features", required=True, help="features/{shard}.parquet (its segments are used)")
    parser.add_argument("--detections", required=True, help="detections/{shard}.parquet of the same videos")
    parser.add_argument("--checkpoint", help="the trained detector's model.pt (detector.weights: trained)")
    parser.add_argument("--classes", help="class-name file of the detector (one name per line)")
    parser.add_argument("--out", required=True, help="object_features/{shard}.parquet to write")
    add_config_arguments(parser)


def run(args: argparse.Namespace) -> int:
    cfg = build(DetectorConfig, load_config(args)["detector"])
    labels = [n for n in describe_detector(cfg, args.checkpoint, args.classes).labels if n != BACKGROUND]
    if not labels:
        raise ConfigError(
            "config.detector: the detector's class names are unknown (give detector.classes or --classes); "
            "object channels need a fixed list of classes"
        )
    segments = read_frame(args.features, columns=["video_id", "segment_idx", "start_s", "end_s"])
    detections = read_frame(args.detections, columns=["video_id", "time_s", "label", "score", *BOX])
    df = object_channels(segments, detections, labels)
    shaping = {"object_channels": {"labels": labels, "channels": ["score", "motion"], "max_gap_s": MAX_GAP_S}}
    write_table("features", df, args.out, stage="object_features", shaping=shaping)
    console.done(
        f"object features {shard_name(args, args.out)}",
        console.count(segments["video_id"].nunique(), "video"),
        f"{2 * len(labels)} channels",
    )
    return 0
