"""experiments/seeds.py's table: figures, intervals, mean and spread read from finished runs' eval files."""

from __future__ import annotations

import json
import subprocess
import sys
from argparse import Namespace
from pathlib import Path

from repo_paths import REPO

from experiments import seeds


def _run(root: Path, seed: int, r05: float, tep: float) -> None:
    ev = root / f"seed{seed}" / "synthetic" / "eval"
    ev.mkdir(parents=True)
    metrics = {
        "R@0.5": r05,
        "n_queries": 250,
        "intervals": {"R@0.5": [r05 - 0.05, r05 + 0.05]},
        "baselines": {"query_shuffled": {"R@0.5": 0.1, "intervals": {"R@0.5": [0.06, 0.14]}}},
    }
    (ev / "metrics.json").write_text(json.dumps(metrics))
    (ev / "proposals.json").write_text(
        json.dumps({"recall@0.7": tep, "baselines": {"sliding": {"recall@0.7": 0.5}}})
    )


def test_table_prints_each_seed_with_its_interval_then_mean_and_spread(tmp_path, capsys):
    _run(tmp_path, 1, 0.40, 0.70)
    _run(tmp_path, 2, 0.50, 0.80)
    seeds.table(Namespace(seeds=[1, 2], root=tmp_path), {1: 60.0, 2: 61.0})
    out = capsys.readouterr().out
    assert "| R@0.5 | 0.400 [0.35, 0.45] | 0.500 [0.45, 0.55] | 0.450 | 0.100 |" in out
    assert "| query-shuffled R@0.5 | 0.100 [0.06, 0.14] | 0.100 [0.06, 0.14] | 0.100 | 0.000 |" in out
    assert "| TEP recall@0.7 | 0.700 | 0.800 | 0.750 | 0.100 |" in out
    assert "| verb hit | — | — | — | — |" in out  # no pseudo_queries.json in these runs
    assert "1: 60, 2: 61" in out


def test_the_dev_seed_is_refused():
    cmd = [sys.executable, "-m", "experiments.seeds", "--seeds", "101", "--report-only"]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, check=False)
    assert r.returncode == 2 and "dev world" in r.stderr
