"""Proposal evaluation: how many true moments some proposal recovers, against baselines at the same budget.

Recall@IoU here is a *proposal* recall (does any proposal of the video overlap the moment by the IoU
threshold), not the model's R@1. The random and sliding baselines are generated in-process with the
same number of proposals per video as the evaluated set, so the comparison is budget for budget.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from psvl.config import default
from psvl.core.spans import pairwise_iou
from psvl.proposals.proposals import ProposalsConfig, random_spans, sliding_spans, to_frame, video_rng

log = logging.getLogger(__name__)

THRESHOLDS = (0.3, 0.5, 0.7)


def best_ious(proposals: pd.DataFrame, annotations: pd.DataFrame) -> np.ndarray:
    """For every annotated moment of a video that has proposals: its best IoU with them."""
    by_video = {vid: g[["start_s", "end_s"]].to_numpy() for vid, g in proposals.groupby("video_id")}
    out = []
    for vid, g in annotations[annotations["video_id"].isin(by_video)].groupby("video_id"):
        out.append(pairwise_iou(g[["start_s", "end_s"]].to_numpy(), by_video[vid]).max(axis=1))
    return np.concatenate(out) if out else np.zeros(0)


def recall(proposals: pd.DataFrame, annotations: pd.DataFrame) -> dict[str, float]:
    """recall@0.3/0.5/0.7, proposals_per_video, and the counts they rest on."""
    ious = best_ious(proposals, annotations)
    n_videos = proposals["video_id"].nunique()
    out = {f"recall@{t:g}": float((ious >= t).mean()) if ious.size else 0.0 for t in THRESHOLDS}
    out["mean_best_iou"] = float(ious.mean()) if ious.size else 0.0
    out["proposals_per_video"] = float(len(proposals) / n_videos) if n_videos else 0.0
    out["n_moments"] = int(ious.size)
    out["n_videos"] = int(n_videos)
    return out


def durations_of(proposals: pd.DataFrame, annotations: pd.DataFrame) -> dict[str, float]:
    """Video durations from the annotations (duration_s), else the latest proposal end."""
    dur = annotations.groupby("video_id")["duration_s"].max().dropna()
    out = proposals.groupby("video_id")["end_s"].max().to_dict()
    out.update({k: float(v) for k, v in dur.items() if v > 0 and k in out})
    return out


def baseline(
    method: str, proposals: pd.DataFrame, annotations: pd.DataFrame, cfg: ProposalsConfig
) -> pd.DataFrame:
    """`random` or `sliding` proposals with the same count per video as `proposals`."""
    counts = proposals.groupby("video_id").size()
    durations = durations_of(proposals, annotations)
    parts = []
    for vid, n in counts.items():
        if method == "random":
            spans = random_spans(durations[vid], int(n), cfg, video_rng(cfg.seed, str(vid)))
        else:
            spans = sliding_spans(durations[vid], int(n), cfg)
        parts.append(to_frame(str(vid), spans))
    return pd.concat(parts, ignore_index=True) if parts else to_frame("", [])


def evaluate_proposals(proposals: pd.DataFrame, annotations: pd.DataFrame, cfg: Any) -> dict[str, Any]:
    """The eval/proposals.json report: recall of the proposals and of both baselines at the same budget."""
    if not isinstance(cfg, ProposalsConfig):  # a (possibly partial) `proposals` section: the schema fills it
        cfg = default(ProposalsConfig, "proposals", **dict(cfg or {}))
    report: dict[str, Any] = recall(proposals, annotations)
    report["method"] = cfg.method
    if "split" in annotations and annotations["split"].nunique() > 1:
        report["by_split"] = {
            str(split): recall(proposals[proposals["video_id"].isin(group["video_id"])], group)
            for split, group in annotations.groupby("split")
        }
    report["baselines"] = {
        m: recall(baseline(m, proposals, annotations, cfg), annotations) for m in ("random", "sliding")
    }
    log.info(
        "proposals: recall@0.5 %.3f (random %.3f, sliding %.3f) at %.1f proposals/video over %d moments",
        report["recall@0.5"],
        report["baselines"]["random"]["recall@0.5"],
        report["baselines"]["sliding"]["recall@0.5"],
        report["proposals_per_video"],
        report["n_moments"],
    )
    return report
