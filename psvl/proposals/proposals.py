"""Temporal event proposals (TEP, docs/proposals.md): candidate moments from a video's segment features.

k-means over *contextualized* segment features: with L2-normalised features X (T x D), the self-similarity
S = X X^T describes each segment by how it relates to every other segment of the same video, which is
far more stable across videos than raw appearance. Appending the (weighted) normalised time index keeps
clusters contiguous. Maximal runs of one label are atomic events; windows of 1..max_atomic consecutive
atomic events within [min_frac, max_frac] of the video are the proposals. `random` and `sliding` are the
baselines that show what TEP is worth, with the same length limits and budget.
"""

from __future__ import annotations

import logging
import math
import zlib
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from threadpoolctl import threadpool_limits

from psvl.core.errors import ConfigError
from psvl.core.progress import progress
from psvl.features.segments import VideoFeatures

log = logging.getLogger(__name__)


@dataclass
class ProposalsConfig:
    """The `proposals` config section (defaults live in the config schema, not here)."""

    method: str
    atomic_seconds: float
    k: int | None
    k_min: int
    k_max: int
    time_weight: float
    center: bool
    min_atomic_seconds: float
    max_atomic: int
    min_frac: float
    max_frac: float
    per_video: int
    seed: int
    init: str
    n_init: int
    max_iter: int

    def __post_init__(self) -> None:
        if self.min_frac > self.max_frac:
            raise ConfigError(
                f"config.proposals.min_frac ({self.min_frac}) exceeds config.proposals.max_frac ({self.max_frac})"
            )
        if self.k_min > self.k_max:
            raise ConfigError(
                f"config.proposals.k_min ({self.k_min}) exceeds config.proposals.k_max ({self.k_max})"
            )


def video_rng(seed: int, video_id: str) -> np.random.Generator:
    """A generator that depends only on the seed and the video, not on shard composition or order."""
    return np.random.default_rng([seed, zlib.crc32(video_id.encode("utf-8"))])


def contextualize(feats: np.ndarray, time_weight: float, center: bool = True) -> np.ndarray:
    """(T, T+1): column i of the self-similarity of L2-normalised features, plus the weighted time index.

    Columns are divided by sqrt(T) so their distances, and hence `time_weight`, mean the same for short
    and long videos. With `center`, the video's mean feature is removed first: random-init and ReLU
    backbones give every segment a large shared component that would make all similarities ~1.
    """
    x = np.asarray(feats, dtype=np.float32)
    if center and len(x) > 1:
        x = x - x.mean(axis=0, keepdims=True)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-8)
    t = len(x)
    sim = (x @ x.T) / math.sqrt(t)
    pos = np.arange(t, dtype=np.float32) / max(t - 1, 1)
    return np.hstack([sim, (time_weight * pos)[:, None]]).astype(np.float32)


def choose_k(duration: float, n_segments: int, cfg: ProposalsConfig) -> int:
    """Fixed `k`, or duration / atomic_seconds clamped to [k_min, k_max]; never more than the segments."""
    k = cfg.k if cfg.k else round(duration / cfg.atomic_seconds)
    k = min(max(int(k), cfg.k_min), cfg.k_max)
    return max(1, min(k, n_segments))


def cluster(ctx: np.ndarray, k: int, cfg: ProposalsConfig) -> np.ndarray:
    """k-means labels of the contextualized segments (fixed random_state, so reruns agree)."""
    if k <= 1:
        return np.zeros(len(ctx), dtype=np.int64)
    km = KMeans(
        n_clusters=k, n_init=cfg.n_init, max_iter=cfg.max_iter, random_state=cfg.seed, algorithm="lloyd"
    )
    return km.fit_predict(ctx)


def label_runs(labels: np.ndarray) -> list[list[int]]:
    """Maximal runs of one label as [first, last] segment indices."""
    labels = np.asarray(labels)
    cuts = np.flatnonzero(labels[1:] != labels[:-1]) + 1
    firsts = np.concatenate([[0], cuts])
    lasts = np.concatenate([cuts - 1, [len(labels) - 1]])
    return [[int(a), int(b)] for a, b in zip(firsts, lasts)]


