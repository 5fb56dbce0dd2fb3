"""Stand-in detections (psvl.standins.detections) and the figures that calibrate them against PSVL's
released pseudo-labels (psvl.standins.detection_rates), on the real files in ../shared/data."""

from __future__ import annotations

import time

import numpy as np
import pyarrow as pa
import pytest

from psvl.core.artifacts import SCHEMAS
from psvl.features.objects import box_motion
from psvl.standins.detection_rates import detection_rates, fit_noise, noun_figures, read_release
from psvl.standins.detections import (
    FRAME_H,
    FRAME_W,
    SCENE,
    class_objects,
    standin_detections,
    standin_detections_many,
)
from psvl.standins.features import segment_bounds
from psvl.standins.timelines import Action, Timeline

RELEASE = "psvl-reference/charades_train_pseudo_supervision_TEP_PS.json"


@pytest.fixture(scope="module")
def release_path(shared_data):
    path = shared_data / RELEASE
    if not path.is_file():
        pytest.skip(f"PSVL's released pseudo-labels not found at {path}")
    return path


def _fridge_video(seconds: float = 60.0) -> Timeline:
    """One action, `Opening a refrigerator` (c143), over the first half of the video."""
    return Timeline("FRIDGE", "training", seconds, (Action(143, 0.0, seconds / 2),))


def test_class_objects_are_the_noun_and_its_slash_alternatives(classes):
    objects = class_objects(classes)
    assert objects[107] == ("cup", "glass", "bottle")  # Holding a cup/glass/bottle of something
    assert objects[123] == ("sofa", "couch")  # Sitting on sofa/couch
    assert objects[33] == ("towel",)  # Holding a towel/s
    assert objects[121] == ("dish",)  # Wash a dish/dishes
    assert objects[0] == ("clothes",)  # no synonyms: clothes is not shirt
    assert objects[149] == ()  # Someone is laughing


def test_release_figures_reproduce_the_issue(release_path, timelines, classes):
    release = read_release(release_path)
    assert (len(release), release["video_id"].nunique()) == (12523, 3170)
    fig = noun_figures(release, timelines, classes)
    assert fig["object_of_overlapping_action"] == pytest.approx(0.400, abs=0.01)  # 0.402
    assert fig["object_of_other_actions_only"] == pytest.approx(0.115, abs=0.01)  # 0.116
    assert fig["share_wall"] == pytest.approx(0.78, abs=0.005)
    assert fig["share_man"] == pytest.approx(0.46, abs=0.005)
    assert fig["share_shirt"] == pytest.approx(0.44, abs=0.005)
    assert fig["share_floor"] == pytest.approx(0.31, abs=0.005)


def test_detections_follow_the_artifact_schema_one_frame_per_segment(timelines, classes):
    tl = timelines["7UPGT"]  # 23.21 s, 8 actions
    det = standin_detections(tl, classes, segment_s=1.0, seed=0)
    table = pa.Table.from_pandas(det, schema=SCHEMAS["detections"], preserve_index=False)
    assert table.num_rows == len(det) > 50
    starts, ends = segment_bounds(tl.duration_s, 1.0)
    assert set(det["frame_idx"]) <= set(range(starts.size))
    np.testing.assert_allclose(det["time_s"], ((starts + ends) / 2)[det["frame_idx"]])
    assert det["score"].between(0, 1, inclusive="right").all()
    assert (det["x1"] < det["x2"]).all() and (det["y1"] < det["y2"]).all()
    assert (det[["x1", "y1"]] >= 0).all().all()
    assert (det["x2"] <= FRAME_W).all() and (det["y2"] <= FRAME_H).all()
    assert not det.duplicated(["frame_idx", "label"]).any()  # one box per label and segment


