"""Stable shard membership: a video keeps its shard for the life of a results folder.

Why: every per-video stage writes one file per shard, and a shard job reruns when its input changes. If
shards were cut from the sorted listing, one new video would shift every later video into another shard
and redo hours of detection. So the record of which video is in which shard is kept next to the
results, in one small list per shard (`results/{dataset}/shards/{shard}.tsv`), and each run plans from
that record (`shards/record/{shard}.tsv`). The record changes only when the `manifest` job, which
runs after every list of a run is written, copies the lists into it: every job of a run (and every
re-parse of the workflow inside a cluster job) plans from the same record, and a changed shard's job
still finds its old list there after Snakemake deleted the declared one:

- a recorded video that is still there keeps its shard;
- new videos fill new shards after the highest recorded one, `shard_size` at a time, in id order;
- a removed video, or a file whose size or modification time changed (replaced, re-encoded), changes
  only its own shard's list;
- a shard whose videos are all gone leaves the plan (its old files stay on disk, unread).

A first run has no record, so its shards are the sorted listing cut every `shard_size` videos, as before.
The plan is computed once per run, at parse time (the Snakefile knows every shard job before it runs),
from one listing of the folder (`psvl.datasets.videos.list_folder`) and one read of the record, and
written as one file (`results/{dataset}/shard_plan.tsv`, `write_plan`); each `shards` job copies its
shard's rows from that file (`read_plan`) and never lists or stats the folder (a 20 000-video run would
otherwise pay 313 jobs x 20 000 `stat` calls). The job checks its rows against the `digest` it was
planned with, so a plan rewritten in between by another parse (a dry run after new videos arrived) stops
it with a message instead of writing a list its digest does not describe. A cluster job's re-parse of
the workflow reads the same file (`ShardPlan.read`) instead of listing the folder again.
Snakemake reruns a shard's list only when its `digest` (a parameter of the rule) changes.

Plain csv, no pandas or pyarrow: the Snakefile imports this module at parse time.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from psvl.core.console import count
from psvl.datasets.videos import list_folder, shard_name, video_id_of

log = logging.getLogger(__name__)

COLUMNS = ("video_id", "path", "size_bytes", "mtime_ns")
PLAN_COLUMNS = ("shard", *COLUMNS)


@dataclass(frozen=True)
class VideoFile:
    """A video as the record knows it. size_bytes and mtime_ns are None where files are not looked at
    (the synthetic world, whose files do not exist yet when the workflow is planned)."""

    video_id: str
    path: str
    size_bytes: int | None = None
    mtime_ns: int | None = None


@dataclass(frozen=True)
class ShardPlan:
    """Every shard of a run with its videos, and why each one will or will not be rewritten."""

    shards: dict[str, tuple[VideoFile, ...]]
    status: dict[str, str]  # shard -> kept | new | changed
    reasons: dict[str, str]  # shard -> one line, for `psvl plan`
    dropped: tuple[str, ...]  # recorded shards whose videos are all gone

    def digest(self, shard: str) -> str:
        return digest(self.shards[shard])

    @classmethod
    def read(cls, path: str | os.PathLike) -> ShardPlan:
        """The plan a run wrote (`write_plan`): its shards and their digests (no status or reasons)."""
        return cls(read_plan(path), {}, {}, ())


def scan(videos_dir: str | os.PathLike, pattern: str = "**/*", look: bool = True) -> list[VideoFile]:
    """The videos under `videos_dir` in id order; with `look`, their size and modification time. One
    listing (`list_folder`); the files it skips for their suffix are named in one warning."""
    listing = list_folder(videos_dir, pattern)
    if listing.others:
        examples = ", ".join(os.path.basename(p) for p in listing.others[:3])
        log.warning(
            "%d files under %s are not videos by their suffix and are skipped (e.g. %s)",
            len(listing.others),
            videos_dir,
            examples,
        )
    if not look:
        return [VideoFile(vid, path) for vid, path, _ in listing.videos]
    return [VideoFile(vid, path, st.st_size, st.st_mtime_ns) for vid, path, st in listing.videos]


def expected(videos_dir: str | os.PathLike, names: Iterable[str]) -> list[VideoFile]:
    """Videos known by name before they exist (the synthetic world): no size, no time."""
    root = Path(videos_dir)
    return sorted(
        (VideoFile(video_id_of(root / n, root), str(root / n)) for n in names), key=lambda v: v.video_id
    )


def read_record(folder: str | os.PathLike) -> dict[str, tuple[VideoFile, ...]]:
    """The shard lists a previous run wrote under `folder` (empty when there are none)."""
    record = {}
    for path in sorted(Path(folder).glob("[0-9][0-9][0-9][0-9][0-9].tsv")):
        record[path.stem] = tuple(read_list(path))
    return record


def read_list(path: str | os.PathLike) -> list[VideoFile]:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    return [
        VideoFile(
            r["video_id"],
            r["path"],
            int(r["size_bytes"]) if r["size_bytes"] else None,
            int(r["mtime_ns"]) if r["mtime_ns"] else None,
        )
        for r in rows
    ]


def write_list(videos: Iterable[VideoFile], path: str | os.PathLike) -> None:
    """Write one shard's list atomically (temporary name, then rename)."""
    _write_atomic(path, _tsv(COLUMNS, ([*_row(v)] for v in videos)))


