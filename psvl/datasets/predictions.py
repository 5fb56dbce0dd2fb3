"""Read predicted moments and true moments from any supported file into two plain tables.

Why a module of its own: `psvl evaluate` must score predictions a user made with any tool (lighthouse's
JSONL, a Charades-STA style txt, PSVL's JSON, our Parquet), so reading is kept apart from scoring.

Predictions come back as a DataFrame with columns
  query_id (str or None), video_id, pred_start_s, pred_end_s, pred_duration_s (NaN when unknown), order
where `order` is the rank of the prediction among the predictions of the same video, in file order; it
is what matching by (video_id, order) uses when query ids are missing or differ from the ground truth's.

Ground truth comes back in the annotations schema (query_id, video_id, split, sentence, start_s, end_s,
duration_s) plus `order`: annotation files through `psvl.datasets.read_annotations` (the data area's
adapters), Parquet artifacts (annotations, test_queries, pseudo_queries) by reading only the needed columns.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

log = logging.getLogger(__name__)

PRED_COLUMNS = ["query_id", "video_id", "pred_start_s", "pred_end_s", "pred_duration_s", "order"]
GT_COLUMNS = ["query_id", "video_id", "split", "sentence", "start_s", "end_s", "duration_s", "order"]


class FormatError(ValueError):
    """A file is in no supported format, or a line/record of it is malformed (the message says where)."""


def _with_order(df: pd.DataFrame) -> pd.DataFrame:
    df = df.reset_index(drop=True)
    df["order"] = df.groupby("video_id", sort=False).cumcount().astype(np.int64)
    return df


def _frame(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The given columns with plain dtypes: float64 times, str video ids, str-or-None query ids."""
    out = pd.DataFrame(index=range(len(df)))
    for col in columns:
        values = df[col].to_numpy()
        if col in ("pred_start_s", "pred_end_s", "pred_duration_s", "start_s", "end_s", "duration_s"):
            out[col] = pd.to_numeric(pd.Series(values), errors="raise").to_numpy(dtype=np.float64)
        elif col == "query_id":
            missing = pd.isna(values)
            out[col] = np.where(missing, None, values.astype(str)).astype(object)
        elif col == "video_id":
            out[col] = values.astype(str)
        else:
            out[col] = values
    return out


# --- the text formats ------------------------------------------------------------------------------


def _read_charades_txt(path: Path) -> list[dict]:
    """`vid start end##sentence` per line (Charades-STA); the sentence is optional for predictions."""
    rows = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            head, _, sentence = line.partition("##")
            parts = head.split()
            if len(parts) != 3:
                raise FormatError(f"{path}:{lineno}: expected 'vid start end##sentence', got {line!r}")
            try:
                start, end = float(parts[1]), float(parts[2])
            except ValueError:
                raise FormatError(f"{path}:{lineno}: start/end are not numbers in {line!r}") from None
            rows.append({"video_id": parts[0], "start": start, "end": end, "sentence": sentence.strip()})
    return rows


def _top_window(windows: list, where: str) -> tuple[float, float]:
    """The highest-scoring `[start, end, score]` window (the first when scores are absent or tied)."""
    if not windows:
        raise FormatError(f"{where}: empty window list")
    best = max(windows, key=lambda w: float(w[2]) if len(w) > 2 else 0.0)  # max keeps the first of ties
    return float(best[0]), float(best[1])


def _read_jsonl_arrow(path: Path) -> list[dict] | None:
    """The fast path of `_read_jsonl` (pyarrow's JSON reader, top windows picked in numpy); None when the
    file is anything but the plain case, so the line-by-line reader handles it and names the bad line."""
    import pyarrow as pa
    import pyarrow.json as pj

    try:
        table = pj.read_json(path)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    key = "pred_relevant_windows" if "pred_relevant_windows" in table.column_names else "relevant_windows"
    if key not in table.column_names or "vid" not in table.column_names:
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
        "start": values[starts[best]],
        "end": values[starts[best] + 1],
    }
    if "duration" in table.column_names:
        columns["duration"] = table.column("duration").cast(pa.float64()).to_numpy(zero_copy_only=False)
    return pd.DataFrame(columns)


def _read_jsonl(path: Path) -> list[dict] | pd.DataFrame:
    """QVHighlights/lighthouse JSONL: `pred_relevant_windows` (predictions) or `relevant_windows` (truth)."""
    fast = _read_jsonl_arrow(path)
    if fast is not None:
        return fast
    rows = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise FormatError(f"{where}: not JSON ({exc})") from None
            key = "pred_relevant_windows" if "pred_relevant_windows" in rec else "relevant_windows"
            if key not in rec or "vid" not in rec:
                raise FormatError(f"{where}: needs 'vid' and 'pred_relevant_windows' (or 'relevant_windows')")
            start, end = _top_window(rec[key], where)
            rows.append(
                {
                    "query_id": rec.get("qid"),
                    "video_id": rec["vid"],
                    "start": start,
                    "end": end,
                    "duration": rec.get("duration", np.nan),
                    "sentence": rec.get("query", ""),
                }
            )
    return rows


