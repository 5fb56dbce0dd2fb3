"""The one progress-bar helper: tqdm on stderr, quiet when stderr is not a terminal or PSVL_QUIET is set."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")


def progress(items: Iterable[T], desc: str, total: int | None = None, unit: str = "it") -> Iterable[T]:
    disable = bool(os.environ.get("PSVL_QUIET")) or not sys.stderr.isatty()
    return tqdm(items, desc=desc, total=total, unit=unit, disable=disable, mininterval=1.0, leave=False)
