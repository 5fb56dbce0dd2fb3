"""Fine-tune (or train from scratch) a torchvision detector on labelled frames, and measure AP50 per class
on held-out videos with pycocotools (the reference COCO matcher, not a hand-rolled one).

The loop is torchvision's detection API as is: `model(images, targets)` returns the loss dict.
Seeded: the same data and config give the same checkpoint on the same machine.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor

from psvl.config import build
from psvl.core import console
from psvl.core.artifacts import write_json, write_text
from psvl.core.progress import progress
from psvl.detection.checkpoints import read_classes, save_checkpoint
from psvl.detection.config import DetectorConfig, DetectorTrainConfig
from psvl.detection.detectors import resolve_device
from psvl.detection.labels import LabeledImage, load_box_labels, load_coco, split_by_group
from psvl.detection.registry import get_builder

log = logging.getLogger(__name__)


def _lr_at(step: int, total: int, warmup: int) -> float:
    """Linear warm-up, then cosine decay to zero: a factor of the base learning rate."""
    if step < warmup:
        return (step + 1) / warmup
    return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))


def _batch(items: Sequence[LabeledImage], device: str, flip: torch.Tensor | None = None):
    images, targets = [], []
    for i, it in enumerate(items):
        image, boxes = it.image.to(device).float().div_(255), it.boxes.to(device)
        if flip is not None and bool(flip[i]):
            width = image.shape[-1]
            image = image.flip(-1)
            boxes = torch.stack([width - boxes[:, 2], boxes[:, 1], width - boxes[:, 0], boxes[:, 3]], dim=1)
        images.append(image)
        targets.append({"boxes": boxes, "labels": it.labels.to(device)})
    return images, targets


def build_trainable(det: DetectorConfig, n_classes: int, train: DetectorTrainConfig):
    """The detector to train: `det.name` with `n_classes` + background; torchvision COCO weights when
    `train.weights` names them (the box predictor is then replaced for the new classes)."""
    builder = get_builder(det.name)
    if train.weights == "none":
        model, _ = builder(num_classes=n_classes + 1, weights=None)
        return model
    model, _ = builder(num_classes=None, weights=train.weights)
    if not hasattr(model, "roi_heads"):
        raise ValueError(f"fine-tuning COCO weights is supported for Faster R-CNN models, not {det.name}")
    in_features = model.roi_heads.box_predictor.cls_score.in_features
    model.roi_heads.box_predictor = FastRCNNPredictor(in_features, n_classes + 1)
    return model


def train_detector(
    train_items: Sequence[LabeledImage], det: DetectorConfig, train: DetectorTrainConfig, n_classes: int
) -> tuple[Any, dict[str, Any]]:
    """Train on `train_items`; returns the model (eval mode, CPU) and a summary (seconds, final loss)."""
    torch.manual_seed(train.seed)
    device = resolve_device(det.device)
    model = build_trainable(det, n_classes, train).to(device)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=train.lr, momentum=0.9, weight_decay=train.weight_decay)
    per_epoch = math.ceil(len(train_items) / train.batch_size)
    total = per_epoch * train.epochs
    gen = torch.Generator().manual_seed(train.seed)
    step, t0, c0, loss_log = 0, time.perf_counter(), time.process_time(), []
    bar = progress(range(total), desc="train detector", total=total, unit="batch")
    it = iter(bar)
    for epoch in range(train.epochs):
        order = torch.randperm(len(train_items), generator=gen).tolist()
        flips = torch.rand(len(train_items), generator=gen) < 0.5 if train.hflip else None
        epoch_loss = 0.0
        for b in range(per_epoch):
            idx = order[b * train.batch_size : (b + 1) * train.batch_size]
            images, targets = _batch(
                [train_items[i] for i in idx], device, flips[idx] if flips is not None else None
            )
            for g in opt.param_groups:
                g["lr"] = train.lr * _lr_at(step, total, train.warmup_iters)
            losses = model(images, targets)
            loss = sum(losses.values())
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"detector loss is {loss.item()} at step {step}; lower detector.train.lr"
                )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            epoch_loss += loss.item()
            step += 1
            next(it, None)
        loss_log.append(epoch_loss / per_epoch)
        console.say(  # the log's line, and the console's when run as a workflow job (psvl --job)
            f"train_detector epoch {epoch + 1}/{train.epochs}: loss {loss_log[-1]:.4f}, "
            f"{console.count(per_epoch, 'batch', 'batches')}, {time.perf_counter() - t0:.0f} s"
        )
    model.eval().cpu()
    summary = {"train_seconds": time.perf_counter() - t0, "train_cpu_seconds": time.process_time() - c0}
    return model, {**summary, "epoch_loss": loss_log, "iterations": total, "threads": torch.get_num_threads()}


@torch.inference_mode()
def predict_items(model, items: Sequence[LabeledImage], batch_size: int, device: str = "cpu") -> list[dict]:
    """Raw detections for every item (the model's own score floor and per-image cap apply)."""
    model.eval().to(device)
    out = []
    for start in range(0, len(items), batch_size):
        chunk = items[start : start + batch_size]
        outputs = model([it.image.to(device).float().div_(255) for it in chunk])
        out += [{k: v.cpu() for k, v in o.items()} for o in outputs]
    return out


def ap50_per_class(
    items: Sequence[LabeledImage], predictions: Sequence[dict], classes: Sequence[str]
) -> dict[str, float | None]:
    """AP at IoU 0.5 per class (COCO's 101-point interpolation, up to 100 detections per image) via
    pycocotools; None for a class with no ground truth among `items`."""
    images, anns, dets = [], [], []
    for img_id, (it, pred) in enumerate(zip(items, predictions), start=1):
        images.append({"id": img_id, "width": int(it.image.shape[2]), "height": int(it.image.shape[1])})
        for box, label in zip(it.boxes.tolist(), it.labels.tolist()):
            w, h = box[2] - box[0], box[3] - box[1]
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": img_id,
                    "category_id": int(label),
                    "bbox": [box[0], box[1], w, h],
                    "area": w * h,
                    "iscrowd": 0,
                }
            )
        for box, score, label in zip(
            pred["boxes"].tolist(), pred["scores"].tolist(), pred["labels"].tolist()
        ):
            dets.append([img_id, box[0], box[1], box[2] - box[0], box[3] - box[1], score, label])
    cats = [{"id": i + 1, "name": name} for i, name in enumerate(classes)]
    present = {a["category_id"] for a in anns}
    result: dict[str, float | None] = {
        name: (0.0 if i + 1 in present else None) for i, name in enumerate(classes)
    }
    if not dets or not anns:
        return result
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools reports progress with print()
        gt = COCO()
        gt.dataset = {"images": images, "annotations": anns, "categories": cats}
        gt.createIndex()
        dt = gt.loadRes(np.asarray(dets, dtype=np.float64))
        ev = COCOeval(gt, dt, iouType="bbox")
        ev.evaluate()
        ev.accumulate()
    iou_idx = int(np.argmin(np.abs(ev.params.iouThrs - 0.5)))
    area_all, max_dets = ev.params.areaRngLbl.index("all"), len(ev.params.maxDets) - 1
    for k, cat_id in enumerate(ev.params.catIds):
        prec = ev.eval["precision"][iou_idx, :, k, area_all, max_dets]
        if cat_id in present:
            valid = prec[prec > -1]
            result[classes[cat_id - 1]] = float(valid.mean()) if valid.size else 0.0
    return result


