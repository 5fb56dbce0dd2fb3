"""Whether two runs of the workflow wrote the same results: every Parquet's contents and every JSON under
two results/<dataset> folders, wall-clock fields aside.

Why: a refactor must not change what the default run writes. Run the default workflow on the commit
before and after (two checkouts), then `python -m experiments.compare_runs BEFORE AFTER`; it prints each
file only one side has, each file whose contents differ (for JSON, the keys added, removed or changed)
and exits 1 when any differs. Predictions' ground-truth columns (gt_start_s, gt_end_s, iou), which
`psvl evaluate` now joins itself, are left out on both sides.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

SKIP_DIRS = {"logs", "benchmarks", ".snakemake"}
TRUTH_COLUMNS = ["gt_start_s", "gt_end_s", "iou"]
WALL_CLOCK = ("second", "elapsed", "wall", "runtime", "created")  # parts of key names that time a run


def _is_wall_clock(key: str) -> bool:
    return any(part in key.lower() for part in WALL_CLOCK)


def json_changes(x, y, where: str = "") -> list[str]:
    """Keys added, removed or changed between two JSON values (wall-clock keys aside)."""
    if isinstance(x, dict) and isinstance(y, dict):
        out = []
        for key in sorted(set(x) | set(y)):
            if _is_wall_clock(key):
                continue
            if key not in x:
                out.append(f"added {where}/{key}")
            elif key not in y:
                out.append(f"removed {where}/{key}")
            else:
                out += json_changes(x[key], y[key], f"{where}/{key}")
        return out
    return [] if x == y else [f"changed {where}: {json.dumps(x)[:80]} -> {json.dumps(y)[:80]}"]


def _table(path: Path) -> pd.DataFrame:
    frame = pq.read_table(path).to_pandas()
    drop = [c for c in frame.columns if c in TRUTH_COLUMNS or (_is_wall_clock(c) and c != "time_s")]
    return frame.drop(columns=drop).reset_index(drop=True)


def _files(root: Path) -> set[Path]:
    return {
        p.relative_to(root)
        for p in root.rglob("*")
        if p.is_file() and p.suffix in (".parquet", ".json") and p.relative_to(root).parts[0] not in SKIP_DIRS
    }


def compare(before: Path, after: Path) -> list[str]:
    """One line per difference between the two results folders."""
    a, b = _files(before), _files(after)
    lines = [f"only in {'before' if rel in a else 'after'}: {rel}" for rel in sorted(a ^ b)]
    for rel in sorted(a & b):
        if rel.suffix == ".parquet":
            try:
                pd.testing.assert_frame_equal(_table(before / rel), _table(after / rel), check_like=True)
            except AssertionError as err:
                lines.append(f"differs: {rel}: {str(err).splitlines()[0]}")
        else:
            x, y = (json.loads((root / rel).read_text()) for root in (before, after))
            lines += [f"differs: {rel}: {change}" for change in json_changes(x, y)]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path, help="results/<dataset> of the run before the change")
    parser.add_argument("after", type=Path, help="results/<dataset> of the run after it")
    args = parser.parse_args(argv)
    lines = compare(args.before, args.after)
    print("\n".join(lines) or "no difference")
    print(f"{len(_files(args.before) & _files(args.after))} files in both")
    return 1 if any(line.startswith("differs") for line in lines) else 0


if __name__ == "__main__":
    sys.exit(main())
