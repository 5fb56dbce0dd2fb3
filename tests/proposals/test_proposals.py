"""TEP proposals: determinism, length limits, tiny videos, baselines, and recall on hand-made features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from psvl.config import default
from psvl.features.segments import VideoFeatures
from psvl.proposals.eval_proposals import evaluate_proposals, time_only_spans, uniform_segments
from psvl.proposals.proposals import (
    ProposalsConfig,
    choose_k,
    contextualize,
    label_runs,
    merge_short_runs,
    propose,
    propose_video,
    random_spans,
    sliding_spans,
)


def proposals_config(**overrides) -> ProposalsConfig:
    """The schema's `proposals` defaults with `overrides` on top."""
    return default(ProposalsConfig, "proposals", **overrides)


def piecewise_world(
    n_videos: int = 12, seed: int = 0, fps: float = 2.0, noise: float = 1.0, events=(2, 4), seconds=(4, 12)
):
    """Videos of `events` (min, max) events of `seconds` (min, max) each, each event a constant 64-d
    feature plus noise: (features dict, annotations)."""
    rng = np.random.default_rng(seed)
    feats, rows = {}, []
    for v in range(n_videos):
        n_ev = int(rng.integers(events[0], events[1] + 1))
        bounds = np.concatenate([[0.0], np.cumsum(rng.uniform(*seconds, n_ev).round(1))])
        t = np.arange(int(bounds[-1] * fps)) / fps
        label = np.searchsorted(bounds[1:], t, side="right").clip(max=n_ev - 1)
        x = (rng.normal(size=(n_ev, 64)) + 3)[label] + rng.normal(scale=noise, size=(len(t), 64))
        starts, ends = np.maximum(t - 0.5 / fps, 0), t + 0.5 / fps
        feats[f"v{v}"] = VideoFeatures(x.astype(np.float32), starts, ends)
        for e in range(n_ev):
            rows.append(
                {
                    "query_id": f"v{v}#{e}",
                    "video_id": f"v{v}",
                    "split": "test" if v % 3 == 0 else "train",
                    "sentence": "",
                    "start_s": bounds[e],
                    "end_s": bounds[e + 1],
                    "duration_s": ends[-1],
                }
            )
    return feats, pd.DataFrame(rows)


@pytest.fixture(scope="module")
def world():
    return piecewise_world()


def test_same_seed_and_inputs_give_identical_proposals(world):
    feats, _ = world
    a, b = propose(feats, proposals_config()), propose(feats, proposals_config())
    pd.testing.assert_frame_equal(a, b)
    assert a["proposal_id"].iloc[0] == "v0#p0"
    # one video proposed alone equals its rows in the full run: no dependence on shard composition
    alone = propose({"v5": feats["v5"]}, proposals_config())
    pd.testing.assert_frame_equal(alone, a[a["video_id"] == "v5"].reset_index(drop=True))


def test_proposals_respect_length_limits_budget_and_video_bounds(world):
    feats, _ = world
    cfg = proposals_config(min_frac=0.2, max_frac=0.6, per_video=4)
    df = propose(feats, cfg)
    dur = df["video_id"].map({v: f.ends[-1] for v, f in feats.items()})
    frac = (df["end_s"] - df["start_s"]) / dur
    assert frac.min() >= 0.2 - 1e-9 and frac.max() <= 0.6 + 1e-9
    assert df.groupby("video_id").size().max() <= 4
    assert (df["start_s"] >= 0).all() and (df["end_s"] <= dur + 1e-9).all()
    assert df["n_atomic"].between(1, cfg.max_atomic).all()


def test_three_segment_video_gets_its_halves():
    feats = np.eye(3, dtype=np.float32)
    spans = propose_video(
        "tiny", feats, np.array([0.0, 0.5, 1.0]), np.array([0.5, 1.0, 1.5]), proposals_config(k_min=4)
    )
    assert spans == [(0.0, 0.75, 1), (0.75, 1.5, 1)]
    whole = propose_video(
        "tiny", feats, [0.0, 0.5, 1.0], [0.5, 1.0, 1.5], proposals_config(k_min=4, min_frac=0.6)
    )
    assert whole == [(0.0, 1.5, 1)]


