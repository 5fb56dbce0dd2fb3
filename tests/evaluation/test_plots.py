"""Figures: every plot is written, is a real PNG and is not blank (pixel variance)."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from repo_paths import TEST_DATA

from psvl.cli import main
from psvl.core.artifacts import write_table
from psvl.evaluation import plots

DATA = TEST_DATA / "eval"


def _pixel_std(path: Path) -> float:
    img = matplotlib.image.imread(path)
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
    return float(img[..., :3].std())


def _not_blank(path: Path) -> None:
    assert path.exists(), path
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert _pixel_std(path) > 0.05, f"{path} looks blank"


def test_evaluate_with_plots_writes_a_histogram_and_a_moments_figure(tmp_path):
    out = tmp_path / "plots"
    assert (
        main(
            [
                "evaluate",
                "--pred",
                str(DATA / "pred.jsonl"),
                "--gt",
                str(DATA / "gt.jsonl"),
                "--out",
                str(tmp_path / "m.json"),
                "--plots",
                str(out),
            ]
        )
        == 0
    )
    _not_blank(out / "iou_histogram.png")
    _not_blank(out / "moments.png")


def test_moments_figure_has_one_row_per_query_of_the_sampled_videos(tmp_path):
    table = pd.DataFrame(
        {
            "query_id": [f"q{i}" for i in range(12)],
            "video_id": [f"v{i // 3}" for i in range(12)],
            "pred_start_s": 1.0,
            "pred_end_s": 4.0,
            "gt_start_s": 2.0,
            "gt_end_s": 6.0,
            "iou": 0.4,
        }
    )
    few = plots.moments(table, tmp_path / "few.png", n_videos=1)
    many = plots.moments(table, tmp_path / "many.png", n_videos=4)
    # the figure height grows with the number of rows (3 queries vs 12)
    assert matplotlib.image.imread(many).shape[0] > matplotlib.image.imread(few).shape[0] * 1.8
    _not_blank(many)


def test_training_curves_and_metrics_table_and_stage_diagram_from_psvl_plot(tmp_path):
    log = pd.DataFrame(
        {
            "epoch": np.arange(1, 6),
            "train_loss": np.linspace(2, 1, 5),
            "train_loc_loss": np.linspace(1, 0.5, 5),
            "train_att_loss": np.linspace(1, 0.5, 5),
            "val_mIoU": [0.2, 0.3, 0.35, 0.34, 0.33],
            "val_R@0.5": [0.1, 0.2, 0.3, 0.3, 0.2],
            "seconds": 1.0,
        }
    )
    write_table("train_log", log, tmp_path / "train_log.parquet", stage="test")
    metrics = json.loads((DATA / "expected_metrics.json").read_text())
    (tmp_path / "metrics.json").write_text(json.dumps(metrics))
    stats = {
        "counts": {"videos": 64, "frames": 4000, "detections": 9000},
        "failures": {"frames": {"rows": 2}},
    }
    (tmp_path / "stats.json").write_text(json.dumps(stats))
    out = tmp_path / "report"
    assert (
        main(
            [
                "plot",
                "--out-dir",
                str(out),
                "--stats",
                str(tmp_path / "stats.json"),
                "--train-log",
                str(tmp_path / "train_log.parquet"),
                "--metrics",
                str(tmp_path / "metrics.json"),
            ]
        )
        == 0
    )
    for name in ("stages.png", "training_curves.png", "metrics_table.png"):
        _not_blank(out / name)


def test_stage_diagram_without_stats_still_draws_the_stages(tmp_path):
    _not_blank(plots.stage_diagram(None, tmp_path / "stages.png"))


def test_figures_get_the_usual_file_mode_not_mkstemps_0600(tmp_path):
    import os

    os.umask(mask := os.umask(0o022))  # read the umask (and keep it)
    path = plots.iou_histogram([0.5, 0.7], tmp_path / "h.png")
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask
    assert [p.name for p in tmp_path.iterdir()] == ["h.png"]  # no temporary file left beside it


@pytest.mark.parametrize("ious", [[], [0.0, 0.0]])
def test_histogram_of_no_or_only_failed_queries_is_drawn(tmp_path, ious):
    _not_blank(plots.iou_histogram(ious, tmp_path / "h.png"))


def test_metrics_table_shows_the_query_shuffled_row_and_bootstrap_intervals(tmp_path):
    from psvl.datasets.predictions import read_ground_truth, read_predictions
    from psvl.evaluation.evaluate import evaluate

    metrics = evaluate(read_predictions(DATA / "pred.jsonl"), read_ground_truth(DATA / "gt.jsonl"))
    labels, cells = plots.table_cells(metrics)
    start, end = metrics["baselines"]["fixed_window"]["window"]  # its label names its window
    fixed = f"fixed_window [{start:.2f}, {end:.2f}]"
    assert labels == ["model", "mean_moment", "random_proposal", fixed, "query_shuffled"]
    lo, hi = metrics["intervals"]["R@0.5"]
    assert cells[0][2] == f"0.625 [{lo:.2f}, {hi:.2f}]"
    assert cells[0][0] == "0.750"  # R@0.1 has no interval
    assert cells[4][4].startswith("0.097 [")  # query_shuffled mIoU, worked out in tests/data/eval/README.md
    with_bands = plots.metrics_table(metrics, tmp_path / "with.png")
    bare = {k: v for k, v in metrics.items() if k != "intervals"}
    bare["baselines"] = {
        "mean_moment": {k: v for k, v in metrics["baselines"]["mean_moment"].items() if k != "intervals"}
    }
    mean = metrics["baselines"]["mean_moment"]
    assert plots.table_cells(bare) == (
        ["model", "mean_moment"],
        [["0.750", "0.750", "0.625", "0.250", "0.486"], [f"{mean[k]:.3f}" for k in plots.TABLE_KEYS]],
    )
    without = plots.metrics_table(bare, tmp_path / "without.png")
    _not_blank(with_bands)
    # three more rows and wider cells: a taller and wider figure
    big, small = matplotlib.image.imread(with_bands).shape, matplotlib.image.imread(without).shape
    assert big[0] > small[0] and big[1] > small[1]
