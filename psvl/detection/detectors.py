"""Object detectors: a registry of torchvision builders, the class-name -> noun table, psvl detector
checkpoints, and the optional detectron2 backend.

Why a table of nouns: pseudo-queries are bags of single-word lemmas, and a detector's class names are
not (`dining table`, `cell phone`, Visual Genome's `stop sign,stopsign`). Why a registry: the stage, the
trainer and the benchmark build detectors by name through one lookup, never through `if name == ...`.
Heavy imports (torch, torchvision, detectron2) happen inside functions.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from psvl.config import ConfigError
from psvl.core.registry import Registry

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "psvl-detector-1"
BACKGROUND = "__background__"

# COCO (and other common) class names whose noun is not simply the name. `None` drops the class.
COCO_NOUNS: dict[str, str | None] = {
    BACKGROUND: None,
    "N/A": None,
    "dining table": "table",
    "cell phone": "phone",
    "potted plant": "plant",
    "sports ball": "ball",
    "traffic light": "light",
    "fire hydrant": "hydrant",
    "stop sign": "sign",
    "parking meter": "meter",
    "baseball bat": "bat",
    "baseball glove": "glove",
    "tennis racket": "racket",
    "wine glass": "glass",
    "hot dog": "hotdog",
    "teddy bear": "teddy",
    "hair drier": "dryer",
    "motorcycle": "motorcycle",
    "tv": "television",
}


def noun_of(name: str, noun_map: Mapping[str, str | None] | None = None) -> str | None:
    """The single-word noun a class name stands for (None: not an object, drop it).

    User overrides first, then the built-in table, then a rule that fits Visual Genome and most label
    sets: the first synonym before a comma, its last word (the head noun), lowercased.
    """
    for table in (noun_map or {}, COCO_NOUNS):
        if name in table:
            noun = table[name]
            return noun.strip().lower() or None if noun else None
    words = name.split(",")[0].strip().lower().replace("_", " ").split()
    return words[-1] if words else None


class DetectorError(ConfigError):
    """The detector cannot be built as configured; the one-line message says what to do."""


@dataclass
class DetectorConfig:
    """The `detector` config section (see config.schema.yaml for every key's meaning)."""

    backend: str = "torchvision"
    name: str = "fasterrcnn_tiny"
    weights: str = "trained"
    classes: str | None = None
    detectron2_config: str | None = None
    score_threshold: float = 0.5
    max_per_frame: int = 10
    batch_size: int = 16
    input_size: int | None = None
    device: str = "auto"
    noun_map: dict[str, str] = field(default_factory=dict)
    train: dict[str, Any] = field(default_factory=dict)


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
    import torch

    target = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url)
    return f"download {url} to {target} ($TORCH_HOME/hub/checkpoints) on a machine with internet"


def _torchvision(name: str, num_classes: int | None, weights: str | None, **kwargs: Any):
    """A torchvision detection model; `weights` is a weights-enum name (DEFAULT, COCO_V1, ...) or None."""
    from torchvision.models import get_model, get_model_weights

    enum = get_model_weights(name)
    if weights is None:
        categories = list(enum.DEFAULT.meta["categories"])
        n = num_classes or len(categories)
        model = get_model(name, weights=None, weights_backbone=None, num_classes=n, **kwargs)
        labels = categories if n == len(categories) else [BACKGROUND] + [f"class{i}" for i in range(1, n)]
        return model, labels
    try:
        chosen = enum.verify(weights)
    except (KeyError, ValueError):
        known = ", ".join(["DEFAULT", *enum.__members__])
        raise DetectorError(
            f"config.detector.weights: {weights!r} is not a weights name of {name} (known: {known}), "
            "nor none, trained or an existing checkpoint path"
        ) from None
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
    from psvl.detection.tiny import fasterrcnn_tiny

    n = num_classes or 2
    return fasterrcnn_tiny(num_classes=n, **kwargs), [BACKGROUND] + [f"class{i}" for i in range(1, n)]


# ----------------------------------------------------------------------------- checkpoints


