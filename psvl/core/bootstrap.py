"""Percentile bootstrap intervals over queries for R@0.3/0.5/0.7 and mIoU.

A resample draws n of the n queries with replacement. Every metric is a mean of a per-query value, so a
resample is fully described by how often it drew each *kind* of query; drawing n queries with replacement
is exactly a multinomial draw of n over the kinds, with the kinds' observed frequencies. Here a kind is
(IoU bin of width `BIN`, hit at 0.3, hit at 0.5, hit at 0.7): at most ~100 kinds whatever n, so 1 000
resamples cost one `multinomial` call of 1 000 x ~100 draws (a few ms for 10 000 or 1 000 000 queries),
where drawing every query would cost 1 000 x n.

Exactness: R@0.3/0.5/0.7 are resampled exactly (the hit flags are part of the kind). mIoU uses each
kind's mean IoU, i.e. it ignores the IoU variance within a 0.01-wide bin (at most 0.01² / 4 per query,
against ~0.1 for IoUs spread over [0, 1]): the interval's width moves by about 1e-4 of itself.

Each row (the model, each baseline) is resampled with a generator seeded from `seed` alone, so a row's
interval does not depend on which other rows are reported.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

RESAMPLES = 1000  # the default number of resamples (no config key: pass `resamples` to change it)
LEVEL = 0.95
BIN = 0.01
INTERVAL_KEYS = ("R@0.3", "R@0.5", "R@0.7", "mIoU")
_THRESHOLDS = np.array([0.3, 0.5, 0.7])


def kinds(ious: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(count of each kind of query, the kind's per-query values: hit@0.3, hit@0.5, hit@0.7, mean IoU)."""
    ious = np.asarray(ious, dtype=np.float64).ravel()
    hits = ious[:, None] >= _THRESHOLDS[None, :]
    bins = np.clip(np.floor(ious / BIN), 0, round(1 / BIN)).astype(np.int64)
    key = bins * 8 + hits @ np.array([1, 2, 4])
    uniq, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    mean_iou = np.bincount(inverse, weights=ious, minlength=len(uniq)) / counts
    kind_hits = ((uniq[:, None] % 8) & np.array([1, 2, 4])) > 0
    return counts, np.column_stack([kind_hits.astype(np.float64), mean_iou])


def interval(
    ious: np.ndarray, seed: int = 0, resamples: int = RESAMPLES, level: float = LEVEL
) -> dict[str, list[float]]:
    """{"R@0.3": [lo, hi], "R@0.5": ..., "R@0.7": ..., "mIoU": ...} of one row's per-query IoU.

    No queries give [0, 0] (the metrics of no queries are 0); `resamples` < 1 gives the point estimate as
    both ends.
    """
    counts, values = kinds(ious)
    n = int(counts.sum())
    if n == 0:
        return {key: [0.0, 0.0] for key in INTERVAL_KEYS}
    if resamples < 1:
        stats = (counts @ values / n)[None, :]
    else:
        drawn = np.random.default_rng(seed).multinomial(n, counts / n, size=resamples)
        stats = drawn @ values / n
    tail = (1.0 - level) / 2.0
    lo, hi = np.quantile(stats, [tail, 1.0 - tail], axis=0)
    return {key: [float(lo[j]), float(hi[j])] for j, key in enumerate(INTERVAL_KEYS)}


def intervals(
    ious_by_name: Mapping[str, np.ndarray], seed: int = 0, resamples: int = RESAMPLES, level: float = LEVEL
) -> dict[str, dict[str, list[float]]]:
    """`interval` of every row: {name: {"R@0.3": [lo, hi], ...}}."""
    return {name: interval(ious, seed, resamples, level) for name, ious in ious_by_name.items()}


def paired_difference(
    a: np.ndarray, b: np.ndarray, seed: int = 0, resamples: int = RESAMPLES, level: float = LEVEL
) -> list[float]:
    """[lo, hi] of mean(a) - mean(b) for per-item values of two methods on the *same* items (e.g. hit
    flags of TEP and a baseline per moment), resampling items, so the pairing's correlation counts.

    As for `interval`, a resample is a multinomial draw over the distinct per-item differences (three for
    hit flags: -1, 0, 1), so its cost does not grow with the number of items."""
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    if a.size != b.size:
        raise ValueError(f"paired values differ in length: {a.size} vs {b.size}")
    if a.size == 0:
        return [0.0, 0.0]
    diff = a - b
    if resamples < 1:
        return [float(diff.mean())] * 2
    values, counts = np.unique(diff, return_counts=True)
    drawn = np.random.default_rng(seed).multinomial(diff.size, counts / diff.size, size=resamples)
    tail = (1.0 - level) / 2.0
    lo, hi = np.quantile(drawn @ values / diff.size, [tail, 1.0 - tail])
    return [float(lo), float(hi)]


def describe(seed: int, resamples: int = RESAMPLES, level: float = LEVEL) -> dict:
    """metrics.json's `bootstrap` entry: how the intervals were drawn."""
    return {
        "method": "percentile",
        "resamples": int(resamples),
        "level": level,
        "seed": int(seed),
        "iou_bin": BIN,
    }
