"""Throughput at real geometry on one device: the figures `gpu_check --full` adds to its agreement check.

  detector    frames/s of the configured detector (schema default: Faster R-CNN R50-FPN v2, weights none)
              on 480x360 frames (Charades geometry), the configured batch (detector.batch_size), through
              Detector.predict (fp16 autocast on CUDA, as psvl detect)
  clips       R(2+1)D-18 clips/s (weights none): clips of features.clip_frames frames at the model's input
              size, features.batch_size // CLIP_COST clips a pass, through embed (bf16 autocast on CUDA)
  training    PSVLNet training steps/s at PSVL's sizes: the schema's model defaults, train.batch_size
              queries of model.max_query_tokens tokens, model.num_segments segments of 1024-d (PSVL's I3D)
              features; Adam and the loss of psvl train, with train.amp's autocast on CUDA
  reference   with `--reference DIR` (a work tree of gistvision/PSVL): the released SimpleModel's step at
              the same shapes, its own loss and Adam (benchmarks.bench_train.load_released), in float32
              as its train.py runs; its config parser needs yacs, and a dict-based stand-in is used where
              yacs is not installed

Each figure is the rate over repeated calls after one warm-up call (CUDA start-up, cuDNN autotuning),
for at most `max_calls` calls or `max_seconds` seconds. Detection and clip rates are projected to GPU-hours
for the Charades-STA and ActivityNet configs (their frames.fps, videos of 30 s and 120 s).
"""

from __future__ import annotations

import copy
import importlib.util
import sys
import time
import types
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from benchmarks.gpu_check import _smooth_images, _sync, amp_dtype, train_step
from psvl.config import default, defaults, load
from psvl.detection.config import DetectorConfig
from psvl.detection.detectors import load_detector
from psvl.features.clips import CLIP_COST
from psvl.features.extractors import build_extractor, embed
from psvl.localization.model import ModelConfig, PSVLConfig, PSVLNet

REPO = Path(__file__).resolve().parents[1]
PSVL_VIDEO_DIM = 1024  # PSVL's Charades I3D features (its MODEL.VIDEO.IDIM)
VOCAB = 506  # as benchmarks/bench_train.py
DATASETS = {  # name: (shipped config, videos, seconds per video) for the projections
    "charades_sta": ("config/charades_sta.yaml", 9848, 30.0),
    "activitynet_captions": ("config/activitynet_captions.yaml", 15000, 120.0),
}


@dataclass
class Sizes:
    frame_w: int = 480
    frame_h: int = 360
    train_batch: int | None = None  # None: the schema's train.batch_size
    segments: int | None = None  # None: model.num_segments
    video_dim: int = PSVL_VIDEO_DIM
    clip_size: int | None = None  # None: the extractor's input size
    detect_batch: int | None = None  # None: detector.batch_size
    clips: int | None = None  # None: features.batch_size // CLIP_COST
    model_width: int | None = None  # None: the schema's widths (quick runs shrink them)
    max_calls: int = 30
    max_seconds: float = 20.0


QUICK = Sizes(frame_w=96, frame_h=72, train_batch=4, segments=16, video_dim=32, clip_size=32,
              detect_batch=2, clips=1, model_width=16, max_calls=2, max_seconds=5.0)  # fmt: skip


def rate(fn: Callable[[], object], items: int, device: torch.device, s: Sizes) -> dict:
    """Items per second over calls of `fn` (each handling `items`), after one warm-up call."""
    fn()
    _sync(device)
    calls, t0 = 0, time.perf_counter()
    while calls < s.max_calls and (calls == 0 or time.perf_counter() - t0 < s.max_seconds):
        fn()
        calls += 1
    _sync(device)
    seconds = time.perf_counter() - t0
    return {"per_s": items * calls / seconds, "calls": calls, "items_per_call": items, "seconds": seconds}


def detector_rate(device: torch.device, s: Sizes, name: str) -> dict:
    cfg = default(DetectorConfig, "detector", name=name, weights="none", device=str(device))
    batch = s.detect_batch or cfg.batch_size
    detector = load_detector(cfg)  # input_size null: the detector's own (800 px for a COCO R-CNN)
    g = torch.Generator().manual_seed(4)
    frames = [  # real-looking statistics do not matter to the compute; 480x360, not square
        torch.nn.functional.interpolate(torch.rand(1, 3, 9, 12, generator=g), size=(s.frame_h, s.frame_w))[0]
        for _ in range(batch)
    ]
    out = rate(lambda: detector.predict(frames), batch, device, s)
    return out | {"name": name, "frame": [s.frame_w, s.frame_h], "input_size": cfg.input_size, "batch": batch}


