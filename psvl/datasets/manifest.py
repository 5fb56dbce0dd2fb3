"""The manifest: every video of a dataset with its split and shard, the unit of work of every stage."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from psvl.datasets.shards import videos_of_shard
from psvl.datasets.videos import list_videos, shard_of, video_id_of

log = logging.getLogger(__name__)


def build_manifest(
    videos_dir: str | os.PathLike,
    pattern: str,
    test_video_ids: Iterable[str],
    shard_size: int,
    shard_lists: Iterable[str | os.PathLike] | None = None,
) -> pd.DataFrame:
    """video_id, path, split, shard for each video under `videos_dir`.

    path is `videos_dir` joined with the file's path under it: relative when `videos_dir` is (the
    workflow's case, so a run's manifest does not depend on where its folder lives), else absolute.

    Without `shard_lists`, the sorted listing is cut every `shard_size` videos (`psvl.datasets.videos`);
    with them (the workflow's `shards/{shard}.tsv`), each video keeps the shard its list records. split is `test` when the video has test annotations (matched by its id or by
    its file stem), else `train`.
    """
    if shard_size < 1:
        raise ValueError(f"shard_size must be >= 1, got {shard_size}")
    root = Path(videos_dir)
    if shard_lists is None:
        paths = list_videos(root, pattern)
        ids = [video_id_of(p, root) for p in paths]
        shards = [shard_of(i, shard_size) for i in range(len(paths))]
    else:
        listed = [(int(Path(f).stem), v, p) for f in shard_lists for v, p in videos_of_shard(f)]
        listed.sort(key=lambda row: row[0])
        shards, ids, paths = (
            [s for s, _, _ in listed],
            [v for _, v, _ in listed],
            [Path(p) for _, _, p in listed],
        )
    test = set(map(str, test_video_ids))
    df = pd.DataFrame(
        {
            "video_id": ids,
            "path": [str(p) for p in paths],
            "split": ["test" if (v in test or p.stem in test) else "train" for v, p in zip(ids, paths)],
            "shard": shards,
        },
        columns=["video_id", "path", "split", "shard"],
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
