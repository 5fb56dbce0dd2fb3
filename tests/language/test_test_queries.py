"""Test-query simplification (the test_queries artifact) and the pseudo-query hit-rate check."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from psvl.cli import main
from psvl.core.artifacts import read_frame, read_metadata, write_table
from psvl.language.eval_pseudo_queries import evaluate_pseudo_queries, match, truth_from_events


def test_simplify_command_writes_test_queries_of_the_test_split_only(tmp_path):
    ann = tmp_path / "charades_sta_test.txt"
    ann.write_text(
        "3MSZA 24.3 30.4##person flipped the light switch near the door.\n"
        "AB12C 1.0 5.5##a person is riding a horse.\n"
    )
    out = tmp_path / "test_queries.parquet"
    assert main(["test-queries", "--annotations", str(ann), "--split", "test", "--out", str(out)]) == 0
    df = read_frame(out, "test_queries")
    assert [list(t) for t in df["tokens"]] == [
        ["flip", "person", "switch", "door"],
        ["ride", "person", "horse"],
    ]
    assert df[["start_s", "end_s"]].to_numpy().tolist() == [[24.3, 30.4], [1.0, 5.5]]
    assert main(["test-queries", "--annotations", str(ann), "--split", "train", "--out", str(out)]) == 0
    assert len(read_frame(out, "test_queries")) == 0


def test_simplify_text_prints_the_tokens(capsys):
    assert main(["test-queries", "--text", "the person puts down the bag."]) == 0
    assert capsys.readouterr().out.strip() == "put person bag"


def test_test_queries_follow_psvl_by_default_record_the_options_and_content_is_an_option(tmp_path):
    ann = tmp_path / "charades_sta_test.txt"
    ann.write_text("N3U9S 0.0 4.8##person opens a cabinet door.\nJ9T5D 27.1 35.0##person start laughing.\n")
    out = tmp_path / "test_queries.parquet"
    base = ["test-queries", "--annotations", str(ann), "--split", "test", "--out", str(out)]
    assert main(base) == 0
    tokens = [list(t) for t in read_frame(out, "test_queries")["tokens"]]
    assert tokens == [["open", "person", "cabinet", "door"], ["start", "laugh", "person"]]
    language = read_metadata(out)["config"]["language"]
    assert language == {"model": "en_core_web_sm", "simplify": "psvl", "stop_verbs": []}
    assert main([*base, "--set", "corpus.simplify=content"]) == 0
    tokens = [list(t) for t in read_frame(out, "test_queries")["tokens"]]
    assert tokens == [["open", "person", "door"], ["laugh", "person"]]
    language = read_metadata(out)["config"]["language"]
    assert language["simplify"] == "content" and "start" in language["stop_verbs"]


EVENTS = pd.DataFrame(
    {
        "video_id": ["v1", "v1", "v2"],
        "split": ["train"] * 3,
        "event_idx": [0, 1, 0],
        "start_s": [0.0, 10.0, 0.0],
        "end_s": [10.0, 20.0, 8.0],
        "object": ["ball", "cube", "star"],
        "action": ["bounce", "slide", "spin"],
        "sentence": ["a ball bounces.", "a cube slides.", "a star spins."],
    }
)


def _queries(rows):
    return pd.DataFrame(rows, columns=["query_id", "video_id", "start_s", "end_s", "verbs", "nouns"])


QUERIES = _queries(
    [
        ("v1#p0#q0", "v1", 0.0, 9.0, ["bounce", "roll"], ["ball", "cube"]),  # IoU 0.9 with ball: both hit
        ("v1#p1#q0", "v1", 8.0, 20.0, ["spin"], ["cube"]),  # IoU 10/12 with cube: noun hit only
        ("v1#p2#q0", "v1", 5.0, 15.0, ["slide"], ["cube"]),  # IoU 1/3 with both: not counted
        ("v2#p0#q0", "v2", 0.0, 6.0, ["grow"], ["ring", "star"]),  # IoU 0.75 with star: noun hit
    ]
)


def test_match_keeps_the_best_event_over_the_iou_threshold():
    matched = match(QUERIES, truth_from_events(EVENTS))
    assert matched["query_id"].tolist() == ["v1#p0#q0", "v1#p1#q0", "v2#p0#q0"]
    assert matched["iou"].to_numpy() == pytest.approx([0.9, 10 / 12, 0.75])


def test_hit_rates_are_shares_of_matched_queries():
    report = evaluate_pseudo_queries(
        QUERIES,
        truth_from_events(EVENTS),
        metadata={"config": {"summary": {"proposals_without_detections": 4}}},
    )
    assert report["n_queries"] == 3 and report["n_queries_total"] == 4
    assert report["verb_hit_rate"] == pytest.approx(1 / 3)
    assert report["noun_hit_rate"] == pytest.approx(1.0)
    assert report["first_noun_hit_rate"] == pytest.approx(2 / 3)  # v2's first noun is ring
    assert report["proposals_without_detections"] == 4


def test_eval_command_with_events_and_with_simplified_annotations(tmp_path):
    pq = QUERIES.assign(duration_s=20.0, tokens=[v + n for v, n in zip(QUERIES["verbs"], QUERIES["nouns"])])
    write_table(
        "pseudo_queries",
        pq,
        tmp_path / "pq.parquet",
        "test",
        {"summary": {"proposals_without_detections": 2}},
    )
    EVENTS.to_parquet(tmp_path / "events.parquet")
    ann = tmp_path / "train.txt"
    ann.write_text(
        "v1 0.0 10.0##a ball bounces on the floor.\nv1 10.0 20.0##the cube slides away.\n"
        "v2 0.0 8.0##a star spins.\n"
    )
    base = [
        "eval-pseudo-queries",
        "--pseudo-queries",
        str(tmp_path / "pq.parquet"),
        "--annotations",
        str(ann),
    ]
    assert main([*base, "--events", str(tmp_path / "events.parquet"), "--out", str(tmp_path / "a.json")]) == 0
    by_events = json.loads((tmp_path / "a.json").read_text())
    assert by_events["verb_hit_rate"] == pytest.approx(1 / 3)
    assert by_events["proposals_without_detections"] == 2
    assert main([*base, "--out", str(tmp_path / "b.json")]) == 0
    by_text = json.loads((tmp_path / "b.json").read_text())
    assert by_text["truth"] == "annotations" and by_text["n_queries"] == 3
    assert by_text["noun_hit_rate"] == pytest.approx(1.0)
