"""The nouns of a pseudo-query: the labels detected most inside a proposal.

A proposal's nouns are its top `num_nouns` detected labels, most weighted first (ties: alphabetical), by
one of two rankings:

- `frequency` (the paper): score-weighted frequency, the sum of detection scores over the frames whose
  time lies inside [start_s, end_s].
- `contrast`: how much denser a label's detections are inside the proposal than in the rest of its video
  (summed score per second inside [start_s, end_s) minus outside). A label seen all the time (Charades'
  person, the synthetic world's actor, a wall) scores about 0 in every proposal and names none; a label
  that appears for the proposal's time names it. Only labels with a positive contrast are kept, so a
  proposal whose detections are no denser inside than outside gets no noun (and no query). The idea is
  tf-idf's, within one video: what tells this stretch of the video from the rest of it.

Vectorized on integer codes (numpy; no Python loop per detection or proposal): detections
are sorted by (video, label, time) once, and a proposal's window sum per label is the difference of the
running score sum at two `searchsorted` positions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def group_rank(groups: np.ndarray) -> np.ndarray:
    """Position of each row within its run of equal values (rows sorted by group)."""
    n = groups.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
    return np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n]))


def expand(keys: np.ndarray, sorted_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every (i, j) with keys[i] == sorted_keys[j] (an inner join of row numbers), grouped by i."""
    lo = np.searchsorted(sorted_keys, keys, "left")
    cnt = np.searchsorted(sorted_keys, keys, "right") - lo
    i = np.repeat(np.arange(keys.size), cnt)
    first = np.cumsum(cnt) - cnt
    j = np.arange(i.size) - np.repeat(first, cnt) + np.repeat(lo, cnt)
    return i, j


def window_nouns(
    p_video: np.ndarray,
    p_start: np.ndarray,
    p_end: np.ndarray,
    d_video: np.ndarray,
    d_label: np.ndarray,
    d_time: np.ndarray,
    d_score: np.ndarray,
    num_nouns: int,
    ranking: str = "frequency",
    p_duration: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(proposal row, label code, weight) of the top `num_nouns` labels per proposal, sorted by proposal
    then weight (desc) then label code. Videos and labels are integer codes; label codes sort like names.
    `contrast` needs `p_duration`, each proposal's video duration in seconds."""
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64))
    if p_video.size == 0 or d_video.size == 0:
        return empty
    n_labels = int(d_label.max()) + 1
    pair_keys, gi = np.unique(d_video.astype(np.int64) * n_labels + d_label, return_inverse=True)
    t0 = min(float(d_time.min()), float(p_start.min()))
    span = max(float(d_time.max()), float(p_end.max())) - t0 + 1.0
    key = gi * span + (d_time - t0)  # sorts by (video, label), then time
    order = np.argsort(key, kind="stable")
    key = key[order]
    cum = np.r_[0.0, np.cumsum(d_score[order], dtype=np.float64)]
    pi, pj = expand(p_video.astype(np.int64), pair_keys // n_labels)  # proposal x labels seen in its video
    lo = np.searchsorted(key, pj * span + (p_start[pi] - t0), "left")
    hi = np.searchsorted(key, pj * span + (p_end[pi] - t0), "right")  # a frame at end_s is inside
    if ranking == "frequency":
        inside = hi > lo
        pi, label, weight = pi[inside], (pair_keys[pj] % n_labels)[inside], (cum[hi] - cum[lo])[inside]
    elif ranking == "contrast":
        if p_duration is None:
            raise ValueError("noun ranking 'contrast' needs each proposal's video duration")
        # [start, end): n frames per n / fps seconds, so a label seen in every frame has zero contrast
        first = np.searchsorted(key, pj * span, "left")
        total = cum[np.searchsorted(key, (pj + 1) * span, "left")] - cum[first]
        inner = cum[np.searchsorted(key, pj * span + (p_end[pi] - t0), "left")] - cum[lo]
        length = np.maximum(p_end[pi] - p_start[pi], 1e-6)
        rest = np.maximum(np.asarray(p_duration, dtype=np.float64)[pi] - length, 0.0)
        outside = np.divide(total - inner, rest, out=np.zeros_like(rest), where=rest > 1e-6)
        contrast = inner / length - outside
        keep = contrast > 1e-9
        pi, label, weight = pi[keep], (pair_keys[pj] % n_labels)[keep], contrast[keep]
    else:
        raise ValueError(f"pseudo_queries.noun_ranking: expected frequency or contrast, got {ranking!r}")
    order = np.lexsort((label, -weight, pi))
    keep = order[group_rank(pi[order]) < num_nouns]
    return pi[keep], label[keep], weight[keep]


def noun_codes(
    props: pd.DataFrame, dets: pd.DataFrame, num_nouns: int, ranking: str = "frequency"
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(proposal row, label code, weight) of each proposal's top labels, and the label names of the codes.

    `props` needs video_id, start_s, end_s (row order = proposal row), and duration_s for `contrast`;
    `dets` video_id, time_s, label, score.
    """
    vid_codes, videos = pd.factorize(props["video_id"])
    d_vid = pd.Index(videos).get_indexer(dets["video_id"])
    d = dets[d_vid >= 0]
    label_codes, labels = pd.factorize(d["label"], sort=True)
    pi, lab, w = window_nouns(
        vid_codes,
        props["start_s"].to_numpy(float),
        props["end_s"].to_numpy(float),
        d_vid[d_vid >= 0],
        label_codes,
        d["time_s"].to_numpy(float),
        d["score"].to_numpy(float),
        num_nouns,
        ranking,
        props["duration_s"].to_numpy(float) if ranking == "contrast" else None,
    )
    return pi, lab, w, np.asarray(labels, dtype=object)


def rank_nouns(
    props: pd.DataFrame, dets: pd.DataFrame, num_nouns: int, ranking: str = "frequency"
) -> pd.DataFrame:
    """pidx, noun, weight, rank: the top `num_nouns` labels per proposal (module docstring's rankings)."""
    pi, lab, w, labels = noun_codes(props, dets, num_nouns, ranking)
    return pd.DataFrame(
        {"pidx": props["pidx"].to_numpy()[pi], "noun": labels[lab], "weight": w, "rank": group_rank(pi)}
    )
