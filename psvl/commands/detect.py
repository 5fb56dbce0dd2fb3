"""`psvl detect --frames frames.parquet [--checkpoint model.pt --classes classes.txt] --out detections.parquet
--failures F`: run the configured detector over one shard's frames. A shard without frames (all its videos
failed earlier) writes its empty files without loading the detector."""

from __future__ import annotations

import argparse
import logging

import torch

from psvl.commands._common import add_config_arguments, load_config, shard_name
from psvl.config import build
from psvl.core import console
from psvl.core.artifacts import read_table
from psvl.detection.config import DetectorConfig
from psvl.detection.detect import detect_frames, write_detections
from psvl.detection.detectors import describe_detector, load_detector

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--frames", required=True, help="frames Parquet of one shard")
    parser.add_argument("--checkpoint", help="a psvl train-detector model.pt (detector.weights: trained)")
    parser.add_argument("--classes", help="class-name file for the checkpoint (one name per line)")
    parser.add_argument("--out", required=True, help="detections Parquet to write")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--failures", help="failures Parquet to write (always written, maybe empty)")
    add_config_arguments(parser)


def run(args: argparse.Namespace) -> int:
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = build(DetectorConfig, load_config(args)["detector"])
    frames = read_table(args.frames, "frames")
    if frames.num_rows:
        detector = load_detector(cfg, args.checkpoint, args.classes)
    else:  # nothing to detect: loading the model would only cost seconds
        log.info("%s has no frames: detector not loaded, empty detections written", args.frames)
        detector = describe_detector(cfg, args.checkpoint, args.classes)
    detections, failures = detect_frames(frames, detector, cfg)
    write_detections(detections, failures, args.out, args.failures, cfg, detector)
    console.done(
        f"detect {shard_name(args, args.frames)}",
        console.count(len(set(frames.column("video_id").to_pylist())), "video"),
        console.count(frames.num_rows, "frame"),
        console.count(detections.num_rows, "box", "boxes"),
        console.count(len(failures), "failure"),
    )
    return 0
