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

from psvl.core.devices import resolve_device as _resolve
from psvl.core.errors import ConfigError
from psvl.detection.checkpoints import from_checkpoint, read_classes
from psvl.detection.config import DetectorConfig
from psvl.detection.detectron2_backend import D2_INSTALL, load_detectron2
from psvl.detection.nouns import BACKGROUND
from psvl.detection.registry import DETECTORS, TORCHVISION_DETECTORS, Detector, DetectorError, get_builder
from psvl.detection.weights import check_weights

NO_WEIGHTS_SEED = 0
"""Seeds `weights: none` when the detector section has no `train.seed` (it always has one once validated)."""


def resolve_device(device: str) -> str:
    """The device as the string torchvision detectors are moved with (see psvl.core.devices)."""
    return device if device != "auto" else str(_resolve(device))


CPU_REGIONS_PER_PASS = 4000
"""Proposed regions per forward pass on CPU, which bound an R-CNN's peak memory: its box head holds
regions x 256 x 7 x 7 floats per layer (the COCO R-CNNs propose 1 000 per frame: 50 MB per frame per
layer, so a 16-frame pass peaks above 3 GB). A `detector.batch_size` batch is split into passes of
4000 // regions frames (4 for the COCO R-CNNs, the whole batch for fasterrcnn_tiny's 100); CUDA and
models without region proposals take the batch in one pass. Same boxes for frames of one size."""


