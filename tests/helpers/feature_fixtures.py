"""A hand-made frames table (solid-colour JPEGs) and the small extractor config the features tests share."""

from __future__ import annotations

import warnings

import pandas as pd
import torch
from torchvision.io import encode_jpeg

CFG = {"extractor": "resnet18", "weights": "none", "seed": 0, "batch_size": 8}


def jpeg(value: int, size: int = 32) -> bytes:
    img = torch.zeros((3, size, size), dtype=torch.uint8)
    img[0] = value
    img[1, : size // 2] = 255 - value
    with warnings.catch_warnings():  # torchvision 0.29 flags its codecs as moving to torchcodec
        warnings.simplefilter("ignore", DeprecationWarning)
        return encode_jpeg(img).numpy().tobytes()


def frames_table(n_videos: int = 2, n_frames: int = 10, fps: float = 2.0, phase: float = 0.0) -> pd.DataFrame:
    rows = []
    for v in range(n_videos):
        for k in range(n_frames):
            rows.append(
                {
                    "video_id": f"vid {v}",
                    "frame_idx": 4 * k,
                    "time_s": (k + phase) / fps,
                    "width": 32,
                    "height": 32,
                    "jpeg": jpeg(30 * (k // 4) + 5 * v),
                }
            )
    return pd.DataFrame(rows)
