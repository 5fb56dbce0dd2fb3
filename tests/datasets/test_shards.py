"""Stable shards: the plan keeps recorded videos where they are and sends new ones to new shards."""

from __future__ import annotations

import os

import pytest

from psvl.datasets.shards import (
    ShardPlan,
    VideoFile,
    digest,
    plan,
    read_list,
    read_plan,
    read_record,
    scan,
    write_list,
    write_plan,
)
from psvl.datasets.videos import list_folder


def _v(i: int, size: int = 100) -> VideoFile:
    return VideoFile(f"clip{i:02d}", f"videos/clip{i:02d}.mp4", size, 1_000 + i)


def _record(p) -> dict:
    return dict(p.shards)


def test_a_first_run_cuts_the_sorted_listing_every_shard_size_videos():
    p = plan([_v(i) for i in range(5)], {}, shard_size=2)
    assert {s: [v.video_id for v in vs] for s, vs in p.shards.items()} == {
        "00000": ["clip00", "clip01"],
        "00001": ["clip02", "clip03"],
        "00002": ["clip04"],
    }
    assert set(p.status.values()) == {"new"}


def test_a_new_video_goes_to_a_new_shard_and_every_other_shard_is_kept():
    first = plan([_v(i) for i in range(4)], {}, shard_size=2)
    # clip00b sorts between clip00 and clip01: a listing cut would move clip01..clip03.
    added = [_v(0), VideoFile("clip00b", "videos/clip00b.mp4", 5, 5), *[_v(i) for i in range(1, 4)]]
    again = plan(added, _record(first), shard_size=2)
    assert again.status == {"00000": "kept", "00001": "kept", "00002": "new"}
    assert [v.video_id for v in again.shards["00002"]] == ["clip00b"]
    assert again.reasons == {
        "00000": "2 videos unchanged",
        "00001": "2 videos unchanged",
        "00002": "1 new video",
    }
    assert all(again.digest(s) == first.digest(s) for s in ("00000", "00001"))


def test_a_removed_or_replaced_video_changes_only_its_own_shard():
    first = plan([_v(i) for i in range(6)], {}, shard_size=2)
    current = [_v(0), _v(1), _v(2, size=999), _v(3), _v(5)]  # clip02 replaced, clip04 removed
    again = plan(current, _record(first), shard_size=2)
    assert again.status == {"00000": "kept", "00001": "changed", "00002": "changed"}
    assert again.reasons["00001"] == "1 file replaced (size or time changed)"
    assert again.reasons["00002"] == "1 video removed"
    assert again.digest("00000") == first.digest("00000")
    assert again.digest("00001") != first.digest("00001")
    assert [v.video_id for v in again.shards["00002"]] == ["clip05"]


def test_a_shard_whose_videos_are_all_gone_leaves_the_plan_and_its_number_is_not_reused():
    first = plan([_v(i) for i in range(4)], {}, shard_size=2)
    again = plan([_v(0), _v(1), _v(9)], _record(first), shard_size=2)
    assert again.dropped == ("00001",)
    assert list(again.shards) == ["00000", "00002"]
    assert [v.video_id for v in again.shards["00002"]] == ["clip09"]


def test_an_empty_folder_plans_one_empty_shard():
    p = plan([], {}, shard_size=4)
    assert p.shards == {"00000": ()}


def test_shard_size_below_one_is_refused():
    with pytest.raises(ValueError, match="shard_size"):
        plan([_v(0)], {}, shard_size=0)


def test_lists_round_trip_and_the_record_is_read_back(tmp_path):
    videos = [_v(0), VideoFile("é clip (1)", "videos/é clip (1).mp4", None, None)]
    write_list(videos, tmp_path / "00003.tsv")
    (tmp_path / "notes.tsv").write_text("not a shard list\n")
    assert read_list(tmp_path / "00003.tsv") == videos
    assert read_record(tmp_path) == {"00003": tuple(videos)}
    assert digest(videos) == digest(read_list(tmp_path / "00003.tsv"))


def test_scan_sees_a_replaced_file_by_size_and_time(tmp_path):
    (tmp_path / "a.mp4").write_bytes(b"x" * 10)
    (tmp_path / "notes.txt").write_text("not a video")
    before = scan(tmp_path)
    assert [v.video_id for v in before] == ["a"] and before[0].size_bytes == 10
    (tmp_path / "a.mp4").write_bytes(b"y" * 11)
    os.utime(tmp_path / "a.mp4", ns=(before[0].mtime_ns + 10**9, before[0].mtime_ns + 10**9))
    assert scan(tmp_path)[0] != before[0]
    assert scan(tmp_path, look=False)[0].size_bytes is None