def merge_short_runs(
    runs: list[list[int]], feats: np.ndarray, starts, ends, min_seconds: float
) -> list[list[int]]:
    """Merge runs shorter than `min_seconds` into the neighbour whose mean feature is closest.

    The shortest offender goes first, so a flicker of one segment joins the event around it instead of
    splitting it into two atomic events.
    """
    runs = [list(r) for r in runs]
    while len(runs) > 1:
        lengths = [ends[b] - starts[a] for a, b in runs]
        i = int(np.argmin(lengths))
        if lengths[i] >= min_seconds:
            break
        if i == 0 or i == len(runs) - 1:
            j = 1 if i == 0 else i - 1
        else:
            mean = feats[runs[i][0] : runs[i][1] + 1].mean(0)
            dist = [np.linalg.norm(feats[runs[n][0] : runs[n][1] + 1].mean(0) - mean) for n in (i - 1, i + 1)]
            j = i - 1 if dist[0] <= dist[1] else i + 1
        lo, hi = min(i, j), max(i, j)
        runs[lo : hi + 1] = [[runs[lo][0], runs[hi][1]]]
    return runs


def atomic_events(feats: np.ndarray, starts, ends, cfg: ProposalsConfig) -> list[list[int]]:
    """Atomic events of one video as [first, last] segment runs, in time order."""
    starts, ends = np.asarray(starts, dtype=np.float64), np.asarray(ends, dtype=np.float64)
    duration = float(ends[-1])
    ctx = contextualize(feats, cfg.time_weight, cfg.center)
    labels = cluster(ctx, choose_k(duration, len(ctx), cfg), cfg)
    # merge on the contextualized features: the same space the clusters were found in
    return merge_short_runs(label_runs(labels), ctx, starts, ends, cfg.min_atomic_seconds)


def windows(
    events: list[tuple[float, float]], duration: float, cfg: ProposalsConfig
) -> list[tuple[float, float, int]]:
    """All windows of 1..max_atomic consecutive events whose length fraction is in [min_frac, max_frac]."""
    out = []
    for i in range(len(events)):
        for n in range(1, cfg.max_atomic + 1):
            if i + n > len(events):
                break
            start, end = events[i][0], events[i + n - 1][1]
            frac = (end - start) / duration if duration > 0 else 0.0
            if cfg.min_frac - 1e-9 <= frac <= cfg.max_frac + 1e-9:
                out.append((start, end, n))
    return sorted(set(out))


def fallback(duration: float, cfg: ProposalsConfig) -> list[tuple[float, float, int]]:
    """Too few segments or no window within the limits: the video's halves, or else the whole video."""
    if cfg.min_frac <= 0.5 <= cfg.max_frac:
        return [(0.0, duration / 2, 1), (duration / 2, duration, 1)][: cfg.per_video]
    return [(0.0, duration, 1)]


def sample(cands: list[tuple[float, float, int]], n: int, rng: np.random.Generator) -> list:
    """Up to `n` candidates drawn uniformly without replacement, returned in time order."""
    if len(cands) > n:
        keep = rng.choice(len(cands), size=n, replace=False)
        cands = [cands[i] for i in sorted(keep)]
    return sorted(cands)


def kmeans_spans(
    feats, starts, ends, cfg: ProposalsConfig, rng: np.random.Generator
) -> list[tuple[float, float, int]]:
    """TEP proposals (start_s, end_s, n_atomic) of one video."""
    starts, ends = np.asarray(starts, dtype=np.float64), np.asarray(ends, dtype=np.float64)
    duration = float(ends[-1])
    if len(feats) < max(cfg.k_min, 2):
        return fallback(duration, cfg)
    runs = atomic_events(feats, starts, ends, cfg)
    events = [
        (0.0 if a == 0 else float(starts[a]), duration if b == len(ends) - 1 else float(ends[b]))
        for a, b in runs
    ]
    # adjacent events share their boundary (segments may overlap or leave gaps by half a frame)
    for i in range(1, len(events)):
        cut = (events[i - 1][1] + events[i][0]) / 2
        events[i - 1], events[i] = (events[i - 1][0], cut), (cut, events[i][1])
    cands = windows(events, duration, cfg)
    return sample(cands, cfg.per_video, rng) if cands else fallback(duration, cfg)


def random_spans(
    duration: float, n: int, cfg: ProposalsConfig, rng: np.random.Generator
) -> list[tuple[float, float, int]]:
    """`n` uniform random spans with lengths uniform in [min_frac, max_frac] of the video (n_atomic 0)."""
    lengths = rng.uniform(cfg.min_frac, cfg.max_frac, size=n) * duration
    starts = rng.uniform(0.0, 1.0, size=n) * (duration - lengths)
    return sorted((float(s), float(s + ln), 0) for s, ln in zip(starts, lengths))


