"""benchmarks/bench_real_geometry.py and its footage: re-encoding, the detection sample, the per-job
measurement and the projection. (Fetching the footage needs the network; the benchmark itself runs it.)"""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from benchmarks._footage import Geometry, videos_for
from benchmarks.bench_real_geometry import Cost, first_frames, project, run_stage


def _source(path, n: int, width: int = 40, height: int = 30) -> None:
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(n):
            img = np.full((height, width, 3), 20 * i % 256, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 10)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def test_footage_loops_the_sources_to_the_wanted_size_rate_and_length(tmp_path):
    footage = tmp_path / "own"
    footage.mkdir()
    _source(footage / "a.mp4", 7)
    _source(footage / "b.mp4", 5, width=60)
    videos = videos_for(Geometry(64, 48, 10, 3.0), 2, tmp_path / "cache", footage)
    assert [v for v, _ in videos] == ["64x48_10fps_3s_0", "64x48_10fps_3s_1"]
    with av.open(str(videos[0][1])) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(stream))
        assert (stream.width, stream.height, stream.average_rate) == (64, 48, 10)
    assert len(frames) == 30  # 7 + 5 source frames played 2.5 times
    assert frames[-1].time == pytest.approx(2.9)
    mtime = videos[0][1].stat().st_mtime_ns
    assert (
        videos_for(Geometry(64, 48, 10, 3.0), 1, tmp_path / "cache", footage)[0][1].stat().st_mtime_ns
        == mtime
    )


def test_detection_sample_keeps_the_first_frames_of_each_video_and_the_metadata(tmp_path):
    table = pa.table({"video_id": ["a"] * 5 + ["b"] * 3, "frame_idx": [0, 1, 2, 3, 4, 0, 1, 2]})
    table = table.replace_schema_metadata({b"psvl": b"frames"})
    pq.write_table(table, tmp_path / "frames.parquet")
    kept, total = first_frames(tmp_path / "frames.parquet", tmp_path / "sample.parquet", 2)
    sample = pq.read_table(tmp_path / "sample.parquet")
    assert (kept, total) == (4, 8)
    assert sample.column("video_id").to_pylist() == ["a", "a", "b", "b"]
    assert sample.column("frame_idx").to_pylist() == [0, 1, 0, 1]
    assert sample.schema.metadata[b"psvl"] == b"frames"


def test_projection_scales_the_timed_share_and_pays_start_up_once_per_shard():
    cost = Cost(wall=40.0, cpu=20.0, startup_wall=3.0, startup_cpu=2.0, peak_mib=900.0)
    row = project(cost, scale=4.0, videos=2, dataset_videos=1000, shard_size=64)
    assert row["wall_s_per_video"] == 80.0 and row["cpu_s_per_video"] == 40.0
    assert row["dataset_cpu_hours"] == pytest.approx((40.0 * 1000 + 2.0 * 16) / 3600)
    assert row["peak_rss_mib"] == 900.0 and row["startup_s"] == 3.0


def test_a_stage_job_reports_its_own_start_up_and_peak_memory_and_a_failure_exits(tmp_path):
    cost = run_stage("config", ["config"])
    assert 0 < cost.startup_cpu < 30 and cost.startup_wall > 0
    assert 20 < cost.peak_mib < 2000  # the interpreter plus psvl's config: tens of MiB, not kiB or bytes
    with pytest.raises(SystemExit, match="psvl config --config"):
        run_stage("config", ["config", "--config", str(tmp_path / "missing.yaml")])
