"""QVHighlights-style JSONL, the interchange form (lighthouse's habit): one query per line,
`{qid, query, vid, duration, relevant_windows: [[s, e], ...]}` in seconds.

A query with several windows becomes one row per window (ids `{qid}` then `{qid}#1`, ...), since the
annotations table holds one moment per row.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from psvl.datasets.table import annotations_frame, as_durations, fill_durations, guess_split, json_number


def read_jsonl(
    path: str | os.PathLike,
    durations: str | os.PathLike | Mapping[str, float] | None = None,
    split: str | None = None,
) -> pd.DataFrame:
    """The annotations table of a QVHighlights-style JSONL file (qid becomes query_id)."""
    path = Path(path)
    rows: dict[str, list] = {
        k: [] for k in ("query_id", "video_id", "sentence", "start_s", "end_s", "duration_s")
    }
    splits: list[str] = []
    default_split = split or guess_split(path)
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                qid, vid = str(item["qid"]), str(item["vid"])
                windows = item.get("relevant_windows") or []
                sentence = item["query"]
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{lineno}: not a QVHighlights-style record: {exc}") from None
            for i, (start, end) in enumerate(windows):
                rows["query_id"].append(qid if i == 0 else f"{qid}#{i}")
                rows["video_id"].append(vid)
                rows["sentence"].append(sentence)
                rows["start_s"].append(float(start))
                rows["end_s"].append(float(end))
                rows["duration_s"].append(float(item.get("duration") or "nan"))
                splits.append(split or item.get("split") or default_split)
    rows["split"] = splits
    df = annotations_frame(rows, default_split)
    return fill_durations(df, as_durations(durations), str(path)) if len(df) else df


def write_jsonl(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write annotations as QVHighlights-style JSONL (one line per row, split kept as an extra field)."""
    from psvl.core.artifacts import write_text

    lines = [
        json.dumps(
            {
                "qid": row.query_id,
                "query": row.sentence,
                "vid": row.video_id,
                "duration": json_number(row.duration_s),
                "relevant_windows": [[row.start_s, row.end_s]],
                "split": row.split,
            },
            ensure_ascii=False,
        )
        for row in df.itertuples(index=False)
    ]
    return write_text("".join(line + "\n" for line in lines), path)
