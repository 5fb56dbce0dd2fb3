"""Batched detection (psvl detect) vs one image at a time (the way detectron2's DefaultPredictor runs:
decode one JPEG, one forward pass, convert), same model, same frames, same thresholds.

    python -m benchmarks.bench_detect                       # fasterrcnn_tiny (random init), 128 synthetic frames
    python -m benchmarks.bench_detect --checkpoint results/synthetic/detector/model.pt --frames results/synthetic/frames/00000.parquet
    python -m benchmarks.bench_detect --name fasterrcnn_mobilenet_v3_large_320_fpn --input-size 128

Prints the median seconds of each over --repeats runs and the ratio (peer / batched).
"""

from __future__ import annotations

import argparse
import io
import statistics
import time

import numpy as np
import pyarrow as pa
import torch
from PIL import Image

from psvl.config import default
from psvl.core.artifacts import read_table
from psvl.detection.config import DetectorConfig
from psvl.detection.detect import detect_frames, to_rows
from psvl.detection.detectors import load_detector
from psvl.detection.nouns import noun_of


def synthetic_frames(n: int, size: int = 128, seed: int = 0) -> pa.Table:
    """`n` JPEG frames of coloured discs and squares over a noisy gradient (like the synthetic world)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    rows = {"video_id": [], "frame_idx": [], "time_s": [], "width": [], "height": [], "jpeg": []}
    for i in range(n):
        img = (rng.uniform(40, 200, 3) * (xx[..., None] / size) + rng.normal(0, 10, (size, size, 3))).clip(
            0, 255
        )
        cx, cy, r = rng.integers(20, size - 20, 2).tolist() + [int(rng.integers(9, 20))]
        shape = (
            (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r if i % 2 else (abs(xx - cx) <= r) & (abs(yy - cy) <= r)
        )
        img[shape] = rng.uniform(0, 255, 3)
        buf = io.BytesIO()
        Image.fromarray(img.astype(np.uint8)).save(buf, format="JPEG", quality=90)
        for key, value in zip(rows, (f"v{i // 32}", i % 32, (i % 32) / 2, size, size, buf.getvalue())):
            rows[key].append(value)
    return pa.table(rows)


def one_at_a_time(frames: pa.Table, detector, cfg: DetectorConfig) -> int:
    """The peer: DefaultPredictor-style, one decoded image per forward pass."""
    nouns = {i: noun_of(n, cfg.noun_map) for i, n in enumerate(detector.labels)}
    n_rows = 0
    for jpeg in frames.column("jpeg").to_pylist():
        rgb = np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB"))
        image = torch.from_numpy(rgb.copy()).permute(2, 0, 1).float().div_(255)
        boxes, scores, labels = detector.predict([image])[0]
        n_rows += len(
            to_rows(boxes, scores, labels, detector.labels, nouns, cfg.score_threshold, cfg.max_per_frame)
        )
    return n_rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--name", help="detector.name (default: the config schema's)")
    ap.add_argument("--checkpoint", help="a psvl train-detector model.pt (else random init, weights none)")
    ap.add_argument("--frames", help="a frames Parquet (else --n synthetic 128 px frames)")
    ap.add_argument("--n", type=int, default=128)
    ap.add_argument("--batch-size", type=int, help="detector.batch_size (default: the config schema's)")
    ap.add_argument("--input-size", type=int, help="detector.input_size (default: the config schema's)")
    ap.add_argument("--score-threshold", type=float, help="detector.score_threshold (default: the schema's)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    frames = read_table(args.frames, "frames").slice(0, args.n) if args.frames else synthetic_frames(args.n)
    given = {
        "name": args.name,
        "batch_size": args.batch_size,
        "input_size": args.input_size,
        "score_threshold": args.score_threshold,
    }
    overrides = {k: v for k, v in given.items() if v is not None}
    weights = "trained" if args.checkpoint else "none"
    cfg = default(DetectorConfig, "detector", weights=weights, device="cpu", **overrides)
    detector = load_detector(cfg, args.checkpoint)
    print(f"{detector.name} ({detector.weights}), {frames.num_rows} frames, {torch.get_num_threads()} threads, "
          f"batch {cfg.batch_size}")  # fmt: skip
    detect_frames(frames.slice(0, 4), detector, cfg)  # warm-up both paths
    one_at_a_time(frames.slice(0, 4), detector, cfg)
    times: dict[str, list[float]] = {"batched": [], "one_at_a_time": []}
    counts = {}
    for _ in range(args.repeats):
        t = time.perf_counter()
        counts["batched"] = detect_frames(frames, detector, cfg)[0].num_rows
        times["batched"].append(time.perf_counter() - t)
        t = time.perf_counter()
        counts["one_at_a_time"] = one_at_a_time(frames, detector, cfg)
        times["one_at_a_time"].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in times.items()}
    for k in times:
        print(
            f"{k:>14}: median {med[k]:.3f} s ({frames.num_rows / med[k]:.1f} frames/s), {counts[k]} detections"
        )
    print(f"ratio one_at_a_time / batched: {med['one_at_a_time'] / med['batched']:.2f}x")


if __name__ == "__main__":
    main()
