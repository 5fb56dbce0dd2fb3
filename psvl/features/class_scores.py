"""`features.class_scores`: the backbone's own classifier over every segment (docs/features.md).

The class_scores artifact (video_id, segment_idx, start_s, end_s, scores) is what class grounding
(`predict.localizer: class_scores`, psvl.localization.class_grounding) reads. Here it comes from the
network that made the features: its classification layer (Kinetics-400 for the 3D models, ImageNet-1k for
the ResNets), kept aside when the features stage strips it, is applied to each segment's pooled feature.
The layer is affine, so fc(mean of a segment's frame or clip features) equals the mean of their logits:
the scores average over a segment exactly as its feature does, and need no second pass over the pixels.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch

from psvl.features.extractors import Extractor

COLUMNS = ["video_id", "segment_idx", "start_s", "end_s", "scores"]


def head_scores(extractor: Extractor, features: pd.DataFrame) -> pd.DataFrame:
    """class_scores rows (logits, float32, one column per `extractor.classes`) of a features table."""
    if extractor.head is None:
        raise ValueError(f"features.class_scores: extractor {extractor.name} has no named classifier head")
    if not len(features):
        return pd.DataFrame({c: pd.Series(dtype=object) for c in COLUMNS})
    head = extractor.head.float().cpu()
    with torch.inference_mode():
        logits = head(torch.from_numpy(np.stack(features["feature"].to_numpy()).astype(np.float32)))
    out = features[["video_id", "segment_idx", "start_s", "end_s"]].reset_index(drop=True)
    out["scores"] = list(logits.numpy().astype(np.float32, copy=False))
    return out


def scores_shaping(extractor: Extractor, features_shaping: dict[str, Any]) -> dict[str, Any]:
    """The class_scores file's provenance: the features' shaping plus the class names (read back by
    `psvl ground`, psvl.commands.ground.class_names)."""
    return {**features_shaping, "classes": list(extractor.classes)}
