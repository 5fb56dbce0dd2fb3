"""`psvl train-detector --boxes boxes.parquet --classes classes.txt --videos-dir DIR --out-dir D --metrics M`
(the synthetic world's box labels) or `--coco FILE --images DIR` (COCO-format labels): train a detector,
write D/model.pt and D/classes.txt, and AP50 per class on held-out videos to M."""

from __future__ import annotations

import argparse

import torch

from psvl.commands._common import add_config_arguments, load_config
from psvl.config import ConfigError
from psvl.core import console
from psvl.detection.train_detector import run_training


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--boxes", help="box labels Parquet (video_id, frame_idx, label, x1, y1, x2, y2)")
    parser.add_argument("--classes", help="class names, one per line (with --boxes)")
    parser.add_argument("--videos-dir", help="folder of the labelled videos (with --boxes)")
    parser.add_argument("--coco", help="COCO-format detection JSON (instead of --boxes)")
    parser.add_argument("--images", help="image folder of the COCO file")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--out-dir", required=True, help="folder for model.pt and classes.txt")
    parser.add_argument(
        "--metrics", help="where to write the held-out AP50 JSON (default OUT_DIR/metrics.json)"
    )
    add_config_arguments(parser)


def run(args: argparse.Namespace) -> int:
    if bool(args.coco) == bool(args.boxes):
        raise ConfigError("give either --boxes (with --classes and --videos-dir) or --coco (with --images)")
    if args.boxes and not (args.classes and args.videos_dir):
        raise ConfigError("--boxes needs --classes and --videos-dir")
    if args.coco and not args.images:
        raise ConfigError("--coco needs --images")
    if args.threads:
        torch.set_num_threads(args.threads)
    metrics = run_training(
        load_config(args)["detector"],
        out_dir=args.out_dir,
        metrics_path=args.metrics,
        boxes=args.boxes,
        classes=args.classes,
        videos_dir=args.videos_dir,
        coco=args.coco,
        images=args.images,
    )
    console.done(
        "train_detector",
        console.count(len(metrics["epoch_loss"]), "epoch"),
        console.count(metrics["n_train_images"], "training frame"),
        f"held-out AP50 {metrics['AP50']:.3f}",
    )
    return 0
