"""Class grounding: localize a query, with no training, by the video classifier classes it names.

Why (issue 25, docs/evaluation.md "Real-data defaults"): on Charades-STA structure the trained PSVL model
does not read the words (it scores what its query-shuffled baseline scores, with our pseudo-labels or
PSVL's released ones, even on perfect features), while the network that makes the video features has a
head whose classes are named in words (Charades' 157 actions for I3D-Charades, Kinetics' 400 for
R(2+1)D-18). Scoring windows by the evidence of the classes a query names is the training-free
proposal-scoring idea (query-video similarity over candidate moments, as in training-free grounding,
ECCV 2024), with the classifier's class names as the video side's vocabulary.

Per query:
1. Which classes it names (`ClassMatcher`): each class's verb and object noun (psvl.language.class_names)
   against the query's tokens (the simplified lemmas of test_queries); a class scores `verb_weight` for
   its verb and `noun_weight` for its noun, and the best-scoring classes (ties kept) are the query's
   classes, equally weighted. A query naming no class reads every class equally (the video's generic
   "something happens" evidence) and is flagged `no_known_words`.
2. Where (`best_window`): the relevance of a segment is the mean score of those classes; every window of
   whole segments whose length lies in [min_frac, max_frac] of the video is scored by (mean relevance
   inside - mean relevance outside) * (length share) ** length_exponent, and the best one is the moment.
   Inside-minus-outside is blind to a class's per-video offset (a network's clip-independent belief), so
   scores need no calibration across videos.

Defaults (schema section `class_grounding`) were tuned on the Charades timelines benchmark's dev split
(python -m experiments.tune_class_grounding), never on the test queries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from psvl.features.segments import VideoFeatures


@dataclass(frozen=True)
class GroundingConfig:
    """The `class_grounding` config section (see the module docstring for each)."""

    min_frac: float
    max_frac: float
    length_exponent: float
    verb_weight: float
    noun_weight: float

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> GroundingConfig:
        if section["min_frac"] > section["max_frac"]:
            raise ValueError(
                f"class_grounding.min_frac ({section['min_frac']}) exceeds max_frac ({section['max_frac']})"
            )
        return cls(**{k: float(section[k]) for k in cls.__dataclass_fields__})


class ClassMatcher:
    """The classes a query's tokens name, from each class's (verb, noun)."""

    def __init__(self, words: Sequence[tuple[str, str | None]], verb_weight: float, noun_weight: float):
        self.verbs = np.array([v or "" for v, _ in words], dtype=object)
        self.nouns = np.array([n or "" for _, n in words], dtype=object)
        self.verb_weight, self.noun_weight = verb_weight, noun_weight

    def weights(self, tokens: Sequence[str]) -> np.ndarray:
        """(C,) weights summing to 1 over the best-matching classes; all zeros when none matches."""
        toks = [t for t in tokens if t]
        score = self.verb_weight * np.isin(self.verbs, toks) + self.noun_weight * np.isin(self.nouns, toks)
        score[(self.verbs == "") & (self.nouns == "")] = 0.0
        best = score.max(initial=0.0)
        if best <= 0:
            return np.zeros(len(score))
        chosen = (score >= best - 1e-9).astype(np.float64)
        return chosen / chosen.sum()


def window_bounds(n: int, min_frac: float, max_frac: float) -> tuple[np.ndarray, np.ndarray]:
    """Every window [i, j) of whole segments of an n-segment video with j - i in [min_frac, max_frac]
    of n (rounded outwards; the shortest windows when none fits)."""
    i, j = np.triu_indices(n + 1, 1)
    length = j - i
    keep = (length >= np.ceil(min_frac * n - 1e-9)) & (length <= np.floor(max_frac * n + 1e-9))
    if not keep.any():
        keep = length == length.min()
    return i[keep], j[keep]


def best_window(scores: np.ndarray, weights: np.ndarray, cfg: GroundingConfig) -> tuple[int, int]:
    """[i, j) of the window whose named-class evidence stands out most (module docstring, step 2)."""
    n = len(scores)
    relevance = np.asarray(scores, dtype=np.float64) @ weights
    cum = np.concatenate([[0.0], np.cumsum(relevance)])
    i, j = window_bounds(n, cfg.min_frac, cfg.max_frac)
    length = j - i
    inside = (cum[j] - cum[i]) / length
    outside = (cum[n] - cum[j] + cum[i]) / np.maximum(n - length, 1)
    value = (inside - outside) * (length / n) ** cfg.length_exponent
    k = int(np.argmax(value))
    return int(i[k]), int(j[k])


def ground(
    queries: pd.DataFrame,
    scores: Mapping[str, VideoFeatures],
    words: Sequence[tuple[str, str | None]],
    cfg: GroundingConfig,
) -> pd.DataFrame:
    """Predictions (query_id, video_id, pred_start_s, pred_end_s, no_known_words) of a test_queries
    table; a query whose video has no class scores raises KeyError naming it."""
    matcher = ClassMatcher(words, cfg.verb_weight, cfg.noun_weight)
    uniform = np.full(len(words), 1.0 / max(len(words), 1))
    arrays: dict[str, np.ndarray] = {}  # each video's scores, read and checked once
    rows = []
    for qid, vid, tokens in zip(queries["query_id"], queries["video_id"], queries["tokens"]):
        if vid not in scores:
            raise KeyError(f"query {qid}: video {vid} has no class scores")
        video = scores[vid]
        if vid not in arrays:
            arrays[vid] = np.asarray(video.array)
            if arrays[vid].shape[1] != len(words):
                raise ValueError(f"video {vid}: {arrays[vid].shape[1]} class scores, {len(words)} names")
        w = matcher.weights(list(tokens))
        unknown = not w.any()
        i, j = best_window(arrays[vid], uniform if unknown else w, cfg)
        rows.append((qid, vid, float(video.starts[i]), float(video.ends[j - 1]), unknown))
    return pd.DataFrame(
        rows, columns=["query_id", "video_id", "pred_start_s", "pred_end_s", "no_known_words"]
    )
