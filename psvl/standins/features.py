"""Stand-in segment features: what a video network "sees" of a Charades timeline, through a noise model.

Why: the benchmark runs the project's real localiser on Charades' real action structure without reading
a video, so per-segment evidence is made from the crowd-annotated timeline and degraded the way an
action-recognition network degrades it. One knob, `quality` in [0, 1], sets every part (u = 1 - quality);
it is calibrated against the per-frame mAP of published I3D baselines (psvl.standins.frame_map).

The noise model (`NoiseModel.from_quality`), per video, all draws from `video_rng(seed, video_id)`:

1. Segments: fixed `segment_s` seconds from 0, the last one cut at the duration (`segment_bounds`).
2. Misses: each action is dropped with p_miss = MISS * u (the network never fires on it).
3. Boundary jitter: a kept action's start and end move by N(0, (JITTER * u * length)^2) each; an end
   pushed before its start is held at start + 10 % of the length.
4. Soft edges: each edge is a Gaussian ramp of sd BLUR * u * length; a segment's evidence is the exact
   segment average of that soft box (closed form), so at u = 0 it is the segment's covered fraction.
5. False alarms: spurious intervals of uniformly random classes, FALSE_ALARMS * u per minute, log-normal
   lengths (median 8.6 s, Charades' median action), amplitude U(0.5, 1).
6. Confusions: a fraction CONFUSE * u of each class's evidence leaks to the classes that share its noun
   (half) or its verb (half), spread evenly over them (`holding a cup` -> `drinking from a cup`, `holding
   a book`); a class sharing neither keeps its share.
7. Score noise: temporally smooth noise (AR(1), correlation time NOISE_TAU_S) of sd NOISE * u, plus a
   per-(video, class) offset of sd OFFSET * u (a network's clip-independent belief about the video).

Overlapping intervals of one class take the maximum. The random draws do not depend on `quality` (common
random numbers: misses and false alarms keep a uniform draw under a threshold, jitter and noise scale
fixed normals), so a video's scores move smoothly with the knob and mAP is monotone in it, which makes
the calibration a bisection. At quality 1.0 the scores are the truth exactly (covered fractions).

Features (`standin_features`): x = [scores | SCENE_WEIGHT * scene | FEATURE_NOISE * noise] per segment,
projected by one fixed Gaussian matrix (seeded by `seed` only, shared by all videos) and L2-normalised.
Why: real clip features are dense (no dimension is a class) and dominated by appearance; the projection
keeps the scores' geometry (Johnson-Lindenstrauss) while the scene part (a per-video direction turning
slowly over the video: room, actor, lighting) and per-segment noise carry no action, so the localiser
must learn to read past them. Normalising removes the scale of "how many actions are on", as the
localiser's real inputs are unit-scale.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.signal import lfilter
from scipy.sparse import csr_matrix
from scipy.special import ndtr

from psvl.standins.classes import ActionClass
from psvl.standins.timelines import N_CLASSES, Timeline, video_rng

MISS = 0.5
JITTER = 0.3
BLUR = 0.2
FALSE_ALARMS = 10.0  # per minute at quality 0
CONFUSE = 0.6
NOISE = 0.8
NOISE_TAU_S = 4.0
OFFSET = 0.4
FA_MEDIAN_S = 8.6
FA_LOG_SD = 0.7
SCENE_DIM = 32
NOISE_DIM = 32
SCENE_WEIGHT = 1.0
FEATURE_NOISE = 0.3
_SCORES, _EXTRAS = 0, 1  # video_rng streams


@dataclass(frozen=True)
class NoiseModel:
    """The noise parameters of one quality (see the module docstring for each)."""

    p_miss: float
    jitter: float
    blur: float
    false_alarms_per_min: float
    confuse: float
    noise: float
    offset: float

    @classmethod
    def from_quality(cls, quality: float) -> NoiseModel:
        """Every part scales with u = 1 - quality; quality 1.0 is the truth."""
        if not 0.0 <= quality <= 1.0:
            raise ValueError(f"standins quality: expected a number in [0, 1], got {quality}")
        u = 1.0 - float(quality)
        return cls(MISS * u, JITTER * u, BLUR * u, FALSE_ALARMS * u, CONFUSE * u, NOISE * u, OFFSET * u)


def segment_bounds(duration_s: float, segment_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Starts and ends (seconds) of the fixed-length segments covering [0, duration]; at least one."""
    if segment_s <= 0:
        raise ValueError(f"standins segment_s: expected seconds > 0, got {segment_s}")
    n = max(1, int(np.ceil(duration_s / segment_s - 1e-9)))
    starts = np.arange(n, dtype=np.float64) * segment_s
    ends = np.minimum(starts + segment_s, max(duration_s, starts[-1] + 1e-6))
    return starts, ends


