"""Record bad inputs instead of dropping them: one row per (video, stage) with the reason.

A row's severity is "error" (the video was skipped by that stage) or "warning" (it was kept, but with a
flaw a person should know of, such as a partial decode); the closing summary counts the two apart.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from psvl.core.artifacts import write_table
from psvl.core.console import count

log = logging.getLogger(__name__)


ERROR, WARNING = "error", "warning"


@dataclass
class FailureLog:
    """Collects failures (and warnings) of one stage on one shard; `write` always writes a file.

    `len()` and `video_ids` count failures only: a warned video was kept."""

    stage: str
    rows: list[dict[str, str]] = field(default_factory=list)

    def add(self, video_id: str, error: BaseException | str) -> None:
        """Record a video the stage skipped, with why."""
        self._record(video_id, error, ERROR, "failed")

    def warn(self, video_id: str, message: str) -> None:
        """Record a video the stage kept despite a flaw (a partial decode)."""
        self._record(video_id, message, WARNING, "kept with a warning")

    def _record(self, video_id: str, error: BaseException | str, severity: str, what: str) -> None:
        message = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        message = message.strip() or "unknown error"
        log.warning("%s: %s %s: %s", self.stage, video_id, what, message)
        self.rows.append(
            {"video_id": str(video_id), "stage": self.stage, "error": message, "severity": severity}
        )

    @property
    def video_ids(self) -> set[str]:
        return {r["video_id"] for r in self.rows if r["severity"] == ERROR}

    @property
    def warnings(self) -> int:
        return sum(r["severity"] == WARNING for r in self.rows)

    def __len__(self) -> int:
        return sum(r["severity"] == ERROR for r in self.rows)

    def write(self, path: str | os.PathLike) -> None:
        columns = {k: [r[k] for r in self.rows] for k in ("video_id", "stage", "error", "severity")}
        write_table("failures", columns, path, stage=self.stage)


def summary(results_dir: str | os.PathLike, rows: list[tuple[str, str, str, str]] | None = None) -> str:
    """One line per stage with failures under `results_dir/failures/`: how many videos, by reason; then
    the same for warnings (videos kept despite a flaw), counted apart from the failures.

    What the workflow prints when it ends, so a person sees every bad video without opening a file: every
    reason is named (a run has few kinds), and each heading counts a video once, whatever the number of
    stages that recorded it. `rows`: `records(results_dir)` when the caller has read them already.
    """
    rows = records(results_dir) if rows is None else rows
    failed = [r for r in rows if r[3] == ERROR]
    lines = ["failures: none (every video passed every stage)"]
    if failed:
        videos = count(len({r[1] for r in failed}), "video")
        lines = [f"failures ({videos} recorded in failures/{{stage}}/ and skipped; the rest completed):"]
        lines += _by_stage(failed)
    warned = [r for r in rows if r[3] == WARNING]
    if warned:
        videos = count(len({r[1] for r in warned}), "video")
        lines.append(f"warnings ({videos} kept, flagged severity=warning in failures/{{stage}}/):")
        lines += _by_stage(warned)
    return "\n".join(lines)


def _by_stage(rows: list[tuple[str, str, str, str]]) -> list[str]:
    by_stage: dict[str, Counter] = {}
    for stage, _, error, _ in rows:
        by_stage.setdefault(stage, Counter())[_reason(error)] += 1
    lines = []
    for stage, reasons in by_stage.items():
        each = ", ".join(f"{n} {reason}" for reason, n in reasons.most_common())
        lines.append(f"  {stage}: {count(sum(reasons.values()), 'video')} ({each})")
    return lines


def videos_with(rows: list[tuple[str, str, str, str]], severity: str) -> set[str]:
    """The videos of `records` rows of one severity (ERROR: failed; WARNING: kept with a flaw), each once
    whatever the number of stages that recorded it."""
    return {video for _, video, _, sev in rows if sev == severity}


def records(results_dir: str | os.PathLike) -> list[tuple[str, str, str, str]]:
    """(stage, video_id, error, severity) of every row under `results_dir/failures/{stage}/*.parquet`;
    files written before the severity column hold failures only."""
    import pyarrow.parquet as pq  # lazy: the Snakefile imports this module at parse time

    out = []
    for path in sorted((Path(results_dir) / "failures").glob("*/*.parquet")):
        table = pq.read_table(path)
        severity = table["severity"].to_pylist() if "severity" in table.column_names else None
        for i, row in enumerate(table.select(["video_id", "error"]).to_pylist()):
            out.append(
                (path.parent.name, str(row["video_id"]), row["error"], severity[i] if severity else ERROR)
            )
    return out


def _reason(error: str) -> str:
    """The part of an error message before its details: up to the first ': ' outside parentheses."""
    depth = 0
    for i, ch in enumerate(error):
        depth += (ch == "(") - (ch == ")")
        if depth == 0 and error.startswith(": ", i):
            return error[:i][:80]
    return error[:80]
