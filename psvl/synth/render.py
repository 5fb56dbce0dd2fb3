"""Drawing a planned video: scene backgrounds, per-action motion, exact boxes, and a deterministic mp4.

Why these motions: each action must change the pixels in its own way (path, rotation or scale) so a
feature extractor and TEP see events, and each repeats with a period of 1-3 s so an event looks the
same from start to end (its boundary, not its middle, is where the features change).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from psvl.synth.shapes import paste
from psvl.synth.world import ACTOR, ACTOR_LOOK, OBJECTS, SCENES, Event, VideoPlan


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


ACTOR_SCALE = 1.3  # the actor's height relative to an object's diameter
OCCLUDER_RGB = np.array((90, 90, 90), np.float32)


@dataclass
class _Track:
    """One object's drawing parameters for frames [first, first + len(cy))."""

    label: str
    shape: str
    rgb: np.ndarray
    first: int
    cy: np.ndarray
    cx: np.ndarray
    size: np.ndarray
    angle: np.ndarray


def _still(label: str, a: int, b: int, cy: float, cx: float, size: float, angle: float) -> _Track:
    shape, _, rgb = OBJECTS[label]
    n = max(0, b - a)
    return _Track(label, shape, np.array(rgb, np.float32), a, *(np.full(n, v) for v in (cy, cx, size, angle)))


def _event_tracks(event: Event, fps: int, size: int, obj_size: float, rng: np.random.Generator) -> list[_Track]:
    """The acting object, plus the same object sitting still before and after it acts."""
    n = event.end_frame - event.start_frame
    cy, cx, scale, angle = motion(event.action, n, fps, size, obj_size, rng)
    shape, _, rgb = OBJECTS[event.obj]
    acting = _Track(event.obj, shape, np.array(rgb, np.float32), event.start_frame, cy, cx, obj_size * scale, angle)
    before = _still(event.obj, event.shown_from, event.start_frame, cy[0], cx[0], obj_size * scale[0], angle[0])
    after = _still(event.obj, event.end_frame, event.shown_to, cy[-1], cx[-1], obj_size * scale[-1], angle[-1])
    return [before, after, acting]


def _actor_track(n: int, fps: int, size: int, obj_size: float, rng: np.random.Generator) -> _Track:
    """The actor walks slowly back and forth near the bottom of the frame for the whole video."""
    t = np.arange(n) / fps
    height = obj_size * ACTOR_SCALE
    lo, hi = height / 2 + 2, size - height / 2 - 2
    cx = lo + (hi - lo) * _tri(rng.uniform(0, 2) + t / rng.uniform(8, 14))
    cy = rng.uniform(0.6, 0.75) * size + 1.5 * np.sin(2 * np.pi * 1.7 * t)
    shape, rgb = ACTOR_LOOK
    return _Track(ACTOR, shape, np.array(rgb, np.float32), 0, cy, cx, np.full(n, height), np.zeros(n))


def _shift(frame: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """The frame moved by (dy, dx) pixels, the uncovered border repeating the edge (camera jitter)."""
    h, w = frame.shape[:2]
    p = max(abs(dy), abs(dx))
    padded = np.pad(frame, ((p, p), (p, p), (0, 0)), mode="edge")
    return padded[p - dy : p - dy + h, p - dx : p - dx + w]


def _blur(frame: np.ndarray) -> np.ndarray:
    """A 3x3 box blur (defocus, motion blur)."""
    f = np.pad(frame.astype(np.float32), ((1, 1), (1, 1), (0, 0)), mode="edge")
    h, w = frame.shape[:2]
    acc = sum(f[i : i + h, j : j + w] for i in range(3) for j in range(3))
    return np.rint(acc / 9.0).astype(np.uint8)


def render_video(
    plan: VideoPlan, size: int, obj_size: float, rng: np.random.Generator
) -> tuple[np.ndarray, list[tuple[int, str, int, int, int, int]]]:
    """All frames of a planned video (n x size x size x 3 uint8) and its box rows (frame, label, box).

    Drawn back to front: scene, still objects, the actor, acting objects, then the effects. A box an
    occluder covers whole is dropped; jitter moves boxes with the pixels.
    """
    n = plan.n_frames
    cuts = [f for f, _ in plan.scenes] + [n]
    backgrounds = np.empty((n, size, size, 3), np.uint8)
    for (a, scene), b in zip(plan.scenes, cuts[1:]):
        backgrounds[a:b] = background(scene, size, rng)
    noise = rng.normal(0.0, 3.0, size=(4, size, size, 3)).astype(np.float32)
    pick = rng.integers(0, 4, size=n)

    tracks: list[_Track] = []
    for still in plan.stills:
        d = obj_size * rng.uniform(0.8, 1.0)
        cy, cx = rng.uniform(d / 2 + 2, size - d / 2 - 2, size=2)
        tracks.append(_still(still.obj, still.start_frame, still.end_frame, cy, cx, d, rng.uniform(0, 90)))
    events = [_event_tracks(ev, plan.fps, size, obj_size, rng) for ev in plan.events]
    tracks += [t for ts in events for t in ts[:2]]
    tracks.append(_actor_track(n, plan.fps, size, obj_size, rng))
    tracks += [ts[2] for ts in events]

    fx = plan.effects
    jitter = rng.integers(-3, 4, size=(n, 2))
    bar_w = int(0.14 * size)
    frames = np.empty((n, size, size, 3), np.uint8)
    rows: list[tuple[int, str, int, int, int, int]] = []
    for f in range(n):
        frame = np.clip(backgrounds[f] + noise[pick[f]], 0, 255).astype(np.uint8)
        boxes: list[tuple[str, int, int, int, int]] = []
        for tr in tracks:
            i = f - tr.first
            if 0 <= i < len(tr.cy):
                box = paste(frame, tr.shape, tr.size[i], tr.angle[i], tr.cy[i], tr.cx[i], tr.rgb)
                if box is not None:
                    boxes.append((tr.label, *box))
        if fx.occluder and fx.occluder[0] <= f < fx.occluder[1]:
            a, b = fx.occluder
            x0 = int(-bar_w + (size + bar_w) * (f - a) / max(1, b - a - 1))
            lo, hi = max(0, x0), min(size, x0 + bar_w)
            if lo < hi:
                frame[:, lo:hi] = OCCLUDER_RGB.astype(np.uint8)
                boxes = [bx for bx in boxes if not (bx[1] >= lo and bx[3] <= hi)]
        if fx.blur and fx.blur[0] <= f < fx.blur[1]:
            frame = _blur(frame)
        if fx.jitter and fx.jitter[0] <= f < fx.jitter[1]:
            dy, dx = (int(v) for v in jitter[f])
            frame = _shift(frame, dy, dx)
            moved = []
            for label, x1, y1, x2, y2 in boxes:
                x1, x2 = max(0, x1 + dx), min(size, x2 + dx)
                y1, y2 = max(0, y1 + dy), min(size, y2 + dy)
                if x2 > x1 and y2 > y1:
                    moved.append((label, x1, y1, x2, y2))
            boxes = moved
        frames[f] = frame
        rows += [(f, *bx) for bx in boxes]
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
                # one thread for everything, lookahead included: multi-threaded x264 decides frame types
                # and rate control by thread timing, so bytes could differ between runs
                "x264-params": "threads=1:lookahead-threads=1:sliced-threads=0:sync-lookahead=0",
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