def _ramp_integral(z: np.ndarray) -> np.ndarray:
    """Antiderivative of the normal CDF: G(z) = z Phi(z) + phi(z) (-> max(z, 0) as the ramp sharpens)."""
    return z * ndtr(z) + np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi)


def soft_boxes(a: np.ndarray, b: np.ndarray, s: np.ndarray, e: np.ndarray, w: np.ndarray) -> np.ndarray:
    """(T, n): the average over segment [a, b] of the box [s, e] whose edges are Gaussian ramps of sd w."""
    w = np.maximum(w, 1e-6)[None, :]
    a, b = a[:, None], b[:, None]
    s, e = s[None, :], e[None, :]
    area = _ramp_integral((b - s) / w) - _ramp_integral((a - s) / w)
    area -= _ramp_integral((b - e) / w) - _ramp_integral((a - e) / w)
    return np.clip(w * area / (b - a), 0.0, 1.0)


@lru_cache(maxsize=8)
def related_matrix(classes: tuple[ActionClass, ...]) -> np.ndarray:
    """(C, C) row-stochastic leak targets: half to classes sharing the noun, half to those sharing the
    verb (all to one kind when the other has none); a class sharing nothing leaks to itself."""
    verbs = np.array([c.verb for c in classes])
    nouns = np.array([c.noun or f"<none {c.index}>" for c in classes])
    eye = np.eye(len(classes), dtype=bool)
    parts = [((nouns[:, None] == nouns[None, :]) & ~eye), ((verbs[:, None] == verbs[None, :]) & ~eye)]
    rel = np.zeros((len(classes), len(classes)))
    for part in parts:
        n = part.sum(1, keepdims=True)
        rel += np.where(n > 0, part / np.maximum(n, 1), 0.0)
    total = rel.sum(1, keepdims=True)
    return np.where(total > 0, rel / np.maximum(total, 1e-12), eye.astype(float))


@lru_cache(maxsize=8)
def _related_sparse(classes: tuple[ActionClass, ...]) -> csr_matrix:
    """The transposed related matrix, sparse: ~24 targets a class, and no BLAS threads on tiny matrices."""
    return csr_matrix(related_matrix(classes).T)


