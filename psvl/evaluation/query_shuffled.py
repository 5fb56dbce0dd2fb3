"""The query-shuffled baseline: does the model read the words?

Each query is scored with the model's own prediction for *another* query. Within a video the queries are
deranged (a seeded random cycle through the video's queries, so no query keeps its own prediction): a
model that ignores the sentence and predicts from the video alone scores the same shuffled as unshuffled.
A video with a single query has no other query of its own; it takes the prediction of a query of another
video, rescaled from that video's duration to its own (normalized span times duration; kept in seconds
when either duration is unknown). Such queries are counted (`across_video`), because a prediction from
another video also loses what the model saw, not only what it read. Only a test set of one query keeps
its own prediction (`unshuffled`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from psvl.core import spans


def sources(videos: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """For every query, the index of the query whose prediction it takes, and whether that is another video.

    Vectorised: queries sorted by (video, random key); each takes its successor in that order, the last
    of a video the first of the same video (a cycle, hence a derangement of a video with >= 2 queries).
    Queries alone in their video form one more cycle among themselves (all in different videos), or, when
    there is a single one, take a random query of another video.
    """
    n = len(videos)
    codes = pd.factorize(np.asarray(videos, dtype=object))[0]
    order = np.lexsort((rng.random(n), codes))
    ordered = codes[order]
    new = np.r_[True, ordered[1:] != ordered[:-1]] if n else np.zeros(0, bool)
    last = np.r_[ordered[1:] != ordered[:-1], True] if n else np.zeros(0, bool)
    start = np.maximum.accumulate(np.where(new, np.arange(n), 0))
    source = np.empty(n, dtype=np.int64)
    source[order] = order[np.where(last, start, np.arange(n) + 1)]
    lone = np.flatnonzero(source == np.arange(n))
    if len(lone) >= 2:
        cycle = rng.permutation(lone)
        source[cycle] = np.roll(cycle, -1)
    elif len(lone) == 1 and n >= 2:
        source[lone[0]] = rng.choice(np.flatnonzero(codes != codes[lone[0]]))
    return source, codes[source] != codes


def shuffled_ious(
    pred: np.ndarray, truth: np.ndarray, dur: np.ndarray, videos: np.ndarray, groups: np.ndarray, seed: int
) -> tuple[np.ndarray, dict]:
    """Per-query IoU of the query-shuffled predictions, and the counts of how each query was shuffled.

    Row arrays (one row per true window, as `evaluate.score` scores them): `pred` the model's scored
    (start, end) in seconds, NaN where a query has none (it stays IoU 0 wherever it goes); `truth` the
    clipped true moment; `dur` the video duration (inf where unknown); `videos`, `groups` (the query each
    row belongs to). Queries come out in first-row order, like `evaluate.per_query`.
    """
    codes, uniques = pd.factorize(np.asarray(groups, dtype=object))
    first = np.unique(codes, return_index=True)[1]
    q_pred, q_dur = np.asarray(pred, dtype=np.float64)[first], np.asarray(dur, dtype=np.float64)[first]
    src, across = sources(np.asarray(videos, dtype=object)[first], np.random.default_rng(seed))
    known = np.isfinite(q_dur) & (q_dur > 0)
    scale = np.where(across & known & known[src], q_dur / np.where(known[src], q_dur[src], 1.0), 1.0)
    moved = q_pred[src] * scale[:, None]
    row_pred = moved[codes]
    missing = np.isnan(row_pred).any(axis=1)
    row_ious = np.where(missing, 0.0, spans.iou(np.nan_to_num(row_pred), truth))
    best = np.zeros(len(uniques))
    np.maximum.at(best, codes, row_ious)
    info = {
        "within_video": int((~across & (src != np.arange(len(src)))).sum()),
        "across_video": int(across.sum()),
        "unshuffled": int((src == np.arange(len(src))).sum()),
    }
    return best, info
