"""psvl stats: per-stage counts from Parquet footers and video_id columns, failures per stage."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq

from psvl.cli import main
from psvl.core.artifacts import write_table
from psvl.core.failures import summary
from psvl.evaluation.stage_counts import collect


def _results(root):
    videos = [f"vid {i}" for i in range(5)]
    write_table(
        "manifest",
        {
            "video_id": videos,
            "path": [f"/v/{v}.mp4" for v in videos],
            "split": ["train"] * 3 + ["test"] * 2,
            "shard": [0, 0, 0, 1, 1],
        },
        root / "manifest.parquet",
        stage="manifest",
    )
    for shard, vids in (("00000", videos[:3]), ("00001", videos[3:])):
        n = 4 * len(vids)
        write_table(
            "frames",
            {
                "video_id": [v for v in vids for _ in range(4)],
                "frame_idx": list(range(n)),
                "time_s": [0.5 * i for i in range(n)],
                "width": [8] * n,
                "height": [8] * n,
                "jpeg": [b"x"] * n,
            },
            root / "frames" / f"{shard}.parquet",
            stage="frames",
        )
        write_table(
            "failures",
            {"video_id": [], "stage": [], "error": [], "severity": []},
            root / "failures" / "frames" / f"{shard}.parquet",
            stage="frames",
        )
    write_table(
        "failures",
        {"video_id": ["vid 4"], "stage": ["detect"], "error": ["boom"], "severity": ["error"]},
        root / "failures" / "detect" / "00001.parquet",
        stage="detect",
    )
    write_table(
        "detections",
        {
            "video_id": ["vid 0"] * 3,
            "frame_idx": [0, 1, 2],
            "time_s": [0.0, 0.5, 1.0],
            "label": ["ball"] * 3,
            "score": [0.9] * 3,
            "x1": [0.0] * 3,
            "y1": [0.0] * 3,
            "x2": [1.0] * 3,
            "y2": [1.0] * 3,
        },
        root / "detections" / "00000.parquet",
        stage="detect",
    )
    # a temporary file of a killed writer is not counted
    (root / "frames" / ".00002.parquet.abc.tmp").write_bytes(b"partial")


def test_stats_counts_rows_videos_and_failures_per_stage(tmp_path):
    results = tmp_path / "results" / "synthetic"
    results.mkdir(parents=True)
    _results(results)
    out = tmp_path / "stats.json"
    assert main(["stats", "--results", str(results), "--out", str(out)]) == 0
    stats = json.loads(out.read_text())
    assert stats["artifacts"]["manifest"] == {
        "files": 1,
        "rows": 5,
        "videos": 5,
        "splits": {"train": 3, "test": 2},
    }
    assert stats["artifacts"]["frames"] == {"files": 2, "rows": 20, "videos": 5}
    assert stats["artifacts"]["detections"] == {"files": 1, "rows": 3, "videos": 1}
    empty = {"warnings": 0, "warned_videos": 0}
    assert stats["failures"] == {
        "frames": {"rows": 0, "videos": 0, "files": 2, **empty},
        "detect": {"rows": 1, "videos": 1, "files": 1, **empty},
    }
    assert stats["counts"] == {"videos": 5, "frames": 20, "detections": 3, "failures": 1, "warnings": 0}
    # the run's closing failure summary, by stage and reason, is in the report's stats.json too
    assert stats["failure_summary"][1:] == ["  detect: 1 video (1 boom)"]
    assert "proposals" not in stats["artifacts"]  # absent stages are left out, not zero


def test_stats_reads_only_the_video_id_column_mock_read_table(tmp_path, monkeypatch):
    """The frames' JPEG column is never read (mock at the pyarrow boundary records the columns asked for)."""
    _results(tmp_path)
    asked = []
    real = pq.read_table

    def spy(path, columns=None, **kw):
        asked.append(tuple(columns or ()))
        return real(path, columns=columns, **kw)

    monkeypatch.setattr(pq, "read_table", spy)
    collect(tmp_path)
    # (the failure summary reads the failures files whole: they are small)
    assert asked and all(cols in {("video_id",), ("split",), ()} for cols in asked)


def test_a_file_that_is_not_parquet_is_listed_and_the_rest_still_counted(tmp_path):
    _results(tmp_path)
    (tmp_path / "frames" / "00002.parquet").write_bytes(b"PAR1 but truncated")
    stats = collect(tmp_path)
    assert stats["artifacts"]["frames"] == {
        "files": 3,
        "rows": 20,
        "videos": 5,
        "unreadable": ["00002.parquet"],
    }
    assert stats["counts"]["frames"] == 20


def test_a_video_recorded_by_two_stages_counts_once_and_every_reason_is_named(tmp_path):
    _results(tmp_path)  # vid 4 failed in detect ("boom")
    errors = ["missing file: /v/4.mp4", "empty file (0 bytes): /v/5.mp4", "no frames could be decoded"]
    write_table(
        "failures",
        {
            "video_id": ["vid 4", "vid 5", "vid 6"],
            "stage": ["frames"] * 3,
            "error": errors,
            "severity": ["error"] * 3,
        },
        tmp_path / "failures" / "frames" / "00002.parquet",
        stage="frames",
    )
    stats = collect(tmp_path)
    assert stats["failures"]["frames"]["rows"] == 3 and stats["failures"]["detect"]["rows"] == 1
    assert stats["counts"]["failures"] == 3  # vid 4, vid 5, vid 6: each bad video once
    assert stats["failure_summary"] == [
        "failures (3 videos recorded in failures/{stage}/ and skipped; the rest completed):",
        "  detect: 1 video (1 boom)",
        "  frames: 3 videos (1 missing file, 1 empty file (0 bytes), 1 no frames could be decoded)",
    ]


def test_partial_decodes_are_warnings_counted_apart_from_failures(tmp_path):
    """A warning row (a partial decode: the video was kept) is neither a failure nor a failed video; the
    closing summary and stats.json count it on its own line; files from before `severity` are errors."""
    _results(tmp_path)  # vid 4 failed in detect ("boom"), a file with the severity column
    errors = [
        "partial decode: 68 of the 444 frames the header declares were decoded",
        "missing file: /v/5.mp4",
    ]
    write_table(
        "failures",
        {
            "video_id": ["vid 1", "vid 5"],
            "stage": ["frames"] * 2,
            "error": errors,
            "severity": ["warning", "error"],
        },
        tmp_path / "failures" / "frames" / "00002.parquet",
        stage="frames",
    )
    old = pa.table({"video_id": ["vid 6"], "stage": ["features"], "error": ["no frames"]})  # no severity
    (tmp_path / "failures" / "features").mkdir()
    pq.write_table(old, tmp_path / "failures" / "features" / "00000.parquet")
    stats = collect(tmp_path)
    assert stats["failures"]["frames"] == {
        "rows": 1,
        "videos": 1,
        "warnings": 1,
        "warned_videos": 1,
        "files": 3,
    }
    assert stats["failures"]["features"]["rows"] == 1
    assert (stats["counts"]["failures"], stats["counts"]["warnings"]) == (3, 1)  # vid 4, 5, 6; vid 1
    assert stats["failure_summary"] == [
        "failures (3 videos recorded in failures/{stage}/ and skipped; the rest completed):",
        "  detect: 1 video (1 boom)",
        "  features: 1 video (1 no frames)",
        "  frames: 1 video (1 missing file)",
        "warnings (1 video kept, flagged severity=warning in failures/{stage}/):",
        "  frames: 1 video (1 partial decode)",
    ]
    assert summary(tmp_path).splitlines() == stats["failure_summary"]
