"""Figures for evaluation and the run report (matplotlib, Agg backend, no display needed).

One function per figure; each takes plain data (arrays, DataFrames, dicts) and a path, and writes a PNG
atomically (temp name, then rename) so a killed job never leaves a half image.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from psvl.core.artifacts import atomic_target
from psvl.evaluation import fixed_window

log = logging.getLogger(__name__)

TRUE_COLOR = "tab:blue"
PRED_COLOR = "tab:orange"
TABLE_KEYS = ["R@0.1", "R@0.3", "R@0.5", "R@0.7", "mIoU"]  # columns of the metrics table

# The workflow's stages in order: box label, the count shown under it (a key of stats.json's "counts"),
# and the stage name its failures are recorded under (failures/{stage}/).
STAGES: list[tuple[str, str | None, str | None]] = [
    ("videos\n(manifest)", "videos", None),
    ("frames", "frames", "frames"),
    ("features", "segments", "features"),
    ("detection", "detections", "detect"),
    ("TEP\nproposals", "proposals", "proposals"),
    ("corpus\nstatistics", "corpus_lemmas", None),
    ("pseudo-\nqueries", "pseudo_queries", None),
    ("training", "epochs", None),
    ("evaluation", "test_queries", None),
]


def _pyplot():
    """pyplot on the Agg backend (files only, no display)."""
    import matplotlib  # lazy: `psvl evaluate` without --plots never loads matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str | os.PathLike) -> Path:
    path = Path(path)
    fd, tmp = atomic_target(path)  # the usual file mode, like every artifact (mkstemp alone gives 0600)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        _pyplot().close(fig)
    log.info("wrote %s", path)
    return path


def iou_histogram(
    ious: Sequence[float], path: str | os.PathLike, metrics: Mapping | None = None, bins: int = 20
) -> Path:
    """Histogram of per-query IoU, with the R@ thresholds and the model's and priors' mIoU marked."""
    plt = _pyplot()
    ious = np.asarray(ious, dtype=np.float64)
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    ax.hist(ious, bins=np.linspace(0, 1, bins + 1), color=PRED_COLOR, edgecolor="white")
    for t in (0.1, 0.3, 0.5, 0.7):
        ax.axvline(t, color="grey", lw=0.8, ls=":")
    if ious.size:
        ax.axvline(ious.mean(), color="black", lw=1.5, label=f"model mIoU {ious.mean():.3f}")
    styles = (("mean_moment", "--"), ("random_proposal", "-."), ("fixed_window", (0, (6, 2, 1, 2))))
    for name, style in (*styles, ("query_shuffled", ":")):
        base = (metrics or {}).get("baselines", {}).get(name)
        if base:
            ax.axvline(
                base["mIoU"], color="tab:red", lw=1.2, ls=style, label=f"{name} mIoU {base['mIoU']:.3f}"
            )
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_xlim(0, 1)
    ax.set_xlabel("temporal IoU of the top-1 prediction")
    ax.set_ylabel("queries")
    ax.set_title(f"IoU per query (n={ious.size})")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper right", fontsize=8)
    return _save(fig, path)


def _row_label(video_id: str, query_id: str, sentence: str | None, iou: float) -> str:
    name = query_id if str(query_id).startswith(str(video_id)) else f"{video_id} · {query_id}"
    if sentence:
        name += f": {sentence if len(sentence) <= 48 else sentence[:47] + '…'}"
    return f"{name} (IoU {iou:.2f})"


def moments(
    table: pd.DataFrame,
    path: str | os.PathLike,
    n_videos: int = 8,
    seed: int = 0,
    durations: Mapping[str, float] | None = None,
    sentences: Mapping[str, str] | None = None,
) -> Path:
    """Predicted vs true moments for `n_videos` videos sampled with `seed`: one row per query.

    `table` has the per_query schema (video_id, query_id, pred_/gt_ start/end, iou); `durations`
    (video_id -> s) draws each video's extent, `sentences` (query_id -> text) labels the rows.
    """
    plt = _pyplot()
    videos = list(dict.fromkeys(table["video_id"]))
    rng = np.random.default_rng(seed)
    if len(videos) > n_videos:
        videos = sorted(rng.choice(videos, size=n_videos, replace=False).tolist(), key=videos.index)
    rows = table[table["video_id"].isin(videos)]
    rows = rows.set_index("video_id").loc[videos].reset_index() if len(rows) else rows
    n = max(len(rows), 1)
    fig, ax = plt.subplots(figsize=(9, 0.9 + 0.32 * n))
    labels = []
    for i, r in enumerate(rows.itertuples(index=False)):
        y = n - 1 - i
        dur = (durations or {}).get(r.video_id, np.nanmax([r.gt_end_s, r.pred_end_s, 0.0]))
        ax.barh(y, dur, left=0, height=0.8, color="0.93")
        ax.barh(y + 0.18, r.gt_end_s - r.gt_start_s, left=r.gt_start_s, height=0.34, color=TRUE_COLOR)
        if np.isfinite(r.pred_start_s):
            width = max(r.pred_end_s - r.pred_start_s, 0.0)
            ax.barh(y - 0.18, width, left=r.pred_start_s, height=0.34, color=PRED_COLOR)
            if width == 0:  # a zero-length prediction: a tick, or it would not show at all
                ax.plot([r.pred_start_s] * 2, [y - 0.35, y - 0.01], color=PRED_COLOR, lw=2)
        labels.append(_row_label(r.video_id, r.query_id, (sentences or {}).get(r.query_id), r.iou))
    ax.set_yticks(range(n - 1, n - 1 - len(labels), -1), labels, fontsize=7)
    ax.set_xlabel("seconds")
    ax.set_title(f"predicted (orange) vs true (blue) moments, {len(videos)} videos")
    if not len(rows):
        ax.text(0.5, 0.5, "no queries", ha="center", va="center", transform=ax.transAxes)
    return _save(fig, path)


def training_curves(log_df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Losses (left) and validation mIoU / R@0.5 (right) per epoch from model/train_log.parquet."""
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4))
    epochs = log_df["epoch"].to_numpy()
    for col, style in (("train_loss", "-"), ("train_loc_loss", "--"), ("train_att_loss", ":")):
        if col in log_df:
            left.plot(epochs, log_df[col], style, marker=".", label=col.removeprefix("train_"))
    losses = log_df[[c for c in ("train_loss", "train_loc_loss", "train_att_loss") if c in log_df]].to_numpy()
    finite = losses[np.isfinite(losses)]
    if finite.size and finite.min() > 0 and finite.max() / finite.min() > 20:
        left.set_yscale("log")  # the two loss terms can differ by orders of magnitude
    for ax in (left, right):
        ax.xaxis.get_major_locator().set_params(integer=True)
    left.set_xlabel("epoch")
    left.set_ylabel("training loss")
    left.legend(fontsize=8)
    for col in ("val_mIoU", "val_R@0.5"):
        if col in log_df:
            right.plot(epochs, log_df[col], marker=".", label=col)
    if "val_mIoU" in log_df and len(log_df) and log_df["val_mIoU"].notna().any():
        best = int(np.nanargmax(log_df["val_mIoU"].to_numpy(dtype=np.float64)))
        right.axvline(epochs[best], color="grey", ls=":", label=f"max val_mIoU, epoch {epochs[best]}")
    right.set_xlabel("epoch")
    right.set_ylabel("held-out pseudo-query metric")
    right.set_ylim(0, 1)
    right.legend(fontsize=8)
    fig.suptitle("training (validation on held-out pseudo-labeled videos)")
    return _save(fig, path)


