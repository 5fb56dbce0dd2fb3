"""Building the one annotations table (seconds) that every adapter returns.

Why a shared helper: every format has its own field names, but the ids, the column order, the dtypes
and the split guess must be identical across adapters, or two readers of one dataset would disagree.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd

from psvl.core.artifacts import schema

log = logging.getLogger(__name__)

COLUMNS = schema("annotations").names


def guess_split(path: str | os.PathLike) -> str:
    """`train` when the file name says so, else `test` (val/test files are what a benchmark evaluates on)."""
    return "train" if "train" in Path(path).name.lower() else "test"


def query_ids(video_ids: Iterable[str]) -> list[str]:
    """Stable ids `{video_id}#{i}`: i counts a video's queries in file order, so ids survive re-reads."""
    seen: dict[str, int] = {}
    out = []
    for vid in video_ids:
        i = seen.get(vid, 0)
        seen[vid] = i + 1
        out.append(f"{vid}#{i}")
    return out


def annotations_frame(rows: Mapping[str, list] | pd.DataFrame, split: str) -> pd.DataFrame:
    """The annotations table from columns video_id, sentence, start_s, end_s, duration_s (+ query_id).

    Missing query ids are made stable with `query_ids`; a missing split column is filled with `split`.
    """
    df = pd.DataFrame(rows)
    if df.empty:
        return empty_annotations()
    df["video_id"] = df["video_id"].astype(str)
    if "query_id" not in df:
        df["query_id"] = query_ids(df["video_id"])
    if "split" not in df:
        df["split"] = split
    df["sentence"] = df["sentence"].astype(str).str.strip()
    for col in ("start_s", "end_s", "duration_s"):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
    return df[COLUMNS].reset_index(drop=True)


def empty_annotations() -> pd.DataFrame:
    """An annotations table with no rows but the declared dtypes (a custom dataset without labels)."""
    return schema("annotations").empty_table().to_pandas()


def read_durations(path: str | os.PathLike) -> dict[str, float]:
    """Video durations from Charades' `charades.json` (`{vid: {duration, ...}}` or `{vid: seconds}`) or a
    CSV with columns `video_id,duration_s` (what `psvl synth` writes)."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        raw = json.loads(path.read_text(encoding="utf-8"))
        return {str(k): float(v["duration"] if isinstance(v, Mapping) else v) for k, v in raw.items()}
    df = pd.read_csv(path, dtype={"video_id": str})
    missing = {"video_id", "duration_s"} - set(df.columns)
    if missing:
        raise ValueError(
            f"{path}: durations CSV needs columns video_id,duration_s; missing {sorted(missing)}"
        )
    return dict(zip(df["video_id"].astype(str), df["duration_s"].astype(float)))


def as_durations(durations: str | os.PathLike | Mapping[str, float] | None) -> dict[str, float] | None:
    """Accept a durations file path, a ready mapping, or None."""
    if durations is None:
        return None
    if isinstance(durations, Mapping):
        return {str(k): float(v) for k, v in durations.items()}
    return read_durations(durations)


def fill_durations(df: pd.DataFrame, durations: Mapping[str, float] | None, source: str) -> pd.DataFrame:
    """Set duration_s from `durations` where given; warn (once) about videos that still have none."""
    if durations:
        mapped = df["video_id"].map(durations)
        df["duration_s"] = mapped.where(mapped.notna(), df["duration_s"]).astype("float64")
    n_missing = int(df["duration_s"].isna().sum())
    if n_missing:
        log.warning(
            "%s: %d of %d queries have no video duration (pass --durations charades.json or a CSV)",
            source,
            n_missing,
            len(df),
        )
    return df


def json_number(value: float) -> float | None:
    """NaN is not JSON: write null instead."""
    return None if pd.isna(value) else float(value)
