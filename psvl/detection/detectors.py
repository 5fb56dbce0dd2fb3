"""Building the configured detector (`load_detector`) and checking, before any job, that it can be built
(`check_backend`, called by the Snakefile).

The parts live in their own modules: the registry of torchvision builders and the `Detector` interface
(registry.py), the class-name -> noun table (nouns.py), psvl checkpoints (checkpoints.py) and the optional
detectron2 backend (detectron2_backend.py). This module imports none of torch, torchvision or detectron2
at import time, so the Snakefile's parse stays fast; they are imported when a detector is built.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from psvl.config import ConfigError
from psvl.core.devices import resolve_device as _resolve
from psvl.detection.checkpoints import from_checkpoint
from psvl.detection.config import DetectorConfig
from psvl.detection.detectron2_backend import D2_INSTALL, load_detectron2
from psvl.detection.registry import DETECTORS, Detector, DetectorError, get_builder


def resolve_device(device: str) -> str:
    """The device as the string torchvision detectors are moved with (see psvl.core.devices)."""
    return device if device != "auto" else str(_resolve(device))


def _torchvision_predict(model, device: str):
    import torch  # lazy: keeps the Snakefile's parse fast (no torch)

    def predict(images: list) -> list[tuple]:
        autocast = (
            torch.autocast("cuda", dtype=torch.float16)
            if device.startswith("cuda")
            else contextlib.nullcontext()
        )
        with torch.inference_mode(), autocast:
            outputs = model([im.to(device) for im in images])
        return [(o["boxes"].float().cpu(), o["scores"].float().cpu(), o["labels"].cpu()) for o in outputs]

    return predict


def _limit_postprocessing(model, cfg: DetectorConfig) -> None:
    """Let the model drop low scores and cap boxes itself (cheaper than filtering afterwards)."""
    heads = getattr(model, "roi_heads", None) or model
    for attr, value in (("score_thresh", cfg.score_threshold), ("detections_per_img", cfg.max_per_frame)):
        if hasattr(heads, attr):
            setattr(heads, attr, value)


def _set_input_size(model, size: int | None) -> None:
    """Resize frames so the shorter side is `size` inside the model (torchvision's transform), instead of
    the model's own default (800 px for the COCO R-CNNs: 128 px frames would be upsampled 6x)."""
    transform = getattr(model, "transform", None)
    if size and transform is not None and hasattr(transform, "min_size"):
        transform.min_size = (int(size),)
        transform.max_size = max(int(size), round(size * 1333 / 800))


def load_detector(
    cfg: DetectorConfig, checkpoint: str | os.PathLike | None = None, classes: str | None = None
) -> Detector:
    """Build the configured detector: torchvision by name with `weights` (a weights name, `none`, a
    checkpoint path, or `trained` = the `checkpoint` argument), or the detectron2 backend."""
    device = resolve_device(cfg.device)
    if cfg.backend == "detectron2":
        return load_detectron2(cfg, device)
    classes = classes or cfg.classes
    weights = cfg.weights
    if weights == "trained" and not checkpoint:
        raise DetectorError("config.detector.weights is 'trained' but no --checkpoint was given")
    if checkpoint or (weights not in ("none", "trained") and Path(weights).is_file()):
        path = checkpoint or weights
        model, labels, arch = from_checkpoint(cfg, path, classes)
        desc = str(path)
    else:
        builder = get_builder(cfg.name)
        model, labels = builder(num_classes=None, weights=None if weights == "none" else weights)
        arch, desc = cfg.name, weights
    _limit_postprocessing(model, cfg)
    _set_input_size(model, cfg.input_size)
    model.eval().to(device)
    return Detector(_torchvision_predict(model, device), labels, arch, desc, device)


def check_backend(cfg: Mapping[str, Any]) -> None:
    """Stop a run before any job when the detector cannot work (call it from the Snakefile, on the
    validated config).

    Cheap: no torch import. Checks the backend is installed, the detector name is registered, and the
    files a configuration needs are named.
    """
    det = cfg["detector"]
    if det["backend"] == "detectron2":
        if importlib.util.find_spec("detectron2") is None:
            raise ConfigError("config.detector.backend: detectron2 is not installed; " + D2_INSTALL)
        missing = [k for k in ("detectron2_config", "classes") if not det.get(k)]
        if missing or det["weights"] in ("none", "trained"):
            raise ConfigError(
                "config.detector: the detectron2 backend needs detectron2_config (a config .yaml), "
                "weights (a .pth/.pkl path) and classes (a class-name file)"
            )
        return
    if det["name"] not in DETECTORS:
        raise ConfigError(
            f"config.detector.name: unknown detector {det['name']!r}; known: {', '.join(DETECTORS.names())}"
        )
    synthetic = cfg["dataset"]["name"] == "synthetic"
    if cfg["features"]["weights"] == "trained" and not synthetic:
        raise ConfigError(
            "config.features.weights: 'trained' uses the detector trained on the synthetic world's box "
            "labels; for this dataset use a torchvision weights name (DEFAULT) or a checkpoint path"
        )
    if det["weights"] == "trained" and not synthetic:
        raise ConfigError(
            "config.detector.weights: 'trained' trains on the synthetic world's box labels; for this dataset "
            "use a COCO weights name (DEFAULT), or a checkpoint path plus detector.classes "
            "(train one with `psvl train-detector --coco FILE --images DIR`)"
        )
