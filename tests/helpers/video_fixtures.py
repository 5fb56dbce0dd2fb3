"""Tiny real mp4s written with PyAV, for the frames tests and the workflow runs on a `custom` folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_video(path: Path, seconds: float = 3.0, fps: int = 8, width: int = 64, height: int = 64) -> Path:
    """A tiny H.264 mp4 whose frame i has gray level 8 * i (so a decoded frame tells its index)."""
    import av  # the callers skip without PyAV (pytest.importorskip); importing this module needs none

    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(int(seconds * fps)):
            img = np.full((height, width, 3), (8 * i) % 256, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def write_noise_video(path: Path, frames: int = 80, damaged: bool = False) -> Path:
    """An 8 fps H.264 mp4 of noise with its index at the front (faststart): every packet is large, so a
    cut or a damaged byte range lands mid-stream, not in frame 1, and the header still opens. damaged:
    3000 bytes zeroed at the middle of the file (the decoder rejects one packet of the 80)."""
    import av

    rng = np.random.default_rng(0)
    with av.open(str(path), "w", options={"movflags": "faststart"}) as out:
        stream = out.add_stream("libx264", rate=8)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for _ in range(frames):
            img = rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    if damaged:
        data = bytearray(path.read_bytes())
        data[len(data) // 2 : len(data) // 2 + 3000] = bytes(3000)
        path.write_bytes(bytes(data))
    return path


def write_audio_only(path: Path) -> Path:
    """An mp4 with an AAC stream and no video stream."""
    import av

    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=8000)
        for i in range(4):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 8000, i * 1024
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path
