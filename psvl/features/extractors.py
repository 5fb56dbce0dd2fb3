"""Feature extractors: a registry of torchvision backbones that map pixels to one vector per input.

Why a registry: the features stage, `psvl predict` and the benchmarks must build exactly the same network
from the same config, and adding a backbone must not mean another `if name == ...` branch somewhere.

Contract of EXTRACTORS: a builder is called with `(weights: str, seed: int)` and returns an `Extractor`
whose `module` maps a float batch already normalised with `Extractor.mean/std` -- (B, 3, H, W) for
`kind == "2d"`, (B, 3, T, H, W) for `kind == "3d"` -- to (B, dim) globally pooled penultimate features; torchvision classifiers keep their
classification layer apart as `head` (dim -> len(classes)) with the weights' class names, for
`features.class_scores` (class_scores.py).
`embed` runs a built extractor over uint8 batches (the one forward loop of the 2D and 3D paths).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torchvision.models as tvm

from psvl.core.errors import DetectorError, WeightsError
from psvl.core.registry import Registry
from psvl.detection.checkpoints import load_checkpoint_model
from psvl.detection.weights import cached_weights_file

log = logging.getLogger(__name__)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
KINETICS_MEAN = (0.43216, 0.394666, 0.37645)
KINETICS_STD = (0.22803, 0.22145, 0.216989)


@dataclass
class Extractor:
    """A built backbone plus what its inputs must look like."""

    name: str
    kind: str  # "2d" (per frame) or "3d" (per clip)
    module: Any  # torch.nn.Module, in eval mode
    dim: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    input_size: int | None = None  # 3D models: clips are resized/cropped to this square size
    head: Any = None  # the classifier's fc (torch.nn.Linear) taken off the backbone; None: no named head
    classes: tuple[str, ...] = ()  # the head's class names (the weights' meta categories)


EXTRACTORS: Registry[Callable[[str, int], Extractor]] = Registry(
    "feature extractor",
    "called with (weights, seed); returns an Extractor whose module maps a normalised batch to (B, dim)",
)


def _load_checkpoint(model, path: Path) -> None:
    """Load a local state_dict (plain, or under 'state_dict'/'model'; DataParallel prefixes stripped).

    The classifier head is allowed to mismatch: it is replaced by the identity afterwards anyway.
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise WeightsError(f"features.weights: cannot read checkpoint {path}: {exc}") from exc
    for key in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict):
        raise WeightsError(f"features.weights: {path} holds a {type(state).__name__}, expected a state_dict")
    state = {k.removeprefix("module."): v for k, v in state.items()}
    head = {k for k in model.state_dict() if k.startswith("fc.")}
    current = model.state_dict()
    state = {k: v for k, v in state.items() if not (k in head and v.shape != current[k].shape)}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if k not in head]
    if missing or unexpected:
        raise WeightsError(
            f"features.weights: checkpoint {path} does not fit {type(model).__name__}: "
            f"missing {missing[:5]}, unexpected {list(unexpected)[:5]}"
        )


def build_backbone(arch: str, weights: str, seed: int):
    """A torchvision classification model `arch` with `weights` (torchvision name, path or 'none')."""
    if weights.lower() == "none":
        torch.manual_seed(seed)
        return tvm.get_model(arch, weights=None)
    path = Path(os.path.expanduser(weights))
    if path.suffix in {".pt", ".pth", ".ckpt", ".bin"} or path.exists():
        if not path.is_file():
            raise WeightsError(f"features.weights: checkpoint {path} does not exist")
        torch.manual_seed(seed)
        model = tvm.get_model(arch, weights=None)
        _load_checkpoint(model, path)
        return model
    try:  # DEFAULT, IMAGENET1K_V1 or the full ResNet18_Weights.IMAGENET1K_V1, as check_backend accepts
        enum = tvm.get_model_weights(arch).verify(weights)
    except (KeyError, ValueError):
        known = ", ".join(w.name for w in tvm.get_model_weights(arch))
        raise WeightsError(
            f"features.weights: {weights!r} is neither a local file nor a torchvision weights name of "
            f"{arch} (known: DEFAULT, {known}, or none)"
        ) from None
    try:
        return tvm.get_model(arch, weights=enum)
    except Exception as exc:
        target = cached_weights_file(enum.url)
        raise WeightsError(
            f"features.weights: could not download {enum.url} ({type(exc).__name__}); pre-download that "
            f"file into {target} ($TORCH_HOME/hub/checkpoints), or set features.weights to a local "
            "checkpoint path or none"
        ) from exc


