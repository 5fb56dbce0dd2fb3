"""What the pseudo-labels cost: the same model trained on the *true* train captions.

Reads a finished synthetic run (e.g. `results/dev/synthetic`, never a reported one while tuning): the
train events of `world/events.parquet` become an oracle pseudo_queries table (one query per event: its
true bounds, tokens = its action then its object, the form pseudo-queries have), which the workflow's own
commands then train on, predict with and evaluate (`psvl train`, `psvl predict`, `psvl evaluate`, with
the run's `config.effective.yaml` and its feature shards). It prints R@0.5, R@0.7, mIoU and the
query-shuffled R@0.5 of the oracle beside the run's own `eval/metrics.json`: the gap between the two rows
is what the pseudo-labels lose; the gap between the oracle and query-shuffled is what the model can read
from words at all.

On a Charades timelines run (`config/charades_timelines.yaml`: the run folder has `standins/train.txt`),
the oracle is the training videos' true Charades-STA train sentences and moments (dev videos are never in
it), tokens from the project's tagger (verbs then nouns, as pseudo-queries have them).

    python -m experiments.oracle_labels --results results/dev/synthetic --seeds 0 1 2
    python -m experiments.oracle_labels --results results/dev/synthetic --set model.named_channels=false
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import yaml

from experiments._workflow import run_logged
from psvl.config import model_input_folder
from psvl.core.artifacts import read_frame, write_table


def oracle_queries(results: Path, features: list[Path]) -> pd.DataFrame:
    """The pseudo_queries table of the world's true train events (durations from the feature segments)."""
    events = pd.read_parquet(results / "world" / "events.parquet")
    events = events[events["split"] == "train"].reset_index(drop=True)
    ends = pd.concat([read_frame(p, columns=["video_id", "end_s"]) for p in features])
    duration = ends.groupby("video_id")["end_s"].max()
    events = events[events["video_id"].isin(duration.index)]
    return pd.DataFrame(
        {
            "query_id": [f"{v}#truth{i}" for v, i in zip(events["video_id"], events["event_idx"])],
            "video_id": events["video_id"].astype(str),
            "start_s": events["start_s"].astype(float),
            "end_s": events["end_s"].astype(float),
            "duration_s": events["video_id"].map(duration).astype(float),
            "verbs": [[a] for a in events["action"]],
            "nouns": [[o] for o in events["object"]],
            "tokens": [[a, o] for a, o in zip(events["action"], events["object"])],
        }
    )


def oracle_queries_timelines(results: Path, features: list[Path]) -> pd.DataFrame:
    """The pseudo_queries table of the timelines benchmark's training videos' true train sentences."""
    from psvl.language.simplify import read_any_annotations
    from psvl.language.tagger import Tagger

    ann = read_any_annotations(results / "standins" / "train.txt")
    ends = pd.concat([read_frame(p, columns=["video_id", "end_s"]) for p in features])
    duration = ends.groupby("video_id")["end_s"].max()
    ann = ann[ann["video_id"].isin(duration.index)].reset_index(drop=True)
    tagged = Tagger(simplify="psvl").tag(ann["sentence"].tolist())
    return pd.DataFrame(
        {
            "query_id": [f"{q}#truth" for q in ann["query_id"]],
            "video_id": ann["video_id"].astype(str),
            "start_s": ann["start_s"].astype(float),
            "end_s": ann["end_s"].astype(float),
            "duration_s": ann["video_id"].map(duration).astype(float),
            "verbs": [t.verbs for t in tagged],
            "nouns": [t.nouns for t in tagged],
            "tokens": [t.tokens for t in tagged],
        }
    )


def summary(metrics: dict) -> str:
    shuffled = metrics["baselines"]["query_shuffled"]["R@0.5"]
    return (
        f"R@0.5 {metrics['R@0.5']:.3f} R@0.7 {metrics['R@0.7']:.3f} mIoU {metrics['mIoU']:.3f} | "
        f"query-shuffled R@0.5 {shuffled:.3f} (gap {metrics['R@0.5'] - shuffled:+.3f})"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--results",
        type=Path,
        required=True,
        help="a finished run's dataset folder (synthetic or charades_timelines)",
    )
    ap.add_argument("--seeds", type=int, nargs="+", default=[0], help="train.seed values")
    ap.add_argument("--set", action="append", default=[], help="config overrides (psvl --set KEY=VALUE)")
    ap.add_argument("--out", type=Path, help="where the oracle runs go (default RESULTS/oracle)")
    args = ap.parse_args()
    res, out = args.results, args.out or args.results / "oracle"
    config = res / "config.effective.yaml"
    visual = yaml.safe_load(config.read_text())["model"]["visual_input"]
    features = sorted((res / model_input_folder(visual)).glob("*.parquet"))
    out.mkdir(parents=True, exist_ok=True)
    timelines = (res / "standins" / "train.txt").exists()
    queries = (oracle_queries_timelines if timelines else oracle_queries)(res, features)
    events = [] if timelines else ["--events", str(res / "world" / "events.parquet")]
    table = out / "oracle_queries.parquet"
    write_table("pseudo_queries", pa.Table.from_pandas(queries, preserve_index=False), table, "oracle")
    print(f"{len(queries)} true train events of {queries['video_id'].nunique()} videos -> {table}")
    feats = [str(p) for p in features]
    common = ["--config", str(config), *[a for s in args.set for a in ("--set", s)]]
    own = json.loads((res / "eval" / "metrics.json").read_text())
    print(f"{'the run (pseudo-queries)':<28} {summary(own)}")
    for seed in args.seeds:
        d = out / f"seed{seed}"
        d.mkdir(exist_ok=True)
        seeded = [*common, "--set", f"train.seed={seed}"]
        run_logged(
            ["psvl", "train", "--pseudo-queries", str(table), "--features", *feats, "--vocab",
             str(res / "corpus" / "vocab.parquet"), "--out-dir", str(d / "model"), *seeded],
            d / "train.log",
        )  # fmt: skip
        run_logged(
            ["psvl", "predict", "--model", str(d / "model"), "--test-queries", str(res / "test_queries.parquet"),
             "--features", *feats, "--out", str(d / "predictions.parquet"), *seeded],
            d / "predict.log",
        )  # fmt: skip
        run_logged(
            ["psvl", "evaluate", "--pred", str(d / "predictions.parquet"), "--gt",
             str(res / "test_queries.parquet"), "--train-moments", str(table), "--vocab",
             str(d / "model" / "best.pt"), "--out", str(d / "metrics.json"), *events, *seeded],
            d / "evaluate.log",
        )  # fmt: skip
        metrics = json.loads((d / "metrics.json").read_text())
        print(f"{f'oracle labels, seed {seed}':<28} {summary(metrics)}", flush=True)


if __name__ == "__main__":
    main()
