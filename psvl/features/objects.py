"""Object channels: what the detector saw in each feature segment, as a segment feature of its own.

Why: the localizer must tell *which* event a sentence names, and the sentence names objects. A CNN
feature pooled over the whole frame mixes every object on screen (and the actor who is always there), so
the model learns where events happen but barely which one is which (docs/evaluation.md). The detections
say it outright: per detector class, how confidently it is in the segment and how much its box moves.
With `model.visual_input: objects` the model reads these channels instead of the visual features (TEP
still clusters the visual features).

Per segment [start_s, end_s) (the last segment of a video also takes a detection at its end) and per
class c of the detector's label list, two channels, 2C in all:
- score_c: the highest detection score of class c in the segment (0 when absent);
- motion_c: the most c's box moved between two consecutive detections of c within MAX_GAP_S seconds,
  as the change of (centre x, centre y, width, height) over the larger side of the earlier box, capped
  at 1 (an object sitting still scores about 0, one crossing its own size per step 1).
Only the best-scoring box of a class per frame counts (one instance per class: a simplification that
fits the synthetic world, and Charades' single actor; several people would share one channel pair).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

BOX = ("x1", "y1", "x2", "y2")  # the detection columns the motion reads
MAX_GAP_S = 1.0  # detections further apart in time are not consecutive: no motion is measured across


def box_motion(detections: pd.DataFrame, max_gap_s: float = MAX_GAP_S) -> pd.DataFrame:
    """The best box per (video, label, time), with `motion` from the previous box of its label."""
    d = detections.sort_values(["video_id", "label", "time_s", "score"], ascending=[True, True, True, False])
    d = d.drop_duplicates(["video_id", "label", "time_s"]).reset_index(drop=True)
    box = np.column_stack(
        [(d["x1"] + d["x2"]) / 2, (d["y1"] + d["y2"]) / 2, d["x2"] - d["x1"], d["y2"] - d["y1"]]
    ).astype(np.float64)
    same = np.r_[
        False,
        (d["video_id"].to_numpy()[1:] == d["video_id"].to_numpy()[:-1])
        & (d["label"].to_numpy()[1:] == d["label"].to_numpy()[:-1]),
    ]
    gap = np.r_[np.inf, np.diff(d["time_s"].to_numpy(np.float64))]
    step = np.linalg.norm(np.diff(box, axis=0, prepend=box[:1]), axis=1)
    side = np.maximum(np.roll(box[:, 2:], 1, axis=0).max(axis=1), 1e-6)
    motion = np.where(same & (gap <= max_gap_s), np.minimum(step / side, 1.0), 0.0)
    return d.assign(motion=motion)


def object_channels(
    features: pd.DataFrame, detections: pd.DataFrame, labels: Sequence[str], max_gap_s: float = MAX_GAP_S
) -> pd.DataFrame:
    """A features-schema table (video_id, segment_idx, start_s, end_s, feature) on the segments of
    `features` (its `feature` column is not read), each feature the 2C channels of the module docstring.
    Labels outside `labels` are ignored (compared lower-cased and stripped)."""
    names = [str(n).strip().lower() for n in labels]
    segs = features[["video_id", "segment_idx", "start_s", "end_s"]].sort_values(
        ["video_id", "segment_idx"], ignore_index=True
    )
    n_cls = len(names)
    chans = np.zeros((len(segs), 2 * n_cls), dtype=np.float32)
    dets = detections.assign(label=detections["label"].astype(str).str.strip().str.lower())
    dets = dets[dets["label"].isin(names) & dets["video_id"].isin(segs["video_id"])]
    if len(dets) and n_cls:
        d = box_motion(dets, max_gap_s)
        # each detection's segment: the last segment of its video starting at or before it
        seg_keys = segs.assign(row=np.arange(len(segs)))
        last = seg_keys.groupby("video_id")["end_s"].transform("max").to_numpy()
        hit = pd.merge_asof(
            d.sort_values("time_s"),
            seg_keys.assign(last_end=last).sort_values("start_s"),
            left_on="time_s",
            right_on="start_s",
            by="video_id",
            direction="backward",
        )
        inside = (hit["time_s"] < hit["end_s"]) | (hit["time_s"] <= hit["last_end"]) & (
            hit["end_s"] == hit["last_end"]
        )
        hit = hit[inside & hit["row"].notna()]
        row = hit["row"].to_numpy(np.int64)
        col = pd.Index(names).get_indexer(hit["label"])
        np.maximum.at(chans, (row, col), hit["score"].to_numpy(np.float32))
        np.maximum.at(chans, (row, col + n_cls), hit["motion"].to_numpy(np.float32))
    return segs.assign(feature=list(chans))
