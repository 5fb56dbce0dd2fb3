"""PyAV decoding helpers: open a video with a clear error, and sample frames by time in one sequential pass.

Why sequential: for sparse sampling (1-2 frames per second of 25-30 fps video) decoding every packet in
order and keeping the frames nearest the sampling times is 4-6x faster than seeking, because each seek
restarts decoding at the previous keyframe.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class VideoError(RuntimeError):
    """A video cannot be used: missing, unreadable, without a video stream, empty or truncated."""


@dataclass
class SampledFrame:
    """One kept frame: its index among the decoded frames, its time in seconds from the stream start."""

    frame_idx: int
    time_s: float
    frame: Any  # av.VideoFrame


@contextlib.contextmanager
def open_video(path: str | os.PathLike) -> Iterator[tuple[Any, Any]]:
    """Open `path` and yield (container, first video stream); every failure is a VideoError saying why."""
    import av

    path = Path(path)
    if not path.exists():
        raise VideoError(f"missing file: {path}")
    if path.is_file() and path.stat().st_size == 0:
        raise VideoError(f"empty file (0 bytes): {path}")
    try:
        container = av.open(str(path), mode="r")
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise VideoError(f"cannot open as a video (corrupt, truncated or not a video file): {exc}") from exc
    try:
        if not container.streams.video:
            kinds = sorted({s.type for s in container.streams}) or ["none"]
            raise VideoError(f"no video stream (streams: {', '.join(kinds)})")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"  # frame + slice threads: the decoder is the hot loop
        yield container, stream
    finally:
        container.close()


def stream_duration(stream: Any) -> float | None:
    """The stream's declared duration in seconds (from the container header), if it has one."""
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    return None


def _frame_rate(stream: Any) -> float:
    rate = stream.average_rate or stream.base_rate or stream.guessed_rate
    return float(rate) if rate else 25.0


def sample_frames(
    path: str | os.PathLike, fps: float, check_truncated: bool = True
) -> Iterator[SampledFrame]:
    """Decode `path` once, in order, and yield the frame nearest each time k / fps (k = 0, 1, ...).

    A decoded frame is yielded at most once (when `fps` exceeds the video's frame rate, neighbouring
    times share a frame). Raises VideoError when nothing decodes or when the decoded frames stop well
    before the duration the header declares (a truncated file).
    """
    import av

    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    period = 1.0 / fps
    with open_video(path) as (container, stream):
        rate = _frame_rate(stream)
        t0 = float(stream.start_time * stream.time_base) if stream.start_time is not None else None
        next_k, last_emitted = 0, -1
        prev: SampledFrame | None = None
        idx = -1
        try:
            for idx, frame in enumerate(container.decode(stream)):
                if frame.pts is not None and frame.time is not None:
                    if t0 is None:
                        t0 = float(frame.time)
                    t = float(frame.time) - t0
                else:
                    t = idx / rate
                current = SampledFrame(idx, t, frame)
                while next_k * period <= t:
                    target = next_k * period
                    pick = prev if prev is not None and target - prev.time_s <= t - target else current
                    if pick.frame_idx > last_emitted:
                        last_emitted = pick.frame_idx
                        yield pick
                    next_k += 1
                prev = current
        except av.error.FFmpegError as exc:
            raise VideoError(f"decoding failed after {idx + 1} frames: {exc}") from exc
        if prev is None:
            raise VideoError("no frames could be decoded")
        if prev.frame_idx > last_emitted and next_k * period < prev.time_s + 1.0 / rate:
            yield prev
        declared = stream_duration(stream)
        decoded = prev.time_s + 1.0 / rate
        if check_truncated and declared and decoded < declared - max(1.0, 0.05 * declared):
            raise VideoError(
                f"truncated: frames stop at {decoded:.2f} s of the {declared:.2f} s the header declares"
            )


def resized_size(width: int, height: int, size: int) -> tuple[int, int]:
    """(width, height) with the shorter side scaled to `size`, aspect ratio kept."""
    if width <= height:
        return size, max(1, round(height * size / width))
    return max(1, round(width * size / height)), size