def sliding_spans(duration: float, n: int, cfg: ProposalsConfig) -> list[tuple[float, float, int]]:
    """Fixed windows: the video cut into m equal parts for m = 2, 3, ... (lengths within the limits),
    coarse scales first, until `n` windows; the last scale is thinned evenly to fit (n_atomic 0)."""
    out: list[tuple[float, float, int]] = []
    m = 1
    while len(out) < n and m < 1000:
        m += 1
        if not cfg.min_frac - 1e-9 <= 1.0 / m <= cfg.max_frac + 1e-9:
            if 1.0 / m < cfg.min_frac:
                break
            continue
        scale = [(duration * i / m, duration * (i + 1) / m, 0) for i in range(m)]
        room = n - len(out)
        if len(scale) > room:
            scale = [scale[i] for i in np.linspace(0, m - 1, room).round().astype(int)]
        out.extend(scale)
    return sorted(out) if out else [(0.0, duration, 0)]


def propose_video(video_id: str, feats, starts, ends, cfg: ProposalsConfig) -> list[tuple[float, float, int]]:
    """Proposals of one video with the configured method."""
    rng = video_rng(cfg.seed, video_id)
    duration = float(np.asarray(ends)[-1])
    if cfg.method == "kmeans":
        feats = np.asarray(feats, dtype=np.float32)
        if not np.isfinite(feats).all():
            log.warning("%s: non-finite features replaced by 0 before clustering", video_id)
            feats = np.nan_to_num(feats, nan=0.0, posinf=0.0, neginf=0.0)
        try:
            return kmeans_spans(feats, starts, ends, cfg, rng)
        except ValueError as exc:  # one odd video must not stop a shard: fall back to its halves
            log.warning("%s: k-means failed (%s); proposing the video's halves", video_id, exc)
            return fallback(duration, cfg)
    if cfg.method == "random":
        return random_spans(duration, cfg.per_video, cfg, rng)
    if cfg.method == "sliding":
        return sliding_spans(duration, cfg.per_video, cfg)
    raise ValueError(f"config.proposals.method: expected kmeans, random or sliding, got {cfg.method!r}")


def to_frame(video_id: str, spans: list[tuple[float, float, int]]) -> pd.DataFrame:
    """Rows in the proposals schema; ids `{video_id}#p{i}` in time order."""
    return pd.DataFrame(
        {
            "video_id": [video_id] * len(spans),
            "proposal_id": [f"{video_id}#p{i}" for i in range(len(spans))],
            "start_s": [float(s[0]) for s in spans],
            "end_s": [float(s[1]) for s in spans],
            "n_atomic": np.asarray([s[2] for s in spans], dtype=np.int32),
        }
    )


def _propose_many(items, cfg: ProposalsConfig) -> list[tuple[str, list]]:
    # Thousands of tiny problems: BLAS/OpenMP thread start-up costs more than the maths (6x slower on a
    # busy 2-core machine), so each worker computes single-threaded and parallelism is across videos.
    with threadpool_limits(1):
        return [(vid, propose_video(vid, f.array, f.starts, f.ends, cfg)) for vid, f in items]


def propose(features: Mapping[str, VideoFeatures], cfg: ProposalsConfig, workers: int = 1) -> pd.DataFrame:
    """Proposals table for every video of `features` ({video_id: VideoFeatures}, load_features).

    `workers` > 1 spreads videos over processes; the result is identical (per-video seeding).
    """
    vids = sorted(features)
    if workers > 1 and len(vids) > 1:
        chunks = [vids[i::workers] for i in range(workers)]
        with ProcessPoolExecutor(workers) as pool:
            futures = [pool.submit(_propose_many, [(v, features[v]) for v in chunk], cfg) for chunk in chunks]
            results = dict(pair for f in futures for pair in f.result())
    else:
        items = ((v, features[v]) for v in progress(vids, desc=f"proposals ({cfg.method})", unit="video"))
        results = dict(_propose_many(items, cfg))
    rows: dict[str, list] = {k: [] for k in ("video_id", "proposal_id", "start_s", "end_s", "n_atomic")}
    for vid in vids:
        for i, (start, end, n) in enumerate(results[vid]):
            rows["video_id"].append(vid)
            rows["proposal_id"].append(f"{vid}#p{i}")
            rows["start_s"].append(float(start))
            rows["end_s"].append(float(end))
            rows["n_atomic"].append(int(n))
    return pd.DataFrame(rows).astype({"start_s": "float64", "end_s": "float64", "n_atomic": "int32"})
