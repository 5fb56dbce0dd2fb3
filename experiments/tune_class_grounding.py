"""Class grounding's settings on the Charades timelines benchmark's dev split (`class_grounding`).

Reads a run's class_scores shards and its dev test_queries (a `config/charades_timelines.yaml` run with
`standins.split: dev`, the default) and sweeps the settings given as `key=v1,v2` pairs (the rest: the
schema's defaults); prints R@0.3/0.5/0.7 and mIoU per setting, best R@0.5 first. Seconds per sweep point.

    python -m experiments.tune_class_grounding --results results/charades_timelines \\
        min_frac=0.1,0.15,0.2,0.25 max_frac=0.45,0.5,0.6 length_exponent=0,0.25,0.5

Refuses a test_queries file whose provenance says standins.split test: tune on dev, never on test.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

from psvl.commands.ground import class_names
from psvl.config import defaults
from psvl.core.artifacts import read_frame, read_metadata
from psvl.evaluation.evaluate import evaluate
from psvl.features.segments import load_features
from psvl.language.class_names import class_words
from psvl.localization.class_grounding import GroundingConfig, ground

METRICS = ("R@0.3", "R@0.5", "R@0.7", "mIoU")


def parse_grid(items: list[str]) -> dict[str, list[float]]:
    grid = {}
    for item in items:
        key, _, values = item.partition("=")
        if key not in GroundingConfig.__dataclass_fields__ or not values:
            raise SystemExit(f"expected KEY=V1,V2 with KEY in {list(GroundingConfig.__dataclass_fields__)}")
        grid[key] = [float(v) for v in values.split(",")]
    return grid


def dev_queries(results: Path):
    """The run's test_queries table, refused unless it holds the dev queries (standins/dev.txt)."""
    path = results / "test_queries.parquet"
    if Path(str(read_metadata(path).get("config", {}).get("source", ""))).name != "dev.txt":
        raise SystemExit(f"{path}: not the dev queries (standins/dev.txt); tune on the dev split only")
    return read_frame(path, "test_queries")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", type=Path, required=True, help="a charades_timelines run's dataset folder")
    ap.add_argument("grid", nargs="*", help="KEY=V1,V2 ... (class_grounding keys)")
    args = ap.parse_args(argv)
    shards = sorted(str(p) for p in (args.results / "class_scores").glob("*.parquet"))
    names = class_names(shards)
    words = class_words(names)
    scores = load_features(shards, kind="class_scores", column="scores")
    queries = dev_queries(args.results)
    base = defaults("class_grounding")
    grid = parse_grid(args.grid)
    rows = []
    for values in itertools.product(*grid.values()):
        setting = {**base, **dict(zip(grid, values))}
        if setting["min_frac"] > setting["max_frac"]:
            continue
        pred = ground(queries, scores, words, GroundingConfig.from_config(setting))
        metrics = evaluate(pred, queries)
        rows.append((dict(zip(grid, values)), [metrics[m] for m in METRICS]))
    rows.sort(key=lambda r: -r[1][1])
    sys.stdout.write(f"{len(queries)} dev queries, {len(scores)} videos, {len(names)} classes\n")
    sys.stdout.write(" ".join(f"{m:>6}" for m in METRICS) + "  setting\n")
    for setting, values in rows:
        sys.stdout.write(" ".join(f"{v:6.3f}" for v in values) + f"  {setting}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
