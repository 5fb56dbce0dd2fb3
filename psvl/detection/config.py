"""The `detector` and `detector.train` config sections as typed dataclasses.

Fields only: every default and every key's meaning live in the config schema (config.schema.yaml); build
these with `psvl.config.build` from a validated section, or `psvl.config.default` for the shipped defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class DetectorConfig:
    """The `detector` config section (`train` stays a dict: it is its own section, DetectorTrainConfig)."""

    backend: str
    name: str
    weights: str
    classes: str | None
    detectron2_config: str | None
    score_threshold: float
    max_per_frame: int
    batch_size: int
    input_size: int | None
    device: str
    noun_map: dict[str, str | None]
    train: dict[str, Any]


@dataclass
class DetectorTrainConfig:
    """The `detector.train` config section (psvl train-detector)."""

    epochs: int
    batch_size: int
    lr: float
    weight_decay: float
    warmup_iters: int
    hflip: bool
    max_images: int
    val_fraction: float
    seed: int
    weights: str
