"""Detection stage: noun table, row conversion (detectron2-style plain tensors), the torchvision path with
`weights: none` end to end on CPU, one-line errors for bad weights, corrupt JPEGs as failures rows."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from psvl.cli import main
from psvl.config import ConfigError, default, validate
from psvl.core.artifacts import read_frame, read_metadata, write_table
from psvl.detection.checkpoints import save_checkpoint
from psvl.detection.config import DetectorConfig
from psvl.detection.detect import to_rows
from psvl.detection.detectors import check_backend, load_detector
from psvl.detection.nouns import BACKGROUND, noun_of
from psvl.detection.registry import DETECTORS


def jpeg_of(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def square_frame(size: int, color: tuple[int, int, int], box: tuple[int, int, int, int]) -> np.ndarray:
    img = np.full((size, size, 3), 90, np.uint8)
    x1, y1, x2, y2 = box
    img[y1:y2, x1:x2] = color
    return img


@pytest.fixture()
def frames_file(tmp_path):
    """Four frames of two videos (coloured squares on grey) plus one corrupt JPEG of video `v2`."""
    rows = []
    for i, (vid, color) in enumerate([("v1", (255, 0, 0)), ("v1", (0, 0, 255)), ("v2", (0, 255, 0))]):
        jpeg = jpeg_of(square_frame(64, color, (10 + 5 * i, 12, 40, 44)))
        rows.append((vid, i, i * 0.5, 64, 64, jpeg))
    rows.append(("v2", 7, 3.5, 64, 64, b"\xff\xd8\xff\xe0 not really a jpeg"))
    cols = dict(zip(["video_id", "frame_idx", "time_s", "width", "height", "jpeg"], map(list, zip(*rows))))
    path = tmp_path / "frames.parquet"
    write_table("frames", cols, path, stage="frames")
    return path


def test_noun_table_maps_multiword_classes_and_user_overrides_win():
    assert noun_of("dining table") == "table"
    assert noun_of("cell phone") == "phone"
    assert noun_of("potted plant") == "plant"
    assert noun_of("sports ball") == "ball"
    assert noun_of("person") == "person"
    assert noun_of("N/A") is None and noun_of(BACKGROUND) is None
    assert noun_of("stop sign,stopsign") == "sign"  # Visual Genome: first synonym, head noun
    assert noun_of("Traffic_Cone") == "cone"
    assert noun_of("person", {"person": "man"}) == "man"
    assert noun_of("cup", {"cup": None}) is None


def test_rows_from_detectron2_style_plain_tensors_keep_threshold_cap_and_score_order():
    names = ["man", "stop sign,stopsign", "shirt", "N/A"]  # 0-based, as detectron2's pred_classes
    boxes = torch.tensor(
        [[0, 0, 10, 10], [1, 1, 5, 5], [2, 2, 8, 9], [3, 3, 4, 4], [0, 0, 1, 1]], dtype=torch.float32
    )
    scores = torch.tensor([0.6, 0.9, 0.3, 0.95, 0.7])
    classes = torch.tensor([0, 1, 2, 3, 2])
    nouns = {i: noun_of(n) for i, n in enumerate(names)}
    rows = to_rows(boxes, scores, classes, names, nouns, score_threshold=0.5, max_per_frame=2)
    # 0.95 is class N/A (no noun, dropped); then 0.9 sign, 0.7 shirt; the cap stops at two rows
    assert [(r[0], round(r[1], 2)) for r in rows] == [("sign", 0.9), ("shirt", 0.7)]
    assert rows[0][2:] == (1.0, 1.0, 5.0, 5.0)
    assert to_rows(boxes[:0], scores[:0], classes[:0], names, nouns, 0.0, 5) == []


def test_registry_has_the_required_torchvision_detectors_and_the_compact_one():
    for name in (
        "fasterrcnn_resnet50_fpn_v2",
        "fasterrcnn_mobilenet_v3_large_fpn",
        "retinanet_resnet50_fpn_v2",
        "fasterrcnn_tiny",
    ):
        assert name in DETECTORS
    with pytest.raises(ConfigError, match="unknown detector 'yolo'"):
        check_backend(validate({"detector": {"name": "yolo"}}))


def test_mobilenet_with_weights_none_runs_end_to_end_on_cpu_and_corrupt_jpeg_is_a_failures_row(
    frames_file, tmp_path
):
    out, failures = tmp_path / "det.parquet", tmp_path / "fail.parquet"
    section = '{"name": "fasterrcnn_mobilenet_v3_large_fpn", "weights": "none", "score_threshold": 0.0, "max_per_frame": 3, "batch_size": 2, "device": "cpu", "input_size": 96}'
    torch.manual_seed(0)
    rc = main(["detect", "--frames", str(frames_file), "--out", str(out), "--failures", str(failures),
               "--set", f"detector={section}"])  # fmt: skip
    assert rc == 0
    det = read_frame(out, "detections")
    assert len(det) > 0  # random init, threshold 0: nonsense boxes, but the real code path
    assert det.groupby(["video_id", "frame_idx"]).size().max() <= 3
    assert set(det["frame_idx"]) <= {0, 1, 2}  # the corrupt frame 7 has no rows
    from torchvision.models import get_model_weights

    coco_nouns = {
        noun_of(c) for c in get_model_weights("fasterrcnn_mobilenet_v3_large_fpn").DEFAULT.meta["categories"]
    }
    assert set(det["label"]) <= coco_nouns - {None}
    assert not set(det["label"]) & {"dining table", "cell phone", "N/A"}
    assert (det["x2"] >= det["x1"]).all() and (det["y2"] >= det["y1"]).all()
    fail = read_frame(failures, "failures")
    assert list(fail["video_id"]) == ["v2"] and fail["stage"].iloc[0] == "detect"
    assert "frame 7" in fail["error"].iloc[0]
    meta = read_metadata(out)["config"]
    assert meta["detector"] == "fasterrcnn_mobilenet_v3_large_fpn" and meta["weights"] == "none"
    assert "person" in meta["classes"] and "table" not in meta["classes"]  # class names, not nouns


def test_weights_that_cannot_be_downloaded_or_do_not_exist_fail_with_one_clear_line(
    frames_file, tmp_path, monkeypatch, capsys
):
    empty_home = tmp_path / "torch_home"  # no cached weights, and no network on this machine
    empty_home.mkdir()
    monkeypatch.setenv("TORCH_HOME", str(empty_home))
    base = ["detect", "--frames", str(frames_file), "--out", str(tmp_path / "d.parquet")]
    name = '"name": "fasterrcnn_mobilenet_v3_large_fpn"'
    capsys.readouterr()
    assert main([*base, "--set", f'detector={{{name}, "weights": "DEFAULT"}}']) == 2
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("psvl detect: cannot load detector weights")
    assert "fasterrcnn_mobilenet_v3_large_fpn-fb6a3cc7.pth" in lines[0]
    assert str(empty_home / "hub" / "checkpoints") in lines[0]
    assert main([*base, "--set", f'detector={{{name}, "weights": "IMAGENET_V9"}}']) == 2
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(lines) == 1, lines
    assert "'IMAGENET_V9' is not a weights name of fasterrcnn_mobilenet_v3_large_fpn" in lines[0]
    assert "COCO_V1" in lines[0]
    assert not (tmp_path / "d.parquet").exists()


def test_detectron2_backend_missing_stops_before_any_job_with_install_hint():
    cfg = validate(
        {"detector": {"backend": "detectron2", "detectron2_config": "vg.yaml", "weights": "vg.pth"}}
    )
    try:
        import detectron2  # noqa: F401
    except ImportError:
        with pytest.raises(ConfigError, match=r"detectron2 is not installed; install it with `pip install"):
            check_backend(cfg)
    else:  # installed: the config check asks for the class-name file instead
        with pytest.raises(ConfigError, match="classes"):
            check_backend(cfg)


def test_trained_weights_need_the_synthetic_world_or_a_checkpoint():
    check_backend(validate({}))  # the default: synthetic world, trained detector
    with pytest.raises(ConfigError, match="'trained' trains on the synthetic world"):
        check_backend(validate({"dataset": {"name": "custom", "videos_dir": "v", "corpus": "c.txt"}}))
    with pytest.raises(ConfigError, match="no --checkpoint"):
        load_detector(default(DetectorConfig, "detector", weights="trained", device="cpu"))


def test_checkpoint_loads_with_weights_only_and_builds_the_same_detector(tmp_path):
    torch.manual_seed(0)
    model, _ = DETECTORS.get("fasterrcnn_tiny")(num_classes=3, weights=None)
    path = save_checkpoint(tmp_path / "model.pt", model, "fasterrcnn_tiny", ["ball", "cube"], input_size=64)
    ckpt = torch.load(path, weights_only=True)
    assert (
        ckpt["arch"] == "fasterrcnn_tiny" and ckpt["classes"] == ["ball", "cube"] and ckpt["input_size"] == 64
    )
    det = load_detector(default(DetectorConfig, "detector", weights="trained", device="cpu"), checkpoint=path)
    assert det.labels == [BACKGROUND, "ball", "cube"] and det.name == "fasterrcnn_tiny"
    (tmp_path / "c.txt").write_text("red\nblue\n")
    assert load_detector(
        default(DetectorConfig, "detector", weights=str(path), device="cpu"), classes=str(tmp_path / "c.txt")
    ).labels[1:] == ["red", "blue"]
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ConfigError, match="cannot read detector checkpoint"):
        load_detector(default(DetectorConfig, "detector", device="cpu"), checkpoint=tmp_path / "bad.pt")