def clip_rate(device: torch.device, s: Sizes) -> dict:
    feats = defaults("features")
    extractor = build_extractor("r2plus1d_18", "none", seed=0)
    size = s.clip_size or extractor.input_size or 112
    n = s.clips or max(1, feats["batch_size"] // CLIP_COST)
    clips = (_smooth_images(n * feats["clip_frames"], size, seed=5) * 255).to(torch.uint8)
    clips = clips.view(n, feats["clip_frames"], 3, size, size).permute(0, 2, 1, 3, 4).contiguous()
    out = rate(lambda: embed(extractor, clips, n, device), n, device, s)
    return out | {"clip_frames": feats["clip_frames"], "clip_size": size}


def psvl_batch(s: Sizes, tokens: int, vocab: int, device: torch.device) -> dict:
    """One training batch at PSVL's shapes (bench_train.make_batch), on `device`."""
    from benchmarks.bench_train import make_batch

    b = make_batch(s.train_batch, s.segments, s.video_dim, tokens, vocab)
    return {k: v.to(device) if torch.is_tensor(v) else v for k, v in b.items()}


def _model_sizes(s: Sizes) -> tuple[ModelConfig, Sizes]:
    widths = (
        {} if s.model_width is None else dict.fromkeys(("word_dim", "hidden", "fusion_dim"), s.model_width)
    )
    model_cfg = default(ModelConfig, "model", **widths)
    resolved = copy.copy(s)
    resolved.train_batch = s.train_batch or defaults("train")["batch_size"]
    resolved.segments = s.segments or model_cfg.num_segments
    return model_cfg, resolved


def training_rate(device: torch.device, s: Sizes) -> dict:
    model_cfg, s = _model_sizes(s)
    torch.manual_seed(0)
    net = (
        PSVLNet(PSVLConfig.from_model(model_cfg, vocab_size=VOCAB, video_dim=s.video_dim)).to(device).train()
    )
    b = psvl_batch(s, model_cfg.max_query_tokens, VOCAB, device)
    opt = torch.optim.Adam(net.parameters(), lr=4e-4)
    dtype = amp_dtype(device)
    scaler = torch.amp.GradScaler(enabled=dtype == torch.float16)

    def step() -> None:
        train_step(net, b, opt, scaler, dtype)

    out = rate(step, 1, device, s)
    return out | {
        "batch": s.train_batch, "segments": s.segments, "video_dim": s.video_dim,
        "tokens": model_cfg.max_query_tokens, "parameters": sum(p.numel() for p in net.parameters()),
        "autocast": str(dtype).removeprefix("torch.") if dtype else "none",
    }  # fmt: skip


class _CfgNode(dict):
    """What the released config parser uses of yacs' CfgNode: attribute access, clone, merge_from_file."""

    def __getattr__(self, key: str):
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None

    def __setattr__(self, key: str, value) -> None:
        self[key] = value

    def clone(self) -> _CfgNode:
        return copy.deepcopy(self)

    def merge_from_file(self, path: str) -> None:
        import yaml  # psvl.config needs it anyway

        def merge(node: _CfgNode, new: dict) -> None:
            for k, v in new.items():
                if isinstance(v, dict) and isinstance(node.get(k), dict):
                    merge(node[k], v)
                else:
                    node[k] = v

        merge(self, yaml.safe_load(Path(path).read_text()))


def _ensure_yacs() -> bool:
    """Install the stand-in as `yacs.config` when yacs is missing; whether the real one is used."""
    if "yacs" in sys.modules or importlib.util.find_spec("yacs") is not None:
        return True
    stub = types.ModuleType("yacs.config")
    stub.CfgNode = _CfgNode
    sys.modules["yacs"], sys.modules["yacs.config"] = types.ModuleType("yacs"), stub
    return False


def reference_rate(device: torch.device, s: Sizes, ref: Path) -> dict:
    from benchmarks.bench_train import load_released, released_batch, released_step_fn

    real_yacs = _ensure_yacs()
    model_cfg, s = _model_sizes(s)
    torch.manual_seed(0)
    model, loss_fn, cfg = load_released(ref, VOCAB, s.video_dim)
    model = model.to(device).train()
    batch = released_batch(psvl_batch(s, model_cfg.max_query_tokens, VOCAB, device))
    out = rate(released_step_fn(model, loss_fn, batch, cfg.TRAIN.LR), 1, device, s)
    return out | {
        "batch": s.train_batch, "segments": s.segments, "video_dim": s.video_dim,
        "parameters": sum(p.numel() for p in model.parameters()), "yacs": real_yacs,
    }  # fmt: skip


def projections(detector: dict, clips: dict) -> dict:
    """Device-hours of detection and clip features for each shipped dataset config at these rates."""
    out = {}
    for name, (path, videos, seconds) in DATASETS.items():
        fps = load(REPO / path)["frames"]["fps"]
        per_video = seconds * fps  # sampled frames = segments (one clip each) per video
        out[name] = {
            "videos": videos, "seconds_per_video": seconds, "frames_per_video": per_video,
            "detection_hours": videos * per_video / detector["per_s"] / 3600,
            "features_hours": videos * per_video / clips["per_s"] / 3600,
        }  # fmt: skip
    return out


def throughput(
    device: torch.device,
    quick: bool,
    detector: str | None,
    reference: Path | None,
    log: Callable[[str], None],
) -> dict:
    """Every rate (and its projection); `detector` None = the schema's detector.name."""
    s = QUICK if quick else Sizes()
    name = detector or defaults("detector")["name"]
    parts: dict[str, Callable[[], dict]] = {
        "detector": lambda: detector_rate(device, s, name),
        "clips": lambda: clip_rate(device, s),
        "training": lambda: training_rate(device, s),
    }
    if reference is not None:
        parts["reference"] = lambda: reference_rate(device, s, reference)
    out: dict = {"sizes": asdict(s)}
    for part, fn in parts.items():
        out[part] = fn()
        log(
            f"{part:>10}: {out[part]['per_s']:.3g}/s ({out[part]['calls']} calls of {out[part]['items_per_call']})"
        )
    if reference is not None:
        out["training_over_reference"] = out["training"]["per_s"] / out["reference"]["per_s"]
    out["projections"] = projections(out["detector"], out["clips"])
    return out
