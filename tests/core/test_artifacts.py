import json
import os

import pyarrow as pa
import pytest

from psvl import __version__
from psvl.core import artifacts


def test_every_artifact_of_the_design_has_a_schema():
    for kind in [
        "annotations",
        "manifest",
        "frames",
        "features",
        "detections",
        "proposals",
        "vocab",
        "cooccurrence",
        "pseudo_queries",
        "test_queries",
        "failures",
        "predictions",
        "per_query",
        "train_log",
    ]:
        assert isinstance(artifacts.schema(kind), pa.Schema)


def test_write_then_read_round_trips_with_provenance(tmp_path):
    path = tmp_path / "proposals" / "00000.parquet"
    artifacts.write_table(
        "proposals",
        {"video_id": ["v"], "proposal_id": ["v#p0"], "start_s": [1], "end_s": [2.5], "n_atomic": [1]},
        path,
        stage="propose",
        shaping={"tep.seed": 3},
    )
    table = artifacts.read_table(path, "proposals")
    assert table.schema.field("start_s").type == pa.float64()
    assert table.column("end_s").to_pylist() == [2.5]
    meta = artifacts.read_metadata(path)
    assert meta == {
        "artifact": "proposals",
        "stage": "propose",
        "psvl_version": __version__,
        "config": {"tep.seed": 3},
    }


def test_missing_or_extra_columns_are_named_in_the_error(tmp_path):
    with pytest.raises(artifacts.ArtifactError, match=r"missing \['n_atomic'\].*unexpected \['oops'\]"):
        artifacts.write_table(
            "proposals",
            {"video_id": ["v"], "proposal_id": ["p"], "start_s": [1.0], "end_s": [2.0], "oops": [1]},
            tmp_path / "x.parquet",
            stage="t",
        )
    assert not list(tmp_path.iterdir()), "a failed write must leave no file behind"


def test_empty_table_keeps_the_declared_schema(tmp_path):
    path = artifacts.write_table("failures", {}, tmp_path / "f.parquet", stage="frames")
    table = artifacts.read_table(path, "failures")
    assert table.num_rows == 0 and table.schema.names == ["video_id", "stage", "error", "severity"]


def test_write_is_atomic_old_file_survives_a_failed_write(tmp_path, monkeypatch):
    path = tmp_path / "a.parquet"
    artifacts.write_table(
        "failures",
        {"video_id": ["a"], "stage": ["s"], "error": ["e"], "severity": ["error"]},
        path,
        stage="s",
    )

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(artifacts.pq, "write_table", boom)
    with pytest.raises(OSError):
        artifacts.write_table(
            "failures",
            {"video_id": ["b"], "stage": ["s"], "error": ["e"], "severity": ["error"]},
            path,
            stage="s",
        )
    assert artifacts.read_table(path).column("video_id").to_pylist() == ["a"]
    assert [p.name for p in tmp_path.iterdir()] == ["a.parquet"]


def test_write_json_is_atomic_and_sorted(tmp_path):
    p = artifacts.write_json({"b": 1, "a": 0.5}, tmp_path / "m.json")
    assert json.loads(p.read_text()) == {"a": 0.5, "b": 1}
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]


def test_concat_tables_of_shards(tmp_path):
    for i in range(3):
        artifacts.write_table(
            "failures",
            {"video_id": [f"v{i}"], "stage": ["s"], "error": ["e"], "severity": ["error"]},
            tmp_path / f"{i}.parquet",
            stage="s",
        )
    t = artifacts.concat_tables("failures", sorted(tmp_path.glob("*.parquet")))
    assert t.column("video_id").to_pylist() == ["v0", "v1", "v2"]


def test_written_files_get_umask_permissions_not_mkstemp_0600(tmp_path):
    mask = os.umask(0o022)
    os.umask(mask)
    p = artifacts.write_json({"a": 1}, tmp_path / "m.json")
    q = artifacts.write_table("failures", {}, tmp_path / "f.parquet", stage="s")
    assert p.stat().st_mode & 0o777 == 0o666 & ~mask
    assert q.stat().st_mode & 0o777 == 0o666 & ~mask


def test_remove_temporaries_deletes_a_killed_writes_leftovers_only(tmp_path):
    from psvl.core.artifacts import remove_temporaries

    (tmp_path / "best.pt").write_bytes(b"model")
    (tmp_path / ".train_log.parquet.s70emzkf.tmp").write_bytes(b"half")  # atomic_target's name
    (tmp_path / ".last.pt.tmp").write_bytes(b"half")  # the checkpoint writer's name
    (tmp_path / "notes.tmp").write_text("a user's file")  # not hidden: not ours
    assert remove_temporaries(tmp_path) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.pt", "notes.tmp"]