def _cell(row: Mapping, key: str) -> str:
    """`0.587 [0.44, 0.72]`: the value and, where the row has one, its bootstrap interval; `-` where the
    row has no such key (the by-vocabulary rows have no R@0.1)."""
    if key not in row:
        return "-"
    text = f"{float(row.get(key, np.nan)):.3f}"
    band = (row.get("intervals") or {}).get(key)
    return f"{text} [{band[0]:.2f}, {band[1]:.2f}]" if band else text


def _baseline_label(name: str, row: Mapping) -> str:
    """A baseline's row label; fixed_window's names its window (the title names its source)."""
    if name != "fixed_window" or "window" not in row:
        return name
    return f"fixed_window [{row['window'][0]:.2f}, {row['window'][1]:.2f}]"


def table_cells(metrics: Mapping) -> tuple[list[str], list[list[str]]]:
    """Row labels and cell texts of the metrics table: the model, then the priors, the query-shuffled
    model and any other baseline; `value [lo, hi]` where the row has a bootstrap interval."""
    base = dict(metrics.get("baselines") or {})
    order = [n for n in ("mean_moment", "random_proposal", "fixed_window", "query_shuffled") if n in base]
    rows = [("model", metrics)] + [
        (_baseline_label(n, base[n]), base[n]) for n in order + sorted(set(base) - set(order))
    ]
    split = metrics.get("by_vocabulary") or {}  # the model on queries without / with an unknown word
    rows += [(f"model, {n.replace('_', ' ')} (n={split[n]['n']})", split[n]) for n in split]
    return [r for r, _ in rows], [[_cell(m, k) for k in TABLE_KEYS] for _, m in rows]


