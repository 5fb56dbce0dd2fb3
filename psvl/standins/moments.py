"""Pseudo-moment statistics, ours beside PSVL's released ones (computed from the release file, never
restated): how long a moment is relative to its video, how many a video gets, how many start at 0.

Why: PSVL's released pseudo-moments (12 523 over 3 170 Charades-STA train videos) are the one record of
what the paper's TEP produced; proposals whose shape differs (much shorter, never at the video start)
would train a different prior, so the benchmark reports the two side by side.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

AT_ZERO = 1e-6  # a moment "starts at 0" when its normalized start is below this


def moment_stats(moments: pd.DataFrame) -> dict[str, float]:
    """relative length mean/min/max, moments per video, distinct moments per video and the share that
    start at 0, of a table with video_id, start_s, end_s, duration_s (one row per query)."""
    if moments.empty:
        return {"n": 0, "videos": 0}
    dur = moments["duration_s"].to_numpy(np.float64)
    start = moments["start_s"].to_numpy(np.float64) / dur
    length = (moments["end_s"].to_numpy(np.float64) - moments["start_s"].to_numpy(np.float64)) / dur
    videos = moments["video_id"].nunique()
    distinct = moments.assign(s=start.round(4), e=(start + length).round(4)).drop_duplicates(
        ["video_id", "s", "e"]
    )
    return {
        "n": len(moments),
        "videos": int(videos),
        "per_video": float(len(moments) / videos),
        "distinct_per_video": float(len(distinct) / videos),
        "relative_length_mean": float(length.mean()),
        "relative_length_min": float(length.min()),
        "relative_length_max": float(length.max()),
        "start_at_0": float((start < AT_ZERO).mean()),
    }
