"""ActivityNet Captions json: `{vid: {duration, timestamps: [[s, e], ...], sentences: [...]}}`, seconds.

`parse_activitynet` is the one parser of the format: annotations and predictions (`psvl evaluate`, where
`sentences` may be left out) both go through it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from psvl.core.artifacts import write_text
from psvl.core.errors import FormatError
from psvl.datasets.table import (
    annotations_frame,
    as_durations,
    fill_durations,
    guess_split,
    json_number,
)


def parse_activitynet(
    path: str | os.PathLike, data: Mapping[str, Any] | None = None, need_sentences: bool = True
) -> dict[str, list]:
    """Columns video_id, start_s, end_s, sentence (as written), duration_s (NaN when absent or 0), one row
    per timestamp, videos in file order.

    An entry that is not an object with `timestamps`, or whose sentences do not pair with its timestamps,
    is a FormatError naming the video. With `need_sentences=False` an entry may leave `sentences` out.
    """
    raw = data if data is not None else json.loads(Path(path).read_text(encoding="utf-8"))
    rows: dict[str, list] = {"video_id": [], "start_s": [], "end_s": [], "sentence": [], "duration_s": []}
    for vid, item in raw.items():
        if not isinstance(item, Mapping) or "timestamps" not in item:
            raise FormatError(f"{path}: entry {vid!r} is not ActivityNet's {{duration, timestamps}}")
        stamps = item["timestamps"]
        sentences = item.get("sentences")
        if not sentences and not need_sentences:
            sentences = [""] * len(stamps)
        if sentences is None or len(stamps) != len(sentences):
            n = 0 if sentences is None else len(sentences)
            raise FormatError(f"{path}: video {vid}: {len(stamps)} timestamps but {n} sentences")
        for (start, end), sentence in zip(stamps, sentences):
            rows["video_id"].append(str(vid))
            rows["start_s"].append(float(start))
            rows["end_s"].append(float(end))
            rows["sentence"].append(sentence)
            rows["duration_s"].append(float(item.get("duration") or "nan"))
    return rows


def read_activitynet(
    path: str | os.PathLike,
    durations: str | os.PathLike | Mapping[str, float] | None = None,
    split: str | None = None,
    data: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """The annotations table of an ActivityNet Captions json file (sentences stripped of edge spaces)."""
    df = annotations_frame(parse_activitynet(path, data), split or guess_split(path))
    return fill_durations(df, as_durations(durations), str(path)) if len(df) else df


def write_activitynet(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write annotations as ActivityNet Captions json, videos in order of first appearance."""
    out: dict[str, dict] = {}
    for row in df.itertuples(index=False):
        item = out.setdefault(
            row.video_id, {"duration": json_number(row.duration_s), "timestamps": [], "sentences": []}
        )
        item["timestamps"].append([row.start_s, row.end_s])
        item["sentences"].append(row.sentence)
    return write_text(json.dumps(out, ensure_ascii=False) + "\n", path)
