"""Class grounding against the stand-in features' quality: how much the benchmark's winner depends on
the noise model's calibration (`standins.quality`; 0.556 = per-frame mAP 0.184, I3D's level).

Makes each dev video's stand-in class scores at every quality given (no workflow run: seconds per
quality) and grounds the run's dev queries with the `class_grounding` defaults.

    python -m experiments.grounding_quality --results results/charades_timelines --qualities 0.462 0.556 1.0

Reads only dev queries (refuses a test_queries file that is not standins/dev.txt's).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from experiments.tune_class_grounding import dev_queries
from psvl.config import defaults
from psvl.evaluation.evaluate import evaluate
from psvl.features.segments import VideoFeatures
from psvl.language.class_names import class_words
from psvl.localization.class_grounding import GroundingConfig, ground
from psvl.standins.classes import read_classes
from psvl.standins.features import class_scores, segment_bounds
from psvl.standins.timelines import read_timelines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", type=Path, required=True, help="a charades_timelines run's dataset folder")
    ap.add_argument("--qualities", type=float, nargs="+", default=[0.462, 0.556, 0.622, 1.0])
    args = ap.parse_args(argv)
    cfg = yaml.safe_load((args.results / "config.effective.yaml").read_text())
    st = cfg["standins"]
    queries = dev_queries(args.results)
    timelines = read_timelines(cfg["dataset"]["durations"])
    classes = read_classes(st["classes"])
    words = class_words([c.name for c in classes])
    grounding = GroundingConfig.from_config(defaults("class_grounding"))
    sys.stdout.write(
        "| quality | R@0.3 | R@0.5 | R@0.7 | mIoU | query-shuffled R@0.5 |\n|---|---|---|---|---|---|\n"
    )
    for quality in args.qualities:
        scores = {}
        for vid in queries["video_id"].unique():
            tl = timelines[vid]
            s = class_scores(tl, classes, quality=quality, segment_s=st["segment_seconds"], seed=st["seed"])
            scores[vid] = VideoFeatures(s, *segment_bounds(tl.duration_s, st["segment_seconds"]))
        m = evaluate(ground(queries, scores, words, grounding), queries)
        shuffled = m["baselines"]["query_shuffled"]["R@0.5"]
        row = [m["R@0.3"], m["R@0.5"], m["R@0.7"], m["mIoU"], shuffled]
        sys.stdout.write(f"| {quality:g} | " + " | ".join(f"{v:.3f}" for v in row) + " |\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