def _read_json(path: Path) -> list[dict]:
    """PSVL JSON (a list of `{vid, duration, timestamp: normalized [s, e]}`) or ActivityNet Captions
    (`{vid: {duration, timestamps: [[s, e], ...] in seconds, sentences}}`)."""
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    rows = []
    if isinstance(data, list):
        for i, rec in enumerate(data):
            if not isinstance(rec, dict) or not {"vid", "duration", "timestamp"} <= set(rec):
                raise FormatError(f"{path}: record {i} is not PSVL's {{vid, duration, timestamp}}")
            dur = float(rec["duration"])
            s, e = (float(x) * dur for x in rec["timestamp"])
            rows.append(
                {
                    "query_id": rec.get("query_id", rec.get("qid")),
                    "video_id": rec["vid"],
                    "start": s,
                    "end": e,
                    "duration": dur,
                    "sentence": rec.get("sentence", " ".join(rec.get("tokens", []))),
                }
            )
        return rows
    if isinstance(data, dict):
        for vid, rec in data.items():
            if not isinstance(rec, dict) or "timestamps" not in rec:
                raise FormatError(f"{path}: entry {vid!r} is not ActivityNet's {{duration, timestamps}}")
            sentences = rec.get("sentences") or [""] * len(rec["timestamps"])
            for (s, e), sentence in zip(rec["timestamps"], sentences):
                rows.append(
                    {
                        "video_id": vid,
                        "start": float(s),
                        "end": float(e),
                        "duration": float(rec.get("duration", np.nan)),
                        "sentence": sentence.strip(),
                    }
                )
        return rows
    raise FormatError(f"{path}: JSON is neither PSVL's list nor ActivityNet's dict")


def _read_text_any(path: Path) -> pd.DataFrame:
    """Rows (query_id, video_id, start, end, duration, sentence) from a txt/jsonl/json file."""
    suffix = path.suffix.lower()
    readers = {".txt": _read_charades_txt, ".jsonl": _read_jsonl, ".json": _read_json}
    if suffix not in readers:
        raise FormatError(f"{path}: unsupported suffix {suffix!r}; use .parquet, .jsonl, .json or .txt")
    df = pd.DataFrame(readers[suffix](path))
    cols = {
        "query_id": None,
        "video_id": "",
        "start": np.nan,
        "end": np.nan,
        "duration": np.nan,
        "sentence": "",
    }
    for col, default in cols.items():
        if col not in df:
            df[col] = default
    return df[list(cols)]


# --- Parquet ---------------------------------------------------------------------------------------


def _read_parquet(path: Path, start_col: str, end_col: str) -> pd.DataFrame:
    names = set(pq.read_schema(path).names)
    if {start_col, end_col} - names:
        raise FormatError(f"{path}: Parquet file lacks columns {start_col}, {end_col} (has {sorted(names)})")
    wanted = [
        c
        for c in ("query_id", "video_id", start_col, end_col, "duration_s", "sentence", "split")
        if c in names
    ]
    return pq.read_table(path, columns=wanted).to_pandas()


# --- public readers --------------------------------------------------------------------------------


def read_predictions(path: str | os.PathLike) -> pd.DataFrame:
    """Predicted moments (seconds) from Parquet, lighthouse JSONL, Charades-STA txt or PSVL/ActivityNet JSON.

    Parquet: the `predictions` artifact (pred_start_s, pred_end_s) or any table with start_s/end_s.
    JSONL: the highest-scoring window of `pred_relevant_windows` per line.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"predictions file {path} does not exist")
    if path.suffix.lower() == ".parquet":
        names = set(pq.read_schema(path).names)
        start, end = ("pred_start_s", "pred_end_s") if "pred_start_s" in names else ("start_s", "end_s")
        df = _read_parquet(path, start, end).rename(columns={start: "pred_start_s", end: "pred_end_s"})
        df = df.rename(columns={"duration_s": "pred_duration_s"})
    else:
        df = _read_text_any(path).rename(
            columns={"start": "pred_start_s", "end": "pred_end_s", "duration": "pred_duration_s"}
        )
    for col in ("query_id", "pred_duration_s"):
        if col not in df:
            df[col] = None if col == "query_id" else np.nan
    out = _with_order(_frame(df, PRED_COLUMNS[:-1]))
    log.info("read %d predictions from %s", len(out), path)
    return out


def read_ground_truth(
    path: str | os.PathLike, durations: str | os.PathLike | None = None, what: str = "ground-truth queries"
) -> pd.DataFrame:
    """True moments in the annotations schema (plus `order`), from any supported annotation file.

    Parquet artifacts with start_s/end_s are read directly (only the needed columns); other formats go
    through `psvl.datasets.read_annotations(path, durations)`.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"ground-truth file {path} does not exist")
    from psvl.datasets import read_annotations, read_durations

    if path.suffix.lower() == ".parquet":
        df = _read_parquet(path, "start_s", "end_s")
        if durations is not None:
            known = df["video_id"].astype(str).map(read_durations(durations))
            df["duration_s"] = known.where(known.notna(), df.get("duration_s"))
    else:
        df = read_annotations(path, durations)
    df = df.copy()
    if "query_id" not in df or df["query_id"].isna().all():
        df["query_id"] = [f"{v}#{i}" for i, v in enumerate(df["video_id"])]
    for col, default in (("split", "test"), ("sentence", ""), ("duration_s", np.nan)):
        if col not in df:
            df[col] = default
    out = _with_order(_frame(df, GT_COLUMNS[:-1]))
    log.info("read %d %s from %s", len(out), what, path)
    return out


def read_moments(path: str | os.PathLike, durations: str | os.PathLike | None = None) -> np.ndarray:
    """Normalized (start, end) training moments, N x 2, from pseudo_queries.parquet or any annotation file.

    Moments of videos without a known duration are dropped (they cannot be normalized).
    """
    from psvl.core import spans

    gt = read_ground_truth(path, durations, what="training moments")
    ok = gt["duration_s"].to_numpy() > 0
    if not ok.all():
        log.warning("%s: %d moments without a duration dropped", path, int((~ok).sum()))
    gt = gt[ok]
    return spans.to_normalized(gt[["start_s", "end_s"]].to_numpy(), gt["duration_s"].to_numpy())
