"""Listing a dataset's videos and cutting them into shards: the one rule both the Snakefile (at parse
time, to know how many shard jobs exist) and `psvl manifest` (to write the assignment) follow."""

from __future__ import annotations

import glob
import math
import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

VIDEO_SUFFIXES = {".mp4", ".mkv", ".webm", ".avi", ".mov", ".m4v", ".mpg", ".mpeg", ".flv", ".wmv", ".3gp"}


def video_id_of(path: Path, root: Path) -> str:
    """The id a video is known by: its path under `root` without the suffix (the stem, for flat folders)."""
    rel = path.relative_to(root).with_suffix("")
    return rel.as_posix()


@dataclass(frozen=True)
class Listing:
    """One walk of a videos folder: the video files with their `stat`, and the files skipped."""

    videos: list[tuple[str, str, os.stat_result]]  # (video_id, path, stat), in id order
    others: list[str]  # paths of regular files without a video suffix (hidden files aside), sorted


def list_folder(videos_dir: str | os.PathLike, pattern: str = "**/*") -> Listing:
    """List `videos_dir` once: one glob and one `stat` per file (for "is it a file", its size and its
    time together). Files are chosen by suffix, not opened: a bad file still gets a shard and ends up
    as a failures row with its reason, rather than vanishing here.

    Strings, not `Path` objects: a 20 000-file folder is listed at parse time of every run. Raises the
    audit event `psvl.list_folder` (folder, pattern), which tests count listings by."""
    root = Path(videos_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"videos folder {root} does not exist")
    sys.audit("psvl.list_folder", str(root), pattern)
    base = str(root)
    videos, others = [], []
    for rel in glob.glob(pattern, root_dir=base, recursive=True, include_hidden=True):
        name = os.path.basename(rel)
        if not name or name.startswith("."):
            continue
        path = rel if base == "." else os.path.join(base, rel)
        try:
            st = os.stat(path)
        except OSError:  # a broken link: not a file
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        stem, suffix = os.path.splitext(rel)
        if suffix.lower() in VIDEO_SUFFIXES:
            videos.append((stem.replace(os.sep, "/"), path, st))
        else:
            others.append(path)
    videos.sort(key=lambda v: v[0])
    return Listing(videos, sorted(others))


def list_videos(videos_dir: str | os.PathLike, pattern: str = "**/*") -> list[Path]:
    """Video files under `videos_dir`, sorted by id (`list_folder`)."""
    return [Path(path) for _, path, _ in list_folder(videos_dir, pattern).videos]


def n_shards(n_videos: int, shard_size: int) -> int:
    return max(1, math.ceil(n_videos / shard_size))


def shard_name(index: int) -> str:
    return f"{index:05d}"


def shard_names(n_videos: int, shard_size: int) -> list[str]:
    return [shard_name(i) for i in range(n_shards(n_videos, shard_size))]


def shard_of(position: int, shard_size: int) -> int:
    """Shard of the video at `position` in the sorted listing."""
    return position // shard_size