def test_constant_and_non_finite_features_still_get_proposals_within_limits():
    starts = np.arange(40) * 0.5
    cfg = proposals_config()
    constant = propose_video("flat", np.ones((40, 8), dtype=np.float32), starts, starts + 0.5, cfg)
    broken = np.random.default_rng(0).normal(size=(40, 8)).astype(np.float32)
    broken[5:9] = np.nan
    nan = propose_video("nan", broken, starts, starts + 0.5, cfg)
    for spans in (constant, nan):
        fracs = [(e - s) / 20.0 for s, e, _ in spans]
        assert 1 <= len(spans) <= 10 and min(fracs) >= 0.15 - 1e-9 and max(fracs) <= 0.85 + 1e-9


def test_inconsistent_limits_are_config_errors_naming_the_keys():
    from psvl.config import ConfigError

    with pytest.raises(ConfigError, match="config.proposals.min_frac"):
        proposals_config(min_frac=0.9, max_frac=0.5)
    with pytest.raises(ConfigError, match="config.proposals.k_min"):
        proposals_config(k_min=5, k_max=3)


def test_atomic_events_are_maximal_runs_and_short_runs_merge_into_the_closer_neighbour():
    assert label_runs(np.array([0, 0, 1, 1, 1, 0])) == [[0, 1], [2, 4], [5, 5]]
    feats = np.array([[0.0], [0.0], [0.0], [0.9], [1.0], [1.0], [1.0]])
    starts = np.arange(7) * 1.0
    runs = merge_short_runs([[0, 2], [3, 3], [4, 6]], feats, starts, starts + 1, min_seconds=2.0)
    assert runs == [[0, 2], [3, 6]]  # the one-second flicker joins the event it resembles


def test_contextualized_features_are_scaled_similarity_columns_plus_time():
    x = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 2.0], [0.0, 1.0]], dtype=np.float32)
    ctx = contextualize(x, time_weight=3.0, center=False)
    assert ctx.shape == (4, 5)
    np.testing.assert_allclose(ctx[:, :4] * 2, [[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 1], [0, 0, 1, 1]])
    np.testing.assert_allclose(ctx[:, 4], [0, 1, 2, 3])


def test_tep_recovers_piecewise_constant_events_far_better_than_random(world):
    feats, ann = world
    report = evaluate_proposals(propose(feats, proposals_config()), ann, proposals_config())
    assert report["recall@0.5"] >= 0.9
    assert report["proposals_per_video"] <= 10
    assert report["recall@0.5"] - report["baselines"]["random"]["recall@0.5"] >= 0.2


def test_random_and_sliding_baselines_keep_count_and_length_limits():
    cfg = proposals_config(min_frac=0.15, max_frac=0.85)
    spans = random_spans(20.0, 10, cfg, np.random.default_rng(0))
    lengths = np.array([e - s for s, e, _ in spans])
    assert len(spans) == 10 and lengths.min() >= 3.0 - 1e-9 and lengths.max() <= 17.0 + 1e-9
    assert all(0 <= s and e <= 20.0 for s, e, _ in spans)
    assert sliding_spans(12.0, 5, cfg) == [
        (0.0, 4.0, 0),
        (0.0, 6.0, 0),
        (4.0, 8.0, 0),
        (6.0, 12.0, 0),
        (8.0, 12.0, 0),
    ]
    assert len(sliding_spans(12.0, 10, cfg)) == 10


