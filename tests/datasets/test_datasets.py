"""Annotation adapters on excerpts of the real files (tests/data, see its README): every format reads into
the same annotations table, in seconds, with stable ids, and the writers round-trip."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
from repo_paths import TEST_DATA

from psvl.core.artifacts import read_frame, schema, write_table
from psvl.datasets import (
    detect_format,
    read_annotations,
    read_durations,
    read_pseudo_queries,
    write_annotations,
    write_pseudo_queries,
)

DATA = TEST_DATA
CHARADES = DATA / "charades_sta_test_excerpt.txt"
CHARADES_JSON = DATA / "charades_excerpt.json"
ANET = DATA / "activitynet_val_1_excerpt.json"
PSVL = DATA / "psvl_pseudo_excerpt.json"
QVH = DATA / "qvhighlights_style_excerpt.jsonl"


def test_every_excerpt_format_is_detected_by_suffix_and_json_shape():
    assert [detect_format(p) for p in (CHARADES, ANET, PSVL, QVH)] == [
        "charades_sta",
        "activitynet",
        "psvl",
        "jsonl",
    ]


def test_charades_sta_reads_seconds_ids_and_durations_from_charades_json():
    df = read_annotations(CHARADES, CHARADES_JSON)
    assert list(df.columns) == schema("annotations").names
    assert len(df) == 12 and df["video_id"].nunique() == 6
    first = df.iloc[0]
    assert (first.query_id, first.video_id, first.start_s, first.end_s) == ("3MSZA#0", "3MSZA", 24.3, 30.4)
    assert first.sentence == "person turn a light on."
    assert first.duration_s == pytest.approx(json.loads(CHARADES_JSON.read_text())["3MSZA"]["duration"])
    assert df.loc[3, "query_id"] == "3MSZA#3" and df.loc[4, "query_id"] == "AMT7R#0"
    assert set(df["split"]) == {"test"}  # the file name says test
    assert df["duration_s"].notna().all()


def test_charades_sta_durations_from_csv_and_nan_without_durations(tmp_path):
    csv = tmp_path / "durations.csv"
    csv.write_text("video_id,duration_s\n3MSZA,31.5\n")
    df = read_annotations(CHARADES, csv)
    assert df.loc[df.video_id == "3MSZA", "duration_s"].tolist() == [31.5] * 4
    assert df.loc[df.video_id != "3MSZA", "duration_s"].isna().all()
    assert read_annotations(CHARADES)["duration_s"].isna().all()
    assert read_durations(csv) == {"3MSZA": 31.5}


def test_charades_malformed_line_names_file_and_line(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("AAA 1.0 2.0##ok\nBBB 1.0##missing end\n")
    with pytest.raises(ValueError, match=r"bad.txt:2"):
        read_annotations(bad)


def test_activitynet_reads_every_sentence_stripped_with_its_duration():
    raw = json.loads(ANET.read_text())
    df = read_annotations(ANET)
    assert len(df) == sum(len(v["sentences"]) for v in raw.values()) == 8
    row = df.iloc[1]
    assert row.query_id == "v_uqiMw7tQ1Cc#1"
    assert row.sentence == raw["v_uqiMw7tQ1Cc"]["sentences"][1].strip()
    assert (row.start_s, row.end_s, row.duration_s) == (13.79, 54.32, 55.15)
    assert set(df["split"]) == {"test"}  # val_1 is what ActivityNet evaluates on


def test_psvl_json_annotations_and_pseudo_queries_are_in_seconds(tmp_path):
    raw = json.loads(PSVL.read_text())
    ann = read_annotations(PSVL)
    pq = read_pseudo_queries(PSVL)
    assert len(ann) == len(pq) == 10
    rec = raw[1]
    assert ann.loc[1, "start_s"] == pytest.approx(rec["timestamp"][0] * rec["duration"])
    assert ann.loc[1, "end_s"] == pytest.approx(rec["timestamp"][1] * rec["duration"])
    assert ann.loc[1, "sentence"] == " ".join(rec["tokens"])
    assert list(pq.columns) == schema("pseudo_queries").names
    assert pq.loc[1, "verbs"] == rec["tokens"][:3] and pq.loc[1, "nouns"] == rec["tokens"][3:]
    assert list(pq.loc[1, "tokens"]) == rec["tokens"]
    assert pq["query_id"].is_unique
    stored = read_frame(
        write_table("pseudo_queries", pq, tmp_path / "pq.parquet", stage="t"), "pseudo_queries"
    )
    assert stored["end_s"].tolist() == pq["end_s"].tolist()


def test_psvl_json_round_trips_through_write_pseudo_queries(tmp_path):
    pq = read_pseudo_queries(PSVL)
    out = write_pseudo_queries(pq, tmp_path / "out.json")
    raw, back = json.loads(PSVL.read_text()), json.loads(out.read_text())
    assert [r["vid"] for r in back] == [r["vid"] for r in raw]
    assert [r["tokens"] for r in back] == [r["tokens"] for r in raw]
    for a, b in zip(raw, back):
        assert b["timestamp"] == pytest.approx(a["timestamp"], abs=1e-12)
        assert b["duration"] == a["duration"]


def test_qvhighlights_jsonl_gives_one_row_per_window_and_keeps_qid():
    df = read_annotations(QVH)
    assert df["query_id"].tolist() == ["2579", "2579#1", "5071", "9901"]
    assert df[["start_s", "end_s"]].values.tolist() == [[0, 42], [84, 150], [28, 78], [10.5, 20.25]]
    assert df["split"].tolist() == ["test", "test", "test", "train"]  # explicit split field wins
    assert df.loc[3, "duration_s"] == 126.0


@pytest.mark.parametrize("suffix", [".txt", ".json", ".jsonl", ".parquet"])
def test_writers_round_trip_the_annotations(tmp_path, suffix):
    df = read_annotations(CHARADES, CHARADES_JSON)
    path = write_annotations(df, tmp_path / f"test{suffix}")
    back = read_annotations(path, CHARADES_JSON if suffix == ".txt" else None, split="test")
    assert back["video_id"].tolist() == df["video_id"].tolist()
    assert back["sentence"].tolist() == df["sentence"].tolist()
    assert back["start_s"].tolist() == df["start_s"].tolist()
    assert back["end_s"].tolist() == df["end_s"].tolist()
    assert back["duration_s"].tolist() == pytest.approx(df["duration_s"].tolist())
    if suffix != ".jsonl":  # JSONL keeps the given ids as qids, the others rebuild the same stable ids
        assert back["query_id"].tolist() == df["query_id"].tolist()


def test_parquet_test_queries_read_as_annotations(tmp_path):
    tq = pd.DataFrame(
        {
            "query_id": ["q0"],
            "video_id": ["v"],
            "sentence": ["a ball bounces"],
            "start_s": [1.0],
            "end_s": [2.0],
            "duration_s": [9.0],
            "tokens": [["bounce", "ball"]],
        }
    )
    path = write_table("test_queries", tq, tmp_path / "test_queries.parquet", stage="test")
    df = read_annotations(path)
    assert df[["query_id", "sentence", "start_s", "end_s", "duration_s", "split"]].values.tolist() == [
        ["q0", "a ball bounces", 1.0, 2.0, 9.0, "test"]
    ]


def test_unknown_suffix_is_an_error_naming_the_formats(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("x")
    with pytest.raises(ValueError, match="Charades-STA"):
        read_annotations(path)
    with pytest.raises(FileNotFoundError):
        read_annotations(tmp_path / "none.txt")


def _psvl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "psvl.cli", *args], capture_output=True, text=True, check=False
    )


def test_annotations_command_sets_split_by_file_and_empty_without_files(tmp_path):
    out = tmp_path / "annotations.parquet"
    r = _psvl(
        "annotations",
        "--test",
        str(CHARADES),
        "--train",
        str(PSVL),
        "--durations",
        str(CHARADES_JSON),
        "--out",
        str(out),
    )
    assert r.returncode == 0, r.stderr
    df = read_frame(out, "annotations")
    assert (df["split"] == "test").sum() == 12 and (df["split"] == "train").sum() == 10
    assert df["query_id"].is_unique
    empty = tmp_path / "empty.parquet"
    assert _psvl("annotations", "--out", str(empty)).returncode == 0
    assert len(read_frame(empty, "annotations")) == 0


def test_convert_and_export_psvl_commands_write_readable_files(tmp_path):
    jsonl = tmp_path / "c.jsonl"
    r = _psvl("convert", str(CHARADES), "--durations", str(CHARADES_JSON), "--out", str(jsonl))
    assert r.returncode == 0, r.stderr
    assert len(read_annotations(jsonl)) == 12
    pq_path = write_table("pseudo_queries", read_pseudo_queries(PSVL), tmp_path / "pq.parquet", stage="test")
    out = tmp_path / "pseudo.json"
    assert _psvl("export-psvl", "--pseudo-queries", str(pq_path), "--out", str(out)).returncode == 0
    got, want = json.loads(out.read_text()), json.loads(PSVL.read_text())
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        # pytest 9.2 rejects nested approx: compare the floats field by field.
        assert {k: v for k, v in g.items() if k != "timestamp"} == {
            k: v for k, v in w.items() if k != "timestamp"
        }
        assert g["timestamp"] == pytest.approx(w["timestamp"], abs=1e-12)


# --- the registry of dataset kinds (psvl.datasets.registry) ------------------------------------------


def test_every_schema_dataset_name_is_a_registered_kind_and_back():
    from psvl import config
    from psvl.datasets.registry import DATASETS

    enum = config.schema()["properties"]["dataset"]["properties"]["name"]["enum"]
    assert sorted(enum) == DATASETS.names()


def test_synthetic_sources_are_the_generated_world_and_count_the_configured_videos():
    from psvl import config
    from psvl.datasets.registry import DATASETS

    cfg = config.validate({"synthetic": {"videos": 10}})
    src = DATASETS.get("synthetic").sources(cfg, "results/synthetic")
    assert src.videos_dir == "results/synthetic/world/videos"
    assert (src.test, src.train, src.durations) == tuple(
        f"results/synthetic/world/{f}" for f in ("test.txt", "train.txt", "durations.csv")
    )
    assert src.truth == "results/synthetic/world/events.parquet" and src.box_labels
    listed = src.videos()
    assert src.generated and len(listed) == 10 and listed[3].video_id == "synth_0003"
    assert listed[3].size_bytes is None  # the world is not written yet: listed by name, never stat'ed


def test_folder_sources_list_the_videos_and_name_the_configured_files(tmp_path):
    from psvl import config
    from psvl.datasets.registry import DATASETS

    for name in ("a.mp4", "b.mkv", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    ds = {"name": "custom", "videos_dir": str(tmp_path), "corpus": "c.txt"}
    src = DATASETS.get("custom").sources(config.validate({"dataset": ds}), "results/custom")
    assert (src.videos_dir, src.corpus, src.test, src.truth, src.box_labels) == (
        str(tmp_path),
        "c.txt",
        None,
        None,
        None,
    )
    assert [v.video_id for v in src.videos()] == ["a", "b"] and not src.generated
    assert src.videos()[0].size_bytes == 0


def test_psvl_release_is_a_release_path_with_no_videos_and_needs_no_detector():
    from psvl import config
    from psvl.datasets.registry import DATASETS, reads_videos

    ds = {"name": "psvl_release", "features_dir": "f", "pseudo_labels": "p.json", "annotations": ["a", "b"]}
    cfg = config.validate({"dataset": ds})
    src = DATASETS.get("psvl_release").sources(cfg, "results/psvl_release")
    assert src.from_release and (src.pseudo_labels, src.features, src.test) == ("p.json", "f", ["a", "b"])
    assert src.videos() == [] and src.videos_dir is None
    assert not reads_videos(cfg) and reads_videos(config.validate({}))


def test_required_dataset_keys_come_from_the_registry(monkeypatch):
    from psvl import config
    from psvl.datasets.registry import DATASETS, DatasetKind

    kind = DatasetKind(requires=("videos_dir", "durations"), sources=lambda cfg, results: None, no_dag=None)
    monkeypatch.setitem(DATASETS._items, "custom", kind)
    with pytest.raises(config.ConfigError, match=r"config\.dataset\.durations: required when dataset\.name"):
        config.validate({"dataset": {"name": "custom", "videos_dir": "v"}})


def test_the_registry_and_config_import_without_pandas_pyarrow_or_torch():
    code = (
        "import sys, psvl.config, psvl.datasets.registry, psvl.datasets.videos; "
        "print(sorted(m for m in ('pandas', 'pyarrow', 'torch') if m in sys.modules))"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "[]"


# --- predictions are read by the same parser as annotations ------------------------------------------


def test_predictions_and_annotations_of_one_file_agree_on_every_format():
    from psvl.datasets.predictions import read_predictions

    for path in (CHARADES, ANET, PSVL, QVH):
        ann, pred = read_annotations(path), read_predictions(path)
        if path == QVH:  # predictions keep each query's top window: the first, without scores
            ann = ann[~ann["query_id"].str.contains("#")]
        assert pred["video_id"].tolist() == ann["video_id"].tolist(), path.name
        assert pred["pred_start_s"].tolist() == ann["start_s"].tolist(), path.name
        assert pred["pred_end_s"].tolist() == ann["end_s"].tolist(), path.name


def test_prediction_files_may_leave_out_what_only_annotations_need(tmp_path):
    from psvl.datasets.predictions import read_predictions

    txt = tmp_path / "p.txt"
    txt.write_text("v1 0 10\nv1 15 25##a sentence\n")
    anet = tmp_path / "p.json"
    anet.write_text(json.dumps({"v1": {"duration": 30, "timestamps": [[0, 10], [15, 25]]}}))
    psvl = tmp_path / "q.json"
    psvl.write_text(json.dumps([{"vid": "v1", "duration": 30, "timestamp": [0, 0.5], "qid": "a"}]))
    assert read_predictions(txt)[["pred_start_s", "pred_end_s"]].to_numpy().tolist() == [[0, 10], [15, 25]]
    assert read_predictions(anet)["pred_duration_s"].tolist() == [30.0, 30.0]
    assert read_predictions(psvl)[["query_id", "pred_end_s"]].to_numpy().tolist() == [["a", 15.0]]
    for path in (txt, anet, psvl):  # as annotations each lacks the sentence
        with pytest.raises(ValueError, match=path.name):
            read_annotations(path)
