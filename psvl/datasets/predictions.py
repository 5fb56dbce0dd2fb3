"""Read predicted moments and true moments from any supported file into two plain tables.

Why a module of its own: `psvl evaluate` must score predictions a user made with any tool (lighthouse's
JSONL, a Charades-STA style txt, PSVL's JSON, our Parquet), so reading is kept apart from scoring.

Predictions come back as a DataFrame with columns
  query_id (str or None), video_id, pred_start_s, pred_end_s, pred_duration_s (NaN when unknown), order
where `order` is the rank of the prediction among the predictions of the same video, in file order; it
is what matching by (video_id, order) uses when query ids are missing or differ from the ground truth's.
A `predictions` artifact adds its `no_known_words` flag. Predictions carry no truth: `read_ground_truth`
reads it, and `psvl.evaluation.evaluate` joins the two.

Ground truth comes back in the annotations schema (query_id, video_id, split, sentence, start_s, end_s,
duration_s) plus `order`: annotation files through `psvl.datasets.read_annotations`, Parquet artifacts
(annotations, test_queries, pseudo_queries) by reading only the needed columns.

Every format is parsed by its one reader (psvl.datasets.charades, jsonl, psvl_json, activitynet, and
formats for Parquet); this module only picks the columns a prediction needs and adds `order`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from psvl.core import spans
from psvl.core.errors import FormatError
from psvl.datasets.activitynet import parse_activitynet
from psvl.datasets.charades import parse_charades_sta
from psvl.datasets.formats import detect_format, read_annotations, read_parquet_columns
from psvl.datasets.jsonl import top_windows, top_windows_arrow
from psvl.datasets.psvl_json import parse_psvl_json
from psvl.datasets.table import read_durations

__all__ = ["FormatError", "read_ground_truth", "read_moments", "read_predictions"]

log = logging.getLogger(__name__)

PRED_COLUMNS = ["query_id", "video_id", "pred_start_s", "pred_end_s", "pred_duration_s", "order"]
GT_COLUMNS = ["query_id", "video_id", "split", "sentence", "start_s", "end_s", "duration_s", "order"]

# the JSONL fast path, under the name tests/evaluation/test_evaluate.py pins
_read_jsonl_arrow = top_windows_arrow


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


# --- predictions, one reader per format --------------------------------------------------------------


def _parquet_predictions(path: Path) -> pd.DataFrame:
    """The `predictions` artifact (pred_start_s, pred_end_s) or any table with start_s/end_s."""
    pred = "pred_start_s" in pq.read_schema(path).names
    start, end = ("pred_start_s", "pred_end_s") if pred else ("start_s", "end_s")
    df = read_parquet_columns(path, ["video_id", start, end], ["query_id", "duration_s", "no_known_words"])
    return df.rename(columns={start: "start_s", end: "end_s"})


# format name (psvl.datasets.formats.detect_format) -> called with the path; returns video_id, start_s,
# end_s and, where the file has them, query_id and duration_s, one row per prediction in file order.
PREDICTION_READERS: dict[str, Callable[[Path], pd.DataFrame]] = {
    "parquet": _parquet_predictions,
    "jsonl": top_windows,
    "charades_sta": lambda path: pd.DataFrame(parse_charades_sta(path, need_sentence=False)),
    "psvl": lambda path: pd.DataFrame(parse_psvl_json(path, need_tokens=False)),
    "activitynet": lambda path: pd.DataFrame(parse_activitynet(path, need_sentences=False)),
}


# --- public readers --------------------------------------------------------------------------------


def read_predictions(path: str | os.PathLike) -> pd.DataFrame:
    """Predicted moments (seconds) from Parquet, lighthouse JSONL, Charades-STA txt or PSVL/ActivityNet JSON.

    Parquet: the `predictions` artifact (pred_start_s, pred_end_s) or any table with start_s/end_s.
    JSONL: the highest-scoring window of `pred_relevant_windows` per line.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"predictions file {path} does not exist")
    df = PREDICTION_READERS[detect_format(path)](path)
    df = df.rename(
        columns={"start_s": "pred_start_s", "end_s": "pred_end_s", "duration_s": "pred_duration_s"}
    )
    for col in ("query_id", "pred_duration_s"):
        if col not in df:
            df[col] = None if col == "query_id" else np.nan
    out = _with_order(_frame(df, PRED_COLUMNS[:-1]))
    if "no_known_words" in df:  # `psvl predict`'s flag, carried to `psvl evaluate --per-query`
        out["no_known_words"] = df["no_known_words"].to_numpy()
    log.info("read %d predictions from %s", len(out), path)
    return out


def read_ground_truth(
    path: str | os.PathLike, durations: str | os.PathLike | None = None, what: str = "ground-truth queries"
) -> pd.DataFrame:
    """True moments in the annotations schema (plus `order`), from any supported annotation file.

    Parquet artifacts with start_s/end_s are read directly (only the needed columns); other formats go
    through `psvl.datasets.formats.read_annotations(path, durations)`.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"ground-truth file {path} does not exist")
    if path.suffix.lower() == ".parquet":
        optional = ["query_id", "duration_s", "sentence", "split"]
        df = read_parquet_columns(path, ["video_id", "start_s", "end_s"], optional)
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
    gt = read_ground_truth(path, durations, what="training moments")
    ok = gt["duration_s"].to_numpy() > 0
    if not ok.all():
        log.warning("%s: %d moments without a duration dropped", path, int((~ok).sum()))
    gt = gt[ok]
    return spans.to_normalized(gt[["start_s", "end_s"]].to_numpy(), gt["duration_s"].to_numpy())
