"""Per-frame mAP under the Charades localization protocol, and the calibration of the stand-in quality.

Protocol (Sigurdsson et al., Charades localization task): 25 equally spaced frames per video, first to
last (`linspace(0, duration, 25)`); at each frame the truth is the set of classes whose interval holds it
(start <= t < end); a frame's score for a class is the score of the segment that holds it. AP per class over all (video, frame) pairs
(sklearn's average_precision_score); classes without a positive frame are skipped; mAP is the mean.

The default quality, its sweep and the command that measures them: docs/standins.md, "Stand-in features".

Why here: the stand-in features are calibrated to what published I3D models reach on this protocol
(per-frame mAP about 0.17-0.20), so the measure and the search for the knob live together.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
from sklearn.metrics import average_precision_score
from threadpoolctl import threadpool_limits

from psvl.standins.classes import ActionClass
from psvl.standins.features import class_scores
from psvl.standins.timelines import N_CLASSES, Timeline

log = logging.getLogger(__name__)


def frame_truth(timeline: Timeline, n_frames: int = 25) -> tuple[np.ndarray, np.ndarray]:
    """Frame times (n_frames,) and the (n_frames, 157) bool matrix of classes active at each."""
    times = np.linspace(0.0, timeline.duration_s, n_frames)
    truth = np.zeros((n_frames, N_CLASSES), dtype=bool)
    for act in timeline.actions:
        truth[:, act.cls] |= (act.start_s <= times) & (times < act.end_s)
    return times, truth


def per_frame_map(
    timelines: Mapping[str, Timeline],
    scores: Mapping[str, np.ndarray],
    segment_s: float,
    n_frames: int = 25,
) -> float:
    """Mean over classes of the AP over all (video, frame) pairs of the videos in `scores`, each
    (T, 157) per segment of `segment_s` seconds; classes with no positive frame are skipped."""
    truths, preds = [], []
    for vid, sc in scores.items():
        times, truth = frame_truth(timelines[vid], n_frames)
        seg = np.minimum((times / segment_s).astype(np.int64), len(sc) - 1)
        truths.append(truth)
        preds.append(np.asarray(sc, dtype=np.float64)[seg])
    if not truths:
        raise ValueError("per_frame_map: no videos to score")
    y, p = np.concatenate(truths), np.concatenate(preds)
    present = y.any(axis=0)
    if not present.any():
        raise ValueError("per_frame_map: no class is active at any frame of these videos")
    aps = [average_precision_score(y[:, k], p[:, k]) for k in np.flatnonzero(present)]
    return float(np.mean(aps))


def quality_map(
    timelines: Mapping[str, Timeline],
    classes: list[ActionClass],
    quality: float,
    segment_s: float,
    seed: int,
) -> float:
    """Per-frame mAP of the stand-in class scores of `timelines` at one quality."""
    scores = {
        vid: class_scores(tl, classes, quality=quality, segment_s=segment_s, seed=seed)
        for vid, tl in timelines.items()
    }
    return per_frame_map(timelines, scores, segment_s)


def calibrate(
    timelines: Mapping[str, Timeline],
    classes: list[ActionClass],
    target_map: float,
    segment_s: float,
    seed: int,
    *,
    subset: str | None = "testing",
    tol: float = 0.002,
    max_steps: int = 30,
    sweep: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0),
) -> dict:
    """The quality whose per-frame mAP on the `subset` videos with actions (None: all) is `target_map`
    (within `tol`), and the mAP at each `sweep` quality (0 and 1 always included).

    The sweep brackets the target; inside the bracket a regula falsi step (Illinois variant: the side
    that stays has its mAP pulled halfway to the target) alternates with bisection, which is safe on the
    monotone knob and needs a handful of evaluations. Returns {quality, map, target_map, videos, steps,
    evaluations, sweep: {quality: mAP}}; an unreachable target raises ValueError.
    """
    with threadpool_limits(limits=1):  # tiny per-video matmuls: BLAS threads only contend on shared cores
        return _calibrate(timelines, classes, target_map, segment_s, seed, subset, tol, max_steps, sweep)


def _calibrate(timelines, classes, target_map, segment_s, seed, subset, tol, max_steps, sweep) -> dict:
    chosen = {
        vid: tl for vid, tl in timelines.items() if tl.actions and (subset is None or tl.subset == subset)
    }
    if not chosen:
        raise ValueError(f"calibrate: no {subset or 'any'} videos with actions")
    grid = sorted({0.0, 1.0, *map(float, sweep)})
    table = {q: quality_map(chosen, classes, q, segment_s, seed) for q in grid}
    if not table[0.0] <= target_map <= table[1.0]:
        raise ValueError(
            f"calibrate: target per-frame mAP {target_map} is outside what the knob reaches on these "
            f"videos ({table[0.0]:.4f} at quality 0 to {table[1.0]:.4f} at quality 1)"
        )
    near = min(grid, key=lambda q: abs(table[q] - target_map))
    q, m, steps = near, table[near], 0
    lo = max(x for x in grid if table[x] <= target_map)
    hi = min(x for x in grid if table[x] >= target_map and x >= lo)
    f_lo, f_hi = table[lo] - target_map, table[hi] - target_map
    while abs(m - target_map) > tol and steps < max_steps and hi > lo:
        steps += 1
        secant = lo + (hi - lo) * (-f_lo) / (f_hi - f_lo) if f_hi != f_lo else (lo + hi) / 2
        q = secant if steps % 2 else (lo + hi) / 2
        m = quality_map(chosen, classes, q, segment_s, seed)
        log.debug("calibrate: quality %.5f -> per-frame mAP %.4f", q, m)
        if m < target_map:
            lo, f_lo, f_hi = q, m - target_map, f_hi / 2
        else:
            hi, f_hi, f_lo = q, m - target_map, f_lo / 2
    return {
        "quality": float(q),
        "map": float(m),
        "target_map": float(target_map),
        "videos": len(chosen),
        "steps": steps,
        "evaluations": steps + len(grid),
        "sweep": table,
    }
