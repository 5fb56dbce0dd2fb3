"""Test-query simplification: each natural test sentence becomes verb lemmas then noun lemmas, through the
same tagger as the corpus, so test queries speak the pseudo-queries' vocabulary
("person flipped the light switch near the door." -> flip person switch door)."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pyarrow as pa

from psvl.core.artifacts import write_table
from psvl.datasets import read_annotations
from psvl.language.tagger import Tagger

log = logging.getLogger(__name__)


def read_any_annotations(path: str | Path, durations: str | Path | None = None) -> pd.DataFrame:
    """The annotations table of any supported file (psvl.datasets.read_annotations)."""
    return read_annotations(path, durations)


def simplify_annotations(annotations: pd.DataFrame, tagger: Tagger, split: str | None = "test") -> pa.Table:
    """The test_queries table: annotation rows of `split` (None or "all": every row) with their tokens."""
    df = annotations
    if split and split != "all":
        df = df[df["split"] == split]
        if df.empty and not annotations.empty:
            log.warning(
                "no annotation has split %r (splits present: %s)",
                split,
                ", ".join(sorted(annotations["split"].astype(str).unique())),
            )
    df = df.reset_index(drop=True)
    tokens = tagger.simplify(df["sentence"].tolist())
    empty = sum(1 for t in tokens if not t)
    if empty:
        log.warning("%d of %d sentences keep no verb or noun (their tokens are empty)", empty, len(df))
    cols = ["query_id", "video_id", "sentence", "start_s", "end_s", "duration_s"]
    table = pa.Table.from_pandas(df[cols], preserve_index=False)
    return table.append_column("tokens", pa.array(tokens, type=pa.list_(pa.string())))


def write_test_queries(
    table: pa.Table, path: str | Path, tagger: Tagger, source: str, split: str | None
) -> Path:
    shaping = {
        "language": tagger.options,  # checked by psvl predict against the checkpoint's record
        "source": source,
        "split": split,
    }
    return write_table("test_queries", table, path, "test_queries", shaping)
