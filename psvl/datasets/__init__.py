"""Dataset adapters: every format is read into the one annotations table (seconds) and written back.

`read_annotations(path, durations=None)` detects the format (Charades-STA txt, ActivityNet Captions json,
QVHighlights-style JSONL, PSVL pseudo-label json, annotations/test_queries/pseudo_queries Parquet).

Names are imported on first use, so the Snakefile's `psvl.datasets.videos` import (at parse time) does
not pay for pandas and pyarrow.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "READERS": "psvl.datasets.formats",
    "WRITERS": "psvl.datasets.formats",
    "detect_format": "psvl.datasets.formats",
    "read_annotations": "psvl.datasets.formats",
    "write_annotations": "psvl.datasets.formats",
    "read_pseudo_queries": "psvl.datasets.psvl_json",
    "write_pseudo_queries": "psvl.datasets.psvl_json",
    "empty_annotations": "psvl.datasets.table",
    "read_durations": "psvl.datasets.table",
}

__all__ = [
    "READERS",
    "WRITERS",
    "detect_format",
    "empty_annotations",
    "read_annotations",
    "read_durations",
    "read_pseudo_queries",
    "write_annotations",
    "write_pseudo_queries",
]


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'psvl.datasets' has no attribute {name!r}")
