"""Each full real annotation file in ../shared/data parses, with the counts its README gives."""

from __future__ import annotations

import pytest

from psvl.datasets import read_annotations, read_pseudo_queries


def test_charades_sta_test_has_3720_queries_over_1334_videos_all_with_durations(shared_data):
    df = read_annotations(
        shared_data / "charades-sta/charades_sta_test.txt", shared_data / "charades-sta/charades.json"
    )
    assert (len(df), df["video_id"].nunique()) == (3720, 1334)
    assert df["query_id"].is_unique and set(df["split"]) == {"test"}
    assert df["duration_s"].notna().all()
    assert (df["start_s"] <= df["end_s"]).all()


def test_charades_sta_train_has_12408_queries_over_5338_videos(shared_data):
    df = read_annotations(
        shared_data / "charades-sta/charades_sta_train.txt", shared_data / "charades-sta/charades.json"
    )
    assert (len(df), df["video_id"].nunique()) == (12408, 5338)
    assert set(df["split"]) == {"train"}


@pytest.mark.parametrize(
    ("name", "videos", "sentences"),
    [("train.json", 10009, 37421), ("val_1.json", 4917, 17505), ("val_2.json", 4885, 17031)],
)
def test_activitynet_captions_counts(shared_data, name, videos, sentences):
    df = read_annotations(shared_data / "activitynet-captions" / name)
    assert (len(df), df["video_id"].nunique()) == (sentences, videos)
    assert df["duration_s"].notna().all() and df["query_id"].is_unique


def test_psvl_release_has_12523_pseudo_queries_over_3170_videos(shared_data):
    path = shared_data / "psvl-reference/charades_train_pseudo_supervision_TEP_PS.json"
    pq = read_pseudo_queries(path)
    assert (len(pq), pq["video_id"].nunique()) == (12523, 3170)
    assert pq["verbs"].map(len).eq(3).all()
    assert pq["nouns"].map(len).value_counts().to_dict() == {5: 12521, 4: 2}
    frac = (pq["end_s"] - pq["start_s"]) / pq["duration_s"]
    assert frac.between(0, 1).all()
    assert len(read_annotations(path)) == 12523
