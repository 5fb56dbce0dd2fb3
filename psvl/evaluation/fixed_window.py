"""The `fixed_window` baseline: one normalized window [s, e], the same for every query of every video.

Why it is the bar: on Charades-STA the single window [0, 0.30] of each video, chosen on the train
moments, scores R@0.3/0.5/0.7 0.403 / 0.306 / 0.152 on the test queries, so a model's R@0.5 near 0.31
(PSVL's published 31.29, R@0.7 14.17) says nothing about the sentence or the video: the moments' layout
alone gets it. The window is chosen on reference moments, never on the evaluated ones: the dataset's
train annotations where it has them, otherwise the training pseudo-labels (`source` names which).

The search: every window [i, j] / `GRID` with 0 <= i < j <= `GRID` (5 050 windows at step 0.01) is
scored on the reference moments (normalized by their videos' durations) by R@0.5; ties go to the
higher mIoU, then to the shorter window, then to the earlier start. IoU is `psvl.core.spans.pairwise_iou`,
taken over blocks of windows so memory stays at a few tens of MB for ActivityNet's 37 421 moments.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np

from psvl.core import spans

log = logging.getLogger(__name__)

GRID = 100  # windows start and end on multiples of 1 / GRID
CHOOSE_AT = 0.5  # the IoU threshold whose recall picks the window
# where the reference moments come from, and how the report says it
SOURCES = {
    "train_annotations": "the dataset's train annotations",
    "pseudo_labels": "the training pseudo-labels",
    "train_moments": "the priors' training moments",
    "ground_truth": "the evaluated moments themselves (optimistic)",
}
_BLOCK = 256  # windows scored at once


@dataclass(frozen=True)
class Reference:
    """Normalized (start, end) moments, N x 2, the window is chosen on, and where they come from."""

    moments: np.ndarray
    source: str

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"fixed_window source: expected one of {list(SOURCES)}, got {self.source!r}")


def grid_windows(grid: int = GRID) -> np.ndarray:
    """Every window [i, j] / grid with i < j, (grid * (grid + 1) / 2, 2), start-major."""
    i, j = np.triu_indices(grid + 1, k=1)
    return np.stack([i, j], axis=1) / grid


def best_window(moments: np.ndarray, grid: int = GRID) -> tuple[np.ndarray, dict[str, float]]:
    """The grid window with the highest R@0.5 on `moments` (normalized, N x 2), ties broken by mIoU,
    then the shorter window, then the earlier start; with its R@0.5 and mIoU on them."""
    moments = spans.order(np.asarray(moments, dtype=np.float64).reshape(-1, 2))
    windows = grid_windows(grid)
    if len(moments) == 0:
        raise ValueError("fixed_window: no reference moments to choose a window on")
    hits, mean = np.empty(len(windows)), np.empty(len(windows))
    for lo in range(0, len(windows), _BLOCK):
        ious = spans.pairwise_iou(windows[lo : lo + _BLOCK], moments)
        hits[lo : lo + _BLOCK] = (ious >= CHOOSE_AT).mean(axis=1)
        mean[lo : lo + _BLOCK] = ious.mean(axis=1)
    # lexsort: the last key is the primary one. Hit counts and grid steps compare as integers and mIoU
    # to 1e-12, so float noise (1.0 - 0.8 < 0.2) never decides a tie.
    count = np.rint(hits * len(moments))
    steps = np.rint(windows * grid)
    best = np.lexsort((steps[:, 0], steps[:, 1] - steps[:, 0], -np.round(mean, 12), -count))[0]
    return windows[best], {"R@0.5": float(hits[best]), "mIoU": float(mean[best])}


def row(reference: Reference, truth: np.ndarray, dur: np.ndarray) -> tuple[dict, np.ndarray]:
    """metrics.json's keys of the baseline (window, source, n_reference, the window's R@0.5 and mIoU on
    the reference) and its per-row IoU against `truth` (seconds, clipped to `dur`), as the priors are
    scored in psvl.evaluation.evaluate (the caller reduces rows to queries)."""
    window, fit = best_window(reference.moments)
    log.info(
        "fixed_window [%.2f, %.2f] from %s (%d moments)", *window, reference.source, len(reference.moments)
    )
    pred = window[None, :] * np.asarray(dur, dtype=np.float64)[:, None]
    keys = {
        "window": [round(float(window[0]), 6), round(float(window[1]), 6)],
        "source": reference.source,
        "n_reference": len(reference.moments),
        "reference_fit": fit,
    }
    return keys, spans.iou(pred, truth)


def read_reference(
    path: str | os.PathLike, source: str, durations: str | os.PathLike | None = None
) -> Reference:
    """The reference moments of a file (any annotation format, pseudo_queries.parquet, PSVL JSON).

    A file with train rows (the workflow's annotations.parquet holds test and train) gives only those;
    moments of videos without a known duration are dropped, as for the priors' training moments."""
    from psvl.datasets.predictions import read_ground_truth  # lazy: keeps the search free of readers

    gt = read_ground_truth(path, durations, what="reference moments")
    train = gt["split"] == "train"
    if train.any():
        gt = gt[train]
    ok = gt["duration_s"].to_numpy() > 0
    if not ok.all():
        log.warning("%s: %d reference moments without a duration dropped", path, int((~ok).sum()))
    gt = gt[ok]
    moments = spans.to_normalized(gt[["start_s", "end_s"]].to_numpy(), gt["duration_s"].to_numpy())
    return Reference(moments, source)


def describe(baseline: dict) -> str:
    """One line naming the baseline's window and the moments it was chosen on (summary, report)."""
    start, end = baseline["window"]
    where = SOURCES.get(baseline["source"], baseline["source"])
    return f"fixed_window [{start:.2f}, {end:.2f}]: best at R@0.5 on {baseline['n_reference']} moments of {where}"
