"""Record bad inputs instead of dropping them: one row per (video, stage) with the reason."""

from __future__ import annotations

import logging
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from psvl.core.artifacts import write_table
from psvl.core.console import count

log = logging.getLogger(__name__)


@dataclass
class FailureLog:
    """Collects failures of one stage on one shard; `write` always writes a file (maybe empty)."""

    stage: str
    rows: list[dict[str, str]] = field(default_factory=list)

    def add(self, video_id: str, error: BaseException | str) -> None:
        message = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        message = message.strip() or "unknown error"
        log.warning("%s: %s failed: %s", self.stage, video_id, message)
        self.rows.append({"video_id": str(video_id), "stage": self.stage, "error": message})

    @property
    def video_ids(self) -> set[str]:
        return {r["video_id"] for r in self.rows}

    def __len__(self) -> int:
        return len(self.rows)

    def write(self, path: str | os.PathLike) -> None:
        columns = {k: [r[k] for r in self.rows] for k in ("video_id", "stage", "error")}
        write_table("failures", columns, path, stage=self.stage)


def summary(results_dir: str | os.PathLike) -> str:
    """One line per stage with failures under `results_dir/failures/`: how many videos, by reason.

    What the workflow prints when it ends, so a person sees every bad video without opening a file: every
    reason is named (a run has few kinds), and the first line counts each bad video once, whatever the
    number of stages that recorded it.
    """
    rows = _rows(results_dir)
    by_stage: dict[str, Counter] = {}
    for stage, _, error in rows:
        by_stage.setdefault(stage, Counter())[_reason(error)] += 1
    if not rows:
        return "failures: none (every video passed every stage)"
    videos = count(len({video for _, video, _ in rows}), "video")
    lines = [f"failures ({videos} recorded in failures/{{stage}}/ and skipped; the rest completed):"]
    for stage, reasons in by_stage.items():
        each = ", ".join(f"{n} {reason}" for reason, n in reasons.most_common())
        lines.append(f"  {stage}: {sum(reasons.values())} videos ({each})")
    return "\n".join(lines)


def failed_videos(results_dir: str | os.PathLike) -> set[str]:
    """The videos recorded under `results_dir/failures/` by any stage (each counted once)."""
    return {video for _, video, _ in _rows(results_dir)}


def _rows(results_dir: str | os.PathLike) -> list[tuple[str, str, str]]:
    """(stage, video_id, error) of every row under `results_dir/failures/{stage}/*.parquet`."""
    import pyarrow.parquet as pq  # lazy: the Snakefile imports this module at parse time

    out = []
    for path in sorted((Path(results_dir) / "failures").glob("*/*.parquet")):
        for row in pq.read_table(path, columns=["video_id", "error"]).to_pylist():
            out.append((path.parent.name, str(row["video_id"]), row["error"]))
    return out


def _reason(error: str) -> str:
    """The part of an error message before its details: up to the first ': ' outside parentheses."""
    depth = 0
    for i, ch in enumerate(error):
        depth += (ch == "(") - (ch == ")")
        if depth == 0 and error.startswith(": ", i):
            return error[:i][:80]
    return error[:80]
