"""psvl evaluate: metrics per query on hand-computed samples, every input format, matching, the priors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from repo_paths import TEST_DATA

from psvl.cli import main
from psvl.core import bootstrap
from psvl.core.artifacts import read_frame, write_table
from psvl.datasets.predictions import FormatError, _read_jsonl_arrow, read_ground_truth, read_predictions
from psvl.evaluation.evaluate import baselines, evaluate
from psvl.evaluation.query_shuffled import sources

DATA = TEST_DATA / "eval"
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
    fixed, want = got["baselines"]["fixed_window"], EXPECTED["baselines"]["fixed_window"]
    _assert_metrics(fixed, want)
    assert [fixed[k] for k in ("window", "source", "n_reference")] == [
        want[k] for k in ("window", "source", "n_reference")
    ]
    # two queries per video: each takes its sibling's prediction (README.md works the IoUs out)
    shuffled, want = got["baselines"]["query_shuffled"], EXPECTED["baselines"]["query_shuffled"]
    _assert_metrics(shuffled, want)
    assert [shuffled[k] for k in ("within_video", "across_video", "unshuffled")] == [8, 0, 0]
    for row in (got, *got["baselines"].values()):
        assert set(row["intervals"]) == {"R@0.3", "R@0.5", "R@0.7", "mIoU"}
        for key, (lo, hi) in row["intervals"].items():
            assert 0.0 <= lo <= row[key] <= hi <= 1.0, key
    want_boot = {"method": "percentile", "resamples": 1000, "level": 0.95, "seed": 0, "iou_bin": 0.01}
    assert got["bootstrap"] == want_boot
    table = read_frame(per_query, "per_query").set_index("query_id")
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
            "no_known_words": False,
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


def _exact_world(n_videos: int, per_video: int, seed: int = 0) -> pd.DataFrame:
    """`per_video` disjoint true moments in each 30 s video, as a ground-truth table."""
    rng = np.random.default_rng(seed)
    rows = []
    for v in range(n_videos):
        cuts = np.sort(rng.choice(np.arange(1, 30), size=2 * per_video, replace=False)).reshape(-1, 2)
        for q, (s, e) in enumerate(cuts):
            rows.append(
                {"query_id": f"v{v}q{q}", "video_id": f"v{v}", "start_s": s, "end_s": e, "duration_s": 30.0}
            )
    return pd.DataFrame(rows).astype({"start_s": float, "end_s": float})


def test_query_shuffled_gives_exact_predictions_to_the_wrong_queries_and_scores_far_below_the_model():
    gt = _exact_world(n_videos=20, per_video=3)
    exact = gt.rename(columns={"start_s": "pred_start_s", "end_s": "pred_end_s"})
    got = evaluate(exact, gt, seed=5)
    shuffled = got["baselines"]["query_shuffled"]
    assert got["R@0.5"] == 1.0 and got["mIoU"] == 1.0
    # the moments of a video are disjoint: another query's exact answer overlaps nothing
    assert shuffled["R@0.1"] == 0.0 and shuffled["mIoU"] == 0.0 and shuffled["n_queries"] == 60
    assert shuffled["within_video"] == 60 and shuffled["across_video"] == shuffled["unshuffled"] == 0
    assert shuffled["intervals"]["R@0.5"] == [0.0, 0.0]
    # a model that ignores the words (one span per video) loses nothing when the queries are shuffled
    blind = exact.assign(pred_start_s=0.0, pred_end_s=15.0)
    blind_got = evaluate(blind, gt, seed=5)
    for key in KEYS:
        assert blind_got["baselines"]["query_shuffled"][key] == pytest.approx(blind_got[key]), key


def test_query_shuffled_is_a_seeded_derangement_and_lone_queries_borrow_from_another_video_rescaled():
    videos = np.array(["a", "a", "a", "b", "b", "c", "d", "e"])
    src, across = sources(videos, np.random.default_rng(0))
    assert (src != np.arange(8)).all()  # nobody keeps its own prediction
    assert (videos[src[:5]] == videos[:5]).all() and not across[:5].any()
    assert across[5:].all() and sorted(src[5:].tolist()) == [5, 6, 7]  # c, d, e form one cycle
    again, _ = sources(videos, np.random.default_rng(0))
    assert (src == again).all()
    assert set(sources(videos[:6], np.random.default_rng(1))[0][5:].tolist()) <= set(
        range(5)
    )  # one lone query
    # lone queries in a 10 s and a 40 s video with the same relative moment: rescaled, each fits the other
    gt = pd.DataFrame(
        {
            "query_id": ["x", "y"],
            "video_id": ["v", "w"],
            "start_s": [2.0, 8.0],
            "end_s": [5.0, 20.0],
            "duration_s": [10.0, 40.0],
        }
    )
    exact = gt.rename(columns={"start_s": "pred_start_s", "end_s": "pred_end_s"})
    shuffled = evaluate(exact, gt)["baselines"]["query_shuffled"]
    assert shuffled["mIoU"] == pytest.approx(1.0) and shuffled["across_video"] == 2


def test_bootstrap_interval_contains_the_point_estimate_and_narrows_with_more_queries():
    rng = np.random.default_rng(0)
    widths = []
    for n in (100, 10_000):
        ious = rng.beta(2, 2, size=n)
        got = bootstrap.intervals({"model": ious}, seed=0)["model"]
        point = {
            "R@0.3": (ious >= 0.3).mean(),
            "R@0.5": (ious >= 0.5).mean(),
            "R@0.7": (ious >= 0.7).mean(),
            "mIoU": ious.mean(),
        }
        for key, (lo, hi) in got.items():
            assert lo < point[key] < hi, (n, key)
        widths.append(got["R@0.5"][1] - got["R@0.5"][0])
    # the width of a proportion's interval shrinks like 1/sqrt(n): 100x the queries, about 1/10 the width
    assert widths[1] < widths[0] / 5
    # R@0.5 of 10 000 queries at p ~ 0.5: 95 % half-width 1.96 * sqrt(p(1-p)/n) ~ 0.0098
    assert widths[1] == pytest.approx(2 * 1.96 * 0.5 / 100, rel=0.15)


def test_bootstrap_is_seeded_and_fast_and_matches_resampling_every_query():
    import time

    ious = np.random.default_rng(1).random(10_000)
    start = time.perf_counter()
    a = bootstrap.intervals({"model": ious, "copy": ious.copy()}, seed=3)
    assert time.perf_counter() - start < 1.0  # about 0.03 s on 2 shared cores
    assert a["model"] == a["copy"]  # a row's interval depends on its IoUs and the seed only
    # the same intervals as drawing every query of every resample (R@ exactly; mIoU up to 0.01-wide bins)
    few = ious[:300]
    drawn = few[np.random.default_rng(0).integers(0, 300, size=(20_000, 300))]
    want = {"R@0.5": (drawn >= 0.5).mean(1), "mIoU": drawn.mean(1)}
    got = bootstrap.interval(few, seed=0, resamples=20_000)
    for key, stats in want.items():
        assert got[key] == pytest.approx(np.quantile(stats, [0.025, 0.975]).tolist(), abs=0.01), key
    assert bootstrap.intervals({"model": ious}, seed=3)["model"] == a["model"]
    assert bootstrap.intervals({"model": ious}, seed=4)["model"] != a["model"]
    assert bootstrap.intervals({"model": np.zeros(0)})["model"]["mIoU"] == [0.0, 0.0]
