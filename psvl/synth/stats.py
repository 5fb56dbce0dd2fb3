"""Timeline and caption statistics of a dataset's annotations, beside Charades-STA's.

Why: the synthetic world stands in for Charades-STA when the workflow is measured, so its annotations
must look like Charades-STA's where the method is sensitive (how long moments are, how much of a video
they cover, whether they overlap, how many per video, how long a query is). `psvl synth` prints these
figures and `tests/synth/test_synth.py` holds the world to within TOLERANCE of each target.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Mapping

import numpy as np

from psvl.core.spans import pairwise_iou

# Computed from ../shared/data/charades-sta (train / test txt files, durations from charades.json):
# train 0.269 / test 0.271 moment fraction, 0.396 / 0.425 union coverage, 0.580 / 0.645 videos with
# overlapping moments, 2.32 / 2.79 queries per video, 6.21 / 6.23 words per query, 0.193 / 0.212 of
# moments starting at 0, 0.368 / 0.381 sibling match. The targets are the means of train and test.
CHARADES_STA: dict[str, float] = {
    "moment_fraction": 0.270,
    "union_coverage": 0.411,
    "overlapping_videos": 0.612,
    "queries_per_video": 2.56,
    "words_per_query": 6.22,
    "start_at_zero": 0.203,
    # a query's share of the other queries of its video whose moment it overlaps at IoU >= 0.5 (0 alone):
    # what a perfect model scores at R@0.5 query-shuffled within videos, so the ceiling of the gap
    # between a model and its query-shuffled baseline (psvl.evaluation.query_shuffled)
    "sibling_match": 0.375,
}
TOLERANCE = 0.25  # relative


def timeline_stats(
    moments: Iterable[tuple[str, float, float, str]], durations: Mapping[str, float]
) -> dict[str, float]:
    """The CHARADES_STA figures for (video_id, start_s, end_s, sentence) rows; ends are clipped to the
    video's duration (Charades-STA has moments that end past the video)."""
    by_video: dict[str, list[tuple[float, float, str]]] = defaultdict(list)
    for vid, s, e, sentence in moments:
        by_video[vid].append((float(s), min(float(e), float(durations[vid])), sentence))
    fracs, unions, overlapping, counts, words, zero, siblings = [], [], [], [], [], [], []
    for vid, rows in by_video.items():
        d = float(durations[vid])
        spans = sorted((s, e) for s, e, _ in rows)
        covered, reach = 0.0, 0.0
        for s, e in spans:  # length of the union of the spans
            covered += max(0.0, e - max(s, reach))
            reach = max(reach, e)
        unions.append(covered / d)
        overlapping.append(any(min(e1, e2) > max(s1, s2) for (s1, e1), (s2, e2) in itertools.combinations(spans, 2)))
        counts.append(len(rows))
        if len(rows) > 1:  # each query's share of siblings a perfect model's prediction for it would hit
            ivs = np.array([(s, e) for s, e, _ in rows])
            hits = (pairwise_iou(ivs, ivs) >= 0.5).sum(axis=1) - 1  # minus itself
            siblings.extend(hits / (len(rows) - 1))
        else:
            siblings.append(0.0)
        for s, e, sentence in rows:
            fracs.append((e - s) / d)
            words.append(len(sentence.split()))
            zero.append(s == 0.0)
    return {
        "moment_fraction": float(np.mean(fracs)),
        "union_coverage": float(np.mean(unions)),
        "overlapping_videos": float(np.mean(overlapping)),
        "queries_per_video": float(np.mean(counts)),
        "words_per_query": float(np.mean(words)),
        "start_at_zero": float(np.mean(zero)),
        "sibling_match": float(np.mean(siblings)),
    }


def off_target(stats: Mapping[str, float], tolerance: float = TOLERANCE) -> dict[str, float]:
    """The figures further than `tolerance` (relative) from Charades-STA's, with their relative error."""
    err = {k: stats[k] / v - 1.0 for k, v in CHARADES_STA.items()}
    return {k: e for k, e in err.items() if abs(e) > tolerance}


def table(stats: Mapping[str, float]) -> str:
    """The figures beside Charades-STA's, one line each."""
    lines = [f"{'statistic':<20} {'world':>7} {'Charades-STA':>12}"]
    for k, v in CHARADES_STA.items():
        lines.append(f"{k:<20} {stats[k]:>7.3f} {v:>12.3f}")
    return "\n".join(lines)
