"""Stand-in detections: what a Visual Genome detector would report per segment of a Charades video,
made from the video's action timeline through a noise model calibrated against PSVL's released nouns.

Why: the project's pseudo-queries name a proposal by its most detected labels, so a benchmark built on
Charades' real action structure needs detections with the structure PSVL's detector had: the objects of
the actions being done (sometimes), the room's scene nouns (mostly), and noise. The noise model, one
"frame" per segment (frame_idx = segment index, time_s = the segment's centre), every draw from the
video's own random stream (psvl.standins.timelines.video_rng):

- action objects (class_objects: the lemmas of the class's object noun and of its slash alternatives in
  the class name, `Holding a cup/glass/bottle` -> cup, glass, bottle; no other synonyms): in a segment whose centre lies inside an action, each of its objects is detected with
  probability p_hit x visibility[noun]; in the video's other segments (objects stay in the room) with
  p_room x visibility[noun]. VISIBILITY is the release's own shape: how often PSVL's nouns include an
  object when its action overlaps the pseudo-query, relative to the most visible (refrigerator, 0.60);
  nouns the VG detector never named there (phone, food, dish, ...) have 0 and are never detected.
- scene nouns (wall, man, shirt, floor, ...): each is present in a video with probability SCENE[noun]
  (calibrated: psvl.standins.detection_rates.fit_noise), and a present one is detected in a segment with probability scene_rate.
- false detections: each label of FALSE_LABELS (VG nouns of the release's tail) appears in a segment
  with probability false_rate / len(FALSE_LABELS).
- scores: true detections Beta(score_a, score_b), false ones Beta(false_a, false_b), clipped to (0, 1].
- boxes in a nominal 480 x 360 frame: one base box per (video, label) (sides uniform in [0.1, 0.5] of
  the frame, inside it); each detection jitters its centre and sides by N(0, sigma x side), with
  sigma = jitter for a static object and acted_jitter for an object in a segment of its own action, so an
  object being acted on moves more (the object channels' motion, psvl.features.objects).

A noun that is both an action object and a scene noun (floor, door, table) is detected when either fires.
Vectorised per video over (segment, label); about a millisecond for a 30-second video.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache

import numpy as np
import pandas as pd

from psvl.config import defaults
from psvl.core.artifacts import SCHEMAS
from psvl.standins.classes import ActionClass
from psvl.standins.features import segment_bounds
from psvl.standins.timelines import Timeline, video_rng

# VG labels lemminflect would cut to another word (glasses -> glass, pants -> pant)
KEEP_FORM = frozenset({"glasses", "pants", "shorts", "blinds"})
FRAME_W, FRAME_H = 480.0, 360.0  # the nominal frame the boxes live in

# Release share of pseudo-queries naming an object whose action overlaps them, / its max (0.60).
VISIBILITY: dict[str, float] = {
    "refrigerator": 1.0, "window": 0.77, "floor": 0.75, "door": 0.72, "bed": 0.72, "table": 0.67,
    "television": 0.55, "chair": 0.53, "hair": 0.5, "couch": 0.47, "laptop": 0.42, "shelf": 0.4,
    "mirror": 0.22, "hand": 0.22, "box": 0.2, "pillow": 0.2, "shoe": 0.2, "picture": 0.18,
    "bottle": 0.17, "light": 0.17, "bag": 0.12, "book": 0.1, "towel": 0.07, "cabinet": 0.07,
    "cup": 0.03, "blanket": 0.03, "glass": 0.03, "clothes": 0.02, "doorway": 0.02, "paper": 0.02,
}  # fmt: skip

# Per-video presence probability of each scene noun (calibrated: docs/standins.md, detection_rates).
SCENE: dict[str, float] = {
    "wall": 0.827, "man": 0.473, "shirt": 0.476, "floor": 0.311, "hair": 0.245, "door": 0.185,
    "chair": 0.155, "window": 0.141, "pants": 0.138, "table": 0.143, "woman": 0.109, "hand": 0.091,
    "ceiling": 0.077, "bottle": 0.054, "shelf": 0.074, "curtain": 0.055, "kitchen": 0.054, "head": 0.05,
    "refrigerator": 0.053, "counter": 0.053, "light": 0.037, "pillow": 0.042, "picture": 0.033,
    "handle": 0.037, "jeans": 0.029, "sink": 0.027, "bed": 0.035, "lamp": 0.035, "glasses": 0.032,
    "hat": 0.03,
}  # fmt: skip

# The release's next nouns: the false detections' labels.
FALSE_LABELS: tuple[str, ...] = (
    "mirror", "bag", "television", "shorts", "stove", "laptop", "arm", "room", "shoe", "box", "shadow",
    "knob", "towel", "drawer", "cabinet", "faucet", "clock", "toilet", "ear", "rug", "plate",
    "microwave", "jacket", "keyboard", "couch", "pot", "sign", "blinds", "vent", "bowl",
)  # fmt: skip

# The noise model's parameters: the schema's `standins.detections` defaults (calibrated against PSVL's
# released nouns, docs/standins.md), plus `scene`, a {noun: presence} table in place of SCENE.
DEFAULTS = {**defaults("standins")["detections"], "scene": None}
COLUMNS = SCHEMAS["detections"].names


@lru_cache(maxsize=4096)
def noun_lemma(word: str) -> str:
    """The lemma a noun is matched by (module docstring)."""
    from psvl.language.tagger import lemma  # lazy: lemminflect imports spaCy

    word = word.strip().lower()
    return word if word in KEEP_FORM else lemma(word, "NOUN")


def _alternatives(cls: ActionClass) -> list[str]:
    name = cls.name.lower()
    found = re.search(rf"\b({re.escape(cls.noun)}\w*(?:/\w+)*)", name) if cls.noun else None
    words = found.group(1).split("/") if found else []
    return [w for w in words if w not in ("s", "es")]


def class_objects(classes: Sequence[ActionClass]) -> list[tuple[str, ...]]:
    """Per class index, the lemmas of its object and the object's slash alternatives (module docstring)."""
    out = []
    for cls in classes:
        objs = [cls.noun] if cls.noun else []
        for word in _alternatives(cls):
            lem = noun_lemma(word)
            if lem not in objs:
                objs.append(lem)
        out.append(tuple(objs))
    return out


