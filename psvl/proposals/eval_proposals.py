"""Proposal evaluation: how many true moments some proposal recovers, against baselines at the same budget.

Recall@IoU here is a *proposal* recall (does any proposal of the video overlap the moment by the IoU
threshold), not the model's R@1. The baselines are generated in-process with the same number of
proposals per video as the evaluated set, so the comparison is budget for budget:
- `random` and `sliding`: spans that look at nothing but the video's length;
- `time_only`: the k-means TEP itself (`propose_video`, same config) with every segment's feature
  replaced by one zero, so only the appended time column clusters: equal-time atomic events. It shows what
  the features add over TEP's machinery (time weight, merging, windows) alone. It needs the videos'
  segment times: the features' (`segments`), or else a uniform grid of the features' segment length.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from psvl.config import default
from psvl.core import bootstrap
from psvl.core.artifacts import read_frame
from psvl.core.spans import pairwise_iou
from psvl.proposals.proposals import (
    ProposalsConfig,
    propose_video,
    random_spans,
    sliding_spans,
    to_frame,
    video_rng,
)

log = logging.getLogger(__name__)

THRESHOLDS = (0.3, 0.5, 0.7)


def best_ious(proposals: pd.DataFrame, annotations: pd.DataFrame) -> np.ndarray:
    """For every annotated moment of a video that has proposals: its best IoU with them."""
    by_video = {vid: g[["start_s", "end_s"]].to_numpy() for vid, g in proposals.groupby("video_id")}
    out = []
    for vid, g in annotations[annotations["video_id"].isin(by_video)].groupby("video_id"):
        out.append(pairwise_iou(g[["start_s", "end_s"]].to_numpy(), by_video[vid]).max(axis=1))
    return np.concatenate(out) if out else np.zeros(0)


def recall(proposals: pd.DataFrame, ious: np.ndarray) -> dict[str, Any]:
    """recall@0.3/0.5/0.7 of `proposals` from their moments' best IoUs (`best_ious`), proposals_per_video,
    the counts they rest on, and 95 % bootstrap intervals of the recalls over moments (`intervals`,
    psvl.core.bootstrap, as metrics.json's)."""
    n_videos = proposals["video_id"].nunique()
    out: dict[str, Any] = {
        f"recall@{t:g}": float((ious >= t).mean()) if ious.size else 0.0 for t in THRESHOLDS
    }
    out["mean_best_iou"] = float(ious.mean()) if ious.size else 0.0
    out["proposals_per_video"] = float(len(proposals) / n_videos) if n_videos else 0.0
    out["n_moments"] = int(ious.size)
    out["n_videos"] = int(n_videos)
    drawn = bootstrap.interval(ious)
    out["intervals"] = {f"recall@{t:g}": drawn[f"R@{t:g}"] for t in THRESHOLDS}
    return out


def margins(ious: np.ndarray, baseline_ious: np.ndarray) -> dict[str, dict[str, Any]]:
    """TEP's recall minus a baseline's at each IoU threshold, on the same moments, with a paired 95 %
    bootstrap interval: whether TEP beats the baseline by a margin, not only whether both recalls'
    intervals overlap."""
    return {
        f"recall@{t:g}": {
            "difference": float((ious >= t).mean() - (baseline_ious >= t).mean()) if ious.size else 0.0,
            "interval": bootstrap.paired_difference(ious >= t, baseline_ious >= t),
        }
        for t in THRESHOLDS
    }


def durations_of(proposals: pd.DataFrame, annotations: pd.DataFrame) -> dict[str, float]:
    """Video durations from the annotations (duration_s), else the latest proposal end."""
    dur = annotations.groupby("video_id")["duration_s"].max().dropna()
    out = proposals.groupby("video_id")["end_s"].max().to_dict()
    out.update({k: float(v) for k, v in dur.items() if v > 0 and k in out})
    return out


def segment_times(paths) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{video_id: (start_s, end_s)} from features Parquet shards, reading the time columns only."""
    cols = ["video_id", "segment_idx", "start_s", "end_s"]
    frames = [read_frame(p, columns=cols) for p in paths]
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)
    df = df.sort_values(["video_id", "segment_idx"], kind="stable")
    return {
        str(vid): (g["start_s"].to_numpy(np.float64), g["end_s"].to_numpy(np.float64))
        for vid, g in df.groupby("video_id", sort=False)
    }


def uniform_segments(
    durations: Mapping[str, float], seconds: float
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{video_id: (start_s, end_s)}: a grid of `seconds`-long segments, the last one cut at the video end."""
    out = {}
    for vid, duration in durations.items():
        starts = np.arange(max(1, math.ceil(duration / seconds - 1e-9))) * seconds
        out[vid] = (starts, np.minimum(starts + seconds, duration))
    return out


def time_only_spans(starts, ends, n: int, video_id: str, cfg: ProposalsConfig) -> list:
    """TEP on time alone: `propose_video` (k-means, `cfg`, budget `n`) with a zero feature per segment.

    Centred and normalised, zero features give a zero self-similarity block, so the k-means sees only the
    `time_weight`-scaled time index appended by `contextualize`.
    """
    zeros = np.zeros((len(starts), 1), dtype=np.float32)
    return propose_video(video_id, zeros, starts, ends, replace(cfg, method="kmeans", per_video=int(n)))


def _median_step(segments: Mapping[str, tuple]) -> float:
    """The median segment length over the videos (1 s when there are none)."""
    lengths = [np.median(np.asarray(s[-1]) - np.asarray(s[-2])) for s in segments.values() if len(s[-1])]
    return float(np.median(lengths)) if lengths else 1.0


def baseline(
    method: str,
    proposals: pd.DataFrame,
    annotations: pd.DataFrame,
    cfg: ProposalsConfig,
    segments: Mapping[str, tuple] | None = None,
) -> pd.DataFrame:
    """`random`, `sliding` or `time_only` proposals with the same count per video as `proposals`.

    `segments` ({video_id: (start_s, end_s)}, e.g. `segment_times`) is what `time_only`
    clusters; a video missing from it gets a uniform grid of the median segment length there.
    """
    counts = proposals.groupby("video_id").size()
    durations = durations_of(proposals, annotations)
    segments = dict(segments or {})
    step = _median_step(segments) if method == "time_only" else 1.0
    parts = []
    for vid, n in counts.items():
        if method == "random":
            spans = random_spans(durations[vid], int(n), cfg, video_rng(cfg.seed, str(vid)))
        elif method == "sliding":
            spans = sliding_spans(durations[vid], int(n), cfg)
        elif method == "time_only":
            grid = segments.get(vid) or uniform_segments({vid: durations[vid]}, step)[vid]
            spans = time_only_spans(grid[-2], grid[-1], int(n), str(vid), cfg)
        else:
            raise ValueError(f"proposal baseline: expected random, sliding or time_only, got {method!r}")
        parts.append(to_frame(str(vid), spans))
    return pd.concat(parts, ignore_index=True) if parts else to_frame("", [])


def evaluate_proposals(
    proposals: pd.DataFrame,
    annotations: pd.DataFrame,
    cfg: Any,
    segments: Mapping[str, tuple] | None = None,
) -> dict[str, Any]:
    """The eval/proposals.json report: recall of the proposals and of the baselines at the same budget.

    `segments` ({video_id: (start_s, end_s)}: `segment_times` or `uniform_segments`) enables
    the `time_only` baseline; without it only `random` and `sliding` are reported.
    """
    if not isinstance(cfg, ProposalsConfig):  # a (possibly partial) `proposals` section: the schema fills it
        cfg = default(ProposalsConfig, "proposals", **dict(cfg or {}))
    ious = best_ious(proposals, annotations)
    report: dict[str, Any] = recall(proposals, ious)
    report["method"] = cfg.method
    if "split" in annotations and annotations["split"].nunique() > 1:
        report["by_split"] = {}
        for split, group in annotations.groupby("split"):
            part = proposals[proposals["video_id"].isin(group["video_id"])]
            report["by_split"][str(split)] = recall(part, best_ious(part, group))
    methods = ("random", "sliding") + (("time_only",) if segments is not None else ())
    with threadpool_limits(1):  # many tiny k-means problems: thread start-up costs more than the maths
        made = {m: baseline(m, proposals, annotations, cfg, segments) for m in methods}
    report["baselines"] = {}
    for m, spans in made.items():
        # the baselines cover the same videos, so their best IoUs line up with TEP's moment by moment
        base = best_ious(spans, annotations)
        report["baselines"][m] = recall(spans, base)
        if set(spans["video_id"]) == set(proposals["video_id"]):
            report["baselines"][m]["margin"] = margins(ious, base)
    log.info(
        "proposals: recall@0.5 %.3f (%s) at %.1f proposals/video over %d moments",
        report["recall@0.5"],
        ", ".join(f"{m} {b['recall@0.5']:.3f}" for m, b in report["baselines"].items()),
        report["proposals_per_video"],
        report["n_moments"],
    )
    return report
