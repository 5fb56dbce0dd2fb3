"""The CUDA paths against the CPU: one prepared check for a session that has a GPU (under 5 minutes).

Each part runs the same seeded inputs through the same seeded weights on the CPU (float32) and on
`--device` (default cuda, with the autocast the stage uses there), and prints timings and agreement:

  features   a batch of frames through a seeded random-init backbone (psvl.features.extractors.embed;
             bf16 autocast on CUDA): max abs difference, relative to the largest CPU feature, and the
             lowest cosine similarity between a frame's two feature vectors
  detection  a few frames through a seeded random-init detector (psvl.detection.detectors.load_detector;
             fp16 autocast on CUDA): boxes per frame on each device, and for the CPU's boxes the IoU of
             the best same-label box on the device (mean, and the share at IoU >= 0.5)
  training   PSVLNet training steps (psvl.localization.model; Adam, the loss of psvl train, bf16 autocast
             or fp16 + GradScaler on CUDA as train.amp does, dropout 0 so both devices draw nothing
             random) from the same initial weights on the same batches: max relative difference of the
             loss curves

The tolerances (TOLERANCES) are first guesses for bf16/fp16 against float32; the exit status is 1 when a
part misses one. `--device cpu` runs the same plumbing CPU against CPU (all differences 0), which is what
tests/benchmarks/test_gpu_check.py runs on machines without a GPU.

    python -m benchmarks.gpu_check                          # CUDA vs CPU, ~1 min
    python -m benchmarks.gpu_check --json $OUT/gpu_check.json
    python -m benchmarks.gpu_check --device cpu --quick     # the plumbing only, seconds

`--full` is the GPU acceptance run: the check above, then throughput at real geometry
(benchmarks/gpu_throughput.py: detector frames/s at 480x360, R(2+1)D clips/s, PSVLNet training steps/s at
PSVL's sizes, and the released model's step with `--reference DIR`), all in one JSON (default
benchmarks/out/gpu_acceptance.json); under 8 minutes on one H100. Its path imports torch, torchvision,
numpy, pandas, pyarrow, scikit-learn, PyYAML and jsonschema only; docs/benchmarks.md says what each
figure is compared with.

    python -m benchmarks.gpu_check --full --reference /tmp/psvl_ref
    python -m benchmarks.gpu_check --full --device cpu --quick   # what CI runs
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torchvision.ops import box_iou

from benchmarks._timing import timed
from psvl.config import default
from psvl.core.spans import segment_mask
from psvl.detection.config import DetectorConfig
from psvl.detection.detectors import load_detector
from psvl.features.extractors import build_extractor, embed
from psvl.localization.model import ModelConfig, PSVLConfig, PSVLNet, localization_loss

FULL_JSON = Path("benchmarks/out/gpu_acceptance.json")  # git-ignored
TOLERANCES = {
    "features_rel_max_abs_diff": 0.05,  # bf16 keeps ~3 significant digits
    "features_min_cosine": 0.99,
    "detection_matched_share": 0.8,  # share of CPU boxes with a same-label device box at IoU >= 0.5
    "training_loss_max_rel_diff": 0.05,
}


@dataclass
class Sizes:
    frames: int = 16  # features: frames per batch
    frame_size: int = 224
    extractor: str = "resnet18"
    detect_frames: int = 4
    detect_size: int = 128
    steps: int = 20  # training steps (~1 s each on 2 CPU cores)
    batch: int = 32
    segments: int = 32
    video_dim: int = 256
    width: int = 64  # word_dim = hidden = fusion_dim


QUICK = Sizes(frames=2, frame_size=64, detect_frames=2, detect_size=96, steps=4, batch=8, segments=16,
              video_dim=32, width=16)  # fmt: skip


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def second_call(fn: Callable[[], object], device: torch.device) -> tuple[object, float]:
    """(result, seconds) of the second of two calls: the first pays for CUDA start-up and autotuning."""
    t = timed(fn, warmup=1, sync=lambda: _sync(device))
    return t.result, t.wall


def _smooth_images(n: int, size: int, seed: int) -> torch.Tensor:
    """(n, 3, size, size) float in [0, 1]: upsampled 8x8 noise, so there are blobs and edges to find."""
    g = torch.Generator().manual_seed(seed)
    return F.interpolate(torch.rand(n, 3, 8, 8, generator=g), size=(size, size), mode="bilinear")


def check_features(device: torch.device, s: Sizes) -> dict:
    frames = (_smooth_images(s.frames, s.frame_size, seed=1) * 255).to(torch.uint8)
    feats, seconds = {}, {}
    for key, dev in (("cpu", torch.device("cpu")), ("device", device)):
        extractor = build_extractor(s.extractor, "none", seed=0)  # seeded: the same weights on each device
        feats[key], seconds[key] = second_call(
            lambda ex=extractor, d=dev: embed(ex, frames, batch_size=len(frames), device=d), dev
        )
    cpu, dev = torch.from_numpy(feats["cpu"]), torch.from_numpy(feats["device"])
    diff = float((cpu - dev).abs().max())
    return {
        "seconds": seconds,
        "shape": list(cpu.shape),
        "max_abs_diff": diff,
        "rel_max_abs_diff": diff / max(float(cpu.abs().max()), 1e-12),
        "min_cosine": float(F.cosine_similarity(cpu, dev, dim=1).min()),
    }


def check_detection(device: torch.device, s: Sizes, name: str) -> dict:
    images = list(_smooth_images(s.detect_frames, s.detect_size, seed=2))
    outputs, seconds = {}, {}
    for key, dev in (("cpu", torch.device("cpu")), ("device", device)):
        # score_threshold 0.05: a random-init detector scores near 0.5, so keep the boxes below it too
        cfg = default(
            DetectorConfig, "detector", name=name, weights="none", device=str(dev), score_threshold=0.05
        )
        detector = load_detector(cfg)
        outputs[key], seconds[key] = second_call(lambda d=detector: d.predict(images), dev)
    ious, counts = [], []
    for (cb, _, cl), (db, _, dl) in zip(outputs["cpu"], outputs["device"], strict=True):
        counts.append([len(cb), len(db)])
        if len(cb) and len(db):
            same = cl[:, None] == dl[None, :]
            ious.extend((box_iou(cb, db) * same).max(1).values.tolist())
        else:
            ious.extend([0.0] * len(cb))
    ious_a = np.asarray(ious) if ious else np.ones(1)  # no CPU box at all: nothing to disagree on
    return {
        "seconds": seconds,
        "boxes_per_frame": counts,
        "counts_equal": all(a == b for a, b in counts),
        "mean_matched_iou": float(ious_a.mean()),
        "matched_share": float((ious_a >= 0.5).mean()),
    }


def amp_dtype(device: torch.device) -> torch.dtype | None:
    """The autocast dtype of psvl train on `device` (train.amp): bf16 where CUDA has it, else fp16 (with a
    GradScaler); None on the CPU, which trains in float32 (train.cpu_bf16 off)."""
    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def _training_batches(s: Sizes, vocab: int, n: int) -> list[dict]:
    g = torch.Generator().manual_seed(3)
    out = []
    for _ in range(n):
        n_valid = torch.randint(s.segments // 2, s.segments + 1, (s.batch,), generator=g)
        n_tok = torch.randint(2, 9, (s.batch,), generator=g)
        target = torch.rand(s.batch, 2, generator=g).sort(1).values
        out.append(
            {
                "tokens": torch.randint(4, vocab, (s.batch, 8), generator=g),
                "token_mask": torch.arange(8)[None] < n_tok[:, None],
                "video": torch.randn(s.batch, s.segments, s.video_dim, generator=g),
                "video_mask": torch.arange(s.segments)[None] < n_valid[:, None],
                "target": target,
                "guide": torch.from_numpy(segment_mask(target.numpy(), s.segments, n_valid.numpy())),
            }
        )
    return out


def train_step(model: PSVLNet, b: dict, opt, scaler, dtype: torch.dtype | None) -> torch.Tensor:
    """One step as psvl.localization.train.Trainer.train_epoch takes it (autocast, scaler); the loss."""
    device = b["video"].device
    with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
        out = model(b["tokens"], b["token_mask"], b["video"], b["video_mask"])
    loss = localization_loss(out["moment"], b["target"], out["attention"], b["guide"])["loss"]
    opt.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.step(opt)
    scaler.update()
    return loss


def _train(model: PSVLNet, batches: list[dict], device: torch.device) -> list[float]:
    """Steps as training takes them (no schedule: a constant lr)."""
    model = model.to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=4e-4)
    dtype = amp_dtype(device)
    scaler = torch.amp.GradScaler(enabled=dtype == torch.float16)
    losses = []
    for b in batches:
        b = {k: v.to(device) for k, v in b.items()}
        losses.append(float(train_step(model, b, opt, scaler, dtype).detach()))
    return losses


def check_training(device: torch.device, s: Sizes) -> dict:
    model_cfg = default(
        ModelConfig, "model", word_dim=s.width, hidden=s.width, fusion_dim=s.width, fusion_layers=2,
        nonlocal_blocks=1, dropout=0.0,
    )  # fmt: skip
    torch.manual_seed(0)
    initial = PSVLNet(PSVLConfig.from_model(model_cfg, vocab_size=50, video_dim=s.video_dim))
    batches = _training_batches(s, vocab=50, n=s.steps)
    curves, seconds = {}, {}
    for key, dev in (("cpu", torch.device("cpu")), ("device", device)):
        _train(copy.deepcopy(initial), batches[:1], dev)  # warm-up on a throwaway copy
        t = timed(lambda d=dev: _train(copy.deepcopy(initial), batches, d), sync=lambda d=dev: _sync(d))
        curves[key], seconds[key] = t.result, t.wall
    cpu, dev = np.asarray(curves["cpu"]), np.asarray(curves["device"])
    return {
        "seconds": seconds,
        "steps": s.steps,
        "parameters": sum(p.numel() for p in initial.parameters()),
        "loss_cpu": cpu.round(5).tolist(),
        "loss_device": dev.round(5).tolist(),
        "loss_max_rel_diff": float((np.abs(cpu - dev) / np.maximum(np.abs(cpu), 1e-12)).max()),
    }


def verdicts(report: dict) -> dict[str, bool]:
    f, d, t = report["features"], report["detection"], report["training"]
    return {
        "features": f["rel_max_abs_diff"] <= TOLERANCES["features_rel_max_abs_diff"]
        and f["min_cosine"] >= TOLERANCES["features_min_cosine"],
        "detection": d["matched_share"] >= TOLERANCES["detection_matched_share"],
        "training": t["loss_max_rel_diff"] <= TOLERANCES["training_loss_max_rel_diff"],
    }


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda", help="the device checked against the CPU (cuda, cuda:N, cpu)")
    ap.add_argument("--quick", action="store_true", help="tiny sizes and 4 training steps (seconds)")
    ap.add_argument("--detector", default="fasterrcnn_tiny", help="a registered detector name (weights none)")
    ap.add_argument("--threads", type=int, help="CPU threads (default: torch's, all cores)")
    ap.add_argument(
        "--full", action="store_true", help="the acceptance run: also throughput at real geometry"
    )
    ap.add_argument(
        "--reference", type=Path, help="--full: also time the released PSVL model (its work tree)"
    )
    ap.add_argument("--json", type=Path, help=f"also write the report here (--full: default {FULL_JSON})")
    args = ap.parse_args(argv)
    if args.reference is not None and not args.full:
        ap.error("--reference needs --full")
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit(
            "--device cuda: torch.cuda.is_available() is False here; run on a GPU or pass --device cpu"
        )
    if args.threads:
        torch.set_num_threads(args.threads)
    sizes = QUICK if args.quick else Sizes()
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(
        f"gpu_check: {device} ({name}) vs cpu, torch {torch.__version__}, {'quick' if args.quick else 'full'} sizes"
    )
    report = {"device": str(device), "device_name": name, "torch": torch.__version__, "quick": args.quick}
    parts = {
        "features": lambda: check_features(device, sizes),
        "detection": lambda: check_detection(device, sizes, args.detector),
        "training": lambda: check_training(device, sizes),
    }
    for part, run in parts.items():
        report[part] = run()
        secs = ", ".join(
            f"{k.replace('device', str(device))} {t:.2f} s" for k, t in report[part]["seconds"].items()
        )
        numbers = {k: v for k, v in report[part].items() if k not in ("seconds", "loss_cpu", "loss_device")}
        print(f"{part:>10}: {secs}; " + ", ".join(f"{k} {_fmt(v)}" for k, v in numbers.items()))
    report["ok"] = verdicts(report)
    print(
        "agreement within tolerances: "
        + ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in report["ok"].items())
    )
    if args.full:
        from benchmarks.gpu_throughput import throughput  # imports this module: not at the top

        print(f"throughput on {device} ({'quick' if args.quick else 'real'} sizes):")
        detector = args.detector if args.quick else None  # real sizes: the schema's detector
        report["throughput"] = throughput(device, args.quick, detector, args.reference, print)
        for name, p in report["throughput"]["projections"].items():
            print(f"{name:>22}: detection {p['detection_hours']:.3g} h, clip features {p['features_hours']:.3g} h "
                  f"({p['videos']} videos x {p['frames_per_video']:g} frames) on {device}")  # fmt: skip
    path = args.json or (FULL_JSON if args.full else None)
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report | {"tolerances": TOLERANCES}, indent=1))
        print(f"report: {path}")
    return report


def _fmt(v: object) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


if __name__ == "__main__":
    sys.exit(0 if all(main()["ok"].values()) else 1)
