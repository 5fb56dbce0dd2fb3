"""The registry of annotation formats and the one `read_annotations(path)` that detects the format.

Detection is by suffix and, for `.json`, by the top-level type (a list is PSVL's pseudo-labels, an object
is ActivityNet Captions), so users pass whatever file they have.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from psvl.core.artifacts import write_table
from psvl.core.errors import FormatError
from psvl.core.registry import Registry
from psvl.datasets.activitynet import read_activitynet, write_activitynet
from psvl.datasets.charades import read_charades_sta, write_charades_sta
from psvl.datasets.jsonl import read_jsonl, write_jsonl
from psvl.datasets.psvl_json import read_psvl_annotations, write_psvl_annotations
from psvl.datasets.table import annotations_frame, as_durations, fill_durations, guess_split

Durations = str | os.PathLike | Mapping[str, float] | None

READERS: Registry[Callable[..., pd.DataFrame]] = Registry(
    "annotation format",
    "called with (path, durations=None, split=None); returns the annotations table (psvl.core.artifacts "
    "schema 'annotations', seconds, stable query ids)",
)
WRITERS: Registry[Callable[[pd.DataFrame, str | os.PathLike], Path]] = Registry(
    "annotation writer", "called with (annotations DataFrame, path); writes the file atomically"
)

READERS.register("charades_sta")(read_charades_sta)
READERS.register("activitynet")(read_activitynet)
READERS.register("jsonl")(read_jsonl)
READERS.register("psvl")(read_psvl_annotations)
WRITERS.register("charades_sta")(write_charades_sta)
WRITERS.register("activitynet")(write_activitynet)
WRITERS.register("jsonl")(write_jsonl)
WRITERS.register("psvl")(write_psvl_annotations)


def read_parquet_columns(path: str | os.PathLike, needed: list[str], optional: list[str]) -> pd.DataFrame:
    """The `needed` and (where present) `optional` columns of a Parquet table, and no others: the one
    Parquet reader of annotations, test_queries, pseudo_queries and predictions tables."""
    names = set(pq.read_schema(path).names)
    missing = [c for c in needed if c not in names]
    if missing:
        raise FormatError(f"{path}: Parquet file lacks columns {', '.join(missing)} (has {sorted(names)})")
    return pq.read_table(path, columns=[c for c in needed + optional if c in names]).to_pandas()


@READERS.register("parquet")
def read_parquet_annotations(path: str | os.PathLike, durations: Durations = None, split: str | None = None):
    """annotations.parquet as is; test_queries / pseudo_queries Parquet become annotations (sentence from
    the tokens when there is no sentence column)."""
    names = pq.read_schema(path).names
    text = "tokens" if "sentence" not in names and "tokens" in names else "sentence"
    df = read_parquet_columns(
        path, ["video_id", text, "start_s", "end_s"], ["query_id", "split", "duration_s"]
    )
    if text == "tokens":
        df["sentence"] = [" ".join(t) for t in df.pop("tokens")]
    if "duration_s" not in df:
        df["duration_s"] = float("nan")
    keep = [
        c for c in ("query_id", "video_id", "split", "sentence", "start_s", "end_s", "duration_s") if c in df
    ]
    out = annotations_frame(df[keep], split or guess_split(path))
    if split:
        out["split"] = split
    return fill_durations(out, as_durations(durations), str(path)) if len(out) else out


@WRITERS.register("parquet")
def write_parquet_annotations(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    return write_table("annotations", df, path, stage="annotations")


SUFFIXES = {".txt": "charades_sta", ".jsonl": "jsonl", ".parquet": "parquet"}


def detect_format(path: str | os.PathLike) -> str:
    """The format name of an annotation or predictions file, from its suffix (and, for .json, its
    top-level type)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in SUFFIXES:
        return SUFFIXES[suffix]
    if suffix == ".json":
        with path.open(encoding="utf-8") as fh:
            head = fh.read(4096).lstrip("\ufeff \t\r\n")
        if head.startswith("["):
            return "psvl"
        if head.startswith("{"):
            return "activitynet"
        raise FormatError(f"{path}: a .json file must hold a list (PSVL) or an object (ActivityNet)")
    raise FormatError(
        f"{path}: unknown format {suffix!r}; use .txt (Charades-STA), .json (ActivityNet Captions "
        "or PSVL pseudo-labels), .jsonl (QVHighlights-style) or .parquet"
    )


def read_annotations(
    path: str | os.PathLike, durations: Durations = None, split: str | None = None, fmt: str | None = None
) -> pd.DataFrame:
    """Read any supported annotation file into the annotations table (seconds).

    `durations` (charades.json, a `video_id,duration_s` CSV or a mapping) fills durations the file lacks;
    `split` overrides the split guessed from the file name (`train` in the name -> train, else test).
    """
    if not Path(path).exists():
        raise FileNotFoundError(f"annotation file {path} does not exist")
    return READERS.get(fmt or detect_format(path))(path, durations=durations, split=split)


def write_annotations(df: pd.DataFrame, path: str | os.PathLike, fmt: str | None = None) -> Path:
    """Write an annotations table in the format `fmt` or the one the suffix of `path` names."""
    if fmt is None:
        suffix = Path(path).suffix.lower()
        fmt = SUFFIXES.get(suffix) or ("activitynet" if suffix == ".json" else None)
        if fmt is None:
            raise ValueError(f"{path}: cannot tell the output format from {suffix!r}; pass a format name")
    return WRITERS.get(fmt)(df, path)
