"""QVHighlights-style JSONL, the interchange form (lighthouse's habit): one query per line,
`{qid, query, vid, duration, relevant_windows: [[s, e], ...]}` in seconds. Predictions in the same form
(lighthouse's output) name their windows `pred_relevant_windows: [[s, e, score], ...]`.

A query with several windows becomes one row per window (ids `{qid}` then `{qid}#1`, ...), since the
annotations table holds one moment per row. `parse_jsonl` is the one parser of the format; `top_windows`
reads predictions through it, after a fast columnar path for the plain case.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.json as pj

from psvl.core.artifacts import write_text
from psvl.core.errors import FormatError
from psvl.datasets.table import (
    annotations_frame,
    as_durations,
    fill_durations,
    guess_split,
    json_number,
)

PRED_WINDOWS = ("pred_relevant_windows", "relevant_windows")  # predictions: the first a line has


def parse_jsonl(path: str | os.PathLike, predictions: bool = False) -> list[dict[str, Any]]:
    """One dict per non-blank line, in file order: qid (str; None when a prediction has none), vid (str),
    query (None when absent), duration (float, NaN when absent or 0), windows (as written), split (None
    when absent) and where (`path:line`, for later errors).

    Truth (`predictions=False`) needs `qid`, `query` and `vid`; its windows are `relevant_windows` (none
    when absent: a test split without moments). Predictions need `vid` and `pred_relevant_windows` (or
    `relevant_windows`). A line that is not a JSON object or lacks a needed key is a FormatError naming
    the file and line.
    """
    needed = ("vid",) if predictions else ("qid", "query", "vid")
    records = []
    with Path(path).open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                raise FormatError(f"{where}: not JSON ({exc})") from None
            if not isinstance(item, Mapping):
                raise FormatError(f"{where}: not a QVHighlights-style record (a JSON object)")
            missing = [k for k in needed if k not in item]
            key = next((k for k in PRED_WINDOWS if k in item), None) if predictions else "relevant_windows"
            if key is None:
                missing.append(" or ".join(PRED_WINDOWS))
            if missing:
                raise FormatError(f"{where}: not a QVHighlights-style record; lacks {', '.join(missing)}")
            qid = item.get("qid")
            records.append(
                {
                    "qid": None if qid is None and predictions else str(qid),
                    "vid": str(item["vid"]),
                    "query": item.get("query"),
                    "duration": float(item.get("duration") or "nan"),
                    "windows": item.get(key) or [],
                    "split": item.get("split"),
                    "where": where,
                }
            )
    return records


def read_jsonl(
    path: str | os.PathLike,
    durations: str | os.PathLike | Mapping[str, float] | None = None,
    split: str | None = None,
) -> pd.DataFrame:
    """The annotations table of a QVHighlights-style JSONL file (qid becomes query_id)."""
    rows: dict[str, list] = {
        k: [] for k in ("query_id", "video_id", "sentence", "start_s", "end_s", "duration_s", "split")
    }
    default_split = split or guess_split(path)
    for rec in parse_jsonl(path):
        for i, (start, end) in enumerate(rec["windows"]):
            rows["query_id"].append(rec["qid"] if i == 0 else f"{rec['qid']}#{i}")
            rows["video_id"].append(rec["vid"])
            rows["sentence"].append(rec["query"])
            rows["start_s"].append(float(start))
            rows["end_s"].append(float(end))
            rows["duration_s"].append(rec["duration"])
            rows["split"].append(split or rec["split"] or default_split)
    df = annotations_frame(rows, default_split)
    return fill_durations(df, as_durations(durations), str(path)) if len(df) else df


def _top_window(windows: list, where: str) -> tuple[float, float]:
    """The highest-scoring `[start, end, score]` window (the first when scores are absent or tied)."""
    if not windows:
        raise FormatError(f"{where}: empty window list")
    best = max(windows, key=lambda w: float(w[2]) if len(w) > 2 else 0.0)  # max keeps the first of ties
    return float(best[0]), float(best[1])


def top_windows_arrow(path: str | os.PathLike) -> pd.DataFrame | None:
    """The fast path of `top_windows` (pyarrow's JSON reader, top windows picked in numpy); None when the
    file is anything but the plain case, so the line-by-line parser handles it and names the bad line."""
    try:
        table = pj.read_json(path)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    key = next((k for k in PRED_WINDOWS if k in table.column_names), None)
    if key is None or "vid" not in table.column_names:
        return None
    windows = table.column(key).combine_chunks()
    if not pa.types.is_list(windows.type) or not pa.types.is_list(windows.type.value_type):
        return None
    if windows.null_count or windows.value_lengths().to_numpy().min(initial=1) == 0:
        return None
    inner = windows.flatten()
    if (
        inner.null_count
        or not pa.types.is_floating(inner.type.value_type)
        and not pa.types.is_integer(inner.type.value_type)
    ):
        return None
    values = inner.flatten().cast(pa.float64()).to_numpy(zero_copy_only=False)
    starts = inner.offsets.to_numpy()[:-1]
    lengths = inner.value_lengths().to_numpy()
    if lengths.min(initial=2) < 2:
        return None
    score = np.where(lengths > 2, values[np.minimum(starts + 2, len(values) - 1)], 0.0)
    record = np.repeat(np.arange(len(windows)), windows.value_lengths().to_numpy())
    order = np.lexsort((np.arange(len(record)), -score, record))  # by record, best score, then file order
    best = order[np.unique(record[order], return_index=True)[1]]
    columns = {
        "query_id": table.column("qid").to_pylist() if "qid" in table.column_names else None,
        "video_id": table.column("vid").cast(pa.string()).to_pylist(),
        "start_s": values[starts[best]],
        "end_s": values[starts[best] + 1],
    }
    if "duration" in table.column_names:
        columns["duration_s"] = table.column("duration").cast(pa.float64()).to_numpy(zero_copy_only=False)
    return pd.DataFrame(columns)


def top_windows(path: str | os.PathLike) -> pd.DataFrame:
    """Predictions of a lighthouse-style JSONL file: query_id (None when absent), video_id, start_s, end_s
    of each line's highest-scoring window, and duration_s (NaN when absent), in file order."""
    fast = top_windows_arrow(path)
    if fast is not None:
        return fast
    records = parse_jsonl(path, predictions=True)
    tops = [_top_window(rec["windows"], rec["where"]) for rec in records]
    return pd.DataFrame(
        {
            "query_id": [rec["qid"] for rec in records],
            "video_id": [rec["vid"] for rec in records],
            "start_s": [start for start, _ in tops],
            "end_s": [end for _, end in tops],
            "duration_s": [rec["duration"] for rec in records],
        }
    )


def write_jsonl(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write annotations as QVHighlights-style JSONL (one line per row, split kept as an extra field)."""
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
