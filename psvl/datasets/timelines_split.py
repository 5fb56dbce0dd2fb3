"""The Charades timelines benchmark's videos and its dev split (standard library only: the Snakefile lists
the videos through the dataset registry at parse time).

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
from collections.abc import Iterable
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


def _write_lines(lines: Iterable[str], path: Path) -> None:
    """Write atomically (temporary name, then rename): a killed job leaves no half file."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    os.replace(tmp, path)


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
    listed = set(listed_videos(train, test, max_videos))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = [(line.split(maxsplit=1)[0], line) for line in sta_lines(train)]
    rows = [(vid, line) for vid, line in rows if vid in listed]
    dev = [line for vid, line in rows if is_dev(vid, fraction, seed)]
    kept = [line for vid, line in rows if not is_dev(vid, fraction, seed)]
    tests = [line for line in sta_lines(test) if line.split(maxsplit=1)[0] in listed]
    _write_lines(kept, out / "train.txt")
    _write_lines(dev, out / "dev.txt")
    _write_lines(tests, out / "test.txt")
    _write_lines((line.split("##", 1)[1].strip() for line in kept), out / "corpus.txt")
    counts = {"train": len(kept), "dev": len(dev), "test": len(tests)}
    counts["dev_videos"] = len({line.split(maxsplit=1)[0] for line in dev})
    if pseudo_labels:
        with open(pseudo_labels, encoding="utf-8") as fh:
            release = json.load(fh)
        train_ids = {line.split(maxsplit=1)[0] for line in kept}
        labels = [r for r in release if r["vid"] in train_ids]
        tmp = out / f".pseudo_labels.json.tmp{os.getpid()}"
        tmp.write_text(json.dumps(labels), encoding="utf-8")
        os.replace(tmp, out / "pseudo_labels.json")
        counts["release_labels"] = len(labels)
    return counts
