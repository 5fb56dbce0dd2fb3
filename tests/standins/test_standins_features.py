"""Stand-in class scores and features (psvl.standins.features), the Charades per-frame mAP and the
calibration of the quality knob (psvl.standins.frame_map)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from psvl.standins.classes import ActionClass
from psvl.standins.features import NoiseModel, class_scores, related_matrix, segment_bounds, standin_features
from psvl.standins.frame_map import calibrate, per_frame_map, quality_map
from psvl.standins.timelines import Action, Timeline

# 157 classes without shared verbs or nouns: the hand-made cases need no tagger
PLAIN = [ActionClass(k, f"c{k}", f"verb{k}", f"noun{k}") for k in range(157)]


@pytest.fixture(scope="module")
def test_subset(timelines):
    """The first 120 Charades test videos with actions (file order)."""
    chosen = [(v, t) for v, t in timelines.items() if t.subset == "testing" and t.actions]
    return dict(chosen[:120])


def test_segments_cover_the_duration_and_the_last_is_cut():
    starts, ends = segment_bounds(30.54, 1.0)
    assert len(starts) == 31
    assert (starts[0], starts[-1], ends[-2], ends[-1]) == (0.0, 30.0, 30.0, 30.54)
    assert len(segment_bounds(3.0, 1.0)[0]) == 3
    assert len(segment_bounds(0.4, 1.0)[0]) == 1


def test_quality_one_is_the_covered_fraction_of_each_segment():
    tl = Timeline("V", "testing", 8.0, (Action(8, 2.5, 5.0), Action(3, 0.0, 1.0), Action(8, 6.0, 6.5)))
    scores = class_scores(tl, PLAIN, quality=1.0, segment_s=1.0, seed=0)
    assert scores.shape == (8, 157) and scores.dtype == np.float32
    np.testing.assert_allclose(scores[:, 8], [0, 0, 0.5, 1, 1, 0, 0.5, 0], atol=1e-6)
    np.testing.assert_allclose(scores[:, 3], [1, 0, 0, 0, 0, 0, 0, 0], atol=1e-6)
    assert np.abs(np.delete(scores, [3, 8], axis=1)).max() < 1e-6


def test_noise_parts_vanish_at_quality_one_and_grow_linearly():
    assert NoiseModel.from_quality(1.0) == NoiseModel(0, 0, 0, 0, 0, 0, 0)
    half, zero = NoiseModel.from_quality(0.5), NoiseModel.from_quality(0.0)
    assert half.p_miss == pytest.approx(zero.p_miss / 2) and half.noise == pytest.approx(zero.noise / 2)
    with pytest.raises(ValueError, match=r"quality: expected a number in \[0, 1\], got 1.5"):
        NoiseModel.from_quality(1.5)


def test_a_confusion_leaks_to_classes_sharing_the_noun_or_the_verb(classes):
    rel = related_matrix(tuple(classes))
    np.testing.assert_allclose(rel.sum(1), 1.0)
    cup = [c.index for c in classes if c.noun == "cup" and c.index != 107]  # drink, pour, put, take, wash
    hold = [c.index for c in classes if c.verb == "hold" and c.index != 107]
    assert (len(cup), len(hold)) == (5, 19)
    np.testing.assert_allclose(rel[107, cup], 0.5 / 5)  # Holding a cup/glass/bottle: half to the noun
    np.testing.assert_allclose(rel[107, hold], 0.5 / 19)  # and half to the verb
    assert np.count_nonzero(rel[107]) == 24
    # over 100 seeds the zero-mean score noise averages out: at quality 0.5 a cup class gets the kept
    # share (1 - 0.25) of the leak (0.3) of its tenth, 0.0225, above the false alarms every class gets
    tl = Timeline("V", "testing", 60.0, (Action(107, 0.0, 60.0),))
    mean = np.mean(
        [class_scores(tl, classes, quality=0.5, segment_s=1.0, seed=k).mean(0) for k in range(300)], 0
    )
    unrelated = [c.index for c in classes if c.noun != "cup" and c.verb != "hold"]
    assert mean[cup].mean() - mean[unrelated].mean() == pytest.approx(0.0225, abs=0.005)


def test_scores_of_a_video_do_not_depend_on_the_other_videos(test_subset, classes):
    vids = list(test_subset)
    kw = {"quality": 0.5, "segment_s": 1.0, "seed": 7}
    alone = class_scores(test_subset[vids[5]], classes, **kw)
    in_batch = {v: class_scores(test_subset[v], classes, **kw) for v in reversed(vids[:10])}
    np.testing.assert_array_equal(alone, in_batch[vids[5]])
    other_seed = class_scores(test_subset[vids[5]], classes, **{**kw, "seed": 8})
    assert np.abs(alone - other_seed).mean() > 0.05


def test_features_are_unit_rows_of_the_asked_dim_and_keep_the_truth(test_subset, classes):
    tl = next(iter(test_subset.values()))
    feats = standin_features(tl, classes, quality=0.5, segment_s=1.0, dim=256, seed=0)
    assert feats.shape == (len(segment_bounds(tl.duration_s, 1.0)[0]), 256) and feats.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(feats, axis=1), 1.0, atol=1e-5)
    again = standin_features(tl, classes, quality=0.5, segment_s=1.0, dim=256, seed=0)
    np.testing.assert_array_equal(feats, again)
    # segments that share their true classes are closer than segments that share none
    truth = class_scores(tl, classes, quality=1.0, segment_s=1.0, seed=0) > 0.5
    clean = standin_features(tl, classes, quality=1.0, segment_s=1.0, dim=256, seed=0)
    sim = clean @ clean.T
    same = (truth[:, None, :] == truth[None, :, :]).all(-1) & truth.any(-1)[:, None]
    disjoint = ~(truth[:, None, :] & truth[None, :, :]).any(-1)
    assert sim[same].mean() > sim[disjoint].mean() + 0.2


def test_per_frame_map_of_a_hand_made_case():
    """24 s videos: frames at 0, 1, ..., 24 s, one per 1 s segment (the last frame reads segment 23)."""
    tls = {
        "A": Timeline("A", "testing", 24.0, (Action(0, 0.0, 12.0),)),
        "B": Timeline("B", "testing", 24.0, (Action(1, 10.0, 20.0),)),
    }
    perfect = {v: class_scores(t, PLAIN, quality=1.0, segment_s=1.0, seed=0) for v, t in tls.items()}
    assert per_frame_map(tls, perfect, 1.0) == 1.0
    # class 0: its 12 positive frames (A at 0-11 s) score 1.0 down to 0.5; one negative (A at 20 s)
    # scores 0.75, between the 6th and the 7th; class 1 (B at 10-19 s) stays perfect
    hand = {v: np.zeros((24, 157)) for v in tls}
    hand["A"][:12, 0] = np.linspace(1.0, 0.5, 12)
    hand["A"][20, 0] = 0.75
    hand["B"][10:20, 1] = 1.0
    ap0 = (6 + sum(k / (k + 1) for k in range(7, 13))) / 12
    assert per_frame_map(tls, hand, 1.0) == pytest.approx((ap0 + 1.0) / 2)
    assert per_frame_map(tls, {"A": hand["A"]}, 1.0) == pytest.approx(ap0)  # class 1: no positive in A


def test_frame_map_rises_with_quality_and_is_near_one_at_the_truth(test_subset, classes):
    subset = dict(list(test_subset.items())[:60])
    maps = [quality_map(subset, classes, q, 1.0, 0) for q in (0.0, 0.4, 0.55, 0.7, 1.0)]
    assert all(a < b for a, b in itertools.pairwise(maps))
    assert maps[0] < 0.06
    # 1 s segments cannot tell which part of a boundary segment is inside the action: the ceiling
    assert 0.99 < maps[-1] < 1.0


def test_calibrate_finds_the_quality_of_a_target_map(test_subset, classes):
    subset = dict(list(test_subset.items())[:40])
    found = calibrate(subset, classes, 0.185, 1.0, 0, tol=0.004, sweep=(0.5, 0.75))
    assert found["videos"] == 40
    assert abs(found["map"] - 0.185) <= 0.01
    assert found["map"] == pytest.approx(quality_map(subset, classes, found["quality"], 1.0, 0))
    assert found["sweep"][0.0] < 0.185 < found["sweep"][0.75]
    with pytest.raises(ValueError, match="outside what the knob reaches"):
        calibrate(subset, classes, 1.5, 1.0, 0, sweep=())
