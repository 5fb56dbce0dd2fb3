"""Frames stage on tiny real mp4s written with PyAV: sampling times, resize, JPEG bytes, and bad videos
(truncated, empty, text renamed .mp4, audio-only, missing) landing in failures while the shard completes."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from video_fixtures import write_audio_only, write_noise_video, write_video

from psvl.core.artifacts import read_frame, read_metadata, write_table
from psvl.frames.decode import (
    SkipDecodeMismatch,
    VideoError,
    _plan_skipping,
    resized_frames,
    resized_size,
    sample_frames,
)
from psvl.frames.frames import FramesConfig, extract_frames, extract_many, write_frames

av = pytest.importorskip("av")

ODD_NAME = 'it\'s a "quoted" vidéo ñ.mp4'


@pytest.fixture(scope="module")
def custom_dir(tmp_path_factory) -> Path:
    """A custom dataset folder: three good videos (one with an awkward name) and five bad files."""
    root = tmp_path_factory.mktemp("custom") / "videos"
    root.mkdir()
    write_video(root / "good_a.mp4", seconds=3.0)
    write_video(root / "good_b.mp4", seconds=2.0, width=96, height=64)
    write_video(root / ODD_NAME, seconds=2.0)
    full = write_video(root.parent / "full.mp4", seconds=4.0).read_bytes()
    (root / "truncated.mp4").write_bytes(full[: len(full) // 2])
    (root / "empty.mp4").write_bytes(b"")
    (root / "text.mp4").write_text("this is a text file, not a video\n")
    write_audio_only(root / "audio_only.mp4")
    return root


def test_frames_are_the_ones_nearest_k_over_fps(tmp_path):
    path = write_video(tmp_path / "v.mp4", seconds=3.0, fps=8)
    df = extract_frames(path, "v", fps=2.0, size=32, jpeg_quality=90)
    assert df["frame_idx"].tolist() == [0, 4, 8, 12, 16, 20]
    assert df["time_s"].tolist() == pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0, 2.5])
    image = Image.open(io.BytesIO(df["jpeg"][2]))
    assert image.size == (32, 32) and image.format == "JPEG"
    assert np.asarray(image.convert("L")).mean() == pytest.approx(64, abs=3)  # frame 8 has gray 64


def test_fps_that_falls_between_frames_picks_the_nearest_one(tmp_path):
    path = write_video(tmp_path / "v.mp4", seconds=2.0, fps=8)
    idx = [s.frame_idx for s in sample_frames(path, fps=3.0)]
    # targets 0, 1/3, 2/3, 1, 4/3, 5/3 s -> nearest frames at 0, 3/8, 5/8, 1, 11/8, 13/8 s
    assert idx == [0, 3, 5, 8, 11, 13]


def test_fps_above_the_video_rate_keeps_each_frame_once(tmp_path):
    path = write_video(tmp_path / "v.mp4", seconds=1.0, fps=8)
    assert [s.frame_idx for s in sample_frames(path, fps=20.0)] == list(range(8))


def write_moving_video(path: Path, seconds: float = 4.0, fps: int = 30) -> Path:
    """x264 defaults (B-frames, B-pyramid) on a moving gradient: many non-reference frames to skip."""
    ys, xs = np.mgrid[0:72, 0:96]
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 96, 72, "yuv420p"
        for i in range(int(seconds * fps)):
            img = np.stack([(xs + 3 * i) % 256, (ys + 2 * i) % 256, (xs + ys + i) % 256], -1)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img.astype(np.uint8), format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


@pytest.mark.parametrize("fps", [1.0, 2.0, 0.7, 7.0, 29.0])
def test_skipping_decode_keeps_the_frames_times_and_pixels_of_decoding_every_frame(tmp_path, fps):
    path = write_moving_video(tmp_path / "v.mp4")

    def kept(skip: bool) -> list[tuple[int, float, bytes]]:
        frames = sample_frames(path, fps, skip_unneeded=skip)
        return [(s.frame_idx, s.time_s, s.frame.to_ndarray(format="rgb24").tobytes()) for s in frames]

    plain, skipping = kept(False), kept(True)
    assert len(plain) == len(_plan_skipping(path, 1.0 / fps, True))  # the skipping path did run
    assert [(i, t) for i, t, _ in skipping] == [(i, t) for i, t, _ in plain]
    assert [px for *_, px in skipping] == [px for *_, px in plain]
    if fps == 1.0:
        assert [i for i, *_ in plain] == [0, 30, 60, 90]


def test_frames_stage_writes_the_same_jpeg_bytes_with_or_without_skipping(tmp_path, monkeypatch):
    import psvl.frames.decode as stage

    path = write_moving_video(tmp_path / "v.mp4", seconds=3.0)
    skipping = extract_frames(path, "v", fps=2.0, size=48)
    monkeypatch.setattr(
        stage, "sample_frames", lambda p, fps, **_: sample_frames(p, fps, skip_unneeded=False)
    )
    plain = extract_frames(path, "v", fps=2.0, size=48)
    assert skipping["frame_idx"].tolist() == plain["frame_idx"].tolist() == [0, 15, 30, 45, 60, 75]
    assert skipping.equals(plain)


def test_skipping_decode_that_departs_from_its_plan_is_redone_decoding_every_frame(tmp_path, monkeypatch):
    import psvl.frames.decode as stage

    def departs(path, fps, skip_unneeded=True):
        frames = sample_frames(path, fps, skip_unneeded=skip_unneeded)
        if skip_unneeded:  # one frame out, then the decoder "disagrees" (a damaged stream)
            yield next(frames)
            raise SkipDecodeMismatch("kept frame 15 was not decoded")
        yield from frames

    path = write_moving_video(tmp_path / "v.mp4", seconds=2.0)
    monkeypatch.setattr(stage, "sample_frames", departs)
    assert extract_frames(path, "v", fps=2.0, size=48)["frame_idx"].tolist() == [0, 15, 30, 45]


def test_frames_stage_does_not_import_pandas(custom_dir, tmp_path):
    """pandas is 0.3 s of CPU at start-up; the frames command runs once per shard."""
    code = (
        "import sys\n"
        "from psvl.frames.frames import FramesConfig, extract_many, write_frames\n"
        "cfg = FramesConfig(fps=2.0, size=32, jpeg_quality=80)\n"
        f"frames, failures = extract_many([('a', {str(custom_dir / 'good_a.mp4')!r}), ('t', 'gone.mp4')], cfg)\n"
        f"write_frames(frames, failures, {str(tmp_path / 'f.parquet')!r}, {str(tmp_path / 'x.parquet')!r}, cfg)\n"
        "assert frames.num_rows == 6 and len(failures) == 1\n"
        "assert 'pandas' not in sys.modules, 'pandas was imported'\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    assert read_frame(tmp_path / "x.parquet", "failures")["video_id"].tolist() == ["t"]


def test_shorter_side_is_resized_and_aspect_kept(tmp_path):
    assert resized_size(96, 64, 32) == (48, 32)
    assert resized_size(64, 128, 50) == (50, 100)
    path = write_video(tmp_path / "wide.mp4", seconds=1.0, width=96, height=64)
    df = extract_frames(path, "wide", fps=1.0, size=32)
    assert (df["width"].tolist(), df["height"].tolist()) == ([48], [32])
    assert Image.open(io.BytesIO(df["jpeg"][0])).size == (48, 32)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("truncated.mp4", "cannot open as a video"),
        ("empty.mp4", "empty file"),
        ("text.mp4", "cannot open as a video"),
        ("audio_only.mp4", "no video stream (streams: audio)"),
        ("missing.mp4", "missing file"),
    ],
)
def test_bad_video_raises_video_error_with_reason(custom_dir, name, reason):
    with pytest.raises(VideoError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        extract_frames(custom_dir / name, "x")


def test_extract_many_records_failures_and_keeps_good_videos(custom_dir):
    videos = [(p.stem, str(p)) for p in sorted(custom_dir.iterdir())] + [
        ("gone", str(custom_dir / "gone.mp4"))
    ]
    table, failures = extract_many(videos, FramesConfig(fps=2.0, size=32, jpeg_quality=80))
    frames = table.to_pandas()
    counts = frames.groupby("video_id").size().to_dict()
    assert counts == {"good_a": 6, "good_b": 4, Path(ODD_NAME).stem: 4}
    assert failures.video_ids == {"truncated", "empty", "text", "audio_only", "gone"}
    assert all(row["stage"] == "frames" and row["error"] for row in failures.rows)


def _psvl(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "psvl.cli", *args], capture_output=True, text=True, check=False, cwd=cwd
    )


def test_custom_folder_through_manifest_and_frames_shards(custom_dir, tmp_path):
    """The issue's check: every good video has frames, each bad one a failures row naming it, both files
    written for every shard, with the frames config in the provenance metadata."""
    ann = tmp_path / "annotations.parquet"
    write_table(
        "annotations",
        {
            "query_id": ["good_a#0"],
            "video_id": ["good_a"],
            "split": ["test"],
            "sentence": ["s"],
            "start_s": [0.0],
            "end_s": [1.0],
            "duration_s": [3.0],
        },
        ann,
        stage="test",
    )
    manifest = tmp_path / "manifest.parquet"
    r = _psvl(
        "manifest",
        "--videos-dir",
        str(custom_dir),
        "--annotations",
        str(ann),
        "--shard-size",
        "3",
        "--out",
        str(manifest),
    )
    assert r.returncode == 0, r.stderr
    man = read_frame(manifest, "manifest")
    assert len(man) == 7 and man["shard"].tolist() == [0, 0, 0, 1, 1, 1, 2]
    assert man.set_index("video_id")["split"].to_dict()["good_a"] == "test"
    assert (man["split"] == "test").sum() == 1
    frames, failures = [], []
    for shard in ("00000", "00001", "00002"):
        out, fail = tmp_path / f"frames/{shard}.parquet", tmp_path / f"failures/{shard}.parquet"
        r = _psvl(
            "frames",
            "--manifest",
            str(manifest),
            "--shard",
            shard,
            "--out",
            str(out),
            "--failures",
            str(fail),
            "--set",
            'frames={"fps": 2.0, "size": 32, "jpeg_quality": 80}',
        )
        assert r.returncode == 0, r.stderr
        frames.append(read_frame(out, "frames"))
        failures.append(read_frame(fail, "failures"))
        assert read_metadata(out)["config"] == {
            "frames.fps": 2.0,
            "frames.size": 32,
            "frames.jpeg_quality": 80,
        }
    per_video = {v: len(g) for f in frames for v, g in f.groupby("video_id")}
    assert per_video == {"good_a": 6, "good_b": 4, Path(ODD_NAME).stem: 4}
    errors = {row.video_id: row.error for f in failures for row in f.itertuples()}
    assert set(errors) == {"truncated", "empty", "text", "audio_only"}
    assert "no video stream" in errors["audio_only"] and "empty file" in errors["empty"]


def test_frames_by_hand_on_one_video_with_spaces_and_quotes(custom_dir, tmp_path):
    out = tmp_path / "one.parquet"
    r = _psvl("frames", "--video", str(custom_dir / ODD_NAME), "--out", str(out), "--set", "frames.size=16")
    assert r.returncode == 0, r.stderr
    df = read_frame(out, "frames")
    assert df["video_id"].unique().tolist() == [Path(ODD_NAME).stem]
    assert len(df) == 4 and set(df["width"]) == {16}  # default frames.fps is 2.0


def test_frames_by_hand_on_a_bad_video_exits_1_and_still_writes_both_files(custom_dir, tmp_path):
    out, fail = tmp_path / "f.parquet", tmp_path / "x.parquet"
    r = _psvl("frames", "--video", str(custom_dir / "text.mp4"), "--out", str(out), "--failures", str(fail))
    assert r.returncode == 1
    assert len(read_frame(out, "frames")) == 0
    assert read_frame(fail, "failures")["video_id"].tolist() == ["text"]


def test_truncated_mp4_keeps_its_frames_with_a_partial_decode_warning(tmp_path):
    """A cut file still opens and decodes its first part: its frames are kept (not dropped) and the
    shard's failures file holds one warning row naming where the frames stop, against the header."""
    data = write_noise_video(tmp_path / "full.mp4").read_bytes()
    assert data[4:8] == b"ftyp" and b"moov" in data[:4096]  # index before the media data
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) * 6 // 10])
    cfg = FramesConfig.from_config({"fps": 1.0})
    frames, failures = extract_many([("cut", tmp_path / "cut.mp4"), ("full", tmp_path / "full.mp4")], cfg)
    per_video = Counter(frames["video_id"].to_pylist())
    assert per_video["full"] == 10 and 4 <= per_video["cut"] <= 6  # frames up to the cut, at 1 fps
    assert len(failures) == 0 and failures.warnings == 1 and failures.video_ids == set()
    (row,) = failures.rows
    assert (row["video_id"], row["stage"], row["severity"]) == ("cut", "frames", "warning")
    assert re.fullmatch(
        r"partial decode: frames stop at \d+\.\d+ s of the 10\.00 s the header declares; "
        r"\d+ of the 80 frames the header declares were decoded",
        row["error"],
    )
    write_frames(frames, failures, tmp_path / "f.parquet", tmp_path / "x.parquet", cfg)
    table = read_frame(tmp_path / "x.parquet", "failures")
    assert table[["video_id", "severity"]].values.tolist() == [["cut", "warning"]]


