"""psvl evaluate: metrics per query on hand-computed samples, every input format, matching, the priors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from psvl.cli import main
from psvl.core.artifacts import read_frame, write_table
from psvl.datasets.predictions import FormatError, _read_jsonl_arrow, read_ground_truth, read_predictions
from psvl.evaluation.evaluate import baselines, evaluate

DATA = Path(__file__).parent / "data" / "eval"
EXPECTED = json.loads((DATA / "expected_metrics.json").read_text())
KEYS = ["R@0.1", "R@0.3", "R@0.5", "R@0.7", "mIoU", "n_queries"]


def _run(tmp_path: Path, *args: str) -> dict:
    out = tmp_path / "metrics.json"
    assert main(["evaluate", *args, "--out", str(out)]) == 0
    return json.loads(out.read_text())


def _assert_metrics(got: dict, want: dict) -> None:
    for key in KEYS:
        assert got[key] == pytest.approx(want[key], abs=1e-12), key


def test_hand_written_jsonl_predictions_give_the_hand_computed_metrics(tmp_path):
    per_query = tmp_path / "per_query.parquet"
    got = _run(
        tmp_path,
        "--pred",
        str(DATA / "pred.jsonl"),
        "--gt",
        str(DATA / "gt.jsonl"),
        "--train-moments",
        str(DATA / "train_moments.json"),
        "--per-query",
        str(per_query),
    )
    _assert_metrics(got, EXPECTED)
    assert got["adjustments"] == EXPECTED["adjustments"]
    assert got["matched_by"] == "query_id"
    _assert_metrics(got["baselines"]["mean_moment"], EXPECTED["baselines"]["mean_moment"])
    assert got["baselines"]["mean_moment"]["moment_normalized"] == pytest.approx([0.2, 0.7])
    assert got["baselines"]["mean_moment"]["source"] == "train_moments"
    table = read_frame(per_query, "predictions").set_index("query_id")
    for qid, iou in EXPECTED["per_query_iou"].items():
        assert table.loc[qid, "iou"] == pytest.approx(iou, abs=1e-12), qid
    # out-of-range and reversed predictions are stored as scored: ordered and clipped to [0, duration]
    assert table.loc["q4", ["pred_start_s", "pred_end_s"]].tolist() == [0.0, 6.0]
    assert table.loc["q2", ["pred_start_s", "pred_end_s"]].tolist() == [4.0, 12.0]
    assert table.loc["q6", ["pred_start_s", "pred_end_s"]].tolist() == [30.0, 40.0]


def test_charades_txt_predictions_match_txt_truth_by_video_and_order(tmp_path):
    got = _run(
        tmp_path,
        "--pred",
        str(DATA / "pred.txt"),
        "--gt",
        str(DATA / "gt.txt"),
        "--durations",
        str(DATA / "durations.csv"),
        "--train-moments",
        str(DATA / "train_moments.json"),
    )
    _assert_metrics(got, EXPECTED)
    assert got["matched_by"] == "video_order"
    assert got["adjustments"] == EXPECTED["adjustments"]
    _assert_metrics(got["baselines"]["mean_moment"], EXPECTED["baselines"]["mean_moment"])


def test_psvl_json_predictions_are_normalized_timestamps_times_duration(tmp_path):
    records = [
        {"vid": "v1", "duration": 30.0, "timestamp": [0.0, 1 / 3], "tokens": ["bounce", "ball"]},
        {"vid": "v1", "duration": 30.0, "timestamp": [0.5, 25 / 30], "tokens": ["slide", "cube"]},
    ]
    path = tmp_path / "pred.json"
    path.write_text(json.dumps(records))
    pred = read_predictions(path)
    assert pred[["pred_start_s", "pred_end_s"]].to_numpy() == pytest.approx(np.array([[0, 10], [15, 25]]))
    gt = read_ground_truth(DATA / "gt.jsonl")
    got = evaluate(pred, gt[gt.video_id == "v1"])
    assert got["R@0.5"] == 0.5 and got["mIoU"] == pytest.approx((1 + 1 / 3) / 2)


def test_parquet_predictions_match_parquet_truth_by_query_id_in_any_row_order(tmp_path):
    gt = read_ground_truth(DATA / "gt.jsonl")
    gt_path = tmp_path / "test_queries.parquet"
    write_table(
        "test_queries",
        gt.drop(columns=["order", "split"]).assign(tokens=[["x"]] * len(gt)),
        gt_path,
        stage="test",
    )
    lines = [json.loads(line) for line in (DATA / "pred.jsonl").read_text().splitlines()]
    top = [max(rec["pred_relevant_windows"], key=lambda w: w[2]) for rec in lines]
    pred = pd.DataFrame(
        {
            "query_id": [r["qid"] for r in lines],
            "video_id": [r["vid"] for r in lines],
            "pred_start_s": [w[0] for w in top],
            "pred_end_s": [w[1] for w in top],
            "gt_start_s": 0.0,
            "gt_end_s": 0.0,
            "iou": 0.0,
        }
    ).iloc[::-1]  # reversed rows: ids, not order, decide
    pred_path = tmp_path / "predictions.parquet"
    write_table("predictions", pred, pred_path, stage="test")
    # the training moments of the sample as a pseudo_queries artifact (seconds, with durations)
    train = pd.DataFrame(
        {
            "query_id": ["t1#0", "t1#1", "t2#0"],
            "video_id": ["t1", "t1", "t2"],
            "start_s": [0.0, 2.0, 20.0],
            "end_s": [5.0, 6.0, 50.0],
            "duration_s": [10.0, 10.0, 50.0],
            "verbs": [["x"]] * 3,
            "nouns": [["y"]] * 3,
            "tokens": [["x", "y"]] * 3,
        }
    )
    train_path = tmp_path / "pseudo_queries.parquet"
    write_table("pseudo_queries", train, train_path, stage="test")
    got = _run(tmp_path, "--pred", str(pred_path), "--gt", str(gt_path), "--train-moments", str(train_path))
    _assert_metrics(got, EXPECTED)
    assert got["matched_by"] == "query_id"
    _assert_metrics(got["baselines"]["mean_moment"], EXPECTED["baselines"]["mean_moment"])


def test_prediction_ids_unknown_to_the_truth_fall_back_to_video_order():
    gt = pd.DataFrame(
        {
            "query_id": ["a", "b"],
            "video_id": ["v", "v"],
            "start_s": [0.0, 5.0],
            "end_s": [5.0, 10.0],
            "duration_s": [10.0, 10.0],
        }
    )
    pred = pd.DataFrame(
        {
            "query_id": ["0", "1"],
            "video_id": ["v", "v"],
            "pred_start_s": [0.0, 6.0],
            "pred_end_s": [5.0, 10.0],
        }
    )
    got = evaluate(pred, gt)
    assert got["matched_by"] == "video_order"
    assert got["mIoU"] == pytest.approx((1 + 0.8) / 2)


def test_repeated_truth_ids_fall_back_to_video_order():
    gt = pd.DataFrame(
        {
            "query_id": ["a", "a"],
            "video_id": ["v", "w"],
            "start_s": [0.0, 5.0],
            "end_s": [5.0, 10.0],
            "duration_s": [10.0, 10.0],
        }
    )
    pred = pd.DataFrame(
        {
            "query_id": ["a", "a"],
            "video_id": ["v", "w"],
            "pred_start_s": [0.0, 5.0],
            "pred_end_s": [5.0, 10.0],
        }
    )
    got = evaluate(pred, gt)
    assert got["matched_by"] == "video_order" and got["mIoU"] == 1.0


def test_query_without_prediction_scores_zero_and_is_counted():
    gt = pd.DataFrame(
        {
            "query_id": ["a", "b", "c"],
            "video_id": ["v", "v", "w"],
            "start_s": [0.0, 5.0, 1.0],
            "end_s": [5.0, 10.0, 2.0],
            "duration_s": [10.0, 10.0, 3.0],
        }
    )
    pred = pd.DataFrame(
        {"query_id": ["a", "c"], "video_id": ["v", "w"], "pred_start_s": [0.0, 1.0], "pred_end_s": [5.0, 2.0]}
    )
    got = evaluate(pred, gt)
    assert got["n_queries"] == 3
    assert got["R@0.7"] == pytest.approx(2 / 3) and got["mIoU"] == pytest.approx(2 / 3)
    assert got["adjustments"]["missing_prediction"] == 1


def test_unknown_duration_clips_only_below_zero():
    gt = pd.DataFrame({"video_id": ["v"], "start_s": [10.0], "end_s": [30.0]})
    pred = pd.DataFrame({"video_id": ["v"], "pred_start_s": [-10.0], "pred_end_s": [50.0]})
    got = evaluate(pred, gt)
    assert got["mIoU"] == pytest.approx(20 / 50)  # [0, 50] vs [10, 30]
    assert got["adjustments"]["unknown_duration"] == 1
    assert got["adjustments"]["clipped_to_duration"] == 1


def test_truth_running_past_the_video_end_is_clipped_so_an_exact_prediction_scores_one():
    # Charades-STA has such moments: 562 of 3720 test moments end after the video (charades.json)
    gt = pd.DataFrame(
        {"video_id": ["v", "w"], "start_s": [24.3, 0.0], "end_s": [32.0, 5.0], "duration_s": [30.0, 10.0]}
    )
    pred = gt.rename(columns={"start_s": "pred_start_s", "end_s": "pred_end_s"})
    got = evaluate(pred, gt)
    assert got["mIoU"] == 1.0 and got["R@0.7"] == 1.0
    assert got["adjustments"]["gt_clipped_to_duration"] == 1
    assert got["adjustments"]["clipped_to_duration"] == 1


def test_mean_moment_prior_without_training_moments_uses_the_truth_and_says_so():
    gt = pd.DataFrame(
        {"video_id": ["a", "b"], "start_s": [0.0, 10.0], "end_s": [5.0, 20.0], "duration_s": [10.0, 20.0]}
    )
    base = baselines(gt)
    # normalized truth [0, .5] and [.5, 1] -> mean [.25, .75]: overlap .25 over union .75 on both
    assert base["mean_moment"]["moment_normalized"] == pytest.approx([0.25, 0.75])
    assert base["mean_moment"]["mIoU"] == pytest.approx(1 / 3)
    assert base["mean_moment"]["R@0.3"] == 1.0 and base["mean_moment"]["R@0.5"] == 0.0
    assert base["mean_moment"]["source"] == base["random_proposal"]["source"] == "ground_truth"


def test_random_proposal_is_seeded_and_draws_lengths_from_the_training_moments():
    n = 400
    gt = pd.DataFrame(
        {"video_id": [f"v{i}" for i in range(n)], "start_s": 0.0, "end_s": 1.0, "duration_s": 10.0}
    )
    train = np.array([[0.0, 0.5], [0.2, 0.6], [0.4, 1.0]])
    a, b, c = baselines(gt, train, seed=3), baselines(gt, train, seed=3), baselines(gt, train, seed=4)
    assert a["random_proposal"] == b["random_proposal"]
    assert a["random_proposal"]["mIoU"] != c["random_proposal"]["mIoU"]
    # truth [0, 1] s in a 10 s video; drawn spans last 4, 5 or 6 s, so IoU <= 1/4 for every query:
    # R@0.3 is 0, and only the spans that start within about the first second reach IoU 0.1.
    assert a["random_proposal"]["R@0.3"] == 0.0
    assert 0.0 < a["random_proposal"]["R@0.1"] < 0.25


def test_malformed_prediction_line_error_names_file_and_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("v1 0 10##ok\nv1 zero ten##bad\n")
    with pytest.raises(FormatError, match=r"bad.txt:2"):
        read_predictions(path)


def test_top_window_of_jsonl_is_the_highest_score_not_the_first():
    pred = read_predictions(DATA / "pred.jsonl").set_index("query_id")
    assert pred.loc["q1", ["pred_start_s", "pred_end_s"]].tolist() == [15.0, 25.0]
    assert pred.loc["q5", ["pred_start_s", "pred_end_s"]].tolist() == [7.0, 14.0]


def test_query_with_several_true_windows_scores_its_best_window_once(tmp_path):
    gt = tmp_path / "gt.jsonl"
    gt.write_text(
        '{"qid": 7, "query": "a ball bounces.", "vid": "v", "duration": 40, "relevant_windows": [[0, 10], [20, 30]]}\n'
        '{"qid": 8, "query": "a cube spins.", "vid": "v", "duration": 40, "relevant_windows": [[30, 40]]}\n'
    )
    pred = tmp_path / "pred.jsonl"
    pred.write_text(
        '{"qid": 7, "vid": "v", "pred_relevant_windows": [[20, 30, 0.9]]}\n'
        '{"qid": 8, "vid": "v", "pred_relevant_windows": [[30, 35, 0.9]]}\n'
    )
    got = _run(tmp_path, "--pred", str(pred), "--gt", str(gt))
    # query 7 hits its second window exactly (IoU 1, not 0 for the first); query 8 gets 5/10
    assert got["n_queries"] == 2
    assert got["mIoU"] == pytest.approx(0.75) and got["R@0.7"] == 0.5
    assert got["adjustments"]["extra_true_windows"] == 1 and got["adjustments"]["missing_prediction"] == 0
    assert got["baselines"]["mean_moment"]["n_queries"] == 2


def test_jsonl_fast_reader_and_line_reader_agree_including_ties_and_windows_without_scores(tmp_path):
    lines = [
        '{"qid": 1, "vid": "a", "pred_relevant_windows": [[1, 2, 0.5], [3, 4, 0.5], [0, 9, 0.1]]}',
        '{"qid": 2, "vid": "a", "pred_relevant_windows": [[5.5, 7.5]]}',
        '{"qid": 3, "vid": "b", "pred_relevant_windows": [[0, 1, 0.2], [8, 9, 0.7]]}',
    ]
    plain = tmp_path / "plain.jsonl"
    plain.write_text("\n".join(lines) + "\n")
    assert _read_jsonl_arrow(plain) is not None  # the plain file takes the fast path
    mixed = tmp_path / "mixed.jsonl"  # a string qid among integers: the line-by-line reader takes over
    mixed.write_text("\n".join(lines[:2] + [lines[2].replace('"qid": 3', '"qid": "q3"')]) + "\n")
    fast, slow = read_predictions(plain), read_predictions(mixed)
    want = [[1.0, 2.0], [5.5, 7.5], [8.0, 9.0]]  # a tie keeps the first window
    assert fast[["pred_start_s", "pred_end_s"]].to_numpy().tolist() == want
    assert slow[["pred_start_s", "pred_end_s"]].to_numpy().tolist() == want
    assert fast["query_id"].tolist() == ["1", "2", "3"] and slow["query_id"].tolist() == ["1", "2", "q3"]
