"""The Charades timelines benchmark's videos and its dev split (standard library only at import: the
Snakefile lists the videos through the dataset registry at parse time; writing the split, a job, uses
the project's atomic writers).

Why a dev split: the benchmark is where real-data defaults are decided, and the test queries must be read
once per reported change. So a seeded share of the Charades-STA *train* videos is held out of everything
the method learns from (their pseudo-queries, their sentences in the unpaired corpus, the release
variant's pseudo-labels); their true train sentences are the dev queries. A video is dev by a hash of
(seed, video id), so whether one video is dev never depends on which other videos are listed.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

SPLIT_FILES = ("train.txt", "dev.txt", "test.txt", "corpus.txt")  # what `write_split` writes


def sta_lines(path: str | os.PathLike) -> list[str]:
    """The non-empty lines of a Charades-STA txt file (`vid start end##sentence`)."""
    with open(path, encoding="utf-8") as fh:
        return [line.rstrip("\n") for line in fh if line.strip()]


def sta_video_ids(path: str | os.PathLike) -> list[str]:
    """The distinct video ids of a Charades-STA txt file, sorted."""
    return sorted({line.split(maxsplit=1)[0] for line in sta_lines(path)})


def is_dev(video_id: str, fraction: float, seed: int) -> bool:
    """Whether a train video is held out as dev: a stable hash of (seed, id) below `fraction`."""
    h = hashlib.sha1(f"{seed}:{video_id}".encode()).digest()
    return int.from_bytes(h[:8], "big") / 2.0**64 < fraction


def listed_videos(train: str, test: str, max_videos: int | None = None) -> list[str]:
    """The benchmark's videos: Charades-STA train then test ids; `max_videos` keeps the first n of each
    (sorted), a subset for tests and quick looks."""
    tr, te = sta_video_ids(train), sta_video_ids(test)
    if max_videos is not None:
        tr, te = tr[:max_videos], te[:max_videos]
    return sorted(set(tr) | set(te))


def write_split(
    train: str,
    test: str,
    out_dir: str | os.PathLike,
    *,
    fraction: float,
    seed: int,
    max_videos: int | None = None,
    pseudo_labels: str | None = None,
) -> dict[str, int]:
    """Write the split's files under `out_dir` and return their counts.

    train.txt: the train moments of the non-dev train videos (what TEP's recall is measured on);
    dev.txt: the dev videos' train sentences with their moments (the dev queries);
    test.txt: the Charades-STA test queries of the listed test videos;
    corpus.txt: the sentences of train.txt without timestamps (the unpaired corpus; no dev sentence);
    pseudo_labels.json (with `pseudo_labels`): PSVL's released pseudo-labels minus the dev videos.
    """
    from psvl.core.artifacts import write_json, write_text  # atomic writes; pyarrow is fine in a job

    listed = set(listed_videos(train, test, max_videos))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = [(line.split(maxsplit=1)[0], line) for line in sta_lines(train)]
    rows = [(vid, line) for vid, line in rows if vid in listed]
    dev_ids = {vid for vid, _ in rows if is_dev(vid, fraction, seed)}
    dev = [line for vid, line in rows if vid in dev_ids]
    kept = [line for vid, line in rows if vid not in dev_ids]
    tests = [line for line in sta_lines(test) if line.split(maxsplit=1)[0] in listed]
    for lines, name in ((kept, "train.txt"), (dev, "dev.txt"), (tests, "test.txt")):
        write_text("".join(f"{line}\n" for line in lines), out / name)
    write_text("".join(f"{line.split('##', 1)[1].strip()}\n" for line in kept), out / "corpus.txt")
    counts = {"train": len(kept), "dev": len(dev), "test": len(tests)}
    counts["dev_videos"] = len(dev_ids)
    if pseudo_labels:
        with open(pseudo_labels, encoding="utf-8") as fh:
            release = json.load(fh)
        train_ids = {line.split(maxsplit=1)[0] for line in kept}
        labels = [r for r in release if r["vid"] in train_ids]
        write_json(labels, out / "pseudo_labels.json")
        counts["release_labels"] = len(labels)
    return counts
