"""Listing a dataset's videos and cutting them into shards: the one rule both the Snakefile (at parse
time, to know how many shard jobs exist) and `psvl manifest` (to write the assignment) follow."""

from __future__ import annotations

import math
import os
from pathlib import Path

VIDEO_SUFFIXES = {".mp4", ".mkv", ".webm", ".avi", ".mov", ".m4v", ".mpg", ".mpeg", ".flv", ".wmv", ".3gp"}


def video_id_of(path: Path, root: Path) -> str:
    """The id a video is known by: its path under `root` without the suffix (the stem, for flat folders)."""
    rel = path.relative_to(root).with_suffix("")
    return rel.as_posix()


def list_videos(videos_dir: str | os.PathLike, pattern: str = "**/*") -> list[Path]:
    """Video files under `videos_dir`, sorted. Files are chosen by suffix, not opened: a bad file still
    gets a shard and ends up as a failures row with its reason, rather than vanishing here."""
    root = Path(videos_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"videos folder {root} does not exist")
    found = [
        p
        for p in root.glob(pattern)
        if p.suffix.lower() in VIDEO_SUFFIXES and not p.name.startswith(".") and p.is_file()
    ]
    return sorted(found, key=lambda p: video_id_of(p, root))


def other_files(videos_dir: str | os.PathLike, pattern: str = "**/*") -> list[Path]:
    """Files under `videos_dir` that `list_videos` skips (not a video suffix), sorted; hidden files aside."""
    root = Path(videos_dir)
    return sorted(
        p
        for p in root.glob(pattern)
        if p.suffix.lower() not in VIDEO_SUFFIXES and not p.name.startswith(".") and p.is_file()
    )


def n_shards(n_videos: int, shard_size: int) -> int:
    return max(1, math.ceil(n_videos / shard_size))


def shard_name(index: int) -> str:
    return f"{index:05d}"


def shard_names(n_videos: int, shard_size: int) -> list[str]:
    return [shard_name(i) for i in range(n_shards(n_videos, shard_size))]


def shard_of(position: int, shard_size: int) -> int:
    """Shard of the video at `position` in the sorted listing."""
    return position // shard_size
