"""What exists in the synthetic world and how a video's events are drawn from it (world v2).

Why a fixed, hand-made world: every later stage (detector, TEP, corpus statistics, the model) is checked
against it, so objects must look different (shape and colour), actions must move differently, and the
object-action affinities must be strong enough that the corpus statistics can recover them.

Why v2 plans videos this way: the timeline statistics follow Charades-STA (psvl.synth.stats holds the
targets). A video has one to three *moments*; each moment is described by one to three events, objects
acting together, some with the moment's exact bounds, some overlapping it only in part (in Charades-STA
a query shares its bounds with a sibling query or overlaps it at a spread of IoUs, so a perfect model's
query-shuffled R@0.5 is 0.375, `sibling_match`), and moments leave gaps where nothing described happens. Objects sit still before and after
they act, other objects appear without acting, an actor (the world's "person") is always on screen,
and the scene changes at times unrelated to the events, so neither "something is visible" nor "the
background changed" marks an event: only motion does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# name -> (shape drawn by psvl.synth.render, colour word used in captions, RGB)
OBJECTS: dict[str, tuple[str, str, tuple[int, int, int]]] = {
    "ball": ("disc", "red", (220, 30, 30)),
    "cube": ("square", "blue", (30, 70, 225)),
    "star": ("star", "yellow", (250, 215, 20)),
    "ring": ("annulus", "green", (20, 190, 60)),
    "triangle": ("triangle", "orange", (250, 130, 10)),
    "cross": ("cross", "purple", (140, 40, 190)),
    "heart": ("heart", "pink", (255, 105, 180)),
    "diamond": ("diamond", "white", (245, 245, 245)),
}
# The always-present actor: a detector class like Charades' "person", never the subject of a caption.
ACTOR = "person"
ACTOR_LOOK: tuple[str, tuple[int, int, int]] = ("figure", (0, 150, 150))
CLASSES: tuple[str, ...] = (*OBJECTS, ACTOR)

ACTIONS: tuple[str, ...] = ("bounce", "slide", "spin", "grow", "shrink", "fall", "rise", "shake")

# Each object's favourite actions (weights before normalisation); every other action gets _REST.
# Discs and rings never spin: a spinning disc looks exactly like a still one.
_FAVOURITES: dict[str, dict[str, float]] = {
    "ball": {"bounce": 6.0, "fall": 2.5, "slide": 1.5},
    "cube": {"slide": 6.0, "fall": 2.0, "shake": 1.5},
    "star": {"spin": 6.0, "rise": 2.5, "grow": 1.5},
    "ring": {"rise": 5.0, "slide": 2.5, "bounce": 1.5},
    "triangle": {"fall": 5.0, "spin": 3.0},
    "cross": {"shake": 6.0, "spin": 2.0, "shrink": 1.5},
    "heart": {"grow": 5.0, "shake": 2.5, "shrink": 1.5},
    "diamond": {"shrink": 5.0, "spin": 3.0, "rise": 1.0},
}
_REST = 0.15
_NEVER: dict[str, tuple[str, ...]] = {"ball": ("spin",), "ring": ("spin",)}

# How many moments a video has and how many events describe one moment (Charades-STA: 2.3-2.8 queries
# per video, 58-65 % of videos with overlapping moments).
_MOMENTS_P = (0.55, 0.35, 0.10)  # 1, 2, 3 moments
_EVENTS_P = (0.42, 0.36, 0.22)  # 1, 2, 3 events per moment
_MOMENT_BETA = (2.2, 5.8)  # moment length / video length (mean 0.275; Charades-STA 0.27)
# A moment's further events: this share keep its exact bounds (in Charades-STA 44 % of the pairs of
# overlapping queries of a video have identical bounds), the rest move each bound by up to _SHIFT of the
# moment's length, so their IoU with the moment spreads from about 0.1 to 1 (sibling_match, stats.py).
_SAME_BOUNDS = 0.35
_SHIFT = 0.9
_START_AT_ZERO = 0.25  # share of moments that start with the video (Charades-STA 19-21 %)


def affinity() -> dict[str, np.ndarray]:
    """P(action | object): 2-3 favourite actions hold most of the mass (about 90%)."""
    table = {}
    for obj, favs in _FAVOURITES.items():
        w = np.array([favs.get(a, _REST) for a in ACTIONS], dtype=np.float64)
        for a in _NEVER.get(obj, ()):
            w[ACTIONS.index(a)] = 0.0
        table[obj] = w / w.sum()
    return table


# scene -> (phrase used in captions, texture kind, base RGB, second RGB)
SCENES: dict[str, tuple[str, str, tuple[int, int, int], tuple[int, int, int]]] = {
    "kitchen": ("in the kitchen", "tiles", (200, 190, 165), (150, 140, 120)),
    "beach": ("on the beach", "horizon", (225, 200, 140), (120, 175, 215)),
    "street": ("on the street", "lanes", (70, 70, 75), (230, 230, 230)),
    "forest": ("in the forest", "trunks", (35, 85, 40), (95, 60, 30)),
    "office": ("in the office", "grid", (170, 180, 200), (120, 130, 150)),
    "park": ("in the park", "speckle", (110, 150, 70), (70, 110, 45)),
    "bedroom": ("in the bedroom", "stripes", (180, 150, 200), (150, 120, 170)),
    "garage": ("in the garage", "speckle", (110, 105, 100), (80, 75, 70)),
}


@dataclass(frozen=True)
class Event:
    """`obj` does `action` in frames [start_frame, end_frame); it sits still from shown_from to the start
    and from the end to shown_to (shown_from <= start_frame < end_frame <= shown_to)."""

    start_frame: int
    end_frame: int
    obj: str
    action: str
    shown_from: int
    shown_to: int


@dataclass(frozen=True)
class Still:
    """An object on screen without acting (a distractor), frames [start_frame, end_frame)."""

    obj: str
    start_frame: int
    end_frame: int


@dataclass(frozen=True)
class Effects:
    """Frame spans [a, b) with camera jitter, blur and a passing occluder (None: absent)."""

    jitter: tuple[int, int] | None = None
    blur: tuple[int, int] | None = None
    occluder: tuple[int, int] | None = None


@dataclass(frozen=True)
class VideoPlan:
    video_id: str
    split: str
    n_frames: int
    fps: int
    events: tuple[Event, ...] = field(default_factory=tuple)
    stills: tuple[Still, ...] = field(default_factory=tuple)
    scenes: tuple[tuple[int, str], ...] = field(default_factory=tuple)  # (first frame, scene), sorted
    effects: Effects = field(default_factory=Effects)

    @property
    def duration_s(self) -> float:
        return self.n_frames / self.fps

    def scene_at(self, frame: int) -> str:
        return [s for f, s in self.scenes if f <= frame][-1]


def _spans(rng: np.random.Generator, n: int, k: int, unit: int, min_len: int) -> list[tuple[int, int]]:
    """k disjoint moments on a grid of `unit` frames, lengths ~ Beta(_MOMENT_BETA) x n, gaps between."""
    out: list[tuple[int, int]] = []
    for j in range(k):
        length = max(min_len, round(float(rng.beta(*_MOMENT_BETA) * n / unit)) * unit)
        length = min(length, n)
        free = np.ones(n, bool)
        for a, b in out:
            free[max(0, a - unit) : b + unit] = False
        starts = [s for s in range(0, n - length + 1, unit) if free[s : s + length].all()]
        if not starts:
            break
        if j == 0 and rng.random() < _START_AT_ZERO:
            start = 0
        else:
            start = int(rng.choice(starts))
        out.append((start, start + length))
    return sorted(out)


def _jittered(rng: np.random.Generator, a: int, b: int, n: int, unit: int, first: bool) -> tuple[int, int]:
    """One event of the moment [a, b): the first keeps its bounds; a further one keeps them too with
    probability _SAME_BOUNDS (two captions of one moment), else it overlaps the moment only in part: each
    bound moves by up to _SHIFT of the moment's length (a related action that starts earlier or ends later)."""
    if first or rng.random() < _SAME_BOUNDS:
        return a, b
    room = max(1, int(_SHIFT * (b - a) / unit))
    s = a + unit * int(rng.integers(-room, room + 1))
    e = b + unit * int(rng.integers(-room, room + 1))
    s, e = max(0, s), min(n, e)
    return (s, e) if e - s >= 2 * unit and min(e, b) > max(s, a) else (a, b)


