"""How localization on the Charades timelines benchmark depends on the stand-in features' quality.

Why: the stand-in features are calibrated to I3D's per-frame mAP on Charades (standins.quality 0.556,
mAP 0.184); a sweep over the knob says how much of the method's result the visual signal decides, from
features far weaker than I3D (mAP 0.10) to the timelines themselves (quality 1.0, mAP 1.0).

    python -m experiments.quality_sweep --qualities 0.462 0.556 0.622 1.0 --cores 2
    python -m experiments.quality_sweep --qualities 0.462 0.556 0.622 1.0 --report-only

Each quality runs `snakemake --cores N --configfile config/charades_timelines.yaml ROOT/qQ/overlay.yaml`
(the overlay sets `results` and `standins.quality`; the dev split unless --config says otherwise);
results go to ROOT/qQ/charades_timelines (ROOT: --root, default results/quality_sweep).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

from experiments._workflow import REPO, run_logged, snakemake_command, write_overlay
from experiments.seeds import dig

ROWS = (  # (label, file under eval/, key path)
    ("per-frame mAP", "standins.json", ("frame_map", "value")),
    ("TEP recall@0.5", "proposals.json", ("recall@0.5",)),
    ("TEP recall@0.7", "proposals.json", ("recall@0.7",)),
    ("time-only recall@0.7", "proposals.json", ("baselines", "time_only", "recall@0.7")),
    ("noun hit", "pseudo_queries.json", ("noun_hit_rate",)),
    ("R@0.5", "metrics.json", ("R@0.5",)),
    ("R@0.7", "metrics.json", ("R@0.7",)),
    ("mIoU", "metrics.json", ("mIoU",)),
    ("query-shuffled R@0.5", "metrics.json", ("baselines", "query_shuffled", "R@0.5")),
    ("fixed-window R@0.5", "metrics.json", ("baselines", "fixed_window", "R@0.5")),
)


def run_dir(root: Path, quality: float) -> Path:
    return root / f"q{quality:g}"


def figures(results: Path) -> dict[str, float | None]:
    """The sweep's rows read from one run's eval folder (None where a file or key is missing)."""
    out = {}
    for label, name, path in ROWS:
        file = results / "eval" / name
        out[label] = dig(json.loads(file.read_text()), path) if file.is_file() else None
    return out


def table(columns: dict[float, dict[str, float | None]]) -> str:
    """A markdown table: one row per figure, one column per quality."""
    head = "| figure | " + " | ".join(f"quality {q:g}" for q in columns) + " |"
    lines = [head, "|---" * (len(columns) + 1) + "|"]
    for label, _, _ in ROWS:
        cells = [f"{c[label]:.3f}" if c[label] is not None else "—" for c in columns.values()]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qualities", type=float, nargs="+", required=True, help="standins.quality values")
    parser.add_argument("--configfile", type=Path, default=REPO / "config" / "charades_timelines.yaml")
    parser.add_argument("--root", type=Path, default=Path("results/quality_sweep"))
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--report-only", action="store_true", help="print the table of finished runs only")
    args = parser.parse_args(argv)
    for q in [] if args.report_only else args.qualities:
        folder = run_dir(args.root, q)
        overlay = write_overlay(folder / "overlay.yaml", {"results": str(folder), "standins": {"quality": q}})
        run_logged(snakemake_command([args.configfile, overlay], args.cores), folder / "snakemake.log")
    kind = yaml.safe_load(args.configfile.read_text())["dataset"]["name"]  # results/<kind> under each root
    print(table({q: figures(run_dir(args.root, q) / kind) for q in args.qualities}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
