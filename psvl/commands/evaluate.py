"""`psvl evaluate --pred P --gt G --out metrics.json`: score predictions in any supported format."""

from __future__ import annotations

import argparse
import logging

import pyarrow.parquet as pq

from psvl import config
from psvl.commands._common import add_config_arguments, load_config
from psvl.core.artifacts import read_frame, write_json, write_table
from psvl.datasets.predictions import read_ground_truth, read_moments, read_predictions
from psvl.evaluation import fixed_window, plots
from psvl.evaluation.evaluate import EvalConfig, evaluate_with_table, per_query, window_groups
from psvl.evaluation.vocabulary import held_out_metrics, held_out_queries, known_words

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--pred",
        required=True,
        metavar="FILE",
        help="predictions: .parquet, lighthouse .jsonl, Charades-STA .txt, PSVL .json",
    )
    parser.add_argument(
        "--gt",
        required=True,
        metavar="FILE",
        help="ground truth: annotations/test_queries .parquet or any annotation format",
    )
    parser.add_argument(
        "--durations",
        metavar="FILE",
        help="video durations (video_id,duration_s CSV or charades.json) for .txt files",
    )
    parser.add_argument(
        "--train-moments",
        metavar="FILE",
        help="training moments for the priors (pseudo_queries.parquet or any annotation "
        "file); without it the priors use the test moments (said in the output)",
    )
    parser.add_argument(
        "--reference",
        metavar="FILE",
        help="moments the fixed_window baseline's window is chosen on: the dataset's train annotations "
        "(any annotation format; of annotations.parquet its train rows) or the training pseudo-labels "
        "(pseudo_queries.parquet, PSVL JSON); without it, the --train-moments (or the test moments)",
    )
    parser.add_argument(
        "--reference-source",
        choices=list(fixed_window.SOURCES)[:2],
        help="what --reference holds, named in metrics.json (required with --reference)",
    )
    parser.add_argument(
        "--out", metavar="JSON", help="metrics.json to write (the table is printed either way)"
    )
    parser.add_argument(
        "--vocab",
        metavar="MODEL",
        help="the trained model (folder with best.pt, a checkpoint, or vocab.json): adds unknown_words and "
        "by_vocabulary, measured on the --gt file's tokens (test_queries.parquet)",
    )
    parser.add_argument(
        "--events",
        metavar="PARQUET",
        help="the synthetic world's events.parquet: adds by_held_out (queries captioned with a synonym the "
        "corpus never uses, vs the rest)",
    )
    parser.add_argument("--plots", metavar="DIR", help="write iou_histogram.png and moments.png here")
    parser.add_argument(
        "--per-query",
        metavar="PARQUET",
        help="write the per-query table (per_query schema: the truth and IoU) here",
    )
    add_config_arguments(parser)


