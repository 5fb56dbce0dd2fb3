"""Record bad inputs instead of dropping them: one row per (video, stage) with the reason."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

from psvl.core.artifacts import write_table

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
