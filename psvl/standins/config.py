"""config.standins: the Charades timelines benchmark's settings (fields only; the schema holds every
default, psvl/data/config.schema.yaml, and docs/standins.md says what each one does)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DetectionNoiseConfig:
    """config.standins.detections: the keyword arguments of psvl.standins.detections.standin_detections."""

    p_hit: float
    p_room: float
    scene_rate: float
    false_rate: float
    score_a: float
    score_b: float
    false_a: float
    false_b: float
    jitter: float
    acted_jitter: float


@dataclass(frozen=True)
class StandinsConfig:
    """config.standins: classes file, dev split, evaluated split, and the stand-ins' noise settings."""

    classes: str | None
    split: str
    dev_fraction: float
    dev_seed: int
    max_videos: int | None
    seed: int
    quality: float
    segment_seconds: float
    dim: int
    map_band: list[float]
    detections: dict