def test_proposal_recall_on_a_hand_made_case():
    proposals = pd.DataFrame(
        {
            "video_id": ["a", "a", "b"],
            "proposal_id": ["a#p0", "a#p1", "b#p0"],
            "start_s": [0.0, 5.0, 0.0],
            "end_s": [10.0, 15.0, 4.0],
            "n_atomic": [1, 1, 1],
        }
    )
    ann = pd.DataFrame(
        {
            "query_id": ["q1", "q2", "q3", "q4"],
            "video_id": ["a", "a", "b", "c"],
            "split": "test",
            "sentence": "",
            "start_s": [0.0, 10.0, 2.0, 0.0],
            "end_s": [10.0, 20.0, 6.0, 1.0],
            "duration_s": [20.0, 20.0, 8.0, 5.0],
        }
    )
    report = evaluate_proposals(proposals, ann, proposals_config())
    # q1: IoU 1 with a#p0; q2: best 5/15 with a#p1; q3: 2/6 with b#p0; q4: video c has no proposals
    assert report["n_moments"] == 3 and report["n_videos"] == 2
    assert report["recall@0.3"] == 1.0
    assert report["recall@0.5"] == pytest.approx(1 / 3)
    assert report["recall@0.7"] == pytest.approx(1 / 3)
    assert report["mean_best_iou"] == pytest.approx((1 + 1 / 3 + 1 / 3) / 3)
    assert report["proposals_per_video"] == 1.5
    assert set(report["baselines"]) == {"random", "sliding"}
    assert "by_split" not in report  # one split only
    assert report["baselines"]["random"]["proposals_per_video"] == 1.5
    lo, hi = report["intervals"]["recall@0.5"]  # bootstrap over the 3 moments: hits are 1 of 3
    assert 0.0 <= lo <= 1 / 3 <= hi <= 1.0 and report["intervals"]["recall@0.3"] == [1.0, 1.0]
    margin = report["baselines"]["sliding"]["margin"]["recall@0.3"]
    assert margin["difference"] == pytest.approx(1.0 - report["baselines"]["sliding"]["recall@0.3"])
    assert margin["interval"][0] <= margin["difference"] <= margin["interval"][1]


def test_paired_difference_interval_sees_a_consistent_margin_and_no_margin():
    from psvl.core.bootstrap import paired_difference

    rng = np.random.default_rng(0)
    b = rng.random(400) < 0.4
    a = b | (rng.random(400) < 0.2)  # a hits wherever b does, and more: a clear margin
    lo, hi = paired_difference(a, b)
    assert 0 < lo <= (a.mean() - b.mean()) <= hi
    assert paired_difference(b, b) == [0.0, 0.0]  # same method: no margin at all
    with pytest.raises(ValueError, match="length"):
        paired_difference(a, b[:10])


def test_propose_and_eval_proposals_commands_write_proposals_and_report(tmp_path, world):
    import json

    from psvl.cli import main
    from psvl.core.artifacts import read_frame, read_metadata, write_table

    feats, ann = world
    rows = [
        {"video_id": v, "segment_idx": i, "start_s": s, "end_s": e, "feature": x}
        for v, f in feats.items()
        for i, (x, s, e) in enumerate(zip(f.array, f.starts, f.ends))
    ]
    write_table("features", pd.DataFrame(rows), tmp_path / "features.parquet", stage="features")
    write_table("annotations", ann, tmp_path / "annotations.parquet", stage="annotations")
    out = tmp_path / "proposals.parquet"
    assert (
        main(
            [
                "proposals",
                "--features",
                str(tmp_path / "features.parquet"),
                "--out",
                str(out),
                "--set",
                'proposals={"per_video": 6, "seed": 1}',
            ]
        )
        == 0
    )
    df = read_frame(out, "proposals")
    assert df["video_id"].nunique() == len(feats) and df.groupby("video_id").size().max() <= 6
    assert read_metadata(out)["config"]["per_video"] == 6
    report_path = tmp_path / "eval" / "proposals.json"
    assert (
        main(
            [
                "eval-proposals",
                "--proposals",
                str(out),
                "--annotations",
                str(tmp_path / "annotations.parquet"),
                "--out",
                str(report_path),
            ]
        )
        == 0
    )
    report = json.loads(report_path.read_text())
    assert report["proposals_per_video"] <= 6
    # without --features, time_only clusters a uniform grid of the features' segment length (1 / frames.fps)
    assert report["baselines"]["time_only"]["segments"] == "uniform 0.5 s"
    assert report["baselines"]["time_only"]["proposals_per_video"] <= report["proposals_per_video"]
    cmd = ["eval-proposals", "--proposals", str(out), "--annotations", str(tmp_path / "annotations.parquet")]
    with_features = tmp_path / "eval" / "proposals_features.json"
    assert main([*cmd, "--features", str(tmp_path / "features.parquet"), "--out", str(with_features)]) == 0
    time_only = json.loads(with_features.read_text())["baselines"]["time_only"]
    assert time_only["segments"] == "features" and time_only["n_moments"] == report["n_moments"]
    assert report["recall@0.5"] >= report["baselines"]["random"]["recall@0.5"] + 0.1
    by_split = report["by_split"]
    assert by_split["test"]["n_videos"] == 4 and by_split["train"]["n_videos"] == 8
    assert by_split["test"]["n_moments"] + by_split["train"]["n_moments"] == report["n_moments"]
    assert set(report["baselines"]["random"]) >= {
        "recall@0.3",
        "recall@0.5",
        "recall@0.7",
        "proposals_per_video",
    }


