"""Charades action timelines: the crowd-annotated `[class, start_s, end_s]` lists of charades.json.

Why a reader of its own: the stand-in features and detections are made from these timelines (no video is
read), so every stand-in module needs the same typed view of them; stdlib + numpy only, so the workflow
can import it cheaply. Intervals are clipped to [0, duration] and intervals that are empty after the clip
are dropped (a handful of annotations run past the video's end); videos without actions keep `actions=()`.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

N_CLASSES = 157  # Charades_v1_classes.txt: c000 ... c156


@dataclass(frozen=True)
class Action:
    """One annotated action: class index (0-156) and its interval in seconds."""

    cls: int
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Timeline:
    """One Charades video: its subset (training | testing), duration and action intervals."""

    video_id: str
    subset: str
    duration_s: float
    actions: tuple[Action, ...]


def _actions(raw: list, duration: float, vid: str) -> tuple[Action, ...]:
    out = []
    for item in raw or ():
        cls, start, end = int(item[0]), float(item[1]), float(item[2])
        if not 0 <= cls < N_CLASSES:
            raise ValueError(f"{vid}: action class {cls} outside 0..{N_CLASSES - 1}")
        start, end = max(0.0, start), min(duration, end)
        if end > start:
            out.append(Action(cls, start, end))
    return tuple(out)


def read_timelines(path: str | Path) -> dict[str, Timeline]:
    """charades.json (`{vid: {subset, duration, actions}}`) -> {video_id: Timeline}, in file order."""
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    out: dict[str, Timeline] = {}
    for vid, rec in data.items():
        try:
            duration = float(rec["duration"])
            out[vid] = Timeline(
                vid, str(rec["subset"]), duration, _actions(rec.get("actions"), duration, vid)
            )
        except (KeyError, TypeError, IndexError) as exc:
            raise ValueError(f"{path}: video {vid}: expected subset, duration and actions ({exc})") from exc
    return out


def video_rng(seed: int, video_id: str, stream: int = 0) -> np.random.Generator:
    """The random stream of one video: seeded by (seed, crc32 of its id, stream), so a video's stand-ins
    never depend on which other videos share its shard or on Python's per-process string hash; `stream`
    separates the draws of different stand-ins (scores, feature extras, detections) of one video."""
    return np.random.default_rng([int(seed), zlib.crc32(video_id.encode("utf-8")), int(stream)])
