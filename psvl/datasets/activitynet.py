"""ActivityNet Captions json: `{vid: {duration, timestamps: [[s, e], ...], sentences: [...]}}`, seconds."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from psvl.datasets.table import annotations_frame, as_durations, fill_durations, guess_split, json_number


def read_activitynet(
    path: str | os.PathLike,
    durations: str | os.PathLike | Mapping[str, float] | None = None,
    split: str | None = None,
    data: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """The annotations table of an ActivityNet Captions json file (sentences stripped of edge spaces)."""
    path = Path(path)
    raw = data if data is not None else json.loads(path.read_text(encoding="utf-8"))
    rows: dict[str, list] = {"video_id": [], "start_s": [], "end_s": [], "sentence": [], "duration_s": []}
    for vid, item in raw.items():
        stamps, sentences = item.get("timestamps", []), item.get("sentences", [])
        if len(stamps) != len(sentences):
            raise ValueError(f"{path}: video {vid}: {len(stamps)} timestamps but {len(sentences)} sentences")
        for (start, end), sentence in zip(stamps, sentences):
            rows["video_id"].append(str(vid))
            rows["start_s"].append(float(start))
            rows["end_s"].append(float(end))
            rows["sentence"].append(sentence)
            rows["duration_s"].append(float(item.get("duration") or "nan"))
    df = annotations_frame(rows, split or guess_split(path))
    return fill_durations(df, as_durations(durations), str(path)) if len(df) else df


def write_activitynet(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write annotations as ActivityNet Captions json, videos in order of first appearance."""
    from psvl.core.artifacts import write_text

    out: dict[str, dict] = {}
    for row in df.itertuples(index=False):
        item = out.setdefault(
            row.video_id, {"duration": json_number(row.duration_s), "timestamps": [], "sentences": []}
        )
        item["timestamps"].append([row.start_s, row.end_s])
        item["sentences"].append(row.sentence)
    return write_text(json.dumps(out, ensure_ascii=False) + "\n", path)