@lru_cache(maxsize=8)
def _vocabulary(
    classes: tuple[ActionClass, ...], scene_items: tuple[tuple[str, float], ...]
) -> tuple[tuple[str, ...], list[np.ndarray], dict]:
    """All labels, each class's object label codes, and per-label vectors (visibility, scene, false)."""
    objects = class_objects(classes)
    scene = dict(scene_items)
    labels = tuple(sorted({*VISIBILITY, *scene, *FALSE_LABELS, *(o for objs in objects for o in objs)}))
    code = {lab: i for i, lab in enumerate(labels)}
    per_class = [np.array([code[o] for o in objs], dtype=np.int64) for objs in objects]
    vectors = {
        "visibility": np.array([VISIBILITY.get(lab, 0.0) for lab in labels]),
        "scene": np.array([scene.get(lab, 0.0) for lab in labels]),
        "false": np.isin(labels, FALSE_LABELS).astype(np.float64),
    }
    return labels, per_class, vectors


def _arrays(
    timeline: Timeline, classes: Sequence[ActionClass], segment_s: float, seed: int, noise: Mapping
) -> dict:
    unknown = set(noise) - set(DEFAULTS)
    if unknown:
        raise TypeError(
            f"standin_detections: unknown noise parameters {sorted(unknown)}; known: {sorted(DEFAULTS)}"
        )
    p = {**DEFAULTS, **noise}
    scene = tuple(sorted((p["scene"] if p["scene"] is not None else SCENE).items()))
    labels, per_class, vec = _vocabulary(tuple(classes), scene)
    rng = video_rng(seed, timeline.video_id)
    starts, ends = segment_bounds(timeline.duration_s, segment_s)
    centre = (starts + ends) / 2
    n_seg, n_lab = centre.size, len(labels)

    acted = np.zeros((n_seg, n_lab), dtype=bool)  # the label is an object of an action around this segment
    in_video = np.zeros(n_lab, dtype=bool)
    for act in timeline.actions:
        codes = per_class[act.cls]
        if codes.size:
            inside = (centre >= act.start_s) & (centre <= act.end_s)
            acted[np.ix_(inside, codes)] = True
            in_video[codes] = True
    p_obj = np.where(acted, p["p_hit"], np.where(in_video, p["p_room"], 0.0)) * vec["visibility"]
    present = rng.random(n_lab) < vec["scene"]
    p_true = 1 - (1 - np.clip(p_obj, 0, 1)) * (1 - p["scene_rate"] * present)
    fired_true = rng.random((n_seg, n_lab)) < p_true
    fired_false = rng.random((n_seg, n_lab)) < vec["false"] * p["false_rate"] / len(FALSE_LABELS)
    seg, lab = np.nonzero(fired_true | fired_false)
    true = fired_true[seg, lab]
    score = np.where(
        true, rng.beta(p["score_a"], p["score_b"], seg.size), rng.beta(p["false_a"], p["false_b"], seg.size)
    )

    side = rng.uniform(0.1, 0.5, (n_lab, 2)) * (FRAME_W, FRAME_H)  # base box per label: (w, h)
    ctr = side / 2 + rng.random((n_lab, 2)) * ((FRAME_W, FRAME_H) - side)
    sigma = np.where(acted[seg, lab], p["acted_jitter"], p["jitter"])[:, None] * side[lab]
    c = ctr[lab] + rng.normal(size=(seg.size, 2)) * sigma
    wh = np.maximum(side[lab] + rng.normal(size=(seg.size, 2)) * sigma, 4.0)
    lo = np.clip(c - wh / 2, 0, (FRAME_W - 2, FRAME_H - 2))
    hi = np.clip(c + wh / 2, lo + 2, (FRAME_W, FRAME_H))
    return {
        "video_id": np.full(seg.size, timeline.video_id, dtype=object),
        "frame_idx": seg.astype(np.int32),
        "time_s": centre[seg],
        "label": np.asarray(labels, dtype=object)[lab],
        "score": np.clip(score, 1e-3, 1.0).astype(np.float32),
        "x1": lo[:, 0].astype(np.float32),
        "y1": lo[:, 1].astype(np.float32),
        "x2": hi[:, 0].astype(np.float32),
        "y2": hi[:, 1].astype(np.float32),
    }


def standin_detections(
    timeline: Timeline, classes: Sequence[ActionClass], *, segment_s: float, seed: int, **noise
) -> pd.DataFrame:
    """One video's stand-in detections (the detections artifact's columns), by the module's noise model;
    `noise` overrides DEFAULTS (p_hit, p_room, scene_rate, false_rate, score_a/b, false_a/b, jitter,
    acted_jitter, scene)."""
    return pd.DataFrame(_arrays(timeline, classes, segment_s, seed, noise), columns=COLUMNS)


def standin_detections_many(
    timelines: Mapping[str, Timeline],
    classes: Sequence[ActionClass],
    video_ids: Iterable[str],
    *,
    segment_s: float,
    seed: int,
    **noise,
) -> pd.DataFrame:
    """standin_detections of many videos in one frame (a video's rows never depend on the others)."""
    parts = [_arrays(timelines[v], classes, segment_s, seed, noise) for v in dict.fromkeys(video_ids)]
    if not parts:
        return pd.DataFrame({c: [] for c in COLUMNS})
    return pd.DataFrame({c: np.concatenate([p[c] for p in parts]) for c in COLUMNS})
