"""`psvl ground` (predict.localizer class_scores) end to end on stand-in class scores of real Charades
timelines."""

from __future__ import annotations

import numpy as np
import pandas as pd

from psvl.cli import main
from psvl.core.artifacts import read_frame, write_table
from psvl.standins.features import class_scores, segment_bounds


def test_psvl_ground_localizes_stand_in_queries_of_real_timelines(tmp_path, timelines, classes):
    """`psvl ground` end to end on the class scores of 40 real Charades videos (stand-in quality 1.0, the
    timelines themselves): queries built from each video's own actions land on them."""
    rows, queries = [], []
    videos = [v for v in sorted(timelines) if timelines[v].actions][:40]
    for vid in videos:
        tl = timelines[vid]
        s = class_scores(tl, classes, quality=1.0, segment_s=1.0, seed=0)
        a, b = segment_bounds(tl.duration_s, 1.0)
        rows.append(
            pd.DataFrame(
                {
                    "video_id": vid,
                    "segment_idx": np.arange(len(s), dtype=np.int32),
                    "start_s": a,
                    "end_s": b,
                    "scores": list(s),
                }
            )
        )
        act = max(tl.actions, key=lambda x: x.end_s - x.start_s)
        c = classes[act.cls]
        queries.append((f"{vid}#0", vid, "", act.start_s, act.end_s, tl.duration_s, [c.verb, c.noun or ""]))
    path = write_table(
        "class_scores",
        pd.concat(rows),
        tmp_path / "cs.parquet",
        stage="test",
        shaping={"classes": [c.name for c in classes]},
    )
    cols = ["query_id", "video_id", "sentence", "start_s", "end_s", "duration_s", "tokens"]
    write_table("test_queries", pd.DataFrame(queries, columns=cols), tmp_path / "q.parquet", stage="test")
    args = ["--class-scores", str(path), "--test-queries", str(tmp_path / "q.parquet")]
    assert main(["ground", *args, "--out", str(tmp_path / "p.parquet")]) == 0
    pred = read_frame(tmp_path / "p.parquet", "predictions")
    truth = pd.DataFrame(queries, columns=cols).set_index("query_id")
    inter = np.minimum(pred["pred_end_s"].values, truth.loc[pred["query_id"], "end_s"].values) - np.maximum(
        pred["pred_start_s"].values, truth.loc[pred["query_id"], "start_s"].values
    )
    union = np.maximum(pred["pred_end_s"].values, truth.loc[pred["query_id"], "end_s"].values) - np.minimum(
        pred["pred_start_s"].values, truth.loc[pred["query_id"], "start_s"].values
    )
    iou = np.clip(inter, 0, None) / union
    assert len(pred) == 40 and (iou >= 0.3).mean() >= 0.6
