"""psvl detector checkpoints: what `psvl train-detector` writes and `psvl detect` (or the
detector_backbone feature extractor) reads back, with `torch.load(weights_only=True)`.

torch is imported inside the functions: the Snakefile imports psvl.detection.detectors (check_backend),
which imports this module, and parsing the workflow must not import torch.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from psvl.config import default
from psvl.detection.config import DetectorConfig
from psvl.detection.nouns import BACKGROUND
from psvl.detection.registry import DETECTORS, DetectorError

CHECKPOINT_FORMAT = "psvl-detector-1"


def save_checkpoint(path: str | os.PathLike, model, arch: str, classes: Sequence[str], **meta: Any) -> Path:
    """Write a checkpoint that `torch.load(weights_only=True)` reads: tensors, strings, numbers only."""
    import torch  # lazy: keeps the Snakefile's parse fast (no torch)

    from psvl.core.artifacts import atomic_target  # lazy: keeps the Snakefile's parse fast (no pyarrow)

    path = Path(path)
    payload = {
        "format": CHECKPOINT_FORMAT,
        "arch": arch,
        "classes": list(classes),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        **meta,
    }
    fd, tmp = atomic_target(path)
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


def from_checkpoint(cfg: DetectorConfig, checkpoint: str | os.PathLike, classes_file: str | None):
    """(model, labels with the background first, arch, input_size) of a psvl checkpoint, or of a plain
    torchvision state_dict of `cfg.name` whose class names come from `classes_file`. `input_size` is the
    shorter side a psvl checkpoint was trained at (None for a plain state_dict: the model's own)."""
    import torch  # lazy: keeps the Snakefile's parse fast (no torch)

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
    size = ckpt.get("input_size") if ours else None
    return model, [BACKGROUND, *classes], arch, int(size) if size else None


def load_checkpoint_model(checkpoint: str | os.PathLike):
    """The torchvision model stored in a psvl detector checkpoint, with its class names (background
    first). Used to reuse a trained detector's backbone as a feature extractor."""
    model, labels, _, _ = from_checkpoint(default(DetectorConfig, "detector"), checkpoint, None)
    return model.eval(), labels
