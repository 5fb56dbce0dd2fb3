"""Drawing a planned video: scene backgrounds, per-action motion, exact boxes, and a deterministic mp4.

Why these motions: each action must change the pixels in its own way (path, rotation or scale) so a
feature extractor and TEP see events, and each repeats with a period of 1-3 s so an event looks the
same from start to end (its boundary, not its middle, is where the features change).
"""

from __future__ import annotations

import os
import tempfile
from fractions import Fraction
from pathlib import Path

import numpy as np

from psvl.synth.shapes import paste
from psvl.synth.world import OBJECTS, SCENES, Event, VideoPlan

DISTRACTOR_SCALE = 0.7  # distractor size relative to the main object


def background(scene: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """A scene's texture (fixed per scene) with a small per-event colour jitter and noise."""
    _, kind, base, second = SCENES[scene]
    base_c, second_c = np.array(base, np.float32), np.array(second, np.float32)
    yy, xx = np.mgrid[0:size, 0:size]
    s = size / 128.0
    if kind == "tiles":
        pick = ((yy // int(16 * s)) + (xx // int(16 * s))) % 2 == 0
        grout = (yy % int(16 * s) == 0) | (xx % int(16 * s) == 0)
        pick = pick & ~grout
    elif kind == "horizon":
        pick = yy < int(0.38 * size)
    elif kind == "lanes":
        pick = ((np.abs(yy - size // 2) <= max(1, int(1.5 * s))) & ((xx // int(12 * s)) % 2 == 0)) | (
            yy >= int(0.88 * size)
        )
    elif kind == "trunks":
        pick = np.isin(xx // int(8 * s), [1, 5, 6, 11, 14]) & (yy < int(0.8 * size))
    elif kind == "grid":
        pick = (yy % int(24 * s) < max(1, int(2 * s))) | (xx % int(24 * s) < max(1, int(2 * s)))
    elif kind == "stripes":
        pick = ((xx // int(6 * s)) % 2 == 0) & (yy < int(0.7 * size))
    else:  # speckle: a fixed blotchy texture from a per-scene generator
        tex = np.random.default_rng(sorted(SCENES).index(scene)).random((size // 8 + 1, size // 8 + 1))
        pick = np.kron(tex, np.ones((8, 8)))[:size, :size] > 0.6
    img = np.where(pick[..., None], second_c, base_c)
    img = img * rng.uniform(0.92, 1.08) + rng.normal(0.0, 4.0, size=img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def _tri(u: np.ndarray) -> np.ndarray:
    """Triangle wave in [0, 1] with period 2."""
    return 1.0 - np.abs(np.mod(u, 2.0) - 1.0)


def motion(
    action: str, n: int, fps: int, size: int, obj_size: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-frame centre (cy, cx), scale and angle (degrees) of an object doing `action` for n frames."""
    t = np.arange(n) / fps
    half = obj_size / 2
    lo, hi = half + 2, size - half - 2
    cx0, cy0 = rng.uniform(lo + 8, hi - 8), rng.uniform(lo + 8, hi - 8)
    cx, cy = np.full(n, cx0), np.full(n, cy0)
    scale, angle = np.ones(n), np.zeros(n)
    phase = rng.uniform(0, 1)
    if action == "bounce":
        period, height = rng.uniform(0.9, 1.3), rng.uniform(0.35, 0.5) * size
        cx = lo + (hi - lo) * _tri(phase + t / rng.uniform(5, 8))
        cy = hi - height * np.abs(np.sin(np.pi * (t / period + phase)))
    elif action == "slide":
        cx = lo + (hi - lo) * _tri(phase + t / rng.uniform(2.0, 3.5))
        cy = np.full(n, rng.uniform(0.55, 0.8) * size)
    elif action == "spin":
        angle = rng.choice([-1.0, 1.0]) * rng.uniform(150, 240) * t
    elif action in ("grow", "shrink"):
        u = np.mod(phase + t / rng.uniform(2.5, 3.5), 1.0)
        scale = 0.65 + 0.85 * (u if action == "grow" else 1.0 - u)
    elif action == "fall":
        u = np.mod(phase + t / rng.uniform(1.6, 2.2), 1.0)
        cy = lo + (hi - lo) * u**2
    elif action == "rise":
        u = np.mod(phase + t / rng.uniform(2.5, 3.5), 1.0)
        cy = hi - (hi - lo) * u
    elif action == "shake":
        # an irrational-ish frequency plus jitter, so frames sampled at any rate see the object move
        cx = cx0 + rng.uniform(4, 7) * np.sin(2 * np.pi * (2.7 * t + phase)) + rng.normal(0, 1.5, n)
        cy = cy0 + 2.0 * np.sin(2 * np.pi * 2.1 * t) + rng.normal(0, 0.7, n)
    else:
        raise ValueError(f"unknown action {action!r}")
    return cy, cx, scale, angle


def render_event(
    frames: np.ndarray, event: Event, fps: int, obj_size: float, rng: np.random.Generator
) -> list[tuple[int, str, int, int, int, int]]:
    """Draw one event into frames[event.start_frame:event.end_frame]; return (frame, label, box) rows."""
    size = frames.shape[1]
    n = event.end_frame - event.start_frame
    bg = background(event.scene, size, rng)
    frames[event.start_frame : event.end_frame] = bg
    rows: list[tuple[int, str, int, int, int, int]] = []
    if event.distractor is not None:
        d_size = obj_size * DISTRACTOR_SCALE
        corner = rng.integers(2)
        dx = d_size / 2 + 3 + (0 if corner == 0 else size - d_size - 6)
        dy = d_size / 2 + 3
        shape, _, rgb = OBJECTS[event.distractor]
        canvas = bg.copy()
        box = paste(canvas, shape, d_size, 0.0, dy, dx, np.array(rgb, np.float32))
        frames[event.start_frame : event.end_frame] = canvas
        if box is not None:
            rows += [(f, event.distractor, *box) for f in range(event.start_frame, event.end_frame)]
    cy, cx, scale, angle = motion(event.action, n, fps, size, obj_size, rng)
    shape, _, rgb = OBJECTS[event.obj]
    color = np.array(rgb, np.float32)
    for i in range(n):
        f = event.start_frame + i
        box = paste(frames[f], shape, obj_size * scale[i], angle[i], cy[i], cx[i], color)
        if box is not None:
            rows.append((f, event.obj, *box))
    return rows


def render_video(
    plan: VideoPlan, size: int, obj_size: float, rng: np.random.Generator
) -> tuple[np.ndarray, list[tuple[int, str, int, int, int, int]]]:
    """All frames of a planned video (n x size x size x 3 uint8) and its box rows."""
    frames = np.empty((plan.n_frames, size, size, 3), dtype=np.uint8)
    rows: list[tuple[int, str, int, int, int, int]] = []
    for event in plan.events:
        rows += render_event(frames, event, plan.fps, obj_size, rng)
    return frames, rows


def write_mp4(frames: np.ndarray, path: str | os.PathLike, fps: int, crf: int = 20) -> Path:
    """Encode RGB frames as H.264 (yuv420p) mp4, atomically and byte-for-byte reproducibly.

    Reproducible: one encoder thread, bitexact muxer and codec flags, no creation time, integer pts.
    """
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".mp4", dir=path.parent)
    os.close(fd)
    try:
        with av.open(tmp, mode="w", format="mp4", options={"fflags": "+bitexact"}) as container:
            stream = container.add_stream("libx264", rate=Fraction(fps, 1))
            stream.width, stream.height = frames.shape[2], frames.shape[1]
            stream.pix_fmt = "yuv420p"
            stream.time_base = Fraction(1, fps)
            stream.codec_context.thread_count = 1
            stream.codec_context.flags |= av.codec.context.Flags.bitexact
            stream.options = {
                "crf": str(crf),
                "preset": "fast",
                "g": str(2 * fps),
                "x264-params": "threads=1",
            }
            for i, arr in enumerate(frames):
                # convert here: letting encode() convert rgb24 gave run-to-run different bytes
                frame = av.VideoFrame.from_ndarray(arr, format="rgb24").reformat(format="yuv420p")
                frame.pts = i
                frame.time_base = Fraction(1, fps)
                container.mux(stream.encode(frame))
            container.mux(stream.encode(None))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; videos are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
