"""The detector registry: torchvision builders by name, and the `Detector` every backend returns.

Why a registry: the stage, the trainer and the benchmark build detectors by name through one lookup,
never through `if name == ...`. The Snakefile reads the registry's names (check_backend) before any job,
so torch and torchvision are imported inside the builders, when a detector is built.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from psvl.core.errors import DetectorError
from psvl.core.registry import Registry
from psvl.detection.nouns import BACKGROUND
from psvl.detection.weights import cached_weights_file, verify_weights


@dataclass
class Detector:
    """A ready detector: `predict(images)` takes CHW float tensors in [0, 1] on `device` and returns, per
    image, (boxes N x 4 pixels, scores N, label indices N) on the CPU; `labels[i]` names label index i.
    `model` is the torch module behind `predict` (torchvision backend; None otherwise)."""

    predict: Callable[[list], list[tuple]]
    labels: list[str]
    name: str
    weights: str
    device: str
    backend: str = "torchvision"
    model: Any = None


DETECTORS: Registry[Callable[..., Any]] = Registry(
    "detector",
    contract=(
        "called with (num_classes: int | None, weights: str | None, **kwargs); returns "
        "(nn.Module, labels): a torchvision-style detector (eval: forward(list of CHW float tensors in [0, 1]) "
        "-> list of {boxes (x1y1x2y2 pixels), labels, scores}; train: forward(images, targets) -> loss dict) "
        "and the class name of each label index (index 0 is the background). num_classes counts the "
        "background; None keeps the weights' own classes. kwargs go to the torchvision builder (min_size, ...)."
    ),
)

TORCHVISION_DETECTORS = (
    "fasterrcnn_mobilenet_v3_large_320_fpn",
    "fasterrcnn_mobilenet_v3_large_fpn",
    "fasterrcnn_resnet50_fpn",
    "fasterrcnn_resnet50_fpn_v2",
    "retinanet_resnet50_fpn",
    "retinanet_resnet50_fpn_v2",
    "fcos_resnet50_fpn",
    "ssdlite320_mobilenet_v3_large",
    "ssd300_vgg16",
)


def _download_hint(url: str) -> str:
    target = cached_weights_file(url)
    return f"download {url} to {target} ($TORCH_HOME/hub/checkpoints) on a machine with internet"


def _torchvision(name: str, num_classes: int | None, weights: str | None, **kwargs: Any):
    """A torchvision detection model; `weights` is a weights-enum name (DEFAULT, COCO_V1, ...) or None."""
    # lazy: keeps the Snakefile's parse fast (no torchvision)
    from torchvision.models import get_model, get_model_weights

    enum = get_model_weights(name)
    if weights is None:
        categories = list(enum.DEFAULT.meta["categories"])
        n = num_classes or len(categories)
        model = get_model(name, weights=None, weights_backbone=None, num_classes=n, **kwargs)
        labels = categories if n == len(categories) else [BACKGROUND] + [f"class{i}" for i in range(1, n)]
        return model, labels
    chosen = verify_weights(enum, name, weights, "detector.weights", DetectorError)
    try:  # torch.hub writes "Downloading: ..." to stderr; keep the failure to one line
        with contextlib.redirect_stderr(io.StringIO()):
            model = get_model(name, weights=chosen, progress=False, **kwargs)
    except (OSError, RuntimeError) as exc:
        raise DetectorError(
            f"cannot load detector weights {name} {chosen} ({type(exc).__name__}: {exc}); "
            + _download_hint(chosen.url)
        ) from None
    return model, list(chosen.meta["categories"])


for _name in TORCHVISION_DETECTORS:
    DETECTORS.register(_name)(partial(_torchvision, _name))


@DETECTORS.register("fasterrcnn_tiny")
def _tiny(num_classes: int | None, weights: str | None, **kwargs: Any):
    """The compact detector `psvl train-detector` trains from scratch in minutes on a CPU."""
    if weights is not None:
        raise DetectorError(
            f"config.detector.weights: fasterrcnn_tiny has no pretrained weights ({weights!r}); "
            "use none or trained (a checkpoint from psvl train-detector)"
        )
    # lazy: keeps the Snakefile's parse fast (tiny.py imports torch)
    from psvl.detection.tiny import fasterrcnn_tiny

    n = num_classes or 2
    return fasterrcnn_tiny(num_classes=n, **kwargs), [BACKGROUND] + [f"class{i}" for i in range(1, n)]


def get_builder(name: str) -> Callable[..., Any]:
    """The registered builder of detector `name`; an unknown name is a one-line DetectorError."""
    try:
        return DETECTORS.get(name)
    except KeyError as exc:
        raise DetectorError(f"config.detector.name: {exc.args[0]}") from None