def test_damaged_packets_are_skipped_and_the_video_kept_with_a_warning(tmp_path):
    """Bytes zeroed mid-file: the decoder rejects one packet; decoding goes on past it (79 of 80 frames)
    instead of ending the video there, and the warning counts the skipped packet."""
    write_noise_video(tmp_path / "v.mp4")
    write_noise_video(tmp_path / "damaged.mp4", damaged=True)
    decoded = resized_frames(tmp_path / "damaged.mp4", fps=8.0, size=32, convert=lambda rgb: rgb.shape)
    assert decoded.partial == "partial decode: 1 damaged packet skipped"
    assert len(decoded.frames) == 79 and decoded.frames[-1].time_s == pytest.approx(9.875)
    whole = resized_frames(tmp_path / "v.mp4", fps=8.0, size=32, convert=lambda rgb: rgb.shape)
    assert whole.partial is None and len(whole.frames) == 80


def test_the_frames_command_imports_neither_torch_nor_tqdm_in_a_job():
    """Start-up is part of every frames job: no torch, and no tqdm (nor its asyncio) when stderr is a log."""
    code = (
        "import sys; from psvl.core.progress import progress; list(progress([1], desc='x'));"
        "import psvl.commands.frames; print(sorted(m for m in ('torch', 'tqdm', 'asyncio') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, stdin=subprocess.DEVNULL
    )
    assert out.stdout.strip() == "[]"
