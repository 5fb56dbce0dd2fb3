"""`psvl plot --out-dir DIR`: report figures, each written when its input is given:
`--stats` -> stages.png, `--train-log` -> training_curves.png, `--metrics` -> metrics_table.png."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from psvl.core.artifacts import read_frame
from psvl.evaluation import plots

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out-dir", required=True, metavar="DIR", help="folder for the PNG figures")
    parser.add_argument("--stats", metavar="JSON", help="eval/stats.json -> stages.png (stages with counts)")
    parser.add_argument(
        "--train-log", metavar="PARQUET", help="model/train_log.parquet -> training_curves.png"
    )
    parser.add_argument("--metrics", metavar="JSON", help="eval/metrics.json -> metrics_table.png")


def _load_json(path: str) -> dict:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def run(args: argparse.Namespace) -> int:
    out = Path(args.out_dir)
    if not (args.stats or args.train_log or args.metrics):
        log.warning("nothing to plot: give --stats, --train-log and/or --metrics")
        return 2
    if args.stats:
        stats = _load_json(args.stats)
        failures = {stage: f["rows"] for stage, f in stats.get("failures", {}).items()}
        plots.stage_diagram(stats.get("counts"), out / "stages.png", failures)
    if args.train_log:
        plots.training_curves(read_frame(args.train_log), out / "training_curves.png")
    if args.metrics:
        plots.metrics_table(_load_json(args.metrics), out / "metrics_table.png")
    return 0