def save_checkpoint(path: str | os.PathLike, model, arch: str, classes: Sequence[str], **meta: Any) -> Path:
    """Write a checkpoint that `torch.load(weights_only=True)` reads: tensors, strings, numbers only."""
    import torch

    from psvl.core.artifacts import _atomic_target

    path = Path(path)
    payload = {
        "format": CHECKPOINT_FORMAT,
        "arch": arch,
        "classes": list(classes),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        **meta,
    }
    fd, tmp = _atomic_target(path)
    os.close(fd)
    try:
        torch.save(payload, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_classes(path: str | os.PathLike) -> list[str]:
    """Class names, one per line (blank lines and surrounding spaces ignored)."""
    return [s.strip() for s in Path(path).read_text(encoding="utf-8").splitlines() if s.strip()]


def _from_checkpoint(cfg: DetectorConfig, checkpoint: str | os.PathLike, classes_file: str | None):
    import torch

    try:
        ckpt = torch.load(checkpoint, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - missing, truncated or unsafe (pickled code) file: one line
        raise DetectorError(
            f"cannot read detector checkpoint {checkpoint}: {type(exc).__name__}: {exc}"
        ) from None
    ours = isinstance(ckpt, dict) and ckpt.get("format") == CHECKPOINT_FORMAT
    state = ckpt["state_dict"] if ours else ckpt
    arch = ckpt["arch"] if ours else cfg.name
    classes = read_classes(classes_file) if classes_file else list(ckpt.get("classes", [])) if ours else []
    if not classes:
        raise DetectorError(
            f"detector checkpoint {checkpoint} names no classes: pass --classes or detector.classes"
        )
    kwargs = dict(ckpt.get("builder_kwargs", {})) if ours else {}
    model, _ = DETECTORS.get(arch)(num_classes=len(classes) + 1, weights=None, **kwargs)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "mismatch"
        raise DetectorError(
            f"checkpoint {checkpoint} does not fit {arch} with {len(classes)} classes: {first}"
        ) from None
    return model, [BACKGROUND, *classes], arch


# ----------------------------------------------------------------------------- building


@dataclass
class Detector:
    """A ready detector: `predict(images)` takes CHW float tensors in [0, 1] on `device` and returns, per
    image, (boxes N x 4 pixels, scores N, label indices N) on the CPU; `labels[i]` names label index i."""

    predict: Callable[[list], list[tuple]]
    labels: list[str]
    name: str
    weights: str
    device: str
    backend: str = "torchvision"


def resolve_device(device: str) -> str:
    """The device as the string torchvision detectors are moved with (see psvl.core.devices)."""
    from psvl.core.devices import resolve_device as _resolve

    return device if device != "auto" else str(_resolve(device))


def _torchvision_predict(model, device: str):
    import torch

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
        model, labels, arch = _from_checkpoint(cfg, path, classes)
        desc = str(path)
    else:
        builder = _builder(cfg.name)
        model, labels = builder(num_classes=None, weights=None if weights == "none" else weights)
        arch, desc = cfg.name, weights
    _limit_postprocessing(model, cfg)
    _set_input_size(model, cfg.input_size)
    model.eval().to(device)
    return Detector(_torchvision_predict(model, device), labels, arch, desc, device)


def _builder(name: str):
    try:
        return DETECTORS.get(name)
    except KeyError as exc:
        raise DetectorError(f"config.detector.name: {exc.args[0]}") from None


def check_backend(cfg: Mapping[str, Any]) -> None:
    """Stop a run before any job when the detector cannot work (call it from the Snakefile).

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
    features = cfg.get("features", {})
    if (
        features.get("weights") == "trained"
        and cfg.get("dataset", {}).get("name", "synthetic") != "synthetic"
    ):
        raise ConfigError(
            "config.features.weights: 'trained' uses the detector trained on the synthetic world's box "
            "labels; for this dataset use a torchvision weights name (DEFAULT) or a checkpoint path"
        )
    if det["weights"] == "trained" and cfg.get("dataset", {}).get("name", "synthetic") != "synthetic":
        raise ConfigError(
            "config.detector.weights: 'trained' trains on the synthetic world's box labels; for this dataset "
            "use a COCO weights name (DEFAULT), or a checkpoint path plus detector.classes "
            "(train one with `psvl train-detector --coco FILE --images DIR`)"
        )


# ----------------------------------------------------------------------------- detectron2 (optional)

D2_INSTALL = (
    "install it with `pip install 'git+https://github.com/facebookresearch/detectron2.git'` "
    "(see https://detectron2.readthedocs.io/en/latest/tutorials/install.html), or set detector.backend: torchvision"
)


def detectron2_arrays(output: Mapping[str, Any]) -> tuple[Any, Any, Any]:
    """(boxes N x 4, scores N, 0-based class indices N) of one detectron2 model output
    ({"instances": Instances}), as CPU tensors for `psvl.detection.detect.to_rows`."""
    inst = output["instances"].to("cpu")
    return inst.pred_boxes.tensor.float(), inst.scores.float(), inst.pred_classes


def load_detectron2(cfg: DetectorConfig, device: str) -> Detector:
    """A detectron2 model (config file + weights + class-name file) behind the Detector interface.

    Like detectron2's DefaultPredictor it resizes to the config's test size and feeds the config's
    channel order, but a whole batch per forward pass.
    """
    import torch
    import torch.nn.functional as F

    try:
        from detectron2.checkpoint import DetectionCheckpointer
        from detectron2.config import get_cfg
        from detectron2.modeling import build_model
    except ImportError:
        raise DetectorError("config.detector.backend: detectron2 is not installed; " + D2_INSTALL) from None
    if not (cfg.detectron2_config and cfg.classes):
        raise DetectorError(
            "config.detector: the detectron2 backend needs detectron2_config, weights and classes"
        )
    d2 = get_cfg()
    d2.merge_from_file(cfg.detectron2_config)
    d2.MODEL.WEIGHTS, d2.MODEL.DEVICE = cfg.weights, device
    d2.MODEL.ROI_HEADS.SCORE_THRESH_TEST = cfg.score_threshold
    d2.TEST.DETECTIONS_PER_IMAGE = cfg.max_per_frame
    model = build_model(d2).eval()
    DetectionCheckpointer(model).load(cfg.weights)
    short, longest, bgr = d2.INPUT.MIN_SIZE_TEST, d2.INPUT.MAX_SIZE_TEST, d2.INPUT.FORMAT == "BGR"

    def predict(images: list) -> list[tuple]:
        inputs = []
        for im in images:
            h, w = im.shape[1:]
            scale = min(short / min(h, w), longest / max(h, w))
            x = F.interpolate(im[None], scale_factor=scale, mode="bilinear", align_corners=False)[0] * 255
            inputs.append({"image": x.flip(0) if bgr else x, "height": h, "width": w})
        with torch.inference_mode():
            return [detectron2_arrays(o) for o in model(inputs)]

    return Detector(predict, read_classes(cfg.classes), "detectron2", str(cfg.weights), device, "detectron2")


def load_checkpoint_model(checkpoint: str | os.PathLike):
    """The torchvision model stored in a psvl detector checkpoint, with its class names (background
    first). Used to reuse a trained detector's backbone as a feature extractor."""
    model, labels, _ = _from_checkpoint(DetectorConfig(), checkpoint, None)
    return model.eval(), labels