def plan_video(
    rng: np.random.Generator,
    video_id: str,
    split: str,
    fps: int,
    min_seconds: float,
    max_seconds: float,
    min_event_seconds: float,
    distractors: float,
    scene_changes: float,
    effects_prob: float,
) -> VideoPlan:
    """Draw one video: its moments and their events, still objects, scenes and effects (0.5 s grid)."""
    unit = max(1, round(fps * 0.5))
    lo, hi = int(np.ceil(min_seconds * fps / unit)), int(np.floor(max_seconds * fps / unit))
    n = max(int(rng.integers(lo, max(lo, hi) + 1)), 4) * unit
    min_len = max(2 * unit, int(np.ceil(min_event_seconds * fps / unit)) * unit)
    n_moments = 1 + int(rng.choice(len(_MOMENTS_P), p=_MOMENTS_P))
    aff, objects = affinity(), list(OBJECTS)
    events: list[Event] = []
    used: set[str] = set()
    for a, b in _spans(rng, n, n_moments, unit, min_len):
        k = 1 + int(rng.choice(len(_EVENTS_P), p=_EVENTS_P))
        fresh = [o for o in objects if o not in used] or objects
        picks = rng.choice(fresh, size=min(k, len(fresh)), replace=False)
        for j, obj in enumerate(map(str, picks)):
            s, e = _jittered(rng, a, b, n, unit, j == 0)
            action = ACTIONS[int(rng.choice(len(ACTIONS), p=aff[obj]))]
            before = unit * int(rng.integers(0, 7)) if rng.random() < 0.6 else 0
            after = unit * int(rng.integers(0, 7)) if rng.random() < 0.6 else 0
            events.append(Event(s, e, obj, action, max(0, s - before), min(n, e + after)))
            used.add(obj)
    stills = []
    for _ in range(int(rng.poisson(distractors))):
        obj = str(rng.choice([o for o in objects if o not in used] or objects))
        length = int(rng.uniform(0.25, 0.7) * n)
        start = int(rng.integers(0, n - length + 1))
        stills.append(Still(obj, start, start + length))
    bounds = {f for ev in events for f in (ev.start_frame, ev.end_frame)}
    cuts: list[int] = []
    for _ in range(int(rng.poisson(scene_changes))):
        # a change of background well away (>= 1.5 s) from every event boundary and 3 s from other changes
        ok = [f for f in range(2 * fps, n - 2 * fps, unit) if all(abs(f - b) >= 1.5 * fps for b in bounds)]
        ok = [f for f in ok if all(abs(f - g) >= 3 * fps for g in cuts)]
        if not ok:
            break
        cuts.append(int(rng.choice(ok)))
    scenes = [(0, str(rng.choice(list(SCENES))))]
    for f in sorted(cuts):
        scenes.append((f, str(rng.choice([s for s in SCENES if s != scenes[-1][1]]))))
    fx = {}
    for name in ("jitter", "blur", "occluder"):
        if rng.random() < effects_prob:
            length = int(rng.uniform(1.5, 4.0) * fps)
            start = int(rng.integers(0, max(1, n - length)))
            fx[name] = (start, min(n, start + length))
    return VideoPlan(video_id, split, n, fps, tuple(events), tuple(stills), tuple(scenes), Effects(**fx))
