"""Detection stage: noun table, row conversion (detectron2-style plain tensors), the torchvision path with
`weights: none` end to end on CPU (seeded), one-line errors for bad weights, corrupt JPEGs as failures
rows, and a shard without frames that writes its files without loading the detector."""

from __future__ import annotations

import io

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch
from PIL import Image

import psvl.commands.detect as detect_command
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


FRAME_COLUMNS = ["video_id", "frame_idx", "time_s", "width", "height", "jpeg"]
TINY = '{"name": "fasterrcnn_tiny", "weights": "none", "score_threshold": 0.0, "device": "cpu"}'


def write_frames(path, rows) -> str:
    cols = dict(zip(FRAME_COLUMNS, map(list, zip(*rows)))) if rows else {c: [] for c in FRAME_COLUMNS}
    write_table("frames", cols, path, stage="frames")
    return str(path)


def detect(frames: str, out_dir, section: str = TINY) -> tuple:
    out, failures = out_dir / "det.parquet", out_dir / "fail.parquet"
    out_dir.mkdir(exist_ok=True)
    assert main(["detect", "--frames", frames, "--out", str(out), "--failures", str(failures),
                 "--set", f"detector={section}"]) == 0  # fmt: skip
    return out, failures


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
        custom = {"name": "custom", "videos_dir": "v", "corpus": "c.txt"}
        check_backend(validate({"dataset": custom, "detector": {"weights": "trained"}}))
    with pytest.raises(ConfigError, match="no --checkpoint"):
        load_detector(
            default(DetectorConfig, "detector", name="fasterrcnn_tiny", weights="trained", device="cpu")
        )


def test_checkpoint_loads_with_weights_only_and_builds_the_same_detector(tmp_path):
    torch.manual_seed(0)
    model, _ = DETECTORS.get("fasterrcnn_tiny")(num_classes=3, weights=None)
    path = save_checkpoint(tmp_path / "model.pt", model, "fasterrcnn_tiny", ["ball", "cube"], input_size=64)
    ckpt = torch.load(path, weights_only=True)
    assert (
        ckpt["arch"] == "fasterrcnn_tiny" and ckpt["classes"] == ["ball", "cube"] and ckpt["input_size"] == 64
    )
    det = load_detector(
        default(DetectorConfig, "detector", name="fasterrcnn_tiny", weights="trained", device="cpu"),
        checkpoint=path,
    )
    assert det.labels == [BACKGROUND, "ball", "cube"] and det.name == "fasterrcnn_tiny"
    (tmp_path / "c.txt").write_text("red\nblue\n")
    assert load_detector(
        default(DetectorConfig, "detector", name="fasterrcnn_tiny", weights=str(path), device="cpu"),
        classes=str(tmp_path / "c.txt"),
    ).labels[1:] == ["red", "blue"]
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ConfigError, match="cannot read detector checkpoint"):
        load_detector(
            default(DetectorConfig, "detector", name="fasterrcnn_tiny", device="cpu"),
            checkpoint=tmp_path / "bad.pt",
        )


def test_a_video_whose_jpegs_are_all_garbage_is_one_failures_row_and_the_shard_completes(tmp_path):
    good = [("v1", i, i * 0.5, 64, 64, jpeg_of(square_frame(64, (255, 0, 0), (8 + 4 * i, 10, 40, 44))))
            for i in range(3)]  # fmt: skip
    garbage = [b"not a jpeg at all", good[0][5][:40], b""]  # foreign bytes, truncated JPEG, empty
    bad = [("v2", i, i * 0.5, 64, 64, g) for i, g in enumerate(garbage)]
    out, failures = detect(write_frames(tmp_path / "mixed.parquet", good + bad), tmp_path / "mixed")
    fail = read_frame(failures, "failures")
    assert fail[["video_id", "stage"]].values.tolist() == [["v2", "detect"]]
    assert (
        fail["error"].iloc[0]
        == "3 frame(s) could not be decoded as JPEG (frame 0: Not a JPEG file: starts with 0x6e 0x6f)"
    )
    det = read_frame(out, "detections")
    assert len(det) > 0 and set(det["video_id"]) == {"v1"}
    # the good video's rows are exactly those of a shard holding only it (weights none is seeded)
    alone, alone_failures = detect(write_frames(tmp_path / "v1.parquet", good), tmp_path / "alone")
    assert det.equals(read_frame(alone, "detections"))
    assert len(read_frame(alone_failures, "failures")) == 0


def test_shard_without_frames_boundary_mock_detector_is_not_loaded_and_files_keep_their_schemas(
    tmp_path, monkeypatch
):
    reference, reference_failures = detect(write_frames(tmp_path / "one.parquet", [
        ("v1", 0, 0.0, 64, 64, jpeg_of(square_frame(64, (0, 0, 255), (8, 8, 40, 40)))),
        ("v2", 0, 0.0, 64, 64, b"garbage"),
    ]), tmp_path / "reference")  # fmt: skip
    loads = []
    monkeypatch.setattr(detect_command, "load_detector", lambda *a, **k: loads.append(a) or 1 / 0)
    out, failures = detect(write_frames(tmp_path / "empty.parquet", []), tmp_path / "empty")
    assert loads == []
    assert len(read_frame(out, "detections")) == 0 and len(read_frame(failures, "failures")) == 0
    for mine, theirs in ((out, reference), (failures, reference_failures)):
        assert pq.read_schema(mine).remove_metadata() == pq.read_schema(theirs).remove_metadata()
    meta = read_metadata(out)["config"]
    assert (
        meta["detector"] == "fasterrcnn_tiny" and meta["weights"] == "none" and meta["score_threshold"] == 0
    )


def test_random_init_is_seeded_by_detector_train_seed_and_leaves_the_global_rng_alone():
    def params(seed: int, global_seed: int) -> list:
        cfg = default(
            DetectorConfig, "detector", name="fasterrcnn_tiny", weights="none", device="cpu"
        )  # fasterrcnn_tiny
        cfg.train = {**cfg.train, "seed": seed}
        torch.manual_seed(global_seed)  # whatever the global RNG holds does not matter
        return [p.detach().clone() for p in load_detector(cfg).model.parameters()]

    first, second, other = params(0, 100), params(0, 200), params(1, 100)
    assert len(first) > 10 and all(torch.equal(a, b) for a, b in zip(first, second))
    assert not all(torch.equal(a, b) for a, b in zip(first, other))
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    load_detector(default(DetectorConfig, "detector", name="fasterrcnn_tiny", weights="none", device="cpu"))
    assert torch.equal(torch.rand(3), expected)
