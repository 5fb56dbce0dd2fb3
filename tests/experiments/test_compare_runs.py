"""experiments.compare_runs: the check that a refactor left the default run's results unchanged."""

from __future__ import annotations

import json

import pandas as pd

from experiments.compare_runs import compare


def _write(root, preds: pd.DataFrame, metrics: dict) -> None:
    (root / "eval").mkdir(parents=True)
    preds.to_parquet(root / "eval" / "predictions.parquet")
    (root / "eval" / "metrics.json").write_text(json.dumps(metrics))


def test_truth_columns_and_wall_clock_fields_are_not_differences(tmp_path):
    preds = pd.DataFrame({"query_id": ["q1"], "pred_start_s": [1.0], "pred_end_s": [4.0]})
    _write(tmp_path / "a", preds.assign(gt_start_s=0.0, gt_end_s=5.0, iou=0.6), {"R@0.5": 1.0, "seconds": 3})
    _write(tmp_path / "b", preds, {"R@0.5": 1.0, "seconds": 9})
    assert compare(tmp_path / "a", tmp_path / "b") == []


def test_a_changed_prediction_and_an_added_key_are_named(tmp_path):
    preds = pd.DataFrame({"query_id": ["q1"], "pred_start_s": [1.0], "pred_end_s": [4.0]})
    _write(tmp_path / "a", preds, {"R@0.5": 1.0})
    _write(tmp_path / "b", preds.assign(pred_end_s=4.5), {"R@0.5": 1.0, "baselines": {"fixed_window": {}}})
    lines = compare(tmp_path / "a", tmp_path / "b")
    assert lines[0] == "differs: eval/metrics.json: added /baselines"
    assert lines[1].startswith("differs: eval/predictions.parquet")
    assert len(lines) == 2
