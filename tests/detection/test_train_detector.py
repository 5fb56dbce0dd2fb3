"""Detector training: labelled frames decoded from real mp4s, the held-out split by video, AP50 through
pycocotools on hand-made predictions, and a short training run whose checkpoint `psvl detect` uses."""

from __future__ import annotations

import io
import json
import re
import shlex
import subprocess

import numpy as np
import pytest
import torch
from PIL import Image

from psvl.cli import main
from psvl.core.artifacts import read_frame, read_metadata, write_table
from psvl.detection.labels import LabeledImage, load_box_labels, split_by_group
from psvl.detection.train_detector import ap50_per_class

av = pytest.importorskip("av")

SIZE, FPS, FRAMES = 64, 8, 6
COLORS = {"ball": (230, 30, 30), "cube": (30, 30, 230)}


def _box(v: int, i: int) -> tuple[int, int, int, int]:
    x1, y1 = 4 + 3 * i + 2 * v, 8 + 2 * v
    return x1, y1, x1 + 20, y1 + 18


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Four 64 px H.264 videos; video v shows one square (ball if v is even, cube if odd) moving right."""
    root = tmp_path_factory.mktemp("det_world")
    (root / "videos").mkdir()
    rows = []
    for v in range(4):
        label = "ball" if v % 2 == 0 else "cube"
        with av.open(str(root / "videos" / f"synth_{v:04d}.mp4"), "w") as out:
            stream = out.add_stream("libx264", rate=FPS)
            stream.width, stream.height, stream.pix_fmt = SIZE, SIZE, "yuv420p"
            for i in range(FRAMES):
                img = np.full((SIZE, SIZE, 3), 200, np.uint8)
                x1, y1, x2, y2 = _box(v, i)
                img[y1:y2, x1:x2] = COLORS[label]
                rows.append((f"synth_{v:04d}", i, i / FPS, label, x1, y1, x2, y2, SIZE, SIZE))
                for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                    out.mux(packet)
            for packet in stream.encode():
                out.mux(packet)
    names = ["video_id", "frame_idx", "time_s", "label", "x1", "y1", "x2", "y2", "width", "height"]
    import pandas as pd

    pd.DataFrame(rows, columns=names).to_parquet(root / "boxes.parquet")
    (root / "classes.txt").write_text("ball\ncube\n")
    return root


def test_labelled_frames_are_decoded_from_the_videos_with_their_boxes(world):
    items = load_box_labels(
        world / "boxes.parquet", ["ball", "cube"], world / "videos", max_images=10, seed=0
    )
    assert len(items) == 10  # 24 labelled frames, 10 sampled
    for it in items:
        vid, idx = it.key.split("/")
        v, i = int(vid[-4:]), int(idx)
        assert it.image.shape == (3, SIZE, SIZE) and it.image.dtype == torch.uint8
        assert it.boxes.tolist() == [list(map(float, _box(v, i)))]
        assert it.labels.tolist() == [1 if v % 2 == 0 else 2]
        x1, y1, x2, y2 = _box(v, i)
        inside = it.image[:, y1 + 3 : y2 - 3, x1 + 3 : x2 - 3].float().mean(dim=(1, 2))
        assert np.allclose(
            inside.numpy(), COLORS["ball" if v % 2 == 0 else "cube"], atol=25
        )  # the right frame


def test_held_out_split_is_by_video_seeded_and_never_empty():
    items = [
        LabeledImage(torch.zeros(1), torch.zeros(0, 4), torch.zeros(0), f"v{i % 10}", str(i))
        for i in range(50)
    ]
    train, val = split_by_group(items, 0.2, seed=3)
    assert len({it.group for it in val}) == 2 and len(train) + len(val) == 50
    assert not {it.group for it in train} & {it.group for it in val}
    assert [it.key for it in split_by_group(items, 0.2, seed=3)[1]] == [it.key for it in val]
    assert (
        len({it.group for it in split_by_group(items[:20], 0.99, seed=0)[0]}) == 1
    )  # one video stays in train
    with pytest.raises(ValueError, match="at least 2 videos"):
        split_by_group(items[:1], 0.2, seed=0)


def test_ap50_through_pycocotools_matches_hand_counted_values():
    def item(boxes, labels):
        return LabeledImage(torch.zeros(3, 50, 50, dtype=torch.uint8), torch.tensor(boxes, dtype=torch.float32),
                            torch.tensor(labels), "v", "k")  # fmt: skip

    def pred(boxes, scores, labels):
        return {"boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
                "scores": torch.tensor(scores), "labels": torch.tensor(labels, dtype=torch.int64)}  # fmt: skip

    gt = [item([[0, 0, 10, 10]], [1]), item([[20, 20, 40, 40]], [1]), item([[5, 5, 25, 25]], [2])]
    preds = [
        pred([[0, 0, 10, 11]], [0.9], [1]),  # IoU 0.91: hit
        pred([[20, 20, 29, 29], [21, 20, 40, 40]], [0.8, 0.3], [1, 1]),  # IoU 0.2 miss first, then a hit
        pred([[30, 30, 45, 45]], [0.7], [2]),  # the cube is missed
    ]
    ap = ap50_per_class(gt, preds, ["ball", "cube", "star"])
    # ball: ranked hit (P=1, R=.5), miss, hit (P=2/3, R=1) -> interpolated precision 1 up to R=.5, 2/3 after
    assert ap["ball"] == pytest.approx((51 * 1 + 50 * (2 / 3)) / 101, abs=1e-6)
    assert ap["cube"] == 0.0
    assert ap["star"] is None  # no ground truth: not part of the mean
    perfect = [pred(it.boxes.tolist(), [1.0] * len(it.labels), it.labels.tolist()) for it in gt]
    assert ap50_per_class(gt, perfect, ["ball", "cube"]) == pytest.approx({"ball": 1.0, "cube": 1.0})


def test_short_training_run_writes_a_weights_only_checkpoint_that_detect_uses(world, tmp_path):
    out_dir, metrics = tmp_path / "detector", tmp_path / "eval" / "detector.json"
    train = {"epochs": 1, "batch_size": 4, "max_images": 16, "val_fraction": 0.25, "warmup_iters": 2}
    rc = main(["train-detector", "--boxes", str(world / "boxes.parquet"), "--classes", str(world / "classes.txt"),
               "--videos-dir", str(world / "videos"), "--out-dir", str(out_dir), "--metrics", str(metrics),
               "--set", "detector=" + json.dumps({"device": "cpu", "train": train})])  # fmt: skip
    assert rc == 0
    ckpt = torch.load(out_dir / "model.pt", weights_only=True)
    assert (
        ckpt["arch"] == "fasterrcnn_tiny"
        and ckpt["classes"] == ["ball", "cube"]
        and ckpt["input_size"] == SIZE
    )
    assert (out_dir / "classes.txt").read_text() == "ball\ncube\n"
    m = json.loads(metrics.read_text())
    assert set(m) >= {"AP50", "per_class", "train_seconds"} and 0.0 <= m["AP50"] <= 1.0
    assert set(m["per_class"]) == {"ball", "cube"} and m["train_seconds"] > 0
    assert m["n_train_images"] + m["n_images"] == 16 and m["iterations"] == m["n_train_images"] // 4 + (
        m["n_train_images"] % 4 > 0
    )

    frames = {"video_id": [], "frame_idx": [], "time_s": [], "width": [], "height": [], "jpeg": []}
    for i in range(3):
        img = np.full((SIZE, SIZE, 3), 200, np.uint8)
        img[10:30, 10 + i : 30 + i] = COLORS["ball"]
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="JPEG")
        for key, value in zip(frames, ("x", i, i / 2, SIZE, SIZE, buf.getvalue())):
            frames[key].append(value)
    write_table("frames", frames, tmp_path / "frames.parquet", stage="frames")
    det_path = tmp_path / "det.parquet"
    rc = main(["detect", "--frames", str(tmp_path / "frames.parquet"), "--checkpoint", str(out_dir / "model.pt"),
               "--classes", str(out_dir / "classes.txt"), "--out", str(det_path), "--failures",
               str(tmp_path / "f.parquet"), "--set", 'detector={"score_threshold": 0.0, "max_per_frame": 4, "device": "cpu"}'])  # fmt: skip
    assert rc == 0
    det = read_frame(det_path, "detections")
    assert set(det["label"]) <= {"ball", "cube"}
    assert det.groupby("frame_idx").size().max() <= 4
    meta = read_metadata(det_path)["config"]
    assert meta["detector"] == "fasterrcnn_tiny" and meta["classes"] == ["ball", "cube"]
    assert meta["weights"].endswith("model.pt")
    assert len(read_frame(tmp_path / "f.parquet", "failures")) == 0


def test_training_prints_one_line_per_epoch_on_the_console_of_a_workflow_job(world, tmp_path):
    """The rule's shell form (console as fd 3, stdout and stderr to the log): each epoch's line and the
    closing line reach the console while the job runs, and the log has them too."""
    log = tmp_path / "train_detector.log"
    train = {"epochs": 2, "batch_size": 16, "max_images": 12, "val_fraction": 0.25, "warmup_iters": 1}
    args = ["psvl", "--job", "1", str(log), "train-detector", "--boxes", str(world / "boxes.parquet"),
            "--classes", str(world / "classes.txt"), "--videos-dir", str(world / "videos"),
            "--out-dir", str(tmp_path / "detector"), "--threads", "1",
            "--set", "detector=" + json.dumps({"device": "cpu", "train": train})]  # fmt: skip
    shell = " ".join(shlex.quote(a) for a in args) + f" 3>&2 > {shlex.quote(str(log))} 2>&1"
    run = subprocess.run(
        ["bash", "-c", shell], capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False
    )
    assert run.returncode == 0, log.read_text()
    console = run.stderr.splitlines()
    assert [re.sub(r"[\d.]+ s$", "T s", re.sub(r"loss \d+\.\d{4}", "loss L", c)) for c in console[:2]] == [
        "train_detector epoch 1/2: loss L, 1 batch, T s",
        "train_detector epoch 2/2: loss L, 1 batch, T s",
    ]
    assert re.fullmatch(
        r"train_detector: 2 epochs, 10 training frames, held-out AP50 \d\.\d{3}, \d+ s", console[2]
    )
    assert len(console) == 3 and all(c in log.read_text() for c in console)


def test_coco_labels_load_with_video_groups_and_xywh_boxes(tmp_path):
    from psvl.detection.labels import load_coco

    images, anns = [], []
    for i in range(4):
        img = np.full((40, 50, 3), 200, np.uint8)
        img[5:25, 10:30] = COLORS["cube"]
        Image.fromarray(img).save(tmp_path / f"im{i}.png")
        images.append(
            {"id": 10 + i, "file_name": f"im{i}.png", "width": 50, "height": 40, "video_id": f"v{i // 2}"}
        )
        anns.append({"id": i, "image_id": 10 + i, "category_id": 7, "bbox": [10, 5, 20, 20], "iscrowd": 0})
    anns.append(
        {"id": 99, "image_id": 10, "category_id": 3, "bbox": [0, 0, 5, 5], "iscrowd": 1}
    )  # crowd: skipped
    coco = {
        "images": images,
        "annotations": anns,
        "categories": [{"id": 7, "name": "cube"}, {"id": 3, "name": "ball"}],
    }
    (tmp_path / "labels.json").write_text(json.dumps(coco))
    items, classes = load_coco(tmp_path / "labels.json", tmp_path, max_images=10, seed=0)
    assert classes == ["ball", "cube"]  # ordered by category id; label = position + 1
    assert [it.group for it in items] == ["v0", "v0", "v1", "v1"]
    assert all(it.boxes.tolist() == [[10.0, 5.0, 30.0, 25.0]] and it.labels.tolist() == [2] for it in items)
    assert items[0].image.shape == (3, 40, 50)
