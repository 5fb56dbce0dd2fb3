"""Detection on CPU: the detector sees frames at their stored size (no 128 -> 800 px enlargement) unless
detector.input_size says otherwise, and a batch runs as forward passes of at most CPU_REGIONS_PER_PASS
proposed regions (peak memory, docs/detection.md) with the same boxes as one pass."""

from __future__ import annotations

import pyarrow as pa
import torch

from psvl.commands.detect import stored_size
from psvl.config import default
from psvl.detection import detectors
from psvl.detection.config import DetectorConfig
from psvl.detection.detectors import load_detector


def _cfg(**overrides) -> DetectorConfig:
    return default(DetectorConfig, "detector", weights="none", device="cpu", **overrides)


def test_stored_size_is_the_largest_shorter_side_in_the_shard():
    frames = pa.table({"width": [64, 80, 48], "height": [48, 60, 64]})
    assert stored_size(frames) == 60


def test_the_input_size_follows_the_frames_unless_configured():
    name = "fasterrcnn_mobilenet_v3_large_fpn"  # a COCO R-CNN: its own size is 800 px, 1 000 regions
    model = load_detector(_cfg(name=name), frame_size=128).model
    follows = model.transform
    assert follows.min_size == (128,) and follows.max_size == 213  # 1333/800 of it, as the model's own
    assert (
        detectors.frames_per_pass(model, "cpu", 16) == 4
        and detectors.frames_per_pass(model, "cuda", 16) == 16
    )
    configured = load_detector(_cfg(name=name, input_size=96), frame_size=128).model.transform
    assert configured.min_size == (96,)
    assert load_detector(_cfg(name=name)).model.transform.min_size == (800,)  # no frames given: its own


def test_cpu_passes_are_bounded_by_regions_and_give_the_boxes_of_one_frame_at_a_time(monkeypatch):
    torch.manual_seed(0)
    detector = load_detector(_cfg(name="fasterrcnn_tiny", score_threshold=0.0), frame_size=64)
    passes: list[int] = []
    detector.model.register_forward_pre_hook(lambda module, args: passes.append(len(args[0])))
    images = [torch.rand(3, 64, 64, generator=torch.Generator().manual_seed(i)) for i in range(10)]
    detector.predict(images)
    assert passes == [10]  # 100 regions per frame: the whole batch fits in one pass
    monkeypatch.setattr(detectors, "CPU_REGIONS_PER_PASS", 400)
    passes.clear()
    batched = detector.predict(images)
    assert passes == [4, 4, 2]
    assert sum(len(boxes) for boxes, _, _ in batched) > 0  # random init, threshold 0: boxes to compare
    alone = [detector.predict([im])[0] for im in images]
    for (boxes, scores, labels), (b1, s1, l1) in zip(batched, alone):
        assert torch.allclose(boxes, b1, atol=1e-4) and torch.allclose(scores, s1, atol=1e-5)
        assert torch.equal(labels, l1)