def class_scores(
    timeline: Timeline, classes: list[ActionClass], *, quality: float, segment_s: float, seed: int
) -> np.ndarray:
    """(T, 157) float32: the per-segment class evidence of the noise model (quality 1.0 = the truth)."""
    if len(classes) != N_CLASSES:
        raise ValueError(f"standins classes: expected {N_CLASSES} Charades classes, got {len(classes)}")
    m = NoiseModel.from_quality(quality)
    a, b = segment_bounds(timeline.duration_s, segment_s)
    rng = video_rng(seed, timeline.video_id, _SCORES)
    acts = np.array([(x.cls, x.start_s, x.end_s) for x in timeline.actions], dtype=np.float64).reshape(-1, 3)
    cls, s, e = acts[:, 0].astype(np.int64), acts[:, 1], acts[:, 2]
    length = e - s
    # draws, in a fixed order and independent of quality (common random numbers)
    r_miss = rng.random(len(cls))
    z_s, z_e = rng.standard_normal((2, len(cls)))
    n_fa = rng.poisson(FALSE_ALARMS * timeline.duration_s / 60.0)
    r_fa = rng.random(n_fa)
    fa_cls = rng.integers(0, N_CLASSES, n_fa)
    fa_len = FA_MEDIAN_S * np.exp(FA_LOG_SD * rng.standard_normal(n_fa))
    fa_mid = rng.random(n_fa) * timeline.duration_s
    fa_amp = rng.uniform(0.5, 1.0, n_fa)
    z_noise = rng.standard_normal((len(a) + 1, N_CLASSES))
    z_offset = rng.standard_normal(N_CLASSES)

    keep = r_miss >= m.p_miss
    s_k = s[keep] + m.jitter * length[keep] * z_s[keep]
    e_k = np.maximum(e[keep] + m.jitter * length[keep] * z_e[keep], s_k + 0.1 * length[keep])
    fa = r_fa < m.false_alarms_per_min / FALSE_ALARMS  # the same candidates, fewer as quality rises
    starts = np.concatenate([s_k, fa_mid[fa] - fa_len[fa] / 2])
    ends = np.concatenate([e_k, fa_mid[fa] + fa_len[fa] / 2])
    widths = m.blur * np.concatenate([length[keep], fa_len[fa]])
    amps = np.concatenate([np.ones(keep.sum()), fa_amp[fa]])
    boxes = soft_boxes(a, b, starts, ends, widths) * amps[None, :]
    evidence = np.zeros((N_CLASSES, len(a)))
    np.maximum.at(evidence, np.concatenate([cls[keep], fa_cls[fa]]), boxes.T)
    scores = evidence.T
    if m.confuse > 0:
        scores = (1.0 - m.confuse) * scores + m.confuse * (_related_sparse(tuple(classes)) @ scores.T).T
    if m.noise > 0 or m.offset > 0:
        scores = scores + m.noise * _smooth_noise(z_noise, segment_s) + m.offset * z_offset[None, :]
    return scores.astype(np.float32)


def _smooth_noise(z: np.ndarray, segment_s: float) -> np.ndarray:
    """Stationary unit-variance AR(1) noise over segments from the normals `z` (first row: the state
    before the first segment)."""
    rho = float(np.exp(-segment_s / NOISE_TAU_S))
    gain = np.sqrt(1.0 - rho * rho)
    return lfilter([gain], [1.0, -rho], z[1:], axis=0, zi=rho * z[:1])[0]


@lru_cache(maxsize=8)
def projection(dim: int, seed: int) -> np.ndarray:
    """The fixed (157 + SCENE_DIM + NOISE_DIM, dim) Gaussian projection of one seed (shared by videos)."""
    if dim < 1:
        raise ValueError(f"standins dim: expected an integer >= 1, got {dim}")
    rng = np.random.default_rng([int(seed), 0x5EED])
    proj = rng.standard_normal((N_CLASSES + SCENE_DIM + NOISE_DIM, dim)) / np.sqrt(dim)
    return proj.astype(np.float32)


def standin_features(
    timeline: Timeline,
    classes: list[ActionClass],
    *,
    quality: float,
    segment_s: float,
    dim: int,
    seed: int,
    scores: np.ndarray | None = None,
) -> np.ndarray:
    """(T, dim) float32 unit-norm segment features: the class scores with a slowly turning scene
    direction and per-segment noise, through the seed's fixed projection (module docstring). `scores`:
    the video's `class_scores` of the same settings when the caller has them already."""
    if scores is None:
        scores = class_scores(timeline, classes, quality=quality, segment_s=segment_s, seed=seed)
    starts, ends = segment_bounds(timeline.duration_s, segment_s)
    rng = video_rng(seed, timeline.video_id, _EXTRAS)
    g = rng.standard_normal((2, SCENE_DIM)) / np.sqrt(SCENE_DIM)
    theta = 0.5 * np.pi * ((starts + ends) / 2) / max(timeline.duration_s, 1e-6)
    scene = np.cos(theta)[:, None] * g[0] + np.sin(theta)[:, None] * g[1]
    noise = rng.standard_normal((len(starts), NOISE_DIM)) / np.sqrt(NOISE_DIM)
    x = np.concatenate([scores, SCENE_WEIGHT * scene, FEATURE_NOISE * noise], axis=1)
    # einsum runs numpy's own loop: BLAS would wake its threads for this tiny product, ten times its cost
    # on busy shared cores
    feats = np.einsum("ti,id->td", x.astype(np.float32), projection(dim, seed))
    feats /= np.maximum(np.linalg.norm(feats, axis=1, keepdims=True), 1e-12)
    return feats.astype(np.float32)
