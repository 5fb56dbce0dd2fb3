"""Charades-STA text files: one query per line, `vid start end##sentence`, times in seconds.

The file has no durations; they come from Charades' `charades.json` or a `video_id,duration_s` CSV.
`parse_charades_sta` is the one parser of the format: annotations and predictions (`psvl evaluate`,
where the `##sentence` part may be left out) both go through it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from psvl.core.artifacts import write_text
from psvl.core.errors import FormatError
from psvl.datasets.table import (
    annotations_frame,
    as_durations,
    fill_durations,
    guess_split,
)


def parse_charades_sta(path: str | os.PathLike, need_sentence: bool = True) -> dict[str, list]:
    """Columns video_id, start_s, end_s, sentence (as written) in file order; blank lines are skipped.

    A malformed line is a FormatError naming the file and line number. With `need_sentence=False` a
    line may stop after `end` (no `##`); its sentence is then empty.
    """
    path = Path(path)
    rows: dict[str, list] = {"video_id": [], "start_s": [], "end_s": [], "sentence": []}
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            head, sep, sentence = line.partition("##")
            parts = head.split()
            if (need_sentence and not sep) or len(parts) != 3:
                raise FormatError(f"{path}:{lineno}: expected 'vid start end##sentence', got {line[:80]!r}")
            try:
                start, end = float(parts[1]), float(parts[2])
            except ValueError:
                raise FormatError(f"{path}:{lineno}: start/end are not numbers: {head!r}") from None
            rows["video_id"].append(parts[0])
            rows["start_s"].append(start)
            rows["end_s"].append(end)
            rows["sentence"].append(sentence)
    return rows


def read_charades_sta(
    path: str | os.PathLike,
    durations: str | os.PathLike | Mapping[str, float] | None = None,
    split: str | None = None,
) -> pd.DataFrame:
    """The annotations table of a Charades-STA txt file; a malformed line is an error naming its number."""
    rows = parse_charades_sta(path)
    rows["duration_s"] = [float("nan")] * len(rows["video_id"])
    df = annotations_frame(rows, split or guess_split(path))
    return fill_durations(df, as_durations(durations), str(path)) if len(df) else df


def write_charades_sta(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write annotations as Charades-STA txt (`repr` floats, so a re-read gives the same seconds)."""
    lines = [
        f"{vid} {float(s)!r} {float(e)!r}##{' '.join(str(sent).split())}"
        for vid, s, e, sent in zip(df["video_id"], df["start_s"], df["end_s"], df["sentence"])
    ]
    return write_text("".join(line + "\n" for line in lines), path)