def test_plan_command_counts_new_changed_and_kept_shards(tmp_path, monkeypatch, capsys):
    from psvl.cli import main

    videos = tmp_path / "videos"
    videos.mkdir()
    for name in ("a", "b", "c"):
        (videos / f"{name}.mp4").write_bytes(b"x")
    record = tmp_path / "results" / "custom" / "shards" / "record"
    first = plan(scan(videos), {}, shard_size=1)
    for shard, listed in first.shards.items():
        write_list(listed, record / f"{shard}.tsv")
    (videos / "b.mp4").write_bytes(b"longer")  # replaced
    (videos / "d.mp4").write_bytes(b"x")  # new
    monkeypatch.chdir(tmp_path)
    ds = f'dataset={{"name": "custom", "videos_dir": "{videos}", "corpus": "c.txt"}}'
    assert main(["plan", "--set", ds, "--set", "shard_size=1"]) == 0
    out = capsys.readouterr().out
    assert "4 videos in 4 shards: 1 new, 1 changed, 2 kept" in out
    assert "00001  changed  1 file replaced" in out and "00003  new" in out


def test_plan_of_one_new_video_says_it_in_the_singular(tmp_path, monkeypatch, capsys):
    from psvl.cli import main

    videos = tmp_path / "videos"
    videos.mkdir()
    (videos / "a.mp4").write_bytes(b"x")
    monkeypatch.chdir(tmp_path)
    ds = f'dataset={{"name": "custom", "videos_dir": "{videos}", "corpus": "c.txt"}}'
    assert main(["plan", "--set", ds]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == [
        "custom: 1 video in 1 shard: 1 new, 0 changed, 0 kept",
        "  00000  new      1 new video",
    ]


def _folder_plan(tmp_path, sizes: dict[str, int], shard_size: int = 2):
    videos = tmp_path / "videos"
    videos.mkdir()
    for name, size in sizes.items():
        (videos / f"{name}.mp4").write_bytes(b"x" * size)
    return videos, plan(scan(videos), {}, shard_size)


def test_the_plan_file_round_trips_every_shard_and_is_not_rewritten_when_unchanged(tmp_path):
    _, p = _folder_plan(tmp_path, {"a": 1, "b clip": 2, "é (3)": 3})
    path = tmp_path / "shard_plan.tsv"
    assert write_plan(p, path) is True
    before = path.stat().st_mtime_ns
    assert write_plan(p, path) is False and path.stat().st_mtime_ns == before
    assert read_plan(path) == p.shards
    assert ShardPlan.read(path).digest("00001") == p.digest("00001")
    empty = plan([], {}, shard_size=2)  # an empty shard is kept as a blank row
    write_plan(empty, path)
    assert read_plan(path) == {"00000": ()} and read_plan(path, "00003") == {}


def test_a_shards_job_writes_its_list_from_the_plan_with_the_videos_folder_gone(tmp_path):
    from psvl.cli import main

    videos, p = _folder_plan(tmp_path, {"a": 1, "b": 2, "c": 3})
    write_plan(p, tmp_path / "shard_plan.tsv")
    for f in videos.iterdir():  # the job must neither list nor stat the folder: take it away
        f.unlink()
    videos.rmdir()
    out = tmp_path / "shards" / "00001.tsv"
    args = ["shards", "--plan", str(tmp_path / "shard_plan.tsv"), "--shard", "1", "--out", str(out)]
    assert main([*args, "--digest", p.digest("00001")]) == 0
    assert read_list(out) == list(p.shards["00001"])
    assert [(v.video_id, v.size_bytes) for v in read_list(out)] == [("c", 3)]


def test_a_shards_job_stops_when_the_plan_changed_since_it_was_planned(tmp_path):
    from psvl.cli import main

    _, p = _folder_plan(tmp_path, {"a": 1, "b": 2, "c": 3})
    write_plan(p, tmp_path / "shard_plan.tsv")
    out = tmp_path / "00000.tsv"
    args = ["shards", "--plan", str(tmp_path / "shard_plan.tsv"), "--shard", "0", "--out", str(out)]
    with pytest.raises(SystemExit, match="not the one this job was planned with"):
        main([*args, "--digest", p.digest("00001")])
    assert not out.exists()


def test_scan_lists_the_folder_once_and_names_the_skipped_files(tmp_path, caplog):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.MKV").write_bytes(b"x")
    (tmp_path / "a.mp4").write_bytes(b"x")
    (tmp_path / ".hidden.mp4").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("not a video")
    (tmp_path / "dir.mp4").mkdir()  # a folder with a video suffix is no video
    with caplog.at_level("WARNING", logger="psvl.datasets.shards"):
        found = scan(tmp_path)
    assert [v.video_id for v in found] == ["a", "sub/b"]
    assert [r.getMessage() for r in caplog.records] == [
        f"1 files under {tmp_path} are not videos by their suffix and are skipped (e.g. notes.txt)"
    ]
    assert list_folder(tmp_path).others == [str(tmp_path / "notes.txt")]