def evaluate_detector(
    model, items: Sequence[LabeledImage], classes: Sequence[str], batch_size: int = 16
) -> dict:
    """{AP50: mean over classes present in `items`, per_class: {class: AP50 or None}, n_images}."""
    heads = getattr(model, "roi_heads", model)
    saved = {a: getattr(heads, a) for a in ("score_thresh", "detections_per_img") if hasattr(heads, a)}
    for attr, value in (("score_thresh", 0.01), ("detections_per_img", 100)):
        if attr in saved:
            setattr(heads, attr, value)
    try:
        preds = predict_items(model, items, batch_size)
    finally:
        for attr, value in saved.items():
            setattr(heads, attr, value)
    per_class = ap50_per_class(items, preds, classes)
    scored = [v for v in per_class.values() if v is not None]
    return {"AP50": float(np.mean(scored)) if scored else 0.0, "per_class": per_class, "n_images": len(items)}


def run_training(
    section: dict,
    out_dir: str,
    metrics_path: str | None = None,
    boxes: str | None = None,
    classes: str | None = None,
    videos_dir: str | None = None,
    coco: str | None = None,
    images: str | None = None,
) -> dict:
    """`psvl train-detector`: load labelled frames, split by video, train, evaluate, write
    OUT_DIR/model.pt, OUT_DIR/classes.txt and the metrics JSON. Returns the metrics."""
    det = build(DetectorConfig, section)
    train = build(DetectorTrainConfig, section.get("train", {}))
    if coco:
        items, names = load_coco(coco, images, train.max_images, train.seed)
    else:
        names = read_classes(classes)
        items = load_box_labels(boxes, names, videos_dir, train.max_images, train.seed)
    train_items, val_items = split_by_group(items, train.val_fraction, train.seed)
    log.info(
        "%s: %d classes, %d training frames, %d held-out frames (%d held-out videos)",
        det.name,
        len(names),
        len(train_items),
        len(val_items),
        len({it.group for it in val_items}),
    )
    model, summary = train_detector(train_items, det, train, len(names))
    t0 = time.perf_counter()
    metrics = evaluate_detector(model, val_items, names, batch_size=det.batch_size)
    metrics.update(
        train_seconds=round(summary["train_seconds"], 2),
        train_cpu_seconds=round(summary["train_cpu_seconds"], 2),
        threads=summary["threads"],
        eval_seconds=round(time.perf_counter() - t0, 2),
        epoch_loss=[round(x, 5) for x in summary["epoch_loss"]],
        iterations=summary["iterations"],
        n_train_images=len(train_items),
        detector=det.name,
        train_config={k: getattr(train, k) for k in DetectorTrainConfig.__dataclass_fields__},
    )
    out = Path(out_dir)
    save_checkpoint(
        out / "model.pt",
        model,
        det.name,
        names,
        input_size=int(items[0].image.shape[1]),
        AP50=metrics["AP50"],
    )
    write_text("".join(f"{n}\n" for n in names), out / "classes.txt")
    write_json(metrics, metrics_path or out / "metrics.json")
    log.info(
        "AP50 %.3f on %d held-out frames; trained in %.0f s",
        metrics["AP50"],
        len(val_items),
        summary["train_seconds"],
    )
    return metrics
