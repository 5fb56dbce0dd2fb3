"""What exists in the synthetic world and how a video's events are drawn from it.

Why a fixed, hand-made world: every later stage (detector, TEP, corpus statistics, the model) is checked
against it, so objects must look different (shape and colour), actions must move differently, and the
object-action affinities must be strong enough that the corpus statistics can recover them.
"""

from __future__ import annotations

import itertools
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
    """One event: frames [start_frame, end_frame) show `obj` doing `action` over `scene`."""

    start_frame: int
    end_frame: int
    obj: str
    action: str
    scene: str
    distractor: str | None = None  # a small static object of another class, or None


@dataclass(frozen=True)
class VideoPlan:
    video_id: str
    split: str
    n_frames: int
    fps: int
    events: tuple[Event, ...] = field(default_factory=tuple)

    @property
    def duration_s(self) -> float:
        return self.n_frames / self.fps


def _cut_points(
    rng: np.random.Generator, n_units: int, k: int, min_units: int, max_units: int
) -> list[int] | None:
    """k event lengths (in units) summing to n_units, each within [min_units, max_units]; None if impossible."""
    if k * min_units > n_units or k * max_units < n_units:
        return None
    for _ in range(200):
        lengths = np.floor(rng.dirichlet(np.full(k, 2.0)) * n_units).astype(int)
        lengths[-1] = n_units - lengths[:-1].sum()
        if lengths.min() >= min_units and lengths.max() <= max_units:
            return np.concatenate([[0], np.cumsum(lengths)]).tolist()
    # Fallback: near-equal split (always within bounds when the check above passed).
    base = np.full(k, n_units // k)
    base[: n_units % k] += 1
    return np.concatenate([[0], np.cumsum(base)]).tolist()


def plan_video(
    rng: np.random.Generator,
    video_id: str,
    split: str,
    fps: int,
    min_seconds: float,
    max_seconds: float,
    min_events: int,
    max_events: int,
    min_event_frac: float,
    max_event_frac: float,
    min_event_seconds: float,
    distractor_prob: float,
) -> VideoPlan:
    """Draw one video's length and events. Boundaries fall on a grid of ~0.5 s (whole frames)."""
    unit = max(1, round(fps * 0.5))  # frames per grid unit
    lo, hi = int(np.ceil(min_seconds * fps / unit)), int(np.floor(max_seconds * fps / unit))
    n_units = max(int(rng.integers(lo, max(lo, hi) + 1)), min_events, 2)
    ks = list(range(min_events, max_events + 1))
    rng.shuffle(ks)
    cuts = None
    for k in ks:
        min_u = max(1, int(np.ceil(max(min_event_frac * n_units, min_event_seconds * fps / unit))))
        max_u = int(np.floor(max_event_frac * n_units))
        cuts = _cut_points(rng, n_units, k, min_u, max_u)
        if cuts is not None:
            break
    if cuts is None:  # too short for the event bounds: min_events near-equal events
        k = max(min_events, 1)
        cuts = [round(j * n_units / k) for j in range(k + 1)]
    objects, scenes, aff = list(OBJECTS), list(SCENES), affinity()
    events, prev_obj, prev_scene = [], None, None
    for a, b in itertools.pairwise(cuts):
        obj = str(rng.choice([o for o in objects if o != prev_obj]))
        scene = str(rng.choice([s for s in scenes if s != prev_scene]))
        action = ACTIONS[int(rng.choice(len(ACTIONS), p=aff[obj]))]
        distractor = None
        if rng.random() < distractor_prob:
            distractor = str(rng.choice([o for o in objects if o != obj]))
        events.append(Event(a * unit, b * unit, obj, action, scene, distractor))
        prev_obj, prev_scene = obj, scene
    return VideoPlan(video_id, split, n_units * unit, fps, tuple(events))
