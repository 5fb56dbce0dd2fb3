"""check_backend stops the run at parse time, with one line, when configured weights cannot be loaded
offline: a torchvision weights name whose file is not in the torch hub cache, or a checkpoint path that
does not exist. A cached file (faked here, never loaded) passes. `none`/`trained` import no torch."""

from __future__ import annotations

import subprocess
import sys

import pytest
from repo_paths import REPO

from psvl.config import ConfigError, validate
from psvl.detection.detectors import check_backend

CUSTOM = {"name": "custom", "videos_dir": "v", "corpus": "c.txt"}  # a dataset without box labels
FRCNN_V2 = "fasterrcnn_resnet50_fpn_v2_coco-dd69338a.pth"
RESNET18 = "resnet18-f37072fd.pth"
R18_NONE = {"extractor": "resnet18", "weights": "none"}  # features that need no file


@pytest.fixture()
def hub(tmp_path, monkeypatch):
    """An empty torch hub cache: TORCH_HOME points at a fresh folder (no network needed or used)."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch" / "hub" / "checkpoints"


def _error(cfg: dict) -> str:
    with pytest.raises(ConfigError) as err:
        check_backend(validate(cfg))
    message = str(err.value)
    assert "\n" not in message, message
    return message


def test_detector_weights_name_not_in_the_hub_cache_stops_with_the_file_and_folder(hub, monkeypatch):
    monkeypatch.delenv("PSVL_DOWNLOAD_WEIGHTS", raising=False)
    cfg = {
        "dataset": CUSTOM,
        "features": R18_NONE,
        "detector": {"name": "fasterrcnn_resnet50_fpn_v2", "weights": "DEFAULT"},
    }
    assert _error(cfg) == (
        f"config.detector.weights: DEFAULT needs {FRCNN_V2} in {hub}: download "
        f"https://download.pytorch.org/models/{FRCNN_V2} there first, or set PSVL_DOWNLOAD_WEIGHTS=1 "
        "to let the jobs download it (machines with internet)"
    )
    monkeypatch.setenv("PSVL_DOWNLOAD_WEIGHTS", "1")
    check_backend(validate(cfg))  # a machine that may download: the jobs fetch it
    monkeypatch.delenv("PSVL_DOWNLOAD_WEIGHTS")
    hub.mkdir(parents=True)
    (hub / FRCNN_V2).write_bytes(b"not loaded by the check")
    check_backend(validate(cfg))  # the file is there: passes without reading it


def test_feature_weights_name_not_in_the_hub_cache_stops_with_the_file_and_folder(hub):
    cfg = {
        "dataset": CUSTOM,
        "detector": {"weights": "none"},
        "features": {"extractor": "resnet18", "weights": "IMAGENET1K_V1"},
    }
    assert _error(cfg).startswith(f"config.features.weights: IMAGENET1K_V1 needs {RESNET18} in {hub}: ")
    hub.mkdir(parents=True)
    (hub / RESNET18).write_bytes(b"")
    check_backend(validate(cfg))


def test_every_missing_weights_file_is_named_at_once(hub, monkeypatch, tmp_path):
    monkeypatch.delenv("PSVL_DOWNLOAD_WEIGHTS", raising=False)
    classes = tmp_path / "classes.txt"
    cfg = {
        "dataset": CUSTOM,
        "features": {"extractor": "resnet18", "weights": "IMAGENET1K_V1"},
        "detector": {"name": "fasterrcnn_resnet50_fpn_v2", "weights": "DEFAULT", "classes": str(classes)},
    }
    parts = _error(cfg).split("; ")
    assert [p.split(":")[0] for p in parts] == [
        "config.detector.weights",
        "config.detector.classes",
        "config.features.weights",
    ]
    assert f"needs {FRCNN_V2} in {hub}" in parts[0] and f"needs {RESNET18} in {hub}" in parts[2]


def test_training_weights_are_checked_when_the_workflow_trains_the_detector(hub):
    det = {"name": "fasterrcnn_mobilenet_v3_large_fpn", "train": {"weights": "COCO_V1"}}
    msg = _error({"detector": det})  # synthetic world, detector.weights: trained
    assert msg.startswith("config.detector.train.weights: COCO_V1 needs fasterrcnn_mobilenet_v3_large_fpn-")
    # not trained (no features from it either): train.weights is never read, so not checked
    check_backend(validate({"detector": {**det, "weights": "none"}, "features": R18_NONE}))


def test_missing_checkpoint_paths_and_unknown_names_are_one_line_errors(hub, tmp_path):
    missing = tmp_path / "nowhere" / "model.pt"
    assert _error({"dataset": CUSTOM, "features": R18_NONE, "detector": {"weights": str(missing)}}) == (
        f"config.detector.weights: checkpoint {missing} does not exist (give an existing file, or none)"
    )
    msg = _error(
        {"detector": {"weights": "none"}, "features": {"extractor": "resnet18", "weights": "resnet.pth"}}
    )
    assert msg.startswith("config.features.weights: checkpoint resnet.pth does not exist")
    msg = _error({"detector": {"weights": "none"}, "features": {"extractor": "detector_backbone", "weights": str(missing)}})  # fmt: skip
    assert msg.startswith("config.features.weights: detector_backbone needs a detector checkpoint file")
    msg = _error(
        {
            "dataset": CUSTOM,
            "features": R18_NONE,
            "detector": {"name": "retinanet_resnet50_fpn_v2", "weights": "COCO_V9"},
        }
    )
    assert "'COCO_V9' is not a weights name of retinanet_resnet50_fpn_v2 (known: DEFAULT, COCO_V1)" in msg
    msg = _error(
        {
            "dataset": CUSTOM,
            "features": R18_NONE,
            "detector": {"name": "fasterrcnn_tiny", "weights": "DEFAULT"},
        }
    )
    assert msg.startswith("config.detector.weights: fasterrcnn_tiny has no torchvision weights")
    msg = _error(
        {
            "dataset": CUSTOM,
            "features": R18_NONE,
            "detector": {"weights": "none", "classes": str(tmp_path / "c.txt")},
        }
    )
    assert msg == f"config.detector.classes: class-name file {tmp_path / 'c.txt'} does not exist"


def test_an_existing_checkpoint_file_passes(hub, tmp_path):
    ckpt = tmp_path / "model.pt"
    ckpt.write_bytes(b"")
    check_backend(validate({"dataset": CUSTOM, "features": R18_NONE, "detector": {"weights": str(ckpt)}}))
    check_backend(validate({"detector": {"weights": "none"}, "features": {"weights": str(ckpt)}}))


def test_the_default_and_random_init_checks_import_no_torch():
    code = (
        "import sys, yaml\n"
        "from psvl.config import validate\n"
        "from psvl.detection.detectors import check_backend\n"
        "check_backend(validate(yaml.safe_load(open('config.yaml'))))\n"
        "check_backend(validate({'detector': {'weights': 'none'}}))\n"
        "print(sorted(m for m in ('torch', 'torchvision') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
