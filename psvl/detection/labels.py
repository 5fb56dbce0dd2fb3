"""Labelled frames for `psvl train-detector`: the synthetic world's box labels (frames decoded from its
videos with PyAV) or a COCO-format JSON with its image folder; and the held-out split by video.

Why split by video: frames of one video are near-duplicates, so a frame-level split would measure
memorisation, not detection.
"""

from __future__ import annotations

import json
import logging
import math
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import torch
from torchvision.io import ImageReadMode, decode_image, read_file

from psvl.core.artifacts import read_frame
from psvl.core.progress import progress
from psvl.datasets.videos import list_videos, video_id_of

log = logging.getLogger(__name__)


@dataclass
class LabeledImage:
    """One labelled frame: uint8 CHW image, boxes (N x 4, x1y1x2y2 pixels), 1-based labels, its video."""

    image: torch.Tensor
    boxes: torch.Tensor
    labels: torch.Tensor
    group: str
    key: str


def _clean_boxes(
    boxes: np.ndarray, labels: np.ndarray, width: int, height: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Clip boxes to the frame and drop those under one pixel (objects leaving the frame)."""
    boxes = boxes.astype(np.float32).reshape(-1, 4).copy()
    boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, width)
    boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, height)
    keep = ((boxes[:, 2] - boxes[:, 0]) >= 1) & ((boxes[:, 3] - boxes[:, 1]) >= 1)
    return torch.from_numpy(boxes[keep]), torch.as_tensor(labels[keep], dtype=torch.int64)


def sample_keys(keys: Sequence, max_images: int, seed: int) -> list:
    """Up to `max_images` of `keys`, drawn uniformly with `seed`, in their original order."""
    if len(keys) <= max_images:
        return list(keys)
    pick = np.random.default_rng(seed).choice(len(keys), size=max_images, replace=False)
    return [keys[i] for i in sorted(pick)]


def decode_frames(path: str | os.PathLike, wanted: set[int]) -> dict[int, np.ndarray]:
    """RGB frames (H x W x 3 uint8) at the given decode indices, read sequentially (no seeking)."""
    out: dict[int, np.ndarray] = {}
    last = max(wanted) if wanted else -1
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for i, frame in enumerate(container.decode(stream)):
            if i in wanted:
                out[i] = frame.to_ndarray(format="rgb24")
            if i >= last:
                break
    return out


def load_box_labels(
    boxes_path: str | os.PathLike,
    classes: Sequence[str],
    videos_dir: str | os.PathLike,
    max_images: int,
    seed: int,
) -> list[LabeledImage]:
    """Frames that `boxes.parquet` labels (video_id, frame_idx, label, x1..y2, width, height), decoded
    from `videos_dir`; up to `max_images` of them, sampled with `seed`."""
    df = read_frame(boxes_path)
    index = {name: i + 1 for i, name in enumerate(classes)}
    unknown = sorted(set(df["label"]) - set(index))
    if unknown:
        log.warning("box labels not in the class list are ignored: %s", ", ".join(unknown))
        df = df[df["label"].isin(index)]
    df = df.assign(video_id=df["video_id"].astype(str), frame_idx=df["frame_idx"].astype(int))
    keys = sorted(set(zip(df["video_id"], df["frame_idx"])))
    chosen = sample_keys(keys, max_images, seed)
    root = Path(videos_dir)
    paths = {video_id_of(p, root): p for p in list_videos(root)}
    groups = df.groupby(["video_id", "frame_idx"])
    by_video: dict[str, set[int]] = {}
    for vid, idx in chosen:
        by_video.setdefault(vid, set()).add(idx)
    items: list[LabeledImage] = []
    for vid, wanted in progress(sorted(by_video.items()), desc="decode labelled frames", unit="video"):
        if vid not in paths:
            log.warning("no video file for %s under %s; its labels are skipped", vid, root)
            continue
        frames = decode_frames(paths[vid], wanted)
        for idx in sorted(wanted):
            if idx not in frames:
                log.warning("%s: frame %d is past the end of the video; skipped", vid, idx)
                continue
            rgb = frames[idx]
            rows = groups.get_group((vid, idx))
            boxes, labels = _clean_boxes(
                rows[["x1", "y1", "x2", "y2"]].to_numpy(),
                rows["label"].map(index).to_numpy(),
                rgb.shape[1],
                rgb.shape[0],
            )
            image = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))
            items.append(LabeledImage(image, boxes, labels, vid, f"{vid}/{idx}"))
    return items


def load_coco(
    json_path: str | os.PathLike, images_dir: str | os.PathLike, max_images: int, seed: int
) -> tuple[list[LabeledImage], list[str]]:
    """A COCO-format detection file and its images. Images group by their `video_id` field when they
    have one (so the split stays by video), else each image is its own group. Crowd boxes are skipped."""
    data = json.loads(Path(json_path).read_text(encoding="utf-8"))
    cats = sorted(data["categories"], key=lambda c: c["id"])
    classes = [c["name"] for c in cats]
    label_of = {c["id"]: i + 1 for i, c in enumerate(cats)}
    anns: dict[int, list[dict]] = {}
    for a in data.get("annotations", []):
        if not a.get("iscrowd", 0):
            anns.setdefault(a["image_id"], []).append(a)
    images = sorted(data["images"], key=lambda im: im["id"])
    chosen = sample_keys(images, max_images, seed)
    items = []
    for im in progress(chosen, desc="read labelled images", unit="image"):
        with warnings.catch_warnings():  # torchvision 0.29 deprecates its codecs in favour of TorchCodec
            warnings.simplefilter("ignore", DeprecationWarning)
            image = decode_image(read_file(str(Path(images_dir) / im["file_name"])), mode=ImageReadMode.RGB)
        rows = anns.get(im["id"], [])
        xywh = np.array([a["bbox"] for a in rows], dtype=np.float32).reshape(-1, 4)
        xyxy = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)
        labels = np.array([label_of[a["category_id"]] for a in rows], dtype=np.int64)
        boxes, labels_t = _clean_boxes(xyxy, labels, image.shape[2], image.shape[1])
        group = str(im.get("video_id", im["id"]))
        items.append(LabeledImage(image, boxes, labels_t, group, str(im["file_name"])))
    return items, classes


def split_by_group(
    items: Sequence[LabeledImage], val_fraction: float, seed: int
) -> tuple[list[LabeledImage], list[LabeledImage]]:
    """(train, val): a seeded `val_fraction` of the videos (at least one, never all) is held out."""
    groups = sorted({it.group for it in items})
    if len(groups) < 2:
        raise ValueError(
            f"need labelled frames from at least 2 videos for a held-out split, got {len(groups)}"
        )
    order = np.random.default_rng(seed).permutation(len(groups))
    n_val = min(len(groups) - 1, max(1, math.ceil(val_fraction * len(groups))))
    val = {groups[i] for i in order[:n_val]}
    return [it for it in items if it.group not in val], [it for it in items if it.group in val]
