"""The manifest: every video of a dataset with its split and shard, the unit of work of every stage."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from psvl.datasets.videos import list_videos, shard_of, video_id_of

log = logging.getLogger(__name__)


def build_manifest(
    videos_dir: str | os.PathLike, pattern: str, test_video_ids: Iterable[str], shard_size: int
) -> pd.DataFrame:
    """video_id, path, split, shard for each video under `videos_dir`.

    path is `videos_dir` joined with the file's path under it: relative when `videos_dir` is (the
    workflow's case, so a run's manifest does not depend on where its folder lives), else absolute.

    The listing and shard assignment are `psvl.datasets.videos`' (the Snakefile counts shards with the same
    functions at parse time). split is `test` when the video has test annotations (matched by its id or by
    its file stem), else `train`.
    """
    if shard_size < 1:
        raise ValueError(f"shard_size must be >= 1, got {shard_size}")
    root = Path(videos_dir)
    paths = list_videos(root, pattern)
    test = set(map(str, test_video_ids))
    ids = [video_id_of(p, root) for p in paths]
    df = pd.DataFrame(
        {
            "video_id": ids,
            "path": [str(p) for p in paths],
            "split": ["test" if (v in test or p.stem in test) else "train" for v, p in zip(ids, paths)],
            "shard": [shard_of(i, shard_size) for i in range(len(paths))],
        }
    )
    if df["video_id"].duplicated().any():
        dupes = sorted(df.loc[df["video_id"].duplicated(), "video_id"])[:5]
        raise ValueError(f"{root}: several files share a video id (same name, other suffix): {dupes}")
    n_test = int((df["split"] == "test").sum()) if len(df) else 0
    missing = test - set(ids) - {p.stem for p in paths}
    if missing:
        log.warning(
            "%d annotated test videos have no file under %s (e.g. %s)",
            len(missing),
            root,
            sorted(missing)[:3],
        )
    log.info(
        "manifest: %d videos (%d test), %d shards of %d", len(df), n_test, df["shard"].nunique(), shard_size
    )
    return df
