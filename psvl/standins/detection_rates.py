"""How often a pseudo-query's nouns name the objects of the video's actions: the figures that calibrate the
stand-in detections against PSVL's released pseudo-labels (12 523 pseudo-queries over 3 170 Charades
train videos, 5 nouns each from their Visual Genome detector).

Why: the stand-in detections (psvl.standins.detections) replace a detector, so the project's own noun
choice run on them must name the video's actions about as often as PSVL's detector did. The definitions:

- the objects of an action (psvl.standins.detections.class_objects): the lemmas of its class's object noun and of that noun's slash alternatives
  in the class name (`Holding a cup/glass/bottle of something` -> cup, glass, bottle; `Lying on a
  sofa/couch` -> sofa, couch; `towel/s` -> towel), no further synonyms (clothes is not shirt, dish is not
  plate). Classes without an object (`Someone is laughing`) have none.
- a pseudo-query's nouns are lemmatized the same way (detections.noun_lemma), except the forms in
  KEEP_FORM (VG's `glasses` is eyewear, not the drinking glass of `cup/glass/bottle`);
- an action overlaps a pseudo-query when their intervals share a positive length in seconds (released
  timestamps are fractions of the released duration);
- `object_of_overlapping_action`: the share of pseudo-queries with a noun that is an object of an
  overlapping action (release: 0.402);
- `object_of_other_actions_only`: the share with a noun that is an object of the video's non-overlapping
  actions and of none of the overlapping ones (release: 0.116);
- `share_<noun>`: the share of pseudo-queries whose nouns include <noun> (wall 0.782, man 0.457, ...).

Raw (not lemmatized) tokens with the same object sets give 0.400 and 0.115, the issue's figures.
The stand-in side takes each released pseudo-moment (same videos, same intervals) and names it with the
project's own noun choice (psvl.language.nouns.rank_nouns: the top 5 labels by score-weighted detection
frequency inside the interval), then computes the same figures. A figure passes when the stand-in value
is within `tolerance` (relative) of the release's. `fit_noise` is the calibration that set the noise
model's defaults (detections.DEFAULTS p_hit, p_room and the SCENE table).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import pandas as pd

from psvl.datasets.psvl_json import read_pseudo_queries
from psvl.language.nouns import rank_nouns
from psvl.standins.classes import ActionClass
from psvl.standins.detections import DEFAULTS, SCENE, class_objects, noun_lemma, standin_detections_many
from psvl.standins.timelines import Timeline

log = logging.getLogger(__name__)

SHARE_NOUNS = ("wall", "man", "shirt", "floor", "door", "hair", "table", "chair")  # the release's top 8
NUM_NOUNS = 5  # the release's nouns per pseudo-query
TOLERANCE = 0.25  # the band: each figure within 25 % (relative) of the release's


def read_release(path: str | Path) -> pd.DataFrame:
    """PSVL's pseudo-label JSON -> qidx, video_id, start_s, end_s, duration_s, nouns (tokens 3: of each)."""
    frame = read_pseudo_queries(path)  # the release's reader: seconds, verbs = the first 3 tokens
    frame.insert(0, "qidx", range(len(frame)))
    return frame[["qidx", "video_id", "start_s", "end_s", "duration_s", "nouns"]]


def _action_objects(
    video_ids: Iterable[str], timelines: Mapping[str, Timeline], objects: list[tuple[str, ...]]
) -> pd.DataFrame:
    rows = [
        (vid, a.start_s, a.end_s, obj)
        for vid in dict.fromkeys(video_ids)
        if vid in timelines
        for a in timelines[vid].actions
        for obj in objects[a.cls]
    ]
    return pd.DataFrame(rows, columns=["video_id", "a_start", "a_end", "obj"])


def noun_figures(
    queries: pd.DataFrame,
    timelines: Mapping[str, Timeline],
    classes: Sequence[ActionClass],
    share_nouns: Sequence[str] = SHARE_NOUNS,
) -> dict[str, float]:
    """The module docstring's figures for `queries` (qidx, video_id, start_s, end_s, nouns: list[str])."""
    n = len(queries)
    acts = _action_objects(queries["video_id"], timelines, class_objects(classes))
    pairs = queries[["qidx", "video_id", "start_s", "end_s"]].merge(acts, on="video_id")
    pairs["overlap"] = (pairs[["end_s", "a_end"]].min(axis=1) - pairs[["start_s", "a_start"]].max(axis=1)) > 0
    per_obj = pairs.groupby(["qidx", "obj"], as_index=False)["overlap"].any()  # False: only other actions
    nouns = queries[["qidx", "nouns"]].explode("nouns").dropna()
    nouns = nouns.assign(noun=nouns["nouns"].map(noun_lemma))[["qidx", "noun"]].drop_duplicates()
    named = nouns.merge(per_obj, left_on=["qidx", "noun"], right_on=["qidx", "obj"])
    out = {
        "object_of_overlapping_action": named.loc[named["overlap"], "qidx"].nunique() / n,
        "object_of_other_actions_only": named.loc[~named["overlap"], "qidx"].nunique() / n,
    }
    counts = nouns["noun"].value_counts()
    for noun in share_nouns:
        out[f"share_{noun}"] = float(counts.get(noun_lemma(noun), 0)) / n
    return {k: float(v) for k, v in out.items()}


