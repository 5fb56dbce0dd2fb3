"""PSVL's released pseudo-label JSON: a list of `{vid, duration, timestamp: [s, e], tokens}`, where the
timestamp is normalized to [0, 1] and tokens are the verbs then the nouns (3 + 5 in the release).

Readers give seconds (the on-disk unit everywhere else); the writer normalizes back, so
`psvl export-psvl` output trains PSVL's own reference code unchanged. `parse_psvl_json` is the one parser
of the format: annotations, pseudo-queries and predictions (`psvl evaluate`) all go through it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from psvl.core.artifacts import schema, write_text
from psvl.core.errors import FormatError
from psvl.datasets.table import (
    annotations_frame,
    as_durations,
    fill_durations,
    guess_split,
    query_ids,
)

RELEASE_NUM_VERBS = 3
_TIMES = ("video_id", "start_s", "end_s", "duration_s")


def _load(
    path: str | os.PathLike, data: Sequence[Mapping[str, Any]] | None, need_tokens: bool = True
) -> list[Mapping[str, Any]]:
    raw = data if data is not None else json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(raw, list):
        raise TypeError(f"{path}: PSVL pseudo-label JSON is a list of records, got {type(raw).__name__}")
    needed = {"vid", "duration", "timestamp"} | ({"tokens"} if need_tokens else set())
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping):
            raise FormatError(f"{path}: record {i} is not an object {{vid, duration, timestamp, tokens}}")
        missing = needed - set(item)
        if missing:
            raise FormatError(f"{path}: record {i} lacks {sorted(missing)}")
    return raw


def _seconds(raw: list[Mapping[str, Any]]) -> dict[str, list]:
    durations = [float(item["duration"]) for item in raw]
    return {
        "video_id": [str(item["vid"]) for item in raw],
        "start_s": [float(item["timestamp"][0]) * d for item, d in zip(raw, durations)],
        "end_s": [float(item["timestamp"][1]) * d for item, d in zip(raw, durations)],
        "duration_s": durations,
    }


def parse_psvl_json(
    path: str | os.PathLike, data: Sequence[Mapping[str, Any]] | None = None, need_tokens: bool = True
) -> dict[str, list]:
    """Columns video_id, start_s, end_s, duration_s (seconds), tokens, sentence and query_id, in file order.

    sentence is the record's `sentence` if it has one, else its tokens joined by spaces; query_id is its
    `query_id` (or `qid`), None where it has neither (PSVL's release has none). A record that is not an
    object or lacks a key is a FormatError naming its index; with `need_tokens=False` tokens may be absent.
    """
    raw = _load(path, data, need_tokens)
    rows = _seconds(raw)
    rows["tokens"] = [[str(t) for t in item.get("tokens", [])] for item in raw]
    rows["sentence"] = [item.get("sentence", " ".join(t)) for item, t in zip(raw, rows["tokens"])]
    rows["query_id"] = [item.get("query_id", item.get("qid")) for item in raw]
    return rows


def read_psvl_annotations(
    path: str | os.PathLike,
    durations: str | os.PathLike | Mapping[str, float] | None = None,
    split: str | None = None,
    data: Sequence[Mapping[str, Any]] | None = None,
) -> pd.DataFrame:
    """The annotations table of a PSVL pseudo-label file; sentence = the tokens joined by spaces."""
    parsed = parse_psvl_json(path, data)
    rows = {k: parsed[k] for k in _TIMES}
    rows["sentence"] = [" ".join(t) for t in parsed["tokens"]]
    df = annotations_frame(rows, split or guess_split(path))
    return fill_durations(df, as_durations(durations), str(path)) if len(df) else df


def read_pseudo_queries(
    path: str | os.PathLike,
    num_verbs: int = RELEASE_NUM_VERBS,
    data: Sequence[Mapping[str, Any]] | None = None,
) -> pd.DataFrame:
    """A PSVL pseudo-label file as the pseudo_queries table (seconds; verbs = the first `num_verbs`
    tokens, nouns = the rest, as in the release), so a model trains from PSVL's labels directly."""
    parsed = parse_psvl_json(path, data)
    if not parsed["video_id"]:
        return schema("pseudo_queries").empty_table().to_pandas()
    tokens = parsed["tokens"]
    rows = {k: parsed[k] for k in _TIMES}
    rows["query_id"] = query_ids(rows["video_id"])
    rows["tokens"] = tokens
    rows["verbs"] = [t[:num_verbs] for t in tokens]
    rows["nouns"] = [t[num_verbs:] for t in tokens]
    return pd.DataFrame(rows)[schema("pseudo_queries").names]


def write_pseudo_queries(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a pseudo_queries table as PSVL's JSON (timestamps normalized by the duration, clipped to
    [0, 1]; tokens as stored, verbs then nouns)."""
    records = []
    for row in df.itertuples(index=False):
        duration = float(row.duration_s)
        if not duration > 0:
            raise ValueError(f"pseudo-query {row.query_id}: duration {duration} is not positive")
        start = min(max(float(row.start_s) / duration, 0.0), 1.0)
        end = min(max(float(row.end_s) / duration, 0.0), 1.0)
        records.append(
            {
                "timestamp": [start, end],
                "duration": duration,
                "vid": str(row.video_id),
                "tokens": list(row.tokens),
            }
        )
    return write_text(json.dumps(records, ensure_ascii=False) + "\n", path)


def write_psvl_annotations(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write an annotations table as PSVL JSON (tokens = the sentence split on spaces)."""
    frame = df.assign(tokens=[str(s).split() for s in df["sentence"]])
    return write_pseudo_queries(frame, path)
