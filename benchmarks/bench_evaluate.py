"""Time `psvl evaluate` on N queries (default 10 000) against a per-query Python loop (the peer).

    python -m benchmarks.bench_evaluate [--queries 10000] [--repeats 5] [--plots]

Prints the median seconds of: the vectorized scorer (`psvl.evaluation.evaluate.evaluate`, priors included), the
peer (a per-query loop computing IoU in Python, as the released PSVL evaluation does per batch), and the
whole CLI (`psvl evaluate` reading lighthouse JSONL predictions and test_queries Parquet, writing
metrics.json, with `--plots` also the two figures). The target is the whole CLI under 10 s on CPU.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks._timing import timed
from psvl.cli import main as cli
from psvl.core.artifacts import write_table
from psvl.datasets.predictions import read_ground_truth, read_moments, read_predictions
from psvl.evaluation.evaluate import evaluate


def make_inputs(root: Path, n: int, seed: int = 0) -> tuple[Path, Path, Path]:
    """test_queries.parquet, lighthouse predictions JSONL (5 windows each), pseudo_queries-like moments."""
    rng = np.random.default_rng(seed)
    videos = rng.integers(0, max(n // 4, 1), size=n)
    duration = 10 + 50 * rng.random(n)
    start = rng.random(n) * duration * 0.7
    end = start + rng.random(n) * (duration - start)
    gt = pd.DataFrame(
        {
            "query_id": [f"q{i}" for i in range(n)],
            "video_id": [f"v{v}" for v in videos],
            "sentence": "a person does something.",
            "start_s": start,
            "end_s": end,
            "duration_s": duration,
            "tokens": [["do", "person"]] * n,
        }
    )
    gt_path = root / "test_queries.parquet"
    write_table("test_queries", gt, gt_path, stage="bench")
    noise = rng.normal(0, 3, size=(n, 5, 2))
    windows = np.stack([start, end], axis=1)[:, None, :] + noise  # some reversed, some out of range
    scores = rng.random((n, 5))
    pred_path = root / "pred.jsonl"
    with open(pred_path, "w") as fh:
        for i in range(n):
            w = [[float(a), float(b), float(s)] for (a, b), s in zip(windows[i], scores[i])]
            fh.write(json.dumps({"qid": f"q{i}", "vid": f"v{videos[i]}", "pred_relevant_windows": w}) + "\n")
    train_path = root / "pseudo_queries.parquet"
    write_table(
        "pseudo_queries",
        {
            "query_id": gt.query_id,
            "video_id": gt.video_id,
            "start_s": start,
            "end_s": end,
            "duration_s": duration,
            "verbs": [["do"]] * n,
            "nouns": [["person"]] * n,
            "tokens": [["do", "person"]] * n,
        },
        train_path,
        stage="bench",
    )
    return pred_path, gt_path, train_path


def naive_evaluate(pred: pd.DataFrame, gt: pd.DataFrame) -> dict:
    """The peer: one Python iteration per query, IoU by hand, ids looked up in a dict."""
    by_id = {r.query_id: (r.pred_start_s, r.pred_end_s) for r in pred.itertuples()}
    ious = []
    for r in gt.itertuples():
        s, e = by_id.get(r.query_id, (0.0, 0.0))
        s, e = min(s, e), max(s, e)
        s, e = max(s, 0.0), min(e, r.duration_s)
        inter = max(0.0, min(e, r.end_s) - max(s, r.start_s))
        union = (e - s) + (r.end_s - r.start_s) - inter
        ious.append(inter / union if union > 0 else 0.0)
    out = {f"R@{t}": sum(i >= t for i in ious) / len(ious) for t in (0.1, 0.3, 0.5, 0.7)}
    out["mIoU"] = sum(ious) / len(ious)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--plots", action="store_true", help="also time the CLI with --plots")
    args = parser.parse_args()
    logging.disable(logging.WARNING)

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        pred_path, gt_path, train_path = make_inputs(root, args.queries)
        pred, gt = read_predictions(pred_path), read_ground_truth(gt_path)
        train = read_moments(train_path)
        ours = timed(lambda: evaluate(pred, gt, train), args.repeats)
        theirs = timed(lambda: naive_evaluate(pred, gt), args.repeats)
        fast_s, fast, peer_s, peer = ours.wall, ours.result, theirs.wall, theirs.result
        for key in ("R@0.1", "R@0.3", "R@0.5", "R@0.7", "mIoU"):
            assert abs(fast[key] - peer[key]) < 1e-9, (key, fast[key], peer[key])
        argv = [
            "evaluate",
            "--pred",
            str(pred_path),
            "--gt",
            str(gt_path),
            "--train-moments",
            str(train_path),
            "--out",
            str(root / "metrics.json"),
        ]
        quiet = io.StringIO()  # the CLI prints its metrics table; keep the benchmark's output readable
        with contextlib.redirect_stdout(quiet):
            cli_s = timed(lambda: cli(argv), args.repeats).wall
        print(f"queries: {args.queries}  (median of {args.repeats} runs, seconds)")
        print(f"evaluate() vectorized, with priors, query_shuffled, bootstrap intervals: {fast_s:8.4f}")
        print(f"peer: per-query Python loop, metrics only (less work than ours)       : {peer_s:8.4f}")
        print(f"ratio peer / vectorized                 : {peer_s / fast_s:8.1f}x")
        print(
            f"psvl evaluate CLI (read JSONL + Parquet, score, priors, write JSON): {cli_s:.3f}"
            f"  (target < 10 s: {'ok' if cli_s < 10 else 'MISSED'})"
        )
        if args.plots:
            with contextlib.redirect_stdout(quiet):
                plots_s = timed(lambda: cli([*argv, "--plots", str(root / "plots")]), args.repeats).wall
            print(f"psvl evaluate CLI with --plots          : {plots_s:.3f}")
        print(f"metrics agree with the peer: R@0.5 {fast['R@0.5']:.4f}, mIoU {fast['mIoU']:.4f}")


if __name__ == "__main__":
    main()
