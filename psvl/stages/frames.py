"""Frames stage: decode each video once, keep frames at `fps`, resize, JPEG-encode into the frames table.

A video that cannot be decoded becomes a failures row with the reason; the shard still completes and
both files are always written, so one bad file never stops a 20 000-video run.
"""

from __future__ import annotations

import io
import logging
import os
from dataclasses import dataclass

import pandas as pd

from psvl.artifacts import schema, write_table
from psvl.failures import FailureLog
from psvl.progress import progress
from psvl.video import VideoError, resized_size, sample_frames

log = logging.getLogger(__name__)

STAGE = "frames"


@dataclass
class FramesConfig:
    """The `frames` config section (defaults live in the config schema)."""

    fps: float = 2.0
    size: int = 128
    jpeg_quality: int = 90


def _encode(frame, size: int, quality: int) -> tuple[bytes, int, int]:
    width, height = resized_size(frame.width, frame.height, size)
    # PyAV's swscale resize + RGB conversion in one call, then PIL's libjpeg(-turbo) encoder.
    image = frame.to_image(width=width, height=height, interpolation="AREA")
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=quality)
    return buf.getvalue(), width, height


def extract_frames(
    path: str | os.PathLike, video_id: str, fps: float = 2.0, size: int = 128, jpeg_quality: int = 90
) -> pd.DataFrame:
    """The frames table of one video: frames nearest to k / fps, shorter side resized to `size`.

    frame_idx is the index of the frame among all decoded frames of the video (so it matches per-frame
    labels such as the synthetic world's boxes); time_s is its presentation time from the stream start.
    Raises psvl.video.VideoError when the video cannot be used.
    """
    rows: dict[str, list] = {k: [] for k in schema("frames").names}
    for sampled in sample_frames(path, fps):
        jpeg, width, height = _encode(sampled.frame, size, jpeg_quality)
        rows["video_id"].append(video_id)
        rows["frame_idx"].append(sampled.frame_idx)
        rows["time_s"].append(sampled.time_s)
        rows["width"].append(width)
        rows["height"].append(height)
        rows["jpeg"].append(jpeg)
    df = pd.DataFrame(rows)
    return df.astype({"frame_idx": "int32", "width": "int32", "height": "int32", "time_s": "float64"})


def extract_many(videos: list[tuple[str, str]], cfg: FramesConfig) -> tuple[pd.DataFrame, FailureLog]:
    """Frames of several (video_id, path) pairs; failures are logged, not raised."""
    failures = FailureLog(STAGE)
    parts = []
    for video_id, path in progress(videos, desc="frames", total=len(videos), unit="video"):
        try:
            parts.append(extract_frames(path, video_id, cfg.fps, cfg.size, cfg.jpeg_quality))
        except VideoError as exc:
            failures.add(video_id, str(exc))
        except Exception as exc:
            log.exception("frames: unexpected error on %s", video_id)
            failures.add(video_id, exc)
    parts = [p for p in parts if len(p)]
    frames = pd.concat(parts, ignore_index=True) if parts else schema("frames").empty_table().to_pandas()
    return frames, failures


def write_frames(frames: pd.DataFrame, failures: FailureLog, out, failures_out, cfg: FramesConfig) -> None:
    """Write the frames table (with the config that shaped it) and the failures table, both always."""
    shaping = {"frames.fps": cfg.fps, "frames.size": cfg.size, "frames.jpeg_quality": cfg.jpeg_quality}
    write_table("frames", frames, out, stage=STAGE, shaping=shaping)
    if failures_out is not None:
        failures.write(failures_out)
    log.info(
        "frames: %d frames of %d videos written to %s; %d failed",
        len(frames),
        frames["video_id"].nunique() if len(frames) else 0,
        out,
        len(failures),
    )
