"""Stand-in inputs of the release path at the real shapes, for runs without PSVL's real features.

Charades-STA: one I3D-like `.npy` (T x 1024) per video, T = ceil(duration x rate) from charades.json
(rate 1.5/s: one 16-frame clip per 16 frames at 24 fps), for every video of the test file and of the
pseudo-label JSON. ActivityNet Captions: one HDF5 file of C3D-like `f[vid]['c3d_features']` (T x 500) for
every video of the test files and of the pseudo-labels; PSVL released no ActivityNet pseudo-labels, so
stand-in ones are drawn from the train videos (moments 0.15-0.84 of a video, as in the Charades release;
tokens from the video's own captions). Features are seeded noise: shapes, counts and I/O are real, the
numbers the model reaches are not. Used by benchmarks/bench_release_scale.py and tests/workflow/test_release.py.
"""

from __future__ import annotations

import json
import math
import random
import re
from pathlib import Path

import h5py
import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
I3D_DIM, C3D_DIM = 1024, 500
WORD = re.compile(r"[a-z]+")
STOP = {"a", "an", "the", "and", "of", "to", "in", "on", "is", "are", "his", "her", "their", "with", "while"}


def _length(duration: float, rate: float) -> int:
    return max(1, math.ceil(duration * rate))


def _charades_test(path: Path, n_queries: int | None) -> list[str]:
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    return lines[:n_queries] if n_queries else lines


def charades(
    out: Path,
    data: Path,
    n_test_queries: int | None = None,
    n_pseudo: int | None = None,
    rate: float = 1.5,
    dtype: str = "float32",
    seed: int = 0,
    all_videos: bool = False,
) -> dict:
    """Write features/, test.txt, pseudo_labels.json under `out` (subsets when `n_*` are given) and a
    config from config/charades_sta_psvl_release.yaml pointing at them; returns paths and counts.
    `all_videos`: features for every video of the whole release even when `n_pseudo` samples it."""
    out.mkdir(parents=True, exist_ok=True)
    durations = {
        k: float(v["duration"])
        for k, v in json.loads((data / "charades-sta/charades.json").read_text()).items()
    }
    test = _charades_test(data / "charades-sta/charades_sta_test.txt", n_test_queries)
    (out / "test.txt").write_text("\n".join(test) + "\n", encoding="utf-8")
    pseudo = json.loads((data / "psvl-reference/charades_train_pseudo_supervision_TEP_PS.json").read_text())
    n_all = len(pseudo)
    # features for every video of the release (a short epoch trains on a sample of its labels)
    videos = sorted({ln.split()[0] for ln in test} | {p["vid"] for p in (pseudo if all_videos else [])})
    if n_pseudo:
        pseudo = random.Random(seed).sample(pseudo, min(n_pseudo, len(pseudo)))
    videos = sorted(set(videos) | {p["vid"] for p in pseudo})
    (out / "pseudo_labels.json").write_text(json.dumps(pseudo), encoding="utf-8")
    feats = out / "features"
    feats.mkdir(exist_ok=True)
    rng = np.random.default_rng(seed)
    n_bytes = 0
    for vid in videos:
        arr = rng.standard_normal((_length(durations[vid], rate), I3D_DIM), dtype=np.float32).astype(dtype)
        np.save(feats / f"{vid}.npy", arr)
        n_bytes += arr.nbytes
    cfg = _config(
        "charades_sta_psvl_release.yaml",
        out,
        features_dir=str(feats),
        pseudo_labels=str(out / "pseudo_labels.json"),
        annotations=str(out / "test.txt"),
        durations=str(data / "charades-sta/charades.json"),
    )
    return {
        "config": cfg,
        "videos": len(videos),
        "test_queries": len(test),
        "pseudo": len(pseudo),
        "pseudo_all": n_all,
        "bytes": n_bytes,
    }


def _activitynet_pseudo(train: dict, seed: int) -> list[dict]:
    rng = random.Random(seed)
    records = []
    for vid, item in sorted(train.items()):
        words = [w for s in item["sentences"] for w in WORD.findall(s.lower()) if w not in STOP]
        if not words or not item["duration"]:
            continue
        for _ in range(2):
            length = rng.uniform(0.15, 0.84)
            start = rng.uniform(0.0, 1.0 - length)
            tokens = [rng.choice(words) for _ in range(8)]
            records.append(
                {
                    "timestamp": [start, start + length],
                    "duration": float(item["duration"]),
                    "vid": vid,
                    "tokens": tokens,
                }
            )
    return records


def activitynet(
    out: Path,
    data: Path,
    n_test_videos: int | None = None,
    n_pseudo: int | None = None,
    rate: float = 1.0,
    dtype: str = "float32",
    seed: int = 0,
    all_videos: bool = False,
) -> dict:
    """Write features.h5, val_1.json, val_2.json (subsets of `n_test_videos` when given) and
    pseudo_labels.json under `out`, and a config from config/activitynet_captions_psvl_release.yaml."""
    out.mkdir(parents=True, exist_ok=True)
    root = data / "activitynet-captions"
    tests, n_queries = [], 0
    for name in ("val_1", "val_2"):
        ann = json.loads((root / f"{name}.json").read_text())
        if n_test_videos:
            ann = dict(sorted(ann.items())[:n_test_videos])
        n_queries += sum(len(v["sentences"]) for v in ann.values())
        (out / f"{name}.json").write_text(json.dumps(ann), encoding="utf-8")
        tests.append(ann)
    every = _activitynet_pseudo(json.loads((root / "train.json").read_text()), seed)
    pseudo = random.Random(seed).sample(every, min(n_pseudo, len(every))) if n_pseudo else every
    (out / "pseudo_labels.json").write_text(json.dumps(pseudo), encoding="utf-8")
    durations = {p["vid"]: p["duration"] for p in (every if all_videos else pseudo)}
    for ann in tests:
        durations.update({k: float(v["duration"]) for k, v in ann.items()})
    rng = np.random.default_rng(seed)
    n_bytes = 0
    with h5py.File(out / "features.h5", "w") as h5:
        for vid in sorted(durations):
            arr = rng.standard_normal((_length(durations[vid], rate), C3D_DIM), dtype=np.float32).astype(
                dtype
            )
            h5.create_group(vid).create_dataset("c3d_features", data=arr)
            n_bytes += arr.nbytes
    cfg = _config(
        "activitynet_captions_psvl_release.yaml",
        out,
        features_dir=str(out / "features.h5"),
        pseudo_labels=str(out / "pseudo_labels.json"),
        annotations=[str(out / "val_1.json"), str(out / "val_2.json")],
    )
    return {
        "config": cfg,
        "videos": len(durations),
        "test_queries": n_queries,
        "pseudo": len(pseudo),
        "pseudo_all": len(every),
        "bytes": n_bytes,
    }


def _config(shipped: str, out: Path, **dataset) -> Path:
    """The shipped release config with its dataset paths pointed at the stand-ins (written to `out`)."""
    cfg = yaml.safe_load((REPO / "config" / shipped).read_text())
    cfg["dataset"].update(dataset)
    path = out / "config.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    return path


def empty_videos(folder: Path, video_ids) -> int:
    """Empty stand-in .mp4 files (enough to list and plan the raw-video DAG: `snakemake -n`)."""
    folder.mkdir(parents=True, exist_ok=True)
    for vid in video_ids:
        (folder / f"{vid}.mp4").touch()
    return len(video_ids)
