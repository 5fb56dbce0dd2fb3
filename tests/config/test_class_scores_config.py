"""The cross-key checks of features.class_scores and predict.localizer class_scores (psvl.config): a
config that cannot make or find class scores stops at validation, before any job, naming the keys."""

from __future__ import annotations

import pytest

from psvl.config import ConfigError, validate


@pytest.mark.parametrize("extractor", ["detector_backbone", "precomputed"])
def test_class_scores_of_an_extractor_without_a_named_head_is_refused(extractor):
    with pytest.raises(ConfigError, match=rf"config.features.class_scores: .*'{extractor}' has none"):
        validate({"features": {"extractor": extractor, "class_scores": True}})


def test_class_scores_localizer_without_a_source_names_both_keys():
    with pytest.raises(ConfigError) as err:
        validate({"predict": {"localizer": "class_scores"}, "features": {"extractor": "resnet18"}})
    assert "config.predict.localizer" in str(err.value) and "config.features.class_scores" in str(err.value)
    assert len(str(err.value).splitlines()) == 1


def test_class_scores_localizer_on_a_raw_video_run_with_the_head_validates():
    cfg = validate(
        {
            "predict": {"localizer": "class_scores"},
            "features": {"extractor": "r2plus1d_18", "class_scores": True},
        }
    )
    assert cfg["features"]["class_scores"] is True and validate({})["features"]["class_scores"] is False
