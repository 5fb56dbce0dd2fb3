"""The detector_backbone extractor: features from a psvl detector checkpoint's pooled pyramid."""

import io

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from psvl.detection.checkpoints import save_checkpoint
from psvl.detection.tiny import fasterrcnn_tiny
from psvl.features.extractors import EXTRACTORS, WeightsError
from psvl.features.features import extract_features


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    model = fasterrcnn_tiny(num_classes=3)
    return save_checkpoint(tmp_path_factory.mktemp("det") / "model.pt", model, "fasterrcnn_tiny", ["a", "b"])


def _jpeg(colour):
    buf = io.BytesIO()
    Image.fromarray(np.full((64, 64, 3), colour, np.uint8)).save(buf, format="JPEG")
    return buf.getvalue()


def test_detector_backbone_pools_every_pyramid_level(checkpoint):
    ext = EXTRACTORS.get("detector_backbone")(str(checkpoint), 0)
    # fasterrcnn_tiny: 4 FPN outputs of 64 channels, each max- and mean-pooled
    assert ext.dim == 4 * 64 * 2
    with torch.inference_mode():
        out = ext.module(torch.randn(2, 3, 96, 128))
    assert out.shape == (2, ext.dim)


def test_detector_backbone_features_one_row_per_frame(checkpoint):
    frames = pd.DataFrame(
        {
            "video_id": ["v"] * 3,
            "frame_idx": [0, 4, 8],
            "time_s": [0.0, 0.5, 1.0],
            "width": [64] * 3,
            "height": [64] * 3,
            "jpeg": [_jpeg(c) for c in (0, 128, 255)],
        }
    )
    cfg = {"extractor": "detector_backbone", "weights": str(checkpoint), "batch_size": 2, "device": "cpu"}
    feats = extract_features(frames, cfg, {"fps": 2.0})
    assert list(feats["segment_idx"]) == [0, 1, 2]
    assert {len(f) for f in feats["feature"]} == {512}
    a, b = (np.asarray(feats["feature"].iloc[i]) for i in (0, 2))
    assert not np.allclose(a, b), "a black and a white frame must not give the same features"


def test_detector_backbone_without_a_checkpoint_says_what_it_needs(tmp_path):
    with pytest.raises(WeightsError, match="needs a detector checkpoint"):
        EXTRACTORS.get("detector_backbone")(str(tmp_path / "missing.pt"), 0)
