"""Class grounding (predict.localizer class_scores): which classes a query names, the window where they
stand out (end to end on real Charades timelines: tests/standins/test_standins_grounding.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from psvl.config import defaults
from psvl.features.segments import VideoFeatures
from psvl.localization.class_grounding import (
    ClassMatcher,
    GroundingConfig,
    best_window,
    ground,
    window_bounds,
)

WORDS = [("open", "door"), ("close", "door"), ("hold", "book"), ("sit", None)]
CFG = GroundingConfig(min_frac=0.2, max_frac=0.4, length_exponent=0.25, verb_weight=1.0, noun_weight=0.5)


def test_the_class_naming_both_words_wins_over_those_naming_one():
    m = ClassMatcher(WORDS, verb_weight=1.0, noun_weight=0.5)
    assert m.weights(["open", "door"]).tolist() == [1.0, 0.0, 0.0, 0.0]
    assert m.weights(["door"]).tolist() == [0.5, 0.5, 0.0, 0.0]  # ties share the weight
    assert m.weights(["sit", "chair"]).tolist() == [0.0, 0.0, 0.0, 1.0]
    assert not m.weights(["dance"]).any()


def test_windows_keep_the_length_limits_and_fall_back_to_the_shortest():
    i, j = window_bounds(10, 0.2, 0.4)
    assert set((j - i).tolist()) == {2, 3, 4}
    i, j = window_bounds(3, 0.5, 0.6)  # no whole-segment length in [1.5, 1.8]: the shortest windows
    assert set((j - i).tolist()) == {1}


def test_the_window_is_where_the_named_class_stands_out_despite_an_offset():
    scores = np.zeros((20, 4))
    scores[:, 1] = 5.0  # a class the network believes in all along (a per-video offset)
    scores[11:17, 0] = 1.0  # the named class fires in segments 11..16
    assert best_window(scores, np.array([1.0, 0, 0, 0]), CFG) == (11, 17)
    scores[:, 0] += 3.0  # an offset on the named class changes nothing
    assert best_window(scores, np.array([1.0, 0, 0, 0]), CFG) == (11, 17)


def test_ground_writes_seconds_from_the_segments_and_flags_a_query_naming_no_class():
    starts = np.arange(20, dtype=float) * 1.5
    scores = np.zeros((20, 4), dtype=np.float32)
    scores[2:8, 2] = 1.0
    video = VideoFeatures(scores, starts, starts + 1.5)
    queries = pd.DataFrame(
        {"query_id": ["q0", "q1"], "video_id": ["v", "v"], "tokens": [["hold", "book"], ["dance"]]}
    )
    pred = ground(queries, {"v": video}, WORDS, CFG)
    assert pred.loc[0, ["pred_start_s", "pred_end_s"]].tolist() == [3.0, 12.0]
    assert pred["no_known_words"].tolist() == [False, True]
    with pytest.raises(KeyError, match="video w has no class scores"):
        ground(queries.assign(video_id="w"), {"v": video}, WORDS, CFG)


def test_the_schema_defaults_build_and_min_above_max_is_refused():
    GroundingConfig.from_config(defaults("class_grounding"))
    with pytest.raises(ValueError, match="class_grounding.min_frac"):
        GroundingConfig.from_config({**defaults("class_grounding"), "min_frac": 0.6, "max_frac": 0.4})
