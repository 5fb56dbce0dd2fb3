"""Scoring predicted moments against true ones: R@1 at IoU thresholds and mIoU, per query, with two priors.

Why per query: the released PSVL code averages metrics per batch, which weights queries unequally when the
last batch is short. Here every test query counts once; a query with no prediction counts as IoU 0.

Why the baselines: on Charades-STA a constant "mean moment" already reaches a sizeable R@0.3, so a
number means little without what no learning gives on the same queries:
- `mean_moment`: every query gets the mean normalized (start, end) of the training moments;
- `random_proposal`: a seeded random span per query whose length is drawn from the training moments'
  normalized lengths and whose start is uniform where the span fits;
- `fixed_window`: every query gets the one normalized window that scores best at R@0.5 on reference
  moments (psvl.evaluation.fixed_window): the bar a model's R@0.5 must clear on Charades-STA;
- `query_shuffled`: every query gets the model's prediction for another query of its video
  (psvl.evaluation.query_shuffled): what the model gets without reading the words.
Every row carries 95 % percentile bootstrap intervals over queries (psvl.core.bootstrap), so a
difference between rows can be read against the noise of the test set's size.

Predictions are made well-formed before scoring, and the counts are reported: reversed spans are ordered,
spans outside [0, duration] clipped, zero-length spans score IoU 0. True moments are clipped to
[0, duration] too: 562 of Charades-STA's 3 720 test moments end after the video does (charades.json), and
without the clip a prediction equal to the annotation would score IoU < 1.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from psvl.core import bootstrap, spans
from psvl.evaluation import fixed_window
from psvl.evaluation.query_shuffled import shuffled_ious
from psvl.evaluation.vocabulary import vocabulary_metrics

log = logging.getLogger(__name__)

THRESHOLDS = (0.1, 0.3, 0.5, 0.7)
MATCH_MODES = ("auto", "query_id", "video_order")


@dataclass
class EvalConfig:
    """The `eval` config section (fields only; the defaults live in the config schema)."""

    plot_videos: int
    seed: int
    match: str
    histogram_bins: int


def match(pred: pd.DataFrame, gt: pd.DataFrame, how: str = "auto") -> tuple[pd.DataFrame, str, int]:
    """Attach to every ground-truth row its prediction (NaN where none).

    `auto` matches by query_id when every prediction carries an id the ground truth knows, otherwise by
    (video_id, order): the k-th prediction of a video answers the k-th query of that video, in file order.
    Returns (merged rows in ground-truth order, the rule used, predictions left unmatched).
    """
    if how not in MATCH_MODES:
        raise ValueError(f"eval.match: expected one of {MATCH_MODES}, got {how!r}")
    cols = ["pred_start_s", "pred_end_s", "pred_duration_s"]
    ids = pred["query_id"]
    ids_ok = (
        len(pred) > 0
        and ids.notna().all()
        and not gt["query_id"].duplicated().any()
        and _isin(ids, gt["query_id"]).all()
    )
    if how == "query_id" or (how == "auto" and ids_ok):
        dup = ids.duplicated()
        if dup.any():
            log.warning("%d predictions repeat a query_id; the first of each is scored", int(dup.sum()))
        right = pred.loc[~dup, ["query_id", "video_id", *cols]].rename(columns={"video_id": "pred_video_id"})
        merged = gt.merge(right, on="query_id", how="left", validate="many_to_one")
        wrong_video = merged["pred_video_id"].notna() & (merged["pred_video_id"] != merged["video_id"])
        if wrong_video.any():
            log.warning("%d predictions name another video than their query's", int(wrong_video.sum()))
        used = int(merged["pred_start_s"].notna().sum())
        return merged.drop(columns="pred_video_id"), "query_id", len(pred) - used
    if how == "auto" and ids.notna().any():
        log.warning("prediction query ids differ from the ground truth's: matching by (video_id, order)")
    right = pred[["video_id", "order", *cols]]
    merged = gt.merge(right, on=["video_id", "order"], how="left", validate="one_to_one")
    used = int(merged["pred_start_s"].notna().sum())
    return merged, "video_order", len(pred) - used


def _isin(values: pd.Series, allowed: pd.Series) -> np.ndarray:
    """Membership of string ids, in pyarrow (pandas' arrow-string isin loops in Python)."""
    as_arrow = [pa.array(x.astype(object).to_numpy(), pa.string()) for x in (values, allowed)]
    return pc.is_in(as_arrow[0], value_set=as_arrow[1]).to_numpy(zero_copy_only=False)


def _durations(df: pd.DataFrame, fallback: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """Each query's video duration; where unknown, `fallback` (or +inf: no upper clip). Returns (dur, n_unknown)."""
    dur = df["duration_s"].to_numpy(dtype=np.float64).copy()
    unknown = ~(dur > 0)
    if fallback is not None:
        dur[unknown] = fallback[unknown]
    still = ~(dur > 0)
    dur[still] = np.inf
    return dur, int(unknown.sum())


def window_groups(gt: pd.DataFrame) -> np.ndarray:
    """The query each ground-truth row belongs to: a QVHighlights query with several true windows is read as
    rows `q`, `q#1`, `q#2`, ... (psvl.datasets.jsonl); those rows form one query, scored by its best window.
    Any other row is a query of its own."""
    if "query_id" not in gt:
        return np.arange(len(gt)).astype(str).astype(object)
    ids = gt["query_id"].astype(str).to_numpy(dtype=object)
    id_array = pa.array(ids, pa.string())
    found = pc.extract_regex(id_array, r"^(?P<base>.*)#(?P<k>[1-9]\d*)$")
    base = pc.struct_field(found, "base")  # null where the id has no `#k` suffix
    where = pc.index_in(base, value_set=id_array)  # row of the base id; null where none
    known = pc.is_valid(where).to_numpy(zero_copy_only=False)
    if not known.any():
        return ids
    row = where.fill_null(0).to_numpy(zero_copy_only=False)
    video = gt["video_id"].to_numpy(dtype=object)
    extra = known & (video[row] == video)
    return np.where(extra, base.to_numpy(zero_copy_only=False).astype(object), ids)


def per_query(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Best IoU of each query over its true windows (rows sharing a group), in first-row order."""
    values = np.asarray(values, dtype=np.float64)
    if len(pd.unique(groups)) == len(groups):
        return values
    return pd.Series(values).groupby(groups, sort=False).max().to_numpy()


def score(pred: pd.DataFrame, gt: pd.DataFrame, how: str = "auto") -> tuple[pd.DataFrame, dict, np.ndarray]:
    """Per-row IoU (a `per_query`-schema table), what was adjusted, and each query's IoU (best window)."""
    return _score(pred, gt, how)[:3]


def _score(
    pred: pd.DataFrame, gt: pd.DataFrame, how: str
) -> tuple[pd.DataFrame, dict, np.ndarray, np.ndarray]:
    """`score`, plus each row's video duration as used for clipping (inf where unknown)."""
    merged, used_rule, unmatched = match(pred, gt, how)
    groups = window_groups(merged)
    cols = ["pred_start_s", "pred_end_s", "pred_duration_s"]
    extra = groups != merged["query_id"].to_numpy(dtype=object)
    if extra.any():  # the extra windows of a query share its one prediction
        first = merged.groupby(groups, sort=False)[cols].transform("first")
        merged.loc[extra, cols] = first.loc[extra, cols].to_numpy()
    dur, unknown = _durations(merged, merged["pred_duration_s"].to_numpy(dtype=np.float64))
    raw = merged[["pred_start_s", "pred_end_s"]].to_numpy(dtype=np.float64)
    missing = np.isnan(raw).any(axis=1)
    reversed_ = raw[:, 0] > raw[:, 1]
    ordered = spans.order(raw)
    outside = (ordered[:, 0] < 0) | (ordered[:, 1] > dur)
    fixed = np.clip(ordered, 0.0, dur[:, None])
    zero = ~missing & (fixed[:, 1] <= fixed[:, 0])
    raw_truth = merged[["start_s", "end_s"]].to_numpy(dtype=np.float64)
    truth = spans.clip(raw_truth, dur)
    truth_outside = (raw_truth != truth).any(axis=1)
    ious = np.where(missing, 0.0, spans.iou(np.nan_to_num(fixed), truth))
    table = pd.DataFrame(
        {
            "query_id": merged["query_id"],
            "video_id": merged["video_id"],
            "pred_start_s": fixed[:, 0],
            "pred_end_s": fixed[:, 1],
            "gt_start_s": truth[:, 0],
            "gt_end_s": truth[:, 1],
            "iou": ious,
        }
    )
    info = {
        "matched_by": used_rule,
        "adjustments": {
            "reversed_ordered": int(reversed_.sum()),
            "clipped_to_duration": int(outside.sum()),
            "zero_length": int(zero.sum()),
            "missing_prediction": int(missing.sum()),
            "unmatched_predictions": int(unmatched),
            "unknown_duration": int(np.isinf(dur).sum()),
            "gt_clipped_to_duration": int(truth_outside.sum()),
        },
    }
    info["adjustments"]["extra_true_windows"] = int(extra.sum())
    if missing.any():
        log.warning("%d queries have no prediction: scored IoU 0", int(missing.sum()))
    if unknown:
        log.info("%d queries lack a duration in the ground truth", unknown)
    return table, info, per_query(ious, groups), dur


def _with_metrics(rows: dict[str, dict], ious: dict[str, np.ndarray], seed: int) -> dict:
    """Each row's metrics, then its own keys, then its bootstrap intervals."""
    bands = bootstrap.intervals(ious, seed)
    return {
        name: {**spans.recall_at(ious[name], THRESHOLDS), **rows[name], "intervals": bands[name]}
        for name in rows
    }


def baselines(
    gt: pd.DataFrame,
    train_moments: np.ndarray | None = None,
    seed: int = 0,
    reference: fixed_window.Reference | None = None,
) -> dict:
    """Metrics of the priors (mean_moment, random_proposal, fixed_window) on the queries of `gt`, with
    bootstrap intervals.

    `train_moments`: normalized (start, end) training moments, N x 2; None uses the ground truth's own
    moments (optimistic: the prior has then seen the test set; the output says so). Queries whose video
    duration is unknown use their true end time as the duration. `reference`: the moments fixed_window's
    window is chosen on (None: the training moments, with their source).
    """
    return _with_metrics(*_priors(gt, train_moments, seed, reference), seed)


def _priors(
    gt: pd.DataFrame,
    train_moments: np.ndarray | None,
    seed: int,
    reference: fixed_window.Reference | None = None,
) -> tuple[dict[str, dict], dict[str, np.ndarray]]:
    """The priors' own keys and their per-query IoU (queries in first-row order)."""
    truth = gt[["start_s", "end_s"]].to_numpy(dtype=np.float64)
    dur, _ = _durations(gt, truth.max(axis=1))
    dur = np.where(np.isinf(dur), 1.0, dur)  # only truth ending at <= 0 s is left: it scores 0 anyway
    truth = spans.clip(truth, dur)
    source = "train_moments"
    if train_moments is None or len(train_moments) == 0:
        why = "no training moments given" if train_moments is None else "the training moments are empty"
        log.warning("%s: the priors use the test moments themselves (optimistic)", why)
        train_moments = spans.to_normalized(truth, dur)
        source = "ground_truth"
    moments = spans.order(np.asarray(train_moments, dtype=np.float64).reshape(-1, 2))
    mean = moments.mean(axis=0) if len(moments) else np.array([0.0, 1.0])
    mean_pred = mean[None, :] * dur[:, None]

    groups = window_groups(gt)
    codes, n_queries = pd.factorize(groups)[0], len(pd.unique(groups))
    rng = np.random.default_rng(seed)  # one draw per query, shared by its true windows
    lengths = rng.choice(spans.length(moments), size=n_queries) if len(moments) else np.ones(n_queries)
    starts = rng.uniform(0.0, 1.0, size=n_queries) * (1.0 - lengths)
    random_pred = np.stack([starts, starts + lengths], axis=1)[codes] * dur[:, None]
    rows = {
        "mean_moment": {
            "moment_normalized": [float(mean[0]), float(mean[1])],
            "source": source,
            "n_moments": len(moments),
        },
        "random_proposal": {"seed": int(seed), "source": source, "n_moments": len(moments)},
    }
    ious = {
        "mean_moment": per_query(spans.iou(mean_pred, truth), groups),
        "random_proposal": per_query(spans.iou(random_pred, truth), groups),
    }
    reference = reference or fixed_window.Reference(moments, source)
    rows["fixed_window"], window_ious = fixed_window.row(reference, truth, dur)
    ious["fixed_window"] = per_query(window_ious, groups)
    return rows, ious


def evaluate(
    pred_df: pd.DataFrame,
    gt_df: pd.DataFrame,
    train_moments: np.ndarray | None = None,
    seed: int = 0,
    how: str = "auto",
    reference: fixed_window.Reference | None = None,
) -> dict:
    """metrics.json's content: R@0.1/0.3/0.5/0.7, mIoU, n_queries, what was adjusted, the baselines (three
    priors and the query-shuffled model), and bootstrap intervals for the model and every baseline.

    `pred_df` as `psvl.datasets.predictions.read_predictions` returns it, `gt_df` as `read_ground_truth` does
    (a bare DataFrame with query_id, video_id, start_s, end_s, duration_s works too).
    """
    return evaluate_with_table(pred_df, gt_df, train_moments, seed, how, reference=reference)[0]


def evaluate_with_table(
    pred_df: pd.DataFrame,
    gt_df: pd.DataFrame,
    train_moments: np.ndarray | None = None,
    seed: int = 0,
    how: str = "auto",
    vocabulary: tuple[Mapping[str, Sequence[str]], set[str]] | None = None,
    reference: fixed_window.Reference | None = None,
) -> tuple[dict, pd.DataFrame]:
    """`evaluate`, plus the per-query table (per_query schema) the plots and `--per-query` use.

    `vocabulary` = (tokens per query id, the model's trained words) adds `unknown_words` and
    `by_vocabulary` (psvl.evaluation.vocabulary)."""
    pred_df, gt_df = _prepare(pred_df, gt_df)
    table, info, query_ious, dur = _score(pred_df, gt_df, how)
    metrics = spans.recall_at(query_ious, THRESHOLDS)
    metrics.update(info)
    if vocabulary is not None:
        metrics.update(vocabulary_metrics(table, query_ious, window_groups(table), *vocabulary))
    rows, ious = _priors(gt_df, train_moments, seed, reference)
    ious["query_shuffled"], shuffled = shuffled_ious(
        table[["pred_start_s", "pred_end_s"]].to_numpy(dtype=np.float64),
        table[["gt_start_s", "gt_end_s"]].to_numpy(dtype=np.float64),
        dur,
        table["video_id"].to_numpy(dtype=object),
        window_groups(table),
        seed,
    )
    rows["query_shuffled"] = {"seed": int(seed), **shuffled}
    rows_all = _with_metrics({"model": {}, **rows}, {"model": query_ious, **ious}, seed)
    metrics["intervals"] = rows_all.pop("model")["intervals"]
    metrics["baselines"] = rows_all
    metrics["bootstrap"] = bootstrap.describe(seed)
    return metrics, table


def _prepare(pred: pd.DataFrame, gt: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fill the optional columns of hand-built frames (query ids, order, durations)."""
    pred, gt = pred.copy(), gt.copy()
    if "query_id" not in gt:
        gt["query_id"] = [f"{v}#{i}" for i, v in enumerate(gt["video_id"])]
    if "duration_s" not in gt:
        gt["duration_s"] = np.nan
    for df in (pred, gt):
        if "order" not in df:
            df["order"] = df.groupby("video_id", sort=False).cumcount()
    if "query_id" not in pred:
        pred["query_id"] = None
    if "pred_duration_s" not in pred:
        pred["pred_duration_s"] = np.nan
    return pred, gt
