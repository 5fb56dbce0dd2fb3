"""`psvl features`: one feature vector per temporal segment for one shard's videos."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
import torch

from psvl.commands._common import add_config_arguments, load_config, shard_name
from psvl.config import build
from psvl.core import console
from psvl.core.artifacts import read_frame, write_table
from psvl.core.failures import FailureLog
from psvl.datasets.shards import videos_of_shard
from psvl.features.class_scores import head_scores, scores_shaping
from psvl.features.extractors import WeightsError, build_extractor
from psvl.features.features import FeaturesConfig, extract_features, shaping


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--manifest",
        required=True,
        help="the shard's list shards/{shard}.tsv, or manifest.parquet with --shard",
    )
    parser.add_argument("--shard", help="shard number, e.g. 00003 (with a manifest.parquet)")
    parser.add_argument("--frames", required=True, help="frames/{shard}.parquet (2D extractors read it)")
    parser.add_argument("--out", required=True, help="features/{shard}.parquet to write")
    parser.add_argument("--failures", required=True, help="failures/features/{shard}.parquet to write")
    parser.add_argument(
        "--class-scores",
        help="class_scores/{shard}.parquet to write with features.class_scores: true (default: the "
        "class_scores folder beside the features folder, same file name)",
    )
    parser.add_argument(
        "--durations", help="optional CSV video_id,duration_s placing precomputed features in time"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="torch CPU threads (the rule passes its threads); 0 = torch default",
    )
    add_config_arguments(parser)


def run(args: argparse.Namespace) -> int:
    cfg = load_config(args)
    if args.threads > 0:
        torch.set_num_threads(args.threads)  # a cluster node runs several jobs: do not take every core
    fcfg = build(FeaturesConfig, cfg["features"])
    paths = dict(videos_of_shard(args.manifest, args.shard))
    columns = None if fcfg.extractor != "precomputed" else ["video_id", "frame_idx", "time_s"]
    frames = read_frame(args.frames, "frames" if columns is None else None, columns=columns)
    frames = frames[frames["video_id"].isin(paths)] if paths else frames
    durations = None
    if args.durations:
        table = pd.read_csv(args.durations)
        durations = dict(zip(table["video_id"].astype(str), table["duration_s"].astype(float)))
    failures = FailureLog("features")
    if args.class_scores and not fcfg.class_scores:
        print("psvl features: --class-scores needs features.class_scores: true", file=sys.stderr)
        return 2
    try:
        extractor = build_extractor(fcfg.extractor, fcfg.weights, fcfg.seed) if fcfg.class_scores else None
        df = extract_features(
            frames,
            fcfg,
            cfg["frames"],
            failures=failures,
            video_paths=paths,
            extractor=extractor,
            durations=durations,
        )
    except (
        WeightsError,
        FileNotFoundError,
    ) as exc:  # a setup problem (weights, precomputed_path), not a video
        print(f"psvl features: {exc}", file=sys.stderr)
        return 2
    dim = len(df["feature"].iloc[0]) if len(df) else None
    fshaping = shaping(fcfg, cfg["frames"], dim)
    write_table("features", df, args.out, stage="features", shaping=fshaping)
    if extractor is not None:
        out = args.class_scores or Path(args.out).parent.parent / "class_scores" / Path(args.out).name
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        scores = head_scores(extractor, df)
        write_table(
            "class_scores", scores, out, stage="features", shaping=scores_shaping(extractor, fshaping)
        )
    failures.write(args.failures)
    console.done(
        f"features {shard_name(args)}",
        console.count(df["video_id"].nunique() if len(df) else 0, "video"),
        console.count(len(df), "segment"),
        f"dim {dim}",
        console.count(len(failures), "failure"),
    )
    return 0