def write_plan(p: ShardPlan, path: str | os.PathLike) -> bool:
    """Write a run's whole plan (one row per video, a blank one for an empty shard), which each `shards`
    job reads its list from instead of listing the folder again. A file that already holds this plan
    is left alone (True: written)."""
    rows = ([shard, *_row(v)] for shard, videos in p.shards.items() for v in videos or (None,))
    text = _tsv(PLAN_COLUMNS, rows)
    path = Path(path)
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    _write_atomic(path, text)
    return True


def read_plan(path: str | os.PathLike, shard: str | None = None) -> dict[str, tuple[VideoFile, ...]]:
    """The shards of a plan file (`write_plan`), or only `shard` (absent: no such shard)."""
    shards: dict[str, list[VideoFile]] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        rows = csv.reader(fh, delimiter="\t")
        if next(rows, None) != list(PLAN_COLUMNS):
            raise ValueError(f"{path}: not a shard plan (expected the columns {', '.join(PLAN_COLUMNS)})")
        for name, video_id, vpath, size, mtime in rows:
            if shard is not None and name != shard:
                continue
            listed = shards.setdefault(name, [])
            if video_id:
                listed.append(
                    VideoFile(video_id, vpath, int(size) if size else None, int(mtime) if mtime else None)
                )
    return {name: tuple(videos) for name, videos in shards.items()}


def plan(current: list[VideoFile], record: dict[str, tuple[VideoFile, ...]], shard_size: int) -> ShardPlan:
    """Assign `current` videos to shards, keeping the `record`'s assignment (see the module docstring)."""
    if shard_size < 1:
        raise ValueError(f"shard_size must be >= 1, got {shard_size}")
    now = {v.video_id: v for v in current}
    shards: dict[str, tuple[VideoFile, ...]] = {}
    status: dict[str, str] = {}
    reasons: dict[str, str] = {}
    dropped = []
    placed: set[str] = set()
    for shard, old in record.items():
        kept = tuple(now[v.video_id] for v in old if v.video_id in now)
        placed.update(v.video_id for v in kept)
        if not kept:
            dropped.append(shard)
            continue
        shards[shard] = kept
        gone = len(old) - len(kept)
        changed = sum(1 for v in old if v.video_id in now and now[v.video_id] != v)
        if gone or changed:
            status[shard] = "changed"
            reasons[shard] = ", ".join(
                part
                for part in (
                    f"{count(gone, 'video')} removed" if gone else "",
                    f"{count(changed, 'file')} replaced (size or time changed)" if changed else "",
                )
                if part
            )
        else:
            status[shard] = "kept"
            reasons[shard] = f"{count(len(kept), 'video')} unchanged"
    fresh = [v for v in current if v.video_id not in placed]
    first = max((int(s) + 1 for s in record), default=0)
    for i in range(0, len(fresh), shard_size):
        shard = shard_name(first + i // shard_size)
        shards[shard] = tuple(fresh[i : i + shard_size])
        status[shard] = "new"
        reasons[shard] = count(len(shards[shard]), "new video")
    if not shards:  # an empty folder still plans one (empty) shard, so the DAG stays well formed
        shards[shard_name(first)] = ()
        status[shard_name(first)] = "new"
        reasons[shard_name(first)] = "no videos"
    order = sorted(shards)
    return ShardPlan(
        {s: shards[s] for s in order},
        {s: status[s] for s in order},
        {s: reasons[s] for s in order},
        tuple(dropped),
    )


def videos_of_shard(source: str | os.PathLike, shard: str | int | None = None) -> list[tuple[str, str]]:
    """(video_id, path) of one shard, in order: from its list (`.tsv`, what the workflow passes), or
    from the rows of `shard` in a manifest.parquet (by hand)."""
    if str(source).endswith(".tsv"):
        return [(v.video_id, v.path) for v in read_list(source)]
    if shard is None:
        raise ValueError(f"{source}: a manifest needs --shard (or pass a shard list .tsv)")
    from psvl.core.artifacts import read_frame  # lazy: the Snakefile imports this module at parse time

    table = read_frame(source, "manifest", columns=["video_id", "path", "shard"])
    rows = table[table["shard"] == int(shard)]
    return list(zip(rows["video_id"].astype(str), rows["path"].astype(str)))


def digest(videos: Iterable[VideoFile]) -> str:
    """A short fingerprint of a shard's list: the rule parameter whose change reruns the shard."""
    h = hashlib.sha1()
    for v in videos:
        h.update(f"{v.video_id}\t{v.path}\t{_blank(v.size_bytes)}\t{_blank(v.mtime_ns)}\n".encode())
    return h.hexdigest()[:16]


def _blank(value: int | None) -> str:
    return "" if value is None else str(value)


def _row(v: VideoFile | None) -> tuple[str, str, str, str]:
    if v is None:
        return ("", "", "", "")
    return (v.video_id, v.path, _blank(v.size_bytes), _blank(v.mtime_ns))


def _tsv(columns: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter="\t", lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return buf.getvalue()


def _write_atomic(path: str | os.PathLike, text: str) -> None:
    """Write `text` to a temporary name beside `path`, then rename: a killed job leaves no half file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)