def run(args: argparse.Namespace) -> int:
    cfg = config.build(EvalConfig, load_config(args)["eval"])
    gt = read_ground_truth(args.gt, args.durations)
    pred = read_predictions(args.pred)
    train = read_moments(args.train_moments, args.durations) if args.train_moments else None
    vocabulary = _vocabulary(args.gt, args.vocab) if args.vocab else None
    if args.reference and not args.reference_source:
        raise SystemExit(
            "psvl evaluate: --reference needs --reference-source (train_annotations or pseudo_labels)"
        )
    ref = (
        fixed_window.read_reference(args.reference, args.reference_source, args.durations)
        if args.reference
        else None
    )
    metrics, table = evaluate_with_table(
        pred, gt, train, seed=cfg.seed, how=cfg.match, vocabulary=vocabulary, reference=ref
    )
    if args.events:
        held_out = held_out_queries(gt, read_frame(args.events, columns=["video_id", "sentence", "held_out"]))
        groups = window_groups(table)
        metrics.update(held_out_metrics(table, per_query(table["iou"].to_numpy(), groups), groups, held_out))
    metrics["inputs"] = {
        "pred": args.pred,
        "gt": args.gt,
        "train_moments": args.train_moments,
        "reference": args.reference,
        "vocab": args.vocab,
        "events": args.events,
    }
    if args.out:
        write_json(metrics, args.out)
    print(summary(metrics))
    if args.per_query:
        flags = pred.set_index("query_id")["no_known_words"] if "no_known_words" in pred else None
        known = table["query_id"].map(flags) if flags is not None else None  # null: the file did not say
        write_table(
            "per_query",
            table.assign(no_known_words=known),
            args.per_query,
            stage="evaluate",
            shaping={"match": cfg.match, "pred": args.pred, "gt": args.gt},
        )
    if args.plots:
        durations = dict(zip(gt["video_id"], gt["duration_s"]))
        ious = per_query(table["iou"].to_numpy(), window_groups(table))
        plots.iou_histogram(ious, f"{args.plots}/iou_histogram.png", metrics, cfg.histogram_bins)
        sentences = dict(zip(gt["query_id"], gt["sentence"]))
        plots.moments(table, f"{args.plots}/moments.png", cfg.plot_videos, cfg.seed, durations, sentences)
    return 0


def _vocabulary(gt_path: str, model: str) -> tuple[dict, set[str]] | None:
    """(tokens per query id of the --gt file, the model's trained words); None, with a warning, when the
    ground truth carries no tokens (only test_queries.parquet does)."""
    if not str(gt_path).endswith(".parquet") or "tokens" not in pq.read_schema(gt_path).names:
        log.warning("%s has no tokens column: no unknown_words (give test_queries.parquet as --gt)", gt_path)
        return None
    table = pq.read_table(gt_path, columns=["query_id", "tokens"]).to_pydict()
    tokens = {str(q): list(t or ()) for q, t in zip(table["query_id"], table["tokens"])}
    return tokens, known_words(model)


def _band(row: dict, key: str) -> str:
    lo, hi = row.get("intervals", {}).get(key, (float("nan"), float("nan")))
    return f"[{lo:.3f}, {hi:.3f}]"


def summary(metrics: dict) -> str:
    """The metrics as a small table, the model above its baselines, with 95 % intervals, and what was
    adjusted."""
    keys = ["R@0.1", "R@0.3", "R@0.5", "R@0.7", "mIoU"]
    banded = ["R@0.5", "mIoU"]
    rows = [("model", metrics), *metrics["baselines"].items()]
    lines = [f"{'':<16}" + "".join(f"{k:>8}" for k in keys) + "".join(f"{k + ' 95%':>17}" for k in banded)]
    lines += [
        f"{name:<16}" + "".join(f"{m[k]:>8.4f}" for k in keys) + "".join(f"{_band(m, k):>17}" for k in banded)
        for name, m in rows
    ]
    adjusted = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in metrics["adjustments"].items() if v)
    source = metrics["baselines"]["mean_moment"]["source"].replace("_", " ")
    for section in ("by_vocabulary", "by_held_out"):
        split = metrics.get(section, {})
        lines += [
            f"{name:<16}"
            + "".join(f"{split[name][k]:>8.4f}" if k in split[name] else " " * 8 for k in keys)
            + f"  ({split[name]['n']} queries)"
            for name in split
        ]
    if "unknown_words" in metrics:
        unk = metrics["unknown_words"]
        lines.append(
            f"unknown to the model: {unk['token_share']:.1%} of test tokens, {unk['query_share']:.1%} of "
            "queries have one"
        )
    lines.append(
        f"{metrics['n_queries']} queries, matched by {metrics['matched_by'].replace('_', ' ')}; "
        f"priors from {source}; adjusted: {adjusted or 'nothing'}"
    )
    if "fixed_window" in metrics["baselines"]:
        lines.append(fixed_window.describe(metrics["baselines"]["fixed_window"]))
    return "\n".join(lines)