def metrics_table(metrics: Mapping, path: str | os.PathLike) -> Path:
    """The model's metrics next to its baselines (priors, query-shuffled), with bootstrap intervals."""
    plt = _pyplot()
    keys = TABLE_KEYS
    labels, cells = table_cells(metrics)
    banded = any("[" in c for row in cells for c in row)
    fig, ax = plt.subplots(figsize=(11 if banded else 7, 0.6 + 0.45 * len(labels)))
    ax.axis("off")
    table = ax.table(cellText=cells, rowLabels=labels, colLabels=keys, loc="center", cellLoc="center")
    table.scale(1, 1.6)
    for j in range(len(keys)):
        table[1, j].set_facecolor("#fde9d5")
    title = f"R@1 at IoU and mIoU on {metrics.get('n_queries', '?')} test queries"
    boot = metrics.get("bootstrap") or {}
    if banded and boot:
        title += (
            f" [{boot.get('level', 0.95):.0%} bootstrap interval, {boot.get('resamples', '?')} resamples]"
        )
    fixed = (metrics.get("baselines") or {}).get("fixed_window") or {}
    if "source" in fixed:
        title += f"\n{fixed_window.describe(fixed)}"
    unknown = metrics.get("unknown_words")
    if unknown:
        title += f"\n{unknown['token_share']:.1%} of test tokens, {unknown['query_share']:.1%} of queries unknown to the model"
    ax.set_title(title, fontsize=10)
    return _save(fig, path)


def stage_diagram(
    counts: Mapping[str, float] | None, path: str | os.PathLike, failures: Mapping[str, int] | None = None
) -> Path:
    """The workflow's stages as a left-to-right chain of boxes, each with its count from stats.json."""
    plt = _pyplot()
    from matplotlib.patches import FancyBboxPatch  # lazy: after _pyplot chose the backend

    counts, failures = dict(counts or {}), dict(failures or {})
    n = len(STAGES)
    fig, ax = plt.subplots(figsize=(1.45 * n, 2.2))
    ax.set_xlim(-0.15, n - 0.15)
    ax.set_ylim(-1.0 if any(failures.values()) else -0.65, 0.9)
    ax.axis("off")
    for i, (label, key, stage) in enumerate(STAGES):
        ax.add_patch(
            FancyBboxPatch(
                (i, 0), 1.0 - 0.3, 0.7, boxstyle="round,pad=0.05", facecolor="#dbe9f6", edgecolor="#2b6ca3"
            )
        )
        ax.text(i + 0.35, 0.35, label, ha="center", va="center", fontsize=8)
        if i < n - 1:
            ax.annotate(
                "",
                xy=(i + 1.0 - 0.02, 0.35),
                xytext=(i + 0.75, 0.35),
                arrowprops={"arrowstyle": "->", "color": "#2b6ca3"},
            )
        if key and key in counts:
            unit = key.removeprefix("corpus_").removeprefix("pseudo_").replace("_", " ")
            ax.text(i + 0.35, -0.25, f"{counts[key]:,}", ha="center", va="center", fontsize=9, weight="bold")
            ax.text(i + 0.35, -0.48, unit, ha="center", va="center", fontsize=7, color="0.35")
        if stage and failures.get(stage):
            ax.text(i + 0.35, -0.75, f"{failures[stage]:,} failed", ha="center", fontsize=8, color="tab:red")
    ax.set_title("psvl stages (counts from eval/stats.json)", fontsize=10)
    return _save(fig, path)
