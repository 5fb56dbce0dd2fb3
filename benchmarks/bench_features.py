"""Features speed on CPU: batched extraction vs one frame at a time (JPEG decode + resnet18 forward).

Both paths run `psvl.features.features.extract_features` on the same frames table (128 px JPEGs, the
synthetic default); only `features.batch_size` differs (the shipped default vs 1). Medians of --repeats runs; the model
is built once, so the numbers are the per-frame cost a shard pays.

    python -m benchmarks.bench_features              # ~1 minute on 2 idle cores
    python -m benchmarks.bench_features --frames 256 --extractor resnet50
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import warnings

import numpy as np
import pandas as pd
import torch
from torchvision.io import encode_jpeg

from benchmarks._timing import timed
from psvl.config import default
from psvl.features.extractors import build_extractor
from psvl.features.features import FeaturesConfig, extract_features


def frames_table(n: int, size: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        for k in range(n):
            img = torch.from_numpy(rng.integers(0, 255, (3, size, size), dtype=np.uint8))
            jpeg = encode_jpeg(img, quality=90).numpy().tobytes()
            rows.append(
                {
                    "video_id": f"v{k // 32}",
                    "frame_idx": k,
                    "time_s": (k % 32) / 2.0,
                    "width": size,
                    "height": size,
                    "jpeg": jpeg,
                }
            )
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=32)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--extractor", help="features.extractor (default: the config schema's)")
    ap.add_argument("--batch-size", type=int, help="features.batch_size (default: the config schema's)")
    args = ap.parse_args()
    given = {"extractor": args.extractor, "batch_size": args.batch_size}
    shipped = default(FeaturesConfig, "features", device="cpu", **{k: v for k, v in given.items() if v})
    frames = frames_table(args.frames, args.size)
    extractor = build_extractor(shipped.extractor, "none", 0)
    print(
        f"{shipped.extractor} on {args.frames} frames of {args.size}px, torch threads {torch.get_num_threads()}, "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    result = {}
    for bs in (shipped.batch_size, 1):
        cfg = dataclasses.replace(shipped, batch_size=bs)
        extract_features(frames.head(4), cfg, {"fps": 2.0}, extractor=extractor)  # warm-up
        t = timed(
            lambda c=cfg: extract_features(frames, c, {"fps": 2.0}, extractor=extractor),
            args.repeats,
            per=args.frames / 1000,  # ms per frame
            children=False,
        )
        result[bs] = (t.wall, t.cpu)
        print(
            f"batch_size {bs:3d}: {result[bs][0]:7.2f} ms/frame wall, {result[bs][1]:7.2f} ms/frame CPU "
            f"(median of {args.repeats})"
        )
    wall, cpu = (result[1][i] / result[shipped.batch_size][i] for i in (0, 1))
    print(
        f"batched is {wall:.2f}x faster than one frame at a time in wall time (target >= 1.5x), {cpu:.2f}x in CPU time"
    )


if __name__ == "__main__":
    main()
