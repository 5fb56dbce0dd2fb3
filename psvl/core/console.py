"""One line per finished workflow job on the person's console, with counts and seconds.

A job's stdout and stderr go to its log file; the rule hands the job the console as file descriptor 3
(`3>&2 > {log} 2>&1`, see `psvl --job`), and `done` writes there as well as to the log. Under SLURM the
job's own stderr is its slurm log (logs/slurm/), so the line lands there; the log has it in every case.
Library code stays quiet: commands call `done`, not `print`.
"""

from __future__ import annotations

import logging
import os
import time

log = logging.getLogger("psvl")

_FD: int | None = None
_STARTED = time.monotonic()


def attach(fd: int | None) -> None:
    """Use `fd` (an open descriptor, e.g. 3) as the console; None or a closed one: the log alone."""
    global _FD, _STARTED
    _STARTED = time.monotonic()
    try:
        _FD = fd if fd is not None and os.fstat(fd) is not None else None
    except OSError:
        _FD = None


def count(n: int, noun: str, plural: str | None = None) -> str:
    """`1 920 frames`, `1 failure`: thousands split by a space, the noun in the number it needs."""
    return f"{n:,}".replace(",", " ") + " " + (noun if n == 1 else plural or f"{noun}s")


def line(what: str, *parts: str) -> str:
    """`detect 00003: 64 videos, 1 920 frames, 14 203 boxes, 1 failure, 42 s` (seconds since attach)."""
    return f"{what}: {', '.join([*parts, f'{time.monotonic() - _STARTED:.0f} s'])}"


def say(text: str) -> None:
    """`text` on the console (when attached) and in the log."""
    log.info(text)
    show(text)


def show(text: str) -> None:
    """`text` on the console only (when attached): for a line the log already has, e.g. a user error."""
    if _FD is not None:
        try:
            os.write(_FD, (text + "\n").encode())
        except OSError:  # the console went away: the log still has it
            pass


def done(what: str, *parts: str) -> None:
    """The job's closing line (see `line`)."""
    say(line(what, *parts))
