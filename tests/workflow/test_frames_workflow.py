"""The issue's check through the real workflow: a `custom` dataset folder of good videos, a truncated mp4,
an empty file, a text file renamed .mp4 and awkward file names runs annotations -> manifest -> frames for
every shard; every good video has frames, each bad one a failures row naming it."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from video_fixtures import write_audio_only, write_noise_video, write_video
from workflow_helpers import run_snakemake, skip_unless_stages, write_config

pytestmark = pytest.mark.slow

GOOD = {"good_a": 3.0, "clip with spaces": 2.0, 'it\'s "quoted" ñ': 2.0}
BAD = {"truncated", "empty", "text", "audio_only"}


def test_custom_folder_with_bad_videos_runs_through_frames(tmp_path):
    skip_unless_stages(pytest, ("annotations", "manifest", "frames"))
    videos = tmp_path / "videos"
    videos.mkdir()
    for name, seconds in GOOD.items():
        write_video(videos / f"{name}.mp4", seconds=seconds)
    full = write_video(tmp_path / "full.mp4", seconds=4.0).read_bytes()
    (videos / "truncated.mp4").write_bytes(full[: len(full) // 2])
    (videos / "empty.mp4").write_bytes(b"")
    (videos / "text.mp4").write_text("not a video\n")
    write_audio_only(videos / "audio_only.mp4")
    write_noise_video(videos / "damaged.mp4", damaged=True)  # a partial decode: kept, with a warning
    test_file = tmp_path / "test.jsonl"
    record = {"qid": 1, "query": "a gray square", "vid": "clip with spaces", "duration": 2.0,
              "relevant_windows": [[0.0, 1.0]]}  # fmt: skip
    test_file.write_text(json.dumps(record) + "\n")
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("a person opens the door\n")
    workdir = tmp_path / "run"
    dataset = {
        "name": "custom",
        "videos_dir": str(videos),
        "corpus": str(corpus),
        "annotations": str(test_file),
    }
    write_config(
        workdir,
        {
            "dataset": dataset,
            "detector": {"weights": "none"},
            "features": {"extractor": "resnet18", "weights": "none"},
            "shard_size": 3,
            "frames": {"fps": 2.0, "size": 32},
        },
    )
    out = Path("results") / "custom"
    shards = ["00000", "00001", "00002"]  # 8 videos, 3 per shard
    # frames jobs read their shard's list only; the merged manifest is its own target
    run_snakemake(workdir, [f"{out}/manifest.parquet", *(f"{out}/frames/{s}.parquet" for s in shards)])

    manifest = pq.read_table(workdir / out / "manifest.parquet").to_pandas()
    assert len(manifest) == 8 and manifest["shard"].max() == 2
    assert manifest.set_index("video_id")["split"].to_dict()["clip with spaces"] == "test"
    names = pq.read_schema(workdir / out / "frames" / "00000.parquet").names
    assert names == ["video_id", "frame_idx", "time_s", "width", "height", "jpeg"]
    per_video: dict[str, int] = {}
    errors: dict[str, str] = {}
    warnings: dict[str, str] = {}
    for s in shards:
        table = pq.read_table(workdir / out / "frames" / f"{s}.parquet").to_pandas()
        for vid, group in table.groupby("video_id"):
            per_video[vid] = len(group)
        for row in pq.read_table(workdir / out / "failures" / "frames" / f"{s}.parquet").to_pylist():
            (errors if row["severity"] == "error" else warnings)[row["video_id"]] = row["error"]
    assert per_video == {**{name: int(seconds * 2) for name, seconds in GOOD.items()}, "damaged": 20}
    assert warnings == {"damaged": "partial decode: 1 damaged packet skipped"}
    assert set(errors) == BAD
    assert "no video stream" in errors["audio_only"] and "empty file" in errors["empty"]
    # the run ends with a summary of the bad videos by stage, on the console, the warned one apart
    closing = (workdir / "snakemake.log").read_text()
    assert "  frames: 4 videos (" in closing
    assert (
        "warnings (1 video kept, flagged severity=warning in failures/{stage}/):\n  frames: 1 video (1 partial decode)"
        in closing
    )