def _headless(model):
    """The backbone with its fc replaced by the identity, the feature size, and the fc kept aside."""
    head = model.fc.eval()
    model.fc = torch.nn.Identity()
    return model.eval(), head.in_features, head


def head_classes(arch: str, weights: str) -> tuple[str, ...]:
    """The class names of `arch`'s head: the named weights' meta categories; with `none` or a local
    checkpoint, the DEFAULT weights' (torchvision ships the names offline; the scores then mean nothing
    for a random head, and assume a checkpoint kept the DEFAULT classes)."""
    enums = tvm.get_model_weights(arch)
    try:
        enum = enums.verify(weights)
    except (KeyError, ValueError):
        enum = enums.DEFAULT
    return tuple(enum.meta["categories"])


def _register(arch: str, kind: str) -> None:
    mean, std, size = (
        (IMAGENET_MEAN, IMAGENET_STD, None) if kind == "2d" else (KINETICS_MEAN, KINETICS_STD, 112)
    )

    @EXTRACTORS.register(arch)
    def build(weights: str, seed: int) -> Extractor:
        module, dim, head = _headless(build_backbone(arch, weights, seed))
        classes = head_classes(arch, weights)
        return Extractor(arch, kind, module, dim, mean, std, size, head=head, classes=classes)


@EXTRACTORS.register("detector_backbone")
def _detector_backbone(weights: str, seed: int) -> Extractor:
    """The backbone of a psvl detector checkpoint (`weights` = its model.pt; the workflow passes the one
    `psvl train-detector` wrote): the one CNN trained on the world's objects when no pretrained
    backbone can be had. Frames go in at their own size, as the detector saw them."""
    path = Path(os.path.expanduser(weights))
    if not path.is_file():
        raise WeightsError(
            f"features.weights: detector_backbone needs a detector checkpoint (model.pt written by "
            f"psvl train-detector); {weights!r} is not a file"
        )
    try:
        detector, _ = load_checkpoint_model(path)
    except DetectorError as exc:
        raise WeightsError(f"features.weights: {exc}") from None

    class PooledPyramid(torch.nn.Module):
        """Every pyramid level max- and mean-pooled, concatenated. Max-pooling because objects cover a
        small part of the frame: a global mean lets the background dominate; the maximum keeps what the
        detector fires on."""

        def __init__(self, body):
            super().__init__()
            self.body = body

        def forward(self, x):
            maps = self.body(x).values()
            return torch.cat([torch.cat([m.amax((2, 3)), m.mean((2, 3))], 1) for m in maps], 1)

    module = PooledPyramid(detector.backbone).eval()
    with torch.inference_mode():
        dim = int(module(torch.zeros(1, 3, 64, 64)).shape[1])
    return Extractor("detector_backbone", "2d", module, dim, IMAGENET_MEAN, IMAGENET_STD)


for _arch in ("resnet18", "resnet34", "resnet50"):
    _register(_arch, "2d")
for _arch in ("r2plus1d_18", "r3d_18", "mc3_18"):
    _register(_arch, "3d")


def build_extractor(name: str, weights: str, seed: int) -> Extractor:
    """One registry lookup; `precomputed` is handled by the features stage, not here."""
    try:
        builder = EXTRACTORS.get(name)
    except KeyError as exc:
        raise WeightsError(f"features.extractor: {exc.args[0]} (or precomputed)") from None
    extractor = builder(weights, seed)
    log.info("extractor %s (%s, weights=%s): %d-d features", name, extractor.kind, weights, extractor.dim)
    return extractor


def embed(extractor: Extractor, batch_u8, batch_size: int, device) -> np.ndarray:
    """Run the backbone over uint8 inputs ((N,3,H,W) or (N,3,T,H,W)) in batches; float32 (N, dim).

    Normalisation happens per batch on the device, so only uint8 data ever sits in host memory.
    """
    shape = (1, 3) + (1,) * (batch_u8.dim() - 2)
    mean = torch.tensor(extractor.mean, device=device).view(shape)
    std = torch.tensor(extractor.std, device=device).view(shape)
    module = extractor.module.to(device)
    use_amp = device.type == "cuda"
    out = []
    with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
        for i in range(0, len(batch_u8), batch_size):
            x = batch_u8[i : i + batch_size].to(device, non_blocking=True).float().div_(255.0)
            out.append(module((x - mean) / std).float().cpu())
    return torch.cat(out).numpy().astype(np.float32, copy=False)
