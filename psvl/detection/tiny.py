"""`fasterrcnn_tiny`: torchvision's Faster R-CNN with a small from-scratch backbone, for small frames.

Why not `fasterrcnn_mobilenet_v3_large_320_fpn`: it upsamples 128 px frames to 320 px and reads only
stride-16/32 maps (4 x 4 cells at 128 px), which from scratch trains slowly on a CPU and misses small
objects. This one keeps the frame size, reads stride-8 and stride-16 maps through an FPN, and has
~0.5 M parameters; every part except the backbone's convolutions is torchvision's own.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict

import torch
from torch import nn
from torchvision.models.detection import FasterRCNN
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.ops import FeaturePyramidNetwork, MultiScaleRoIAlign
from torchvision.ops.feature_pyramid_network import LastLevelMaxPool
from torchvision.ops.misc import Conv2dNormActivation


def _stage(cin: int, cout: int) -> nn.Sequential:
    """Halve the resolution, then one more 3x3 convolution (conv-BN-ReLU each)."""
    return nn.Sequential(Conv2dNormActivation(cin, cout, stride=2), Conv2dNormActivation(cout, cout))


class TinyBackbone(nn.Module):
    """Four stride-2 stages (strides 4, 8, 16, 32 out) and an FPN over the last three."""

    def __init__(self, widths: tuple[int, ...] = (24, 48, 96, 128, 160), out_channels: int = 64) -> None:
        super().__init__()
        self.stem = Conv2dNormActivation(3, widths[0], stride=2)
        self.stages = nn.ModuleList(_stage(a, b) for a, b in itertools.pairwise(widths))
        self.fpn = FeaturePyramidNetwork(list(widths[2:]), out_channels, extra_blocks=LastLevelMaxPool())
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> OrderedDict[str, torch.Tensor]:
        x = self.stem(x)
        feats = OrderedDict()
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i >= 1:  # strides 8, 16, 32
                feats[str(i - 1)] = x
        return self.fpn(feats)


def fasterrcnn_tiny(num_classes: int, min_size: int = 128, max_size: int = 128, **kwargs) -> FasterRCNN:
    """Faster R-CNN (torchvision) on TinyBackbone; `num_classes` counts the background."""
    backbone = TinyBackbone()
    c = backbone.out_channels
    anchors = AnchorGenerator(sizes=((16,), (32,), (64,), (96,)), aspect_ratios=((0.5, 1.0, 2.0),) * 4)
    roi_pool = MultiScaleRoIAlign(featmap_names=["0", "1", "2"], output_size=7, sampling_ratio=2)
    defaults = {
        "rpn_pre_nms_top_n_train": 300,
        "rpn_post_nms_top_n_train": 100,
        "rpn_pre_nms_top_n_test": 300,
        "rpn_post_nms_top_n_test": 100,
        "rpn_batch_size_per_image": 128,
        "box_batch_size_per_image": 32,
    }
    defaults.update(kwargs)
    return FasterRCNN(
        backbone,
        num_classes=None,
        min_size=min_size,
        max_size=max_size,
        rpn_anchor_generator=anchors,
        box_roi_pool=roi_pool,
        box_head=TwoMLPHead(c * 7 * 7, 256),
        box_predictor=FastRCNNPredictor(256, num_classes),
        **defaults,
    )
