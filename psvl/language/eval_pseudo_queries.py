"""How good are the pseudo-queries? For each pseudo-query whose span overlaps a true event at IoU >= 0.5,
does it name the event's verb and object?

Truth is either the synthetic world's events (object, action columns) or, for a real dataset, the
annotation sentence simplified by the shared tagger (a hit is any of its verbs / nouns). With several
events over the threshold, the best-overlapping one is the truth. Rates are per pseudo-query.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from psvl.core import spans
from psvl.core.artifacts import read_frame
from psvl.language.simplify import read_any_annotations
from psvl.language.tagger import Tagger

log = logging.getLogger(__name__)


def truth_from_events(events: pd.DataFrame) -> pd.DataFrame:
    """video_id, start_s, end_s, verbs, nouns of the synthetic world's events (one verb, one object)."""
    return pd.DataFrame(
        {
            "video_id": events["video_id"].astype(str),
            "start_s": events["start_s"].astype(float),
            "end_s": events["end_s"].astype(float),
            "verbs": [[str(a).lower()] for a in events["action"]],
            "nouns": [[str(o).lower()] for o in events["object"]],
        }
    )


def truth_from_annotations(annotations: pd.DataFrame, tagger: Tagger) -> pd.DataFrame:
    """video_id, start_s, end_s, verbs, nouns of annotation sentences, simplified by the tagger."""
    tagged = tagger.tag(annotations["sentence"].tolist())
    return pd.DataFrame(
        {
            "video_id": annotations["video_id"].astype(str).to_numpy(),
            "start_s": annotations["start_s"].astype(float).to_numpy(),
            "end_s": annotations["end_s"].astype(float).to_numpy(),
            "verbs": [t.verbs for t in tagged],
            "nouns": [t.nouns for t in tagged],
        }
    )


def match(queries: pd.DataFrame, truth: pd.DataFrame, iou_threshold: float = 0.5) -> pd.DataFrame:
    """Each pseudo-query with its best-overlapping true event (IoU >= threshold); unmatched ones dropped."""
    q = queries[["query_id", "video_id", "start_s", "end_s", "verbs", "nouns"]].reset_index(drop=True)
    t = truth.reset_index(drop=True).rename(
        columns={"start_s": "t_start", "end_s": "t_end", "verbs": "t_verbs", "nouns": "t_nouns"}
    )
    pairs = q.merge(t, on="video_id")
    if pairs.empty:
        return pairs.assign(iou=pd.Series(dtype="float64"))
    pairs["iou"] = spans.iou(pairs[["start_s", "end_s"]].to_numpy(), pairs[["t_start", "t_end"]].to_numpy())
    pairs = pairs[pairs["iou"] >= iou_threshold]
    best = pairs.sort_values(["query_id", "iou"], ascending=[True, False], kind="stable")
    return best.drop_duplicates("query_id").reset_index(drop=True)


def hit_rates(matched: pd.DataFrame) -> dict[str, float]:
    """Shares of matched queries naming a true verb / noun (anywhere, and as their first one)."""

    def share(col: str, truth_col: str, first: bool = False) -> float:
        if matched.empty:
            return 0.0
        hits = [
            bool(set(list(words)[:1] if first else list(words)) & set(true))
            for words, true in zip(matched[col], matched[truth_col])
        ]
        return float(np.mean(hits))

    return {
        "verb_hit_rate": share("verbs", "t_verbs"),
        "noun_hit_rate": share("nouns", "t_nouns"),
        "first_verb_hit_rate": share("verbs", "t_verbs", first=True),
        "first_noun_hit_rate": share("nouns", "t_nouns", first=True),
    }


def evaluate_pseudo_queries(
    queries: pd.DataFrame, truth: pd.DataFrame, iou_threshold: float = 0.5, metadata: dict | None = None
) -> dict:
    """The eval/pseudo_queries.json report (keys verb_hit_rate, noun_hit_rate, n_queries, ...)."""
    matched = match(queries, truth, iou_threshold)
    summary = (metadata or {}).get("config", {}).get("summary", {})
    report = {
        **hit_rates(matched),
        "n_queries": len(matched),
        "n_queries_total": len(queries),
        "n_videos": int(queries["video_id"].nunique()),
        "n_videos_with_truth": int(
            queries.loc[queries["video_id"].isin(set(truth["video_id"])), "video_id"].nunique()
        ),
        "iou_threshold": iou_threshold,
        "mean_iou_matched": float(matched["iou"].mean()) if len(matched) else 0.0,
        "proposals_without_detections": summary.get("proposals_without_detections"),
    }
    if report["n_queries"] == 0:
        log.warning(
            "no pseudo-query overlaps a true event at IoU >= %g: the hit rates are 0 by convention",
            iou_threshold,
        )
    return report


def read_truth(annotations: str | Path, events: str | Path | None, tagger: Tagger) -> pd.DataFrame:
    """Truth from the synthetic events file when given, else from the simplified annotation sentences."""
    if events:
        return truth_from_events(read_frame(events))
    return truth_from_annotations(read_any_annotations(annotations), tagger)
