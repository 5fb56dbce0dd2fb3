"""Frames stage: decode each video once, keep frames at `fps`, resize, JPEG-encode into the frames table.

A video that cannot be decoded becomes a failures row with the reason; the shard still completes and
both files are always written, so one bad file never stops a 20 000-video run.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
from PIL import Image

from psvl.config import build, defaults
from psvl.core.artifacts import schema, write_table
from psvl.core.failures import FailureLog
from psvl.core.progress import progress
from psvl.frames.decode import VideoError, resized_frames

if TYPE_CHECKING:  # pandas only for the annotation: the stage itself never imports it (start-up counts)
    import pandas as pd

log = logging.getLogger(__name__)

STAGE = "frames"


@dataclass
class FramesConfig:
    """The `frames` config section (defaults live in the config schema)."""

    fps: float
    size: int
    jpeg_quality: int

    @classmethod
    def from_config(cls, *layers: Mapping[str, Any] | FramesConfig | None) -> FramesConfig:
        """The schema's `frames` defaults with each layer on top, in order: the one place frame settings
        are merged (a stage's section; a checkpoint's record under the user's settings; plain arguments).

        A None layer, or a None value in a layer, leaves the setting below it; keys that are no frame
        setting are ignored, as `build` ignores them.
        """
        values = dict(defaults("frames"))
        for layer in layers:
            given = asdict(layer) if isinstance(layer, FramesConfig) else dict(layer or {})
            values.update({k: v for k, v in given.items() if v is not None})
        return build(cls, values)


def _jpeg(rgb: np.ndarray, quality: int) -> tuple[bytes, int, int]:
    """(JPEG bytes, width, height) of an RGB frame; PIL's libjpeg encodes."""
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=quality)
    height, width = rgb.shape[:2]
    return buf.getvalue(), width, height


def _arrow_column(values: list, typ: pa.DataType) -> pa.Array:
    """`pa.array(values, typ)` without importing pandas: pyarrow's list conversion checks for pandas
    objects and imports it (0.3 s of CPU, a quarter of the `psvl frames` command's start-up)."""
    if pa.types.is_string(typ) or pa.types.is_binary(typ):
        data = [v.encode() if isinstance(v, str) else v for v in values]
        offsets = np.zeros(len(data) + 1, dtype=np.int64)
        np.cumsum([len(v) for v in data], out=offsets[1:])
        if offsets[-1] >= 2**31:  # beyond 32-bit offsets: let pyarrow split it
            return pa.array(values, typ)
        buffers = [None, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(b"".join(data))]
        return pa.Array.from_buffers(typ, len(data), buffers)
    array = np.asarray(values, dtype=typ.to_pandas_dtype())
    return pa.Array.from_buffers(typ, len(array), [None, pa.py_buffer(array)])


def _arrow_table(kind: str, columns: dict[str, list]) -> pa.Table:
    target = schema(kind)
    return pa.Table.from_arrays([_arrow_column(columns[f.name], f.type) for f in target], schema=target)


def frame_columns(path: str | os.PathLike, video_id: str, cfg: FramesConfig) -> tuple[dict, str | None]:
    """The frames of one video as columns of the frames schema (no pandas: the stage's start-up counts),
    and why its decode was partial (None when it was whole)."""
    rows: dict[str, list] = {k: [] for k in schema("frames").names}
    decoded = resized_frames(path, cfg.fps, cfg.size, partial(_jpeg, quality=cfg.jpeg_quality))
    for sampled in decoded.frames:
        jpeg, width, height = sampled.frame
        rows["video_id"].append(video_id)
        rows["frame_idx"].append(sampled.frame_idx)
        rows["time_s"].append(sampled.time_s)
        rows["width"].append(width)
        rows["height"].append(height)
        rows["jpeg"].append(jpeg)
    return rows, decoded.partial


def extract_frames(
    path: str | os.PathLike,
    video_id: str,
    fps: float | None = None,
    size: int | None = None,
    jpeg_quality: int | None = None,
) -> pd.DataFrame:
    """The frames table (a pandas DataFrame) of one video: frames nearest to k / fps, shorter side
    resized to `size`, JPEG bytes. A setting left None takes the `frames` section's schema default.

    frame_idx is the index of the frame among all decoded frames of the video (so it matches per-frame
    labels such as the synthetic world's boxes); time_s is its presentation time from the stream start.
    Raises psvl.frames.decode.VideoError when the video cannot be used; a partial decode (cut short,
    frames missing, damaged packets skipped) keeps the frames it has and is logged as a warning.
    """
    cfg = FramesConfig.from_config({"fps": fps, "size": size, "jpeg_quality": jpeg_quality})
    columns, partial_decode = frame_columns(path, video_id, cfg)
    if partial_decode:
        log.warning("%s: %s", video_id, partial_decode)
    return _arrow_table("frames", columns).to_pandas()


def extract_many(videos: list[tuple[str, str]], cfg: FramesConfig) -> tuple[pa.Table, FailureLog]:
    """Frames of several (video_id, path) pairs as one frames table; failures are logged, not raised, and
    a partial decode keeps its frames with a warning row."""
    failures = FailureLog(STAGE)
    tables = []
    for video_id, path in progress(videos, desc="frames", total=len(videos), unit="video"):
        try:
            columns, partial_decode = frame_columns(path, video_id, cfg)
        except VideoError as exc:
            failures.add(video_id, str(exc))
            continue
        except Exception as exc:
            log.exception("frames: unexpected error on %s", video_id)
            failures.add(video_id, exc)
            continue
        if partial_decode:
            failures.warn(video_id, partial_decode)
        tables.append(_arrow_table("frames", columns))
    frames = pa.concat_tables(tables) if tables else schema("frames").empty_table()
    return frames, failures


def write_frames(
    frames: pa.Table,
    failures: FailureLog,
    out: str | os.PathLike,
    failures_out: str | os.PathLike | None,
    cfg: FramesConfig,
) -> None:
    """Write the frames table (with the config that shaped it) and the failures table, both always."""
    shaping = {"frames.fps": cfg.fps, "frames.size": cfg.size, "frames.jpeg_quality": cfg.jpeg_quality}
    write_table("frames", frames, out, stage=STAGE, shaping=shaping)
    if failures_out is not None:  # FailureLog.write's table, built without importing pandas
        rows = {k: [r[k] for r in failures.rows] for k in schema("failures").names}
        write_table("failures", _arrow_table("failures", rows), failures_out, stage=failures.stage)
    log.info(
        "frames: %d frames of %d videos written to %s; %d failed, %d partial decodes",
        frames.num_rows,
        len(set(frames["video_id"].to_pylist())),
        out,
        len(failures),
        failures.warnings,
    )