def test_time_only_tep_clusters_time_alone_into_equal_parts():
    starts = np.arange(60) * 0.5  # 30 s, k = 3 atomic events: thirds of the video whatever the features say
    spans = time_only_spans(starts, starts + 0.5, 10, "v", proposals_config(k=3, max_atomic=1, min_frac=0.1))
    bounds = np.array([[s, e] for s, e, _ in spans])
    np.testing.assert_allclose(
        bounds, [[0, 10], [10, 20], [20, 30]], atol=1.0
    )  # k-means: thirds +- a segment
    starts, ends = uniform_segments({"v": 2.2}, 0.5)["v"]
    np.testing.assert_allclose(starts, [0, 0.5, 1, 1.5, 2])
    np.testing.assert_allclose(ends, [0.5, 1, 1.5, 2, 2.2])


def test_time_only_tep_is_far_worse_than_tep_on_features_when_events_are_uneven():
    # three events of 5-25 s per video: their boundaries are where the features change, not at thirds
    feats, ann = piecewise_world(n_videos=24, seed=0, events=(3, 3), seconds=(5, 25))
    cfg = proposals_config(k=3, time_weight=0.5)
    times = {v: (f.starts, f.ends) for v, f in feats.items()}
    report = evaluate_proposals(propose(feats, cfg), ann, cfg, times)
    time_only = report["baselines"]["time_only"]
    assert time_only["proposals_per_video"] <= report["proposals_per_video"]  # the same budget
    assert report["recall@0.7"] >= 0.9
    assert report["recall@0.7"] - time_only["recall@0.7"] >= 0.25
    assert report["mean_best_iou"] > time_only["mean_best_iou"]


def one_per_second_video(seconds: int, seed: int, noise: float = 0.3) -> VideoFeatures:
    """A video of `seconds` one-second segments whose events last 4-12 s, each a constant 64-d feature."""
    rng = np.random.default_rng(seed)
    bounds = np.cumsum(rng.uniform(4, 12, size=seconds // 4 + 1))
    label = np.searchsorted(bounds, np.arange(seconds) + 0.5)
    x = (rng.normal(size=(len(bounds), 64)) + 3)[label] + rng.normal(scale=noise, size=(seconds, 64))
    return VideoFeatures(x.astype(np.float32), np.arange(seconds, dtype=float), np.arange(1, seconds + 1.0))


def count_and_length(seconds: int, cfg: ProposalsConfig, seeds=range(8)) -> tuple[float, float]:
    """Mean proposals per video and mean proposal length as a fraction of the video, over `seeds`."""
    df = propose({f"v{s}": one_per_second_video(seconds, s) for s in seeds}, cfg)
    return df.groupby("video_id").size().mean(), ((df["end_s"] - df["start_s"]) / seconds).mean()


def test_a_3_minute_video_gets_proposals_like_a_30_second_one():
    cfg = proposals_config()
    short, long = count_and_length(30, cfg), count_and_length(180, cfg)
    assert short[0] >= 8 and long[0] >= 0.8 * short[0]  # 8.4 and 7.5 per video (k_max 16: 2.8 at 180 s)
    assert 0.2 <= short[1] <= 0.3 and 0.18 <= long[1] <= 0.3  # mean 0.27 and 0.21 of the video
    assert count_and_length(180, proposals_config(k_max=16))[0] < 0.4 * short[0]  # the old cap degenerates


def test_videos_under_47_seconds_keep_k_from_atomic_seconds():
    cfg = proposals_config()  # Charades-STA's videos: 97% are shorter than 47 s
    ks = [choose_k(float(d), 2 * d, cfg) for d in range(10, 48)]
    assert ks == [max(2, round(d / cfg.atomic_seconds)) for d in range(10, 48)]
    assert choose_k(120.0, 120, cfg) == choose_k(180.0, 180, cfg) == cfg.k_max == 10
