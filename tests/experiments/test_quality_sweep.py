"""experiments.quality_sweep: the table of localization against the stand-in features' quality, read from
finished runs' eval folders (the runs themselves are the benchmark's workflow, tested elsewhere)."""

from __future__ import annotations

import json

from experiments.quality_sweep import figures, run_dir, table


def test_figures_are_read_from_each_runs_eval_files_and_missing_ones_are_dashes(tmp_path):
    eval_dir = run_dir(tmp_path, 0.556) / "charades_timelines" / "eval"
    eval_dir.mkdir(parents=True)
    (eval_dir / "standins.json").write_text(json.dumps({"frame_map": {"value": 0.1836}}))
    (eval_dir / "metrics.json").write_text(
        json.dumps({"R@0.5": 0.145, "baselines": {"fixed_window": {"R@0.5": 0.268}}})
    )
    found = figures(run_dir(tmp_path, 0.556) / "charades_timelines")
    assert found["per-frame mAP"] == 0.1836 and found["R@0.5"] == 0.145
    assert found["fixed-window R@0.5"] == 0.268 and found["TEP recall@0.7"] is None
    lines = table({0.556: found, 1.0: figures(tmp_path / "absent")}).splitlines()
    assert lines[0] == "| figure | quality 0.556 | quality 1 |"
    assert "| per-frame mAP | 0.184 | — |" in lines and "| R@0.5 | 0.145 | — |" in lines
