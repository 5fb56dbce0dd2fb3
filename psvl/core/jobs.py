"""A workflow job's attempts: an error that cannot go away is not retried.

Snakemake's `retries` re-run any failed job, and it cannot tell a transient failure (a node lost, memory
killed, a flaky file system) from a permanent one (a bad config key, a missing file, a weights file that
is not there). psvl's user errors exit 2 (`psvl.cli`); a job that exits 2 leaves a marker beside its log,
and the next attempt of the same job finds it and stops at once, naming the first attempt's error,
instead of repeating minutes of work that must fail again. Attempt 1 always clears the marker, so a rerun
after the user's fix starts clean. (Snakemake 9 has no per-exit-code retries: snakemake/snakemake#2441.)
"""

from __future__ import annotations

import os
from pathlib import Path

PERMANENT = 2
"""The exit status of an error that cannot go away by retrying (psvl's user errors, argparse's errors)."""

SUFFIX = ".permanent"


def marker(log: str | os.PathLike) -> Path:
    """Where a job whose log is `log` records its permanent error."""
    return Path(f"{os.fspath(log)}{SUFFIX}")


def refuse_retry(log: str | os.PathLike, attempt: int) -> str | None:
    """Before a job runs: the line to stop with when an earlier attempt failed permanently, else None.

    Attempt 1 removes an old marker (left by an earlier run the user has since fixed)."""
    path = marker(log)
    if attempt <= 1:
        path.unlink(missing_ok=True)
        return None
    if not path.is_file():
        return None
    reason = path.read_text(encoding="utf-8").strip() or "exit status 2"
    return f"not retried (attempt {attempt}): attempt 1 failed with an error retrying cannot fix: {reason}"


def record(log: str | os.PathLike, status: int, message: str = "") -> None:
    """After a job: leave the marker when it failed permanently."""
    if status == PERMANENT:
        marker(log).write_text((message or f"exit status {PERMANENT}") + "\n", encoding="utf-8")
