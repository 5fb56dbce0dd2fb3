"""Datasets: the registry of dataset kinds, and one reader/writer per annotation or prediction format.

- `DATASETS` (psvl.datasets.registry): each kind of dataset says where its videos, corpus and annotation
  files come from and which config keys it requires; the Snakefile asks it at parse time.
- `read_annotations(path, durations=None)` detects the format (Charades-STA txt, ActivityNet Captions
  json, QVHighlights-style JSONL, PSVL pseudo-label json, annotations/test_queries/pseudo_queries Parquet)
  and reads it into the one annotations table (seconds); `psvl.datasets.predictions` reads predictions
  through the same per-format parsers.

Names are imported on first use, so the Snakefile's `psvl.datasets.registry` import (at parse time) does
not pay for pandas and pyarrow.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "DATASETS": "psvl.datasets.registry",
    "DatasetConfig": "psvl.datasets.registry",
    "FormatError": "psvl.core.errors",
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
    "DATASETS",
    "READERS",
    "WRITERS",
    "DatasetConfig",
    "FormatError",
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
