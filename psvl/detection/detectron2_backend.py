"""The optional detectron2 backend (`detector.backend: detectron2`): a detectron2 model behind the
`Detector` interface. detectron2 (and torch) are imported only when this backend is built."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from psvl.detection.checkpoints import read_classes
from psvl.detection.config import DetectorConfig
from psvl.detection.registry import Detector, DetectorError

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
    # lazy: keeps the Snakefile's parse fast (no torch; it imports detectors.py, which imports this)
    import torch
    import torch.nn.functional as F

    try:  # lazy: detectron2 is optional, imported only when this backend is chosen
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
