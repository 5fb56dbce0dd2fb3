"""The one progress-bar helper: tqdm on stderr, quiet when stderr is not a terminal or PSVL_QUIET is set.

Quiet means the items themselves, without importing tqdm: a workflow job (stderr is its log) does not pay
for the import (tqdm.auto also imports asyncio), and `psvl frames` starts faster."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import TypeVar

T = TypeVar("T")


def progress(items: Iterable[T], desc: str, total: int | None = None, unit: str = "it") -> Iterable[T]:
    if os.environ.get("PSVL_QUIET") or not sys.stderr.isatty():
        return items
    from tqdm.auto import tqdm  # lazy: only a person at a terminal sees the bar

    return tqdm(items, desc=desc, total=total, unit=unit, mininterval=1.0, leave=False)