def test_detections_are_seeded_per_video(timelines, classes):
    tl = timelines["7UPGT"]
    first = standin_detections(tl, classes, segment_s=1.0, seed=3)
    assert first.equals(standin_detections(tl, classes, segment_s=1.0, seed=3))
    assert not first.equals(standin_detections(tl, classes, segment_s=1.0, seed=4))
    many = standin_detections_many(timelines, classes, ["S9KOH", "7UPGT"], segment_s=1.0, seed=3)
    alone = many[many["video_id"] == "7UPGT"].reset_index(drop=True)
    assert alone.equals(first)  # a video's rows do not depend on the videos beside it


def test_an_action_object_is_detected_mostly_inside_its_action(classes):
    video = _fridge_video()
    det = standin_detections(video, classes, segment_s=1.0, seed=0, p_hit=0.9, p_room=0.1, scene_rate=0.0)
    fridge = det[det["label"] == "refrigerator"]
    inside = (fridge["time_s"] <= 30).sum() / 30
    outside = (fridge["time_s"] > 30).sum() / 30
    assert inside == pytest.approx(0.9, abs=0.12)  # p_hit x visibility 1.0
    assert outside == pytest.approx(0.1, abs=0.1)
    none = standin_detections(video, classes, segment_s=1.0, seed=0, scene_rate=0.0, false_rate=0.0)
    assert set(none["label"]) <= {"refrigerator"}  # no scene nouns, no false detections


def test_an_object_being_acted_on_moves_more_than_a_static_one(classes):
    video = _fridge_video()
    det = standin_detections(video, classes, segment_s=1.0, seed=1, p_hit=1.0, p_room=1.0, scene_rate=0.0)
    moved = box_motion(det.assign(video_id="FRIDGE"))
    fridge = moved[(moved["label"] == "refrigerator") & (moved["motion"] > 0)]
    acted = fridge.loc[fridge["time_s"] < 29, "motion"].median()
    still = fridge.loc[fridge["time_s"] > 32, "motion"].median()
    assert acted > 4 * still
    assert 0.05 < acted < 0.5 and still < 0.05


def test_an_unknown_noise_parameter_is_an_error(classes):
    with pytest.raises(TypeError, match="p_hti"):
        standin_detections(_fridge_video(), classes, segment_s=1.0, seed=0, p_hti=0.5)


def test_detections_cost_about_a_millisecond_per_video(timelines, classes):
    vids = [v for v, t in timelines.items() if t.subset == "training"][:300]
    start = time.perf_counter()
    standin_detections_many(timelines, classes, vids, segment_s=1.0, seed=0)
    per_video = (time.perf_counter() - start) / len(vids)
    assert per_video < 0.01  # ~1 ms on one core; generous for a shared machine


def test_calibrated_defaults_land_within_the_band_on_1000_released_videos(release_path, timelines, classes):
    vids = list(dict.fromkeys(read_release(release_path)["video_id"]))[:1000]
    det = standin_detections_many(timelines, classes, vids, segment_s=1.0, seed=0)
    rates = detection_rates(release_path, det, timelines, classes, videos=vids)
    assert rates["n_videos"] == 1000 and rates["queries_without_nouns"] == 0
    bad = {k: f for k, f in rates["figures"].items() if not f["passed"]}
    assert rates["passed"] and not bad
    assert {"object_of_overlapping_action", "object_of_other_actions_only", "share_wall"} <= set(
        rates["figures"]
    )
    wall = rates["figures"]["share_wall"]
    assert abs(wall["standin"] / wall["release"] - 1) == pytest.approx(abs(wall["rel_error"]), abs=1e-3)


def test_fit_noise_moves_the_rates_toward_the_release(release_path, timelines, classes):
    vids = list(dict.fromkeys(read_release(release_path)["video_id"]))[:300]
    fit = fit_noise(release_path, timelines, classes, iterations=1, videos=vids, noise={"p_hit": 0.8})
    assert fit["p_hit"] < 0.5  # 0.8 names the acted-on object far too often (0.6 of pseudo-queries)
    assert set(fit["scene"]) == set(SCENE) and all(0 < v <= 1 for v in fit["scene"].values())