def standin_queries(
    release: pd.DataFrame, detections: pd.DataFrame, num_nouns: int = NUM_NOUNS
) -> pd.DataFrame:
    """The released pseudo-moments named by the project's noun choice over `detections` (nouns may be
    fewer than `num_nouns`, or none, where little is detected inside)."""
    props = release[["video_id", "start_s", "end_s"]].assign(pidx=release["qidx"].to_numpy())
    ranked = rank_nouns(props, detections, num_nouns, "frequency")
    lists = ranked.sort_values(["pidx", "rank"]).groupby("pidx")["noun"].agg(list)
    nouns = release["qidx"].map(lists)
    return release.assign(nouns=nouns.map(lambda x: x if isinstance(x, list) else []))


def detection_rates(
    pseudo_labels_json: str | Path,
    detections: pd.DataFrame,
    timelines: Mapping[str, Timeline],
    classes: Sequence[ActionClass],
    *,
    share_nouns: Sequence[str] = SHARE_NOUNS,
    tolerance: float = TOLERANCE,
    videos: Iterable[str] | None = None,
) -> dict:
    """Release vs stand-in figures on the released pseudo-moments (restricted to `videos` when given).

    Returns {"n_queries", "n_videos", "tolerance", "passed", "figures": {name: {release, standin,
    rel_error, passed}}}; `detections` should cover the released videos (others are ignored)."""
    release = read_release(pseudo_labels_json)
    if videos is not None:
        release = release[release["video_id"].isin(set(videos))].reset_index(drop=True)
    missing = sorted(set(release["video_id"]) - set(timelines))
    if missing:
        raise ValueError(
            f"{len(missing)} released videos have no timeline (e.g. {missing[0]}): wrong charades.json?"
        )
    ours = standin_queries(release, detections)
    ref = noun_figures(release, timelines, classes, share_nouns)
    got = noun_figures(ours, timelines, classes, share_nouns)
    figures = {}
    for name, value in ref.items():
        err = (got[name] - value) / value if value else float("inf")
        figures[name] = {
            "release": round(value, 4),
            "standin": round(got[name], 4),
            "rel_error": round(err, 4),
            "passed": bool(abs(err) <= tolerance),
        }
    return {
        "n_queries": len(release),
        "n_videos": int(release["video_id"].nunique()),
        "queries_without_nouns": int((ours["nouns"].map(len) == 0).sum()),
        "tolerance": tolerance,
        "passed": all(f["passed"] for f in figures.values()),
        "figures": figures,
    }


def fit_noise(
    pseudo_labels_json: str | Path,
    timelines: Mapping[str, Timeline],
    classes: Sequence[ActionClass],
    *,
    segment_s: float = 1.0,
    seed: int = 0,
    iterations: int = 5,
    noise: Mapping | None = None,
    videos: Iterable[str] | None = None,
) -> dict:
    """p_hit, p_room and the scene table that bring the stand-in figures onto the release's: a
    fixed-point iteration on the released videos. Each round makes the stand-ins, measures the figures,
    scales p_hit and p_room by (target / measured)^1.5 and each scene noun's presence by its target share
    over its measured share (capped at 1). The other noise parameters stay as given (else DEFAULTS).
    `videos` restricts the fit to some released videos."""
    release = read_release(pseudo_labels_json)
    if videos is not None:
        release = release[release["video_id"].isin(set(videos))].reset_index(drop=True)
    videos = list(dict.fromkeys(release["video_id"]))
    fixed = dict(noise or {})
    scene = dict(fixed.pop("scene", None) or SCENE)
    rate = {k: float(fixed.pop(k, DEFAULTS[k])) for k in ("p_hit", "p_room")}
    ref = noun_figures(release, timelines, classes, list(scene))
    figure = {"p_hit": "object_of_overlapping_action", "p_room": "object_of_other_actions_only"}
    for round_ in range(iterations):
        det = standin_detections_many(
            timelines, classes, videos, segment_s=segment_s, seed=seed, scene=scene, **rate, **fixed
        )
        got = noun_figures(standin_queries(release, det), timelines, classes, list(scene))
        worst = max(abs(got[k] / ref[k] - 1) for k in ref if ref[k])
        log.info("fit_noise round %d: %s, worst relative error %.3f", round_, rate, worst)
        for key, name in figure.items():
            rate[key] = min(1.0, rate[key] * (ref[name] / max(got[name], 1e-4)) ** 1.5)
        scene = {n: min(1.0, v * ref[f"share_{n}"] / max(got[f"share_{n}"], 1e-3)) for n, v in scene.items()}
    return {**{k: round(v, 3) for k, v in rate.items()}, "scene": {k: round(v, 3) for k, v in scene.items()}}
