"""Dataset adapters: every format is read into the one annotations table (seconds) and written back.

`read_annotations(path, durations=None)` detects the format (Charades-STA txt, ActivityNet Captions json,
QVHighlights-style JSONL, PSVL pseudo-label json, annotations/test_queries/pseudo_queries Parquet).
"""

from psvl.datasets.formats import READERS, WRITERS, detect_format, read_annotations, write_annotations
from psvl.datasets.psvl_json import read_pseudo_queries, write_pseudo_queries
from psvl.datasets.table import empty_annotations, read_durations

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
