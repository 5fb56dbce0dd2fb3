"""experiments/oracle_labels.py: the oracle pseudo-queries are the world's true train events, nothing else."""

from __future__ import annotations

import numpy as np
import pandas as pd

from experiments.oracle_labels import oracle_queries
from psvl.core.artifacts import read_frame, write_table


def test_oracle_queries_hold_the_true_train_events_with_feature_durations(tmp_path):
    (tmp_path / "world").mkdir()
    pd.DataFrame(
        {
            "video_id": ["a", "a", "b", "c"],
            "split": ["train", "train", "test", "train"],
            "event_idx": [0, 1, 0, 0],
            "start_s": [0.0, 4.0, 1.0, 2.0],
            "end_s": [3.0, 9.0, 5.0, 6.0],
            "object": ["ball", "cube", "star", "ring"],
            "action": ["bounce", "slide", "spin", "rise"],
        }
    ).to_parquet(tmp_path / "world" / "events.parquet")
    segments = pd.DataFrame(  # video c has no features (it failed upstream): its event is left out
        {
            "video_id": ["a", "a", "b"],
            "segment_idx": [0, 1, 0],
            "start_s": [0.0, 5.0, 0.0],
            "end_s": [5.0, 10.5, 6.0],
            "feature": [np.zeros(2, np.float32)] * 3,
        }
    )
    write_table("features", segments, tmp_path / "f.parquet", stage="features")
    q = oracle_queries(tmp_path, [tmp_path / "f.parquet"])
    assert q["query_id"].tolist() == ["a#truth0", "a#truth1"]  # train split only, videos with features
    assert q["duration_s"].tolist() == [10.5, 10.5] and q["end_s"].tolist() == [3.0, 9.0]
    assert [list(t) for t in q["tokens"]] == [["bounce", "ball"], ["slide", "cube"]]
    write_table("pseudo_queries", q, tmp_path / "pq.parquet", stage="oracle")  # the schema accepts it
    assert len(read_frame(tmp_path / "pq.parquet", "pseudo_queries")) == 2


def test_timelines_oracle_queries_are_the_training_videos_true_sentences(tmp_path):
    from experiments.oracle_labels import oracle_queries_timelines

    (tmp_path / "standins").mkdir()
    (tmp_path / "standins" / "train.txt").write_text(
        "AAAAA 1.0 6.5##a person opens the door.\nBBBBB 0.0 4.0##person sitting on a chair.\n"
        "CCCCC 2.0 3.0##no features for this video.\n"
    )
    segments = pd.DataFrame(
        {"video_id": ["AAAAA", "BBBBB"], "segment_idx": [0, 0], "start_s": [0.0, 0.0], "end_s": [30.0, 12.0]}
    )
    segments["feature"] = [np.zeros(2, np.float32)] * 2
    path = write_table("features", segments, tmp_path / "f.parquet", "test")
    q = oracle_queries_timelines(tmp_path, [path])
    assert q["video_id"].tolist() == ["AAAAA", "BBBBB"]
    assert q["tokens"].tolist() == [["open", "person", "door"], ["sit", "person", "chair"]]
    assert q["verbs"].tolist() == [["open"], ["sit"]]
    assert q["duration_s"].tolist() == [30.0, 12.0] and q["end_s"].tolist() == [6.5, 4.0]
