"""Detection on CPU: the detector's input size follows the detector (a checkpoint's training size, else
the model's own 800 px for a COCO R-CNN) unless detector.input_size says otherwise, and a batch runs as forward passes of at most CPU_REGIONS_PER_PASS
proposed regions (peak memory, docs/detection.md) with the same boxes as one pass."""

from __future__ import annotations

import torch

from psvl.config import default
from psvl.detection import detectors
from psvl.detection.checkpoints import save_checkpoint
from psvl.detection.config import DetectorConfig
from psvl.detection.detectors import load_detector


def _cfg(**overrides) -> DetectorConfig:
    return default(DetectorConfig, "detector", **{"weights": "none", "device": "cpu", **overrides})


def test_the_input_size_follows_the_detector_unless_configured(tmp_path):
    name = "fasterrcnn_mobilenet_v3_large_fpn"  # a COCO R-CNN: its own size is 800 px, 1 000 regions
    own = load_detector(_cfg(name=name)).model
    assert own.transform.min_size == (800,) and own.transform.max_size == 1333
    assert detectors.frames_per_pass(own, "cpu", 16) == 4 and detectors.frames_per_pass(own, "cuda", 16) == 16
    configured = load_detector(_cfg(name=name, input_size=480)).model.transform
    assert configured.min_size == (480,) and configured.max_size == 800  # 1333/800 of it, as the model's own
    tiny = load_detector(_cfg(name="fasterrcnn_tiny")).model
    path = save_checkpoint(tmp_path / "model.pt", tiny, "fasterrcnn_tiny", ["ball"], input_size=96)
    trained = load_detector(_cfg(name="fasterrcnn_tiny", weights="trained"), checkpoint=path).model.transform
    assert trained.min_size == (96,)  # the size it was trained at
    pinned = load_detector(_cfg(name="fasterrcnn_tiny", weights="trained", input_size=64), checkpoint=path)
    assert pinned.model.transform.min_size == (64,)


def test_cpu_passes_are_bounded_by_regions_and_give_the_boxes_of_one_frame_at_a_time(monkeypatch):
    torch.manual_seed(0)
    detector = load_detector(_cfg(name="fasterrcnn_tiny", score_threshold=0.0, input_size=64))
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
