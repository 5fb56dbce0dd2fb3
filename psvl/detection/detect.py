"""Detection stage: run a detector over a shard's frames, keep confident boxes, name them with nouns.

Batched: JPEGs are decoded together (torchvision.io.decode_jpeg, on the GPU when there is one) and the
detector sees `batch_size` frames per forward pass. A JPEG that cannot be decoded becomes a failures row
for its video; the other frames (and videos) of the shard are still detected, and both files are always
written.
"""

from __future__ import annotations

import logging
import os
import re
import warnings
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import torch
from torchvision.io import ImageReadMode, decode_jpeg

from psvl.core.artifacts import write_table
from psvl.core.failures import FailureLog
from psvl.core.progress import progress
from psvl.detection.config import DetectorConfig
from psvl.detection.nouns import noun_of
from psvl.detection.registry import Detector

log = logging.getLogger(__name__)

STAGE = "detect"
_COLUMNS = ("video_id", "frame_idx", "time_s", "label", "score", "x1", "y1", "x2", "y2")


def to_rows(
    boxes: Any,
    scores: Any,
    label_idx: Any,
    labels: Sequence[str],
    nouns: dict[int, str | None],
    score_threshold: float,
    max_per_frame: int,
) -> list[tuple[str, float, float, float, float, float]]:
    """One frame's detections as (noun, score, x1, y1, x2, y2) rows: classes with no noun dropped, scores
    below the threshold dropped, the best `max_per_frame` kept. Plain tensors or arrays in."""
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float32).reshape(-1)
    label_idx = np.asarray(label_idx, dtype=np.int64).reshape(-1)
    order = np.argsort(-scores, kind="stable")
    rows = []
    for i in order:
        if scores[i] < score_threshold or len(rows) >= max_per_frame:
            break
        k = int(label_idx[i])
        noun = nouns.get(k) if k in nouns else (noun_of(labels[k]) if 0 <= k < len(labels) else None)
        if noun:
            rows.append((noun, float(scores[i]), *map(float, boxes[i])))
    return rows


def _decode(jpegs: list[bytes], device: str) -> list[Any]:
    """Decode JPEGs to CHW float tensors in [0, 1]; an undecodable one becomes its exception."""
    datas = [
        torch.frombuffer(bytearray(b), dtype=torch.uint8) if b else torch.zeros(0, dtype=torch.uint8)
        for b in jpegs
    ]
    with (
        warnings.catch_warnings()
    ):  # torchvision 0.29 deprecates its codecs (for TorchCodec); still the fast path
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            decoded = decode_jpeg(datas, mode=ImageReadMode.RGB, device=device)
        except RuntimeError:  # one bad JPEG fails the whole batch call: decode one by one to find it
            decoded = []
            for d in datas:
                try:
                    decoded.append(decode_jpeg(d, mode=ImageReadMode.RGB, device=device))
                except RuntimeError as exc:
                    decoded.append(exc)
    return [_short(d) if isinstance(d, Exception) else d.float().div_(255) for d in decoded]


def _short(exc: Exception) -> Exception:
    """torchvision's codec errors start with `function, source.cpp:LINE, `: keep the reason only."""
    return type(exc)(re.sub(r"^\w+, \S+:\d+, ", "", str(exc).splitlines()[0] if str(exc) else ""))


def detect_frames(frames: pa.Table, detector: Detector, cfg: DetectorConfig) -> tuple[pa.Table, FailureLog]:
    """Detections of every frame of a frames table (columns of the frames schema); failures logged."""
    failures = FailureLog(STAGE)
    nouns = {i: noun_of(name, cfg.noun_map) for i, name in enumerate(detector.labels)}
    vids = frames.column("video_id").to_pylist()
    fidx = frames.column("frame_idx").to_pylist()
    times = frames.column("time_s").to_pylist()
    jpeg_col = frames.column("jpeg")
    out: dict[str, list] = {k: [] for k in _COLUMNS}
    bad: dict[str, list[str]] = defaultdict(list)
    n = frames.num_rows
    device = detector.device if detector.device.startswith("cuda") else "cpu"
    batches = range(0, n, cfg.batch_size)
    for start in progress(batches, desc="detect", total=len(batches), unit="batch"):
        stop = min(n, start + cfg.batch_size)
        decoded = _decode(jpeg_col.slice(start, stop - start).to_pylist(), device)
        good = [i for i, d in enumerate(decoded) if not isinstance(d, Exception)]
        for i, d in enumerate(decoded):
            if isinstance(d, Exception):
                bad[vids[start + i]].append(
                    f"frame {fidx[start + i]}: {str(d).splitlines()[0] if str(d) else type(d).__name__}"
                )
        if not good:
            continue
        results = detector.predict([decoded[i] for i in good])
        for i, (boxes, scores, labels) in zip(good, results):
            r = start + i
            for noun, score, x1, y1, x2, y2 in to_rows(
                boxes, scores, labels, detector.labels, nouns, cfg.score_threshold, cfg.max_per_frame
            ):
                for key, value in zip(_COLUMNS, (vids[r], fidx[r], times[r], noun, score, x1, y1, x2, y2)):
                    out[key].append(value)
    for vid, problems in bad.items():
        failures.add(vid, f"{len(problems)} frame(s) could not be decoded as JPEG ({problems[0]})")
    return pa.table(out), failures


def shaping(cfg: DetectorConfig, detector: Detector) -> dict[str, Any]:
    """The config values that shaped a detections file (its provenance metadata)."""
    return {
        "detector": detector.name,
        "backend": detector.backend,
        "weights": detector.weights,
        "classes": [c for c in detector.labels if noun_of(c, cfg.noun_map)],
        "score_threshold": cfg.score_threshold,
        "max_per_frame": cfg.max_per_frame,
        "noun_map": dict(cfg.noun_map),
    }


def write_detections(
    detections: pa.Table,
    failures: FailureLog,
    out: str | os.PathLike,
    failures_out: str | os.PathLike | None,
    cfg: DetectorConfig,
    detector: Detector,
) -> None:
    write_table("detections", detections, out, stage=STAGE, shaping=shaping(cfg, detector))
    if failures_out:
        failures.write(failures_out)
    log.info(
        "%d detections -> %s (%d videos with undecodable frames)", detections.num_rows, out, len(failures)
    )