def frames_per_pass(model, device: str, batch: int) -> int:
    """How many of `batch` frames go through `model` at once on `device` (see CPU_REGIONS_PER_PASS)."""
    rpn = getattr(model, "rpn", None)
    if device.startswith("cuda") or rpn is None or not hasattr(rpn, "post_nms_top_n"):
        return max(batch, 1)
    return max(1, min(batch, CPU_REGIONS_PER_PASS // max(int(rpn.post_nms_top_n()), 1)))


def _torchvision_predict(model, device: str):
    import torch  # lazy: keeps the Snakefile's parse fast (no torch)

    def predict(images: list) -> list[tuple]:
        cuda = device.startswith("cuda")
        autocast = torch.autocast("cuda", dtype=torch.float16) if cuda else contextlib.nullcontext()
        step = frames_per_pass(model, device, len(images))
        outputs = []
        with torch.inference_mode(), autocast:
            for i in range(0, len(images), step):
                outputs += model([im.to(device) for im in images[i : i + step]])
        return [(o["boxes"].float().cpu(), o["scores"].float().cpu(), o["labels"].cpu()) for o in outputs]

    return predict


def _limit_postprocessing(model, cfg: DetectorConfig) -> None:
    """Let the model drop low scores and cap boxes itself (cheaper than filtering afterwards)."""
    heads = getattr(model, "roi_heads", None) or model
    for attr, value in (("score_thresh", cfg.score_threshold), ("detections_per_img", cfg.max_per_frame)):
        if hasattr(heads, attr):
            setattr(heads, attr, value)


def _set_input_size(model, size: int | None) -> None:
    """Resize frames so the shorter side is `size` inside the model (torchvision's transform's min_size, with
    max_size 1333/800 of it as the COCO R-CNNs' own 800/1333); None keeps the model's own."""
    transform = getattr(model, "transform", None)
    if size and transform is not None and hasattr(transform, "min_size"):
        transform.min_size = (int(size),)
        transform.max_size = max(int(size), round(size * 1333 / 800))


def load_detector(
    cfg: DetectorConfig,
    checkpoint: str | os.PathLike | None = None,
    classes: str | None = None,
) -> Detector:
    """Build the configured detector: torchvision by name with `weights` (a weights name, `none`, a
    checkpoint path, or `trained` = the `checkpoint` argument), or the detectron2 backend. Its input size
    follows the detector: `detector.input_size` when set, else the size a psvl checkpoint was trained at,
    else the model's own (800/1333 px for torchvision's COCO R-CNNs; the stored frames' size plays no part)."""
    device = resolve_device(cfg.device)
    if cfg.backend == "detectron2":
        return load_detectron2(cfg, device)
    classes = classes or cfg.classes
    weights = cfg.weights
    trained_size = None
    if weights == "trained" and not checkpoint:
        raise DetectorError("config.detector.weights is 'trained' but no --checkpoint was given")
    if checkpoint or (weights not in ("none", "trained") and Path(weights).is_file()):
        path = checkpoint or weights
        model, labels, arch, trained_size = from_checkpoint(cfg, path, classes)
        desc = str(path)
    elif weights == "none":  # random init, seeded: two runs over the same frames give the same boxes
        import torch  # lazy: keeps the Snakefile's parse fast (no torch)

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(cfg.train.get("seed", NO_WEIGHTS_SEED)))
            model, labels = get_builder(cfg.name)(num_classes=None, weights=None)
        arch, desc = cfg.name, weights
    else:
        model, labels = get_builder(cfg.name)(num_classes=None, weights=weights)
        arch, desc = cfg.name, weights
    _limit_postprocessing(model, cfg)
    _set_input_size(model, cfg.input_size or trained_size)
    model.eval().to(device)
    return Detector(_torchvision_predict(model, device), labels, arch, desc, device, model=model)


def _not_loaded(images: list) -> list[tuple]:
    raise DetectorError("this detector was described, not loaded (a shard without frames); it cannot predict")


def describe_detector(
    cfg: DetectorConfig, checkpoint: str | os.PathLike | None = None, classes: str | None = None
) -> Detector:
    """The detector `load_detector` would build, for provenance only, without building it (a shard with no
    frames needs no model): labels from the class-name file, else the COCO names of a torchvision model,
    else none. Its `predict` raises."""
    classes = classes or cfg.classes
    if classes:
        labels = [BACKGROUND, *read_classes(classes)]
    elif cfg.backend == "torchvision" and cfg.name in TORCHVISION_DETECTORS and not checkpoint:
        from torchvision.models import get_model_weights  # lazy: no torchvision at the Snakefile's parse

        labels = list(get_model_weights(cfg.name).DEFAULT.meta["categories"])
    else:
        labels = []
    desc = str(checkpoint or cfg.weights)
    return Detector(_not_loaded, labels, cfg.name, desc, resolve_device(cfg.device), cfg.backend)


def check_backend(cfg: Mapping[str, Any]) -> None:
    """Stop a run before any job when the detector cannot work on this machine (call it from the
    Snakefile, on the validated config; the config's own consistency is psvl.config.validate's).

    Cheap: no torch import unless a torchvision weights name is configured. Checks the backend is
    installed, the detector name is registered and every file the run reads exists (weights names:
    their file in the torch hub cache, see weights.py).
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
    _check_files(cfg)


def _check_files(cfg: Mapping[str, Any]) -> None:
    """Every weights file the run will read is there now: jobs run offline (torchvision backend). Every
    missing file is named at once (one line, `; `-separated), so one download round fixes them all."""
    det, feats = cfg["detector"], cfg["features"]
    checks = [lambda: check_weights("detector.weights", det["name"], det["weights"])]
    if "trained" in (det["weights"], feats["weights"]):  # the workflow trains the detector first
        checks.append(lambda: check_weights("detector.train.weights", det["name"], det["train"]["weights"]))
    checks += [lambda: _check_classes(det), lambda: _check_features(feats)]
    problems = []
    for check in checks:
        try:
            check()
        except ConfigError as exc:
            problems.append(str(exc))
    if problems:
        raise ConfigError("; ".join(problems))


def _check_classes(det: Mapping[str, Any]) -> None:
    if det.get("classes") and not Path(det["classes"]).is_file():
        raise ConfigError(f"config.detector.classes: class-name file {det['classes']} does not exist")


def _check_features(feats: Mapping[str, Any]) -> None:
    extractor, weights = feats["extractor"], feats["weights"]
    if extractor == "detector_backbone":
        if weights != "trained" and not Path(os.path.expanduser(weights)).is_file():
            raise ConfigError(
                f"config.features.weights: detector_backbone needs a detector checkpoint file or trained; "
                f"{weights} does not exist"
            )
    elif extractor != "precomputed":
        check_weights("features.weights", extractor, weights, expand_user=True)
