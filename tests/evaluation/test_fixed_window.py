"""The fixed_window baseline: the grid search on hand-made moments, its row in metrics.json, and the
issue's figures on the real Charades-STA and ActivityNet Captions annotations (skipped without them)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from repo_paths import SHARED_DATA, TEST_DATA

from psvl.core import spans
from psvl.datasets.predictions import read_ground_truth, read_moments, read_predictions
from psvl.evaluation import fixed_window
from psvl.evaluation.evaluate import evaluate

EVAL = TEST_DATA / "eval"
SHARED = SHARED_DATA
CHARADES = SHARED / "charades-sta"
ANET = SHARED / "activitynet-captions"


def test_grid_has_every_window_on_hundredths_with_start_before_end():
    windows = fixed_window.grid_windows()
    assert len(windows) == 101 * 100 // 2
    assert (windows[:, 0] < windows[:, 1]).all() and windows.min() == 0.0 and windows.max() == 1.0
    assert np.allclose(windows * 100, np.rint(windows * 100))


def test_the_window_every_moment_shares_wins():
    # no window reaches IoU 0.5 with two disjoint moments: five of seven at most
    moments = np.array([[0.1, 0.4]] * 5 + [[0.6, 0.8], [0.7, 1.0]])
    window, fit = fixed_window.best_window(moments)
    assert window.tolist() == [0.1, 0.4]
    assert fit["R@0.5"] == pytest.approx(5 / 7) and fit["mIoU"] == pytest.approx(5 / 7)


def test_ties_go_to_the_higher_miou_then_the_shorter_window_then_the_earlier_start():
    # R@0.5 ties at 1/2 (no window hits both) and mIoU at 1/2: the shorter, later window wins
    assert fixed_window.best_window(np.array([[0.0, 0.5], [0.8, 0.9]]))[0].tolist() == [0.8, 0.9]
    # same length too: the earlier start
    assert fixed_window.best_window(np.array([[0.8, 1.0], [0.0, 0.2]]))[0].tolist() == [0.0, 0.2]
    # R@0.5 ties at 2/3; [0.2, 0.6] scores IoU 1/2, 1, 1/4 (mIoU 7/12), above [0, 0.5]'s 1, 1/2, 1/10
    window, fit = fixed_window.best_window(np.array([[0.0, 0.5], [0.2, 0.6], [0.4, 1.0]]))
    assert window.tolist() == [0.2, 0.6] and fit["mIoU"] == pytest.approx(7 / 12)


def test_no_reference_moments_is_an_error_and_an_unknown_source_too():
    with pytest.raises(ValueError, match="no reference moments"):
        fixed_window.best_window(np.empty((0, 2)))
    with pytest.raises(ValueError, match="source"):
        fixed_window.Reference(np.zeros((1, 2)), "test_moments")


def test_metrics_json_row_names_window_and_source_and_scores_like_the_priors():
    """tests/data/eval: the training moments choose [0.2, 0.6]; on v1 (30 s), v2 (20), v3 (10), v4 (40)
    it is [6, 18], [4, 12], [2, 6], [8, 24]: IoUs q0..q7 4/18, 8/14, 7/11, 0, 4/6, 1/8, 12/24, 4/32."""
    gt = read_ground_truth(EVAL / "gt.jsonl")
    pred = read_predictions(EVAL / "pred.jsonl")
    row = evaluate(pred, gt, read_moments(EVAL / "train_moments.json"))["baselines"]["fixed_window"]
    ious = np.array([4 / 18, 8 / 14, 7 / 11, 0, 4 / 6, 1 / 8, 12 / 24, 4 / 32])
    assert row["window"] == [0.2, 0.6] and row["source"] == "train_moments" and row["n_reference"] == 3
    for key, want in spans.recall_at(ious).items():
        assert row[key] == pytest.approx(want), key
    assert row["R@0.5"] == 0.5 and row["R@0.7"] == 0.0
    lo, hi = row["intervals"]["R@0.5"]
    assert lo <= 0.5 <= hi and set(row["intervals"]) == {"R@0.3", "R@0.5", "R@0.7", "mIoU"}
    # a reference given apart from the priors' moments: the window follows it, the priors do not
    ref = fixed_window.Reference(np.array([[0.0, 0.5]]), "train_annotations")
    got = evaluate(pred, gt, read_moments(EVAL / "train_moments.json"), reference=ref)["baselines"]
    assert (
        got["fixed_window"]["window"] == [0.0, 0.5] and got["fixed_window"]["source"] == "train_annotations"
    )
    assert got["mean_moment"]["moment_normalized"] == pytest.approx([0.2, 0.7])


def test_read_reference_keeps_the_train_rows_of_an_annotations_table(tmp_path):
    table = pd.DataFrame(
        {
            "query_id": ["a", "b", "c"],
            "video_id": ["v", "v", "w"],
            "start_s": [0.0, 5.0, 1.0],
            "end_s": [10.0, 10.0, 2.0],
            "duration_s": [20.0, 20.0, 4.0],
            "split": ["test", "train", "train"],
        }
    )
    table.to_parquet(tmp_path / "annotations.parquet")
    ref = fixed_window.read_reference(tmp_path / "annotations.parquet", "train_annotations")
    assert ref.moments.tolist() == [[0.25, 0.5], [0.25, 0.5]] and ref.source == "train_annotations"
    # no train rows (pseudo_queries.parquet): every row is a reference moment
    table.drop(columns="split").to_parquet(tmp_path / "pseudo_queries.parquet")
    assert len(fixed_window.read_reference(tmp_path / "pseudo_queries.parquet", "pseudo_labels").moments) == 3


def test_cli_names_the_reference_in_metrics_json(tmp_path):
    from psvl.cli import main

    out = tmp_path / "metrics.json"
    args = ["evaluate", "--pred", str(EVAL / "pred.jsonl"), "--gt", str(EVAL / "gt.jsonl"), "--out", str(out)]
    reference = ["--reference", str(EVAL / "train_moments.json")]
    with pytest.raises(SystemExit, match="--reference-source"):
        main([*args, *reference])
    assert main([*args, *reference, "--reference-source", "pseudo_labels"]) == 0
    metrics = json.loads(out.read_text())
    assert metrics["baselines"]["fixed_window"]["window"] == [0.2, 0.6]
    assert metrics["baselines"]["fixed_window"]["source"] == "pseudo_labels"
    assert metrics["inputs"]["reference"] == str(EVAL / "train_moments.json")


def _scored(window: np.ndarray, gt: pd.DataFrame) -> dict[str, float]:
    dur = gt["duration_s"].to_numpy()
    truth = spans.clip(gt[["start_s", "end_s"]].to_numpy(), dur)
    return spans.recall_at(spans.iou(window[None, :] * dur[:, None], truth))


def _assert_figures(got: dict, want: tuple[float, ...]) -> None:
    for key, value in zip(("R@0.3", "R@0.5", "R@0.7", "mIoU"), want):
        assert got[key] == pytest.approx(value, abs=0.001), key


@pytest.mark.skipif(not CHARADES.is_dir(), reason=f"no Charades-STA annotations at {CHARADES}")
def test_charades_sta_train_moments_choose_the_first_thirty_percent():
    durations = CHARADES / "charades.json"
    ref = fixed_window.read_reference(CHARADES / "charades_sta_train.txt", "train_annotations", durations)
    window, _ = fixed_window.best_window(ref.moments)
    assert len(ref.moments) == 12408 and window.tolist() == [0.0, 0.3]
    test = read_ground_truth(CHARADES / "charades_sta_test.txt", durations)
    got = _scored(window, test)
    assert got["n_queries"] == 3720
    _assert_figures(got, (0.403, 0.306, 0.152, 0.281))


@pytest.fixture(scope="module")
def activitynet() -> tuple[fixed_window.Reference, pd.DataFrame]:
    if not ANET.is_dir():
        pytest.skip(f"no ActivityNet Captions annotations at {ANET}")
    val = pd.concat([read_ground_truth(ANET / f"val_{k}.json") for k in (1, 2)], ignore_index=True)
    return fixed_window.read_reference(ANET / "train.json", "train_annotations"), val


def test_activitynet_train_moments_choose_a_late_long_window(activitynet):
    """At step 0.01 the best window is [0.31, 0.91] (9 372 of 37 421 train moments at IoU >= 0.5); the
    issue's [0.32, 0.92] (9 363) is the best at step 0.02, the next test."""
    ref, val = activitynet
    window, fit = fixed_window.best_window(ref.moments)
    assert window == pytest.approx([0.31, 0.91]) and round(fit["R@0.5"] * len(ref.moments)) == 9372
    assert len(val) == 34536
    _assert_figures(_scored(window, val), (0.432, 0.276, 0.078, 0.282))


def test_activitynet_issue_figures_are_the_best_window_at_step_two_hundredths(activitynet):
    ref, val = activitynet
    window, _ = fixed_window.best_window(ref.moments, grid=50)
    assert window == pytest.approx([0.32, 0.92])
    _assert_figures(_scored(window, val), (0.435, 0.275, 0.076, 0.282))
