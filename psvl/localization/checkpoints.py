"""Checkpoint files of the localization model: written atomically, read without unpickling objects.

A checkpoint is a dict of tensors and plain Python values (`torch.save`), so it loads with
`torch.load(weights_only=True)`. `best.pt` holds the model, its vocabulary, settings and provenance;
`last.pt` adds what a resumed run needs (optimizer, scheduler, RNG states, epoch, log, fingerprint).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from psvl.core.artifacts import write_table

log = logging.getLogger(__name__)

LOG_COLUMNS = ["epoch", "train_loss", "train_loc_loss", "train_att_loss", "val_mIoU", "val_R@0.5", "seconds"]


def fingerprint(**parts: Any) -> str:
    """What must match for `--resume` to continue a run instead of starting afresh."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def queries_digest(queries) -> str:
    """A digest of the training queries' content (ids, spans, tokens), for the fingerprint: new
    pseudo-queries of the same count and vocabulary (e.g. another `num_nouns`) must not resume a run."""
    rows = (
        f"{q}|{s!r}|{e!r}|{' '.join(map(str, t))}"
        for q, s, e, t in zip(queries["query_id"], queries["start_s"], queries["end_s"], queries["tokens"])
    )
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()[:16]


def save_checkpoint(obj: Mapping[str, Any], path: Path) -> None:
    """`torch.save` to a temporary name, then rename: a killed job never leaves half a checkpoint."""
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(dict(obj), tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """A psvl checkpoint, loaded without unpickling arbitrary objects."""
    return torch.load(path, map_location=map_location, weights_only=True)


def try_load(path: Path) -> dict[str, Any] | None:
    """The checkpoint at `path`, or None (with a warning) when it cannot be read."""
    try:
        return load_checkpoint(path)
    except Exception as exc:  # noqa: BLE001 - a truncated or foreign file: start afresh rather than fail
        log.warning("cannot resume from %s (%s); starting afresh", path, exc)
        return None


def write_log(rows: list[dict], path: Path, settings: Mapping[str, Any]) -> None:
    """train_log.parquet: one row per epoch, the run's settings in its metadata."""
    write_table("train_log", pd.DataFrame(rows, columns=LOG_COLUMNS), path, stage="train", shaping=settings)
