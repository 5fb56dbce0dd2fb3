"""Pseudo-query composition on hand-made tables, with the expected numbers worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from psvl.cli import main
from psvl.config import default
from psvl.core.artifacts import read_frame, read_metadata, write_table
from psvl.language.nouns import rank_nouns
from psvl.language.pseudo_queries import PseudoQueriesConfig, compose
from psvl.language.verbs import noun_idf, verb_weights


def _dets(rows):
    return pd.DataFrame(rows, columns=["video_id", "time_s", "label", "score"])


PROPOSALS = pd.DataFrame(
    {
        "video_id": ["v1", "v1", "v1", "v2"],
        "proposal_id": ["v1#p0", "v1#p1", "v1#p2", "v2#p0"],
        "start_s": [0.0, 2.0, 8.0, 0.0],
        "end_s": [3.0, 5.0, 9.0, 4.0],
    }
)
DETECTIONS = _dets(
    [
        ("v1", 0.0, "ball", 0.9),
        ("v1", 1.0, "ball", 0.8),
        ("v1", 1.0, "Cube", 0.6),  # labels are lower-cased
        ("v1", 1.0, "cube", 0.5),  # two cubes in one frame count twice
        ("v1", 3.0, "star", 0.7),  # on p0's end boundary: inside p0 and p1
        ("v1", 5.0, "ring", 0.95),  # on p1's end boundary
        ("v1", 5.5, "ring", 0.95),  # outside every v1 proposal
        ("v2", 2.0, "widget", 0.9),  # unknown to the corpus
    ]
)
COOC = pd.DataFrame(
    {
        "noun": ["ball", "ball", "cube", "cube", "star", "ring"],
        "verb": ["bounce", "roll", "slide", "roll", "spin", "spin"],
        "p_verb_given_noun": [0.6, 0.4, 0.9, 0.1, 1.0, 1.0],
        "count": [6, 4, 9, 1, 3, 3],
    }
)


def test_nouns_are_ranked_by_score_weighted_frequency_inside_the_window():
    props = PROPOSALS.assign(pidx=range(4))
    dets = DETECTIONS.assign(label=DETECTIONS["label"].str.lower())
    ranked = rank_nouns(props, dets, num_nouns=5)
    p0 = ranked[ranked["pidx"] == 0]
    # ball 0.9 + 0.8 = 1.7 > cube 0.6 + 0.5 = 1.1 > star 0.7 (frame at t = end_s is inside)
    assert p0["noun"].tolist() == ["ball", "cube", "star"]
    assert p0["weight"].to_numpy() == pytest.approx([1.7, 1.1, 0.7])
    # p1 = [2, 5]: ring at 5.0 (0.95) and star at 3.0 (0.7); the ring at 5.5 is outside
    assert ranked.loc[ranked["pidx"] == 1, "noun"].tolist() == ["ring", "star"]
    assert 2 not in set(ranked["pidx"])  # [8, 9] holds no detection
    assert rank_nouns(props, dets, num_nouns=1).groupby("pidx").size().max() == 1


def test_compose_skips_proposals_without_detections_and_keeps_unknown_nouns():
    table, summary = compose(
        PROPOSALS,
        DETECTIONS,
        COOC,
        {"v1": 10.0, "v2": 6.0},
        default(PseudoQueriesConfig, "pseudo_queries", num_verbs=2),
    )
    df = table.to_pandas()
    assert df["query_id"].tolist() == ["v1#p0#q0", "v1#p1#q0", "v2#p0#q0"]
    assert summary["proposals_without_detections"] == 1
    assert summary["queries"] == 3
    assert summary["nouns_unknown_to_corpus"] == ["widget"]
    assert summary["queries_without_verbs"] == 1  # v2's only noun proposes no verb
    assert df["duration_s"].tolist() == [10.0, 10.0, 6.0]
    q0, q1, q2 = (df.iloc[i] for i in range(3))
    assert list(q0["nouns"]) == ["ball", "cube", "star"]
    # p0 verbs: bounce 0.6, roll 0.4 + 0.1, slide 0.9, spin 1.0: 2 distinct ones
    assert len(set(q0["verbs"])) == 2 and set(q0["verbs"]) <= {"bounce", "roll", "slide", "spin"}
    # p1 (ring, star) only knows "spin": one verb although two were asked for
    assert list(q1["verbs"]) == ["spin"]
    assert list(q1["tokens"]) == ["spin", "ring", "star"]
    assert list(q2["verbs"]) == [] and list(q2["tokens"]) == ["widget"]
    assert list(q0["tokens"]) == list(q0["verbs"]) + list(q0["nouns"])


def test_same_seed_gives_same_queries_and_another_seed_differs():
    dets = _dets([("v1", float(t), n, 0.9) for t in range(4) for n in ("ball", "cube", "star", "ring")])
    props = PROPOSALS
    cooc = pd.DataFrame(
        {
            "noun": ["ball"] * 20,
            "verb": [f"v{i:02d}" for i in range(20)],
            "p_verb_given_noun": 0.05,
            "count": 1,
        }
    )
    cfg = default(PseudoQueriesConfig, "pseudo_queries", per_proposal=50, num_verbs=3, seed=7)
    a, _ = compose(props, dets, cooc, None, cfg)
    b, _ = compose(props.iloc[::-1], dets.sample(frac=1, random_state=1), cooc, None, cfg)
    assert a.equals(b)
    c, _ = compose(
        props,
        dets,
        cooc,
        None,
        default(PseudoQueriesConfig, "pseudo_queries", per_proposal=50, num_verbs=3, seed=8),
    )
    assert a.column("verbs").to_pylist() != c.column("verbs").to_pylist()
    # each of the 50 queries has its own sample of 3 distinct verbs
    verbs = a.column("verbs").to_pylist()[:50]  # v1#p0's 50 queries
    assert a.column("query_id").to_pylist()[49] == "v1#p0#q49"
    assert all(len(set(v)) == 3 for v in verbs)
    assert len({tuple(v) for v in verbs}) > 40


def test_verb_sampling_follows_p_verb_given_nouns_and_temperature():
    dets = _dets([("v1", 1.0, "ball", 0.9)])
    cooc = pd.DataFrame(
        {
            "noun": ["ball", "ball"],
            "verb": ["bounce", "roll"],
            "p_verb_given_noun": [0.8, 0.2],
            "count": [8, 2],
        }
    )
    props = PROPOSALS.iloc[:1]
    first = {}
    for temp in (1.0, 0.25):
        table, _ = compose(
            props,
            dets,
            cooc,
            None,
            default(
                PseudoQueriesConfig,
                "pseudo_queries",
                per_proposal=4000,
                num_verbs=1,
                temperature=temp,
                verb_weighting="probability",
            ),
        )
        first[temp] = np.mean([v[0] == "bounce" for v in table.column("verbs").to_pylist()])
    assert first[1.0] == pytest.approx(0.8, abs=0.03)
    # temperature 0.25: weights 0.8^4 : 0.2^4 -> 256 / 257
    assert first[0.25] == pytest.approx(256 / 257, abs=0.01)


def test_detection_noun_weighting_and_lift_verb_weighting_by_hand():
    nouns = pd.DataFrame({"pidx": [0, 0], "noun": ["ball", "cube"], "weight": [3.0, 1.0], "rank": [0, 1]})
    cooc = pd.DataFrame(
        {
            "noun": ["ball", "ball", "cube", "cube"],
            "verb": ["bounce", "say", "slide", "say"],
            "p_verb_given_noun": [0.5, 0.5, 0.5, 0.5],
            "count": [5, 5, 5, 5],
        }
    )

    def weights(**kw):
        w = verb_weights(nouns, cooc, 1.0, **kw)
        return dict(zip(w["verb"], w["weight"].round(6)))

    # the paper: Σ_n P(v | n) -> "say", said of both nouns, weighs most
    assert weights(noun_weighting="uniform", verb_weighting="probability") == {
        "bounce": 0.5,
        "say": 1.0,
        "slide": 0.5,
    }
    # lift: P(v|n)^2 / P(v) with P(bounce) = P(slide) = 0.25, P(say) = 0.5; detection shares 0.75 / 0.25
    assert weights(noun_weighting="uniform", verb_weighting="lift") == {
        "bounce": 1.0,
        "say": 1.0,
        "slide": 1.0,
    }
    assert weights(noun_weighting="detection", verb_weighting="lift") == {
        "bounce": 0.75,
        "say": 0.5,
        "slide": 0.25,
    }
    assert weights(noun_weighting="detection", verb_weighting="probability") == {
        "bounce": 0.375,
        "say": 0.5,
        "slide": 0.125,
    }


def test_idf_noun_weighting_damps_a_noun_present_in_every_proposal():
    # wall in all 3 proposals: idf = ln(4 / 4) + 1 = 1; ball in 2: ln(4 / 3) + 1; cube in 1: ln(4 / 2) + 1
    nouns = pd.DataFrame(
        {
            "pidx": [0, 0, 1, 1, 2, 2],
            "noun": ["wall", "ball", "wall", "cube", "wall", "ball"],
            "weight": [9.0, 1.0, 9.0, 1.0, 9.0, 1.0],
        }
    )
    assert noun_idf(np.array([0, 0, 1, 1, 2, 2]), np.array([2, 0, 2, 1, 2, 0])) == pytest.approx(
        [1.0, np.log(4 / 3) + 1, 1.0, np.log(2) + 1, 1.0, np.log(4 / 3) + 1]
    )
    cooc = pd.DataFrame(
        {
            "noun": ["wall", "ball", "cube"],
            "verb": ["paint", "bounce", "slide"],
            "p_verb_given_noun": [1.0, 1.0, 1.0],
            "count": [1, 1, 1],
        }
    )

    def weights(noun_weighting):
        w = verb_weights(nouns, cooc, 1.0, noun_weighting, "probability")
        return {(r.pidx, r.verb): r.weight for r in w.itertuples()}

    assert weights("uniform") == {
        (0, "paint"): 1,
        (0, "bounce"): 1,
        (1, "paint"): 1,
        (1, "slide"): 1,
        (2, "paint"): 1,
        (2, "bounce"): 1,
    }
    idf = weights("idf")
    assert idf[(0, "paint")] == pytest.approx(1.0) and idf[(1, "paint")] == pytest.approx(1.0)
    assert idf[(0, "bounce")] == pytest.approx(np.log(4 / 3) + 1)
    assert idf[(1, "slide")] == pytest.approx(np.log(2) + 1)
    # detection weighting would let the wall (9 of 10 detections) pick the verb 90% of the time
    assert weights("detection")[(0, "paint")] == pytest.approx(0.9)
    # through compose: wall, seen in every proposal, draws the first verb less often with idf
    dets = _dets(
        [
            ("v1", 1.0, "wall", 0.9),
            ("v1", 1.0, "ball", 0.9),
            ("v1", 4.0, "wall", 0.9),
            ("v1", 4.0, "cube", 0.9),
        ]
    )
    props = PROPOSALS.iloc[:2].assign(start_s=[0.0, 3.5], end_s=[2.0, 5.0])
    first = {}
    for nw in ("uniform", "idf"):
        cfg = default(
            PseudoQueriesConfig,
            "pseudo_queries",
            per_proposal=3000,
            num_verbs=1,
            temperature=1.0,
            noun_weighting=nw,
            verb_weighting="probability",
        )
        table, _ = compose(props, dets, cooc, None, cfg)
        first[nw] = np.mean([v[0] == "paint" for v in table.column("verbs").to_pylist()])
    assert first["uniform"] == pytest.approx(0.5, abs=0.03)
    assert first["idf"] == pytest.approx(1 / (2 + np.log(3 / 2)), abs=0.03)  # N = 2: ball idf ln(3/2) + 1


def _command_inputs(tmp_path, dets, detector_shaping=None):
    """The pseudo-queries command's input files under tmp_path (v1 train, v2 test); its argv."""
    write_table(
        "manifest",
        {"video_id": ["v1", "v2"], "path": ["a.mp4", "b.mp4"], "split": ["train", "test"], "shard": [0, 0]},
        tmp_path / "manifest.parquet",
        "test",
    )
    write_table("proposals", PROPOSALS.assign(n_atomic=1), tmp_path / "proposals.parquet", "test")
    dets = dets.assign(frame_idx=0, x1=0.0, y1=0.0, x2=1.0, y2=1.0)
    write_table("detections", dets, tmp_path / "detections.parquet", "test", detector_shaping)
    feats = pd.DataFrame(
        {
            "video_id": ["v1", "v1"],
            "segment_idx": [0, 1],
            "start_s": [0.0, 6.0],
            "end_s": [6.0, 12.5],
            "feature": [[0.0], [1.0]],
        }
    )
    write_table("features", feats, tmp_path / "features.parquet", "test")
    language = {"model": "en_core_web_sm", "simplify": "content", "stop_verbs": ["be"]}
    write_table(
        "cooccurrence", COOC.assign(count=1), tmp_path / "cooc.parquet", "test", {"language": language}
    )
    return [
        "pseudo-queries",
        "--manifest",
        str(tmp_path / "manifest.parquet"),
        "--proposals",
        str(tmp_path / "proposals.parquet"),
        "--detections",
        str(tmp_path / "detections.parquet"),
        "--features",
        str(tmp_path / "features.parquet"),
        "--cooccurrence",
        str(tmp_path / "cooc.parquet"),
        "--out",
        str(tmp_path / "pseudo_queries.parquet"),
    ]


def test_compose_command_uses_only_train_videos_and_stores_the_summary(tmp_path):
    argv = _command_inputs(tmp_path, DETECTIONS)
    language = {"model": "en_core_web_sm", "simplify": "content", "stop_verbs": ["be"]}
    out = tmp_path / "pseudo_queries.parquet"
    argv += [
        "--set",
        # frequency: the paper's ranking (the synthetic preset, laid under this config, ranks by contrast)
        'pseudo_queries={"num_nouns": 2, "per_proposal": 2, "noun_ranking": "frequency"}',
    ]
    assert main(argv) == 0
    df = read_frame(out, "pseudo_queries")
    assert df["query_id"].tolist() == ["v1#p0#q0", "v1#p0#q1", "v1#p1#q0", "v1#p1#q1"]
    assert df["duration_s"].tolist() == [12.5] * 4
    assert [list(n) for n in df["nouns"]] == [["ball", "cube"]] * 2 + [["ring", "star"]] * 2
    meta = read_metadata(out)["config"]
    assert meta["summary"]["proposals_without_detections"] == 1
    assert meta["pseudo_queries"]["num_nouns"] == 2
    assert meta["language"] == language  # the corpus tagger's options travel on to psvl train


def test_no_detection_above_the_threshold_stops_the_stage_with_one_line_naming_the_key(
    tmp_path, capsys, caplog
):
    # v1 (train) has 3 proposals; a detector keeping nothing above its 0.5 threshold leaves them none
    argv = _command_inputs(tmp_path, DETECTIONS.iloc[:0], {"score_threshold": 0.5})
    log_file = tmp_path / "pseudo_queries.log"
    with caplog.at_level("INFO", logger="psvl"):
        assert main(["--job", "1", str(log_file), *argv]) == 2
    assert "pseudo_queries: 0 of 3 proposals had a detection above score_threshold 0.5, 0 queries" in (
        caplog.text
    )
    err = capsys.readouterr().err.strip()
    assert err == (
        "psvl pseudo-queries: no pseudo-queries to train on: 0 of 3 proposals had a detection above "
        "score_threshold 0.5; lower detector.score_threshold (or use a detector that knows these "
        "videos' objects)"
    )
    assert (tmp_path / "pseudo_queries.log.permanent").read_text().strip() == err  # not retried
    assert not (tmp_path / "pseudo_queries.parquet").exists()


def test_no_distinctive_noun_names_the_noun_ranking_key(tmp_path, capsys):
    argv = _command_inputs(tmp_path, DETECTIONS, {"score_threshold": 0.3})
    # min_score 0.99 is above the detector's 0.3: it is the threshold that counts, and its key is named
    assert main([*argv, "--set", "pseudo_queries.min_score=0.99"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith(
        "0 of 3 proposals had a detection above score_threshold 0.99; lower pseudo_queries.min_score "
        "(or use a detector that knows these videos' objects)"
    )
    person = _dets([("v1", float(t), "person", 0.9) for t in range(13)])  # v1: 12.5 s, all of it
    argv = _command_inputs(tmp_path, person, {"score_threshold": 0.3})
    assert main([*argv, "--set", "pseudo_queries.noun_ranking=contrast"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith(
        "3 of 3 proposals had a detection above score_threshold 0.3, but none has a label denser inside "
        "than outside; set pseudo_queries.noun_ranking: frequency"
    )


def test_no_detections_at_all_gives_an_empty_table_and_counts_every_proposal():
    table, summary = compose(
        PROPOSALS, DETECTIONS.iloc[:0], COOC, None, default(PseudoQueriesConfig, "pseudo_queries")
    )
    assert table.num_rows == 0
    assert summary["proposals_without_detections"] == 4 and summary["queries"] == 0
    empty_corpus = COOC.iloc[:0]
    table, summary = compose(
        PROPOSALS, DETECTIONS, empty_corpus, None, default(PseudoQueriesConfig, "pseudo_queries")
    )
    assert table.num_rows == 3 and summary["queries_without_verbs"] == 3
    assert table.column("tokens").to_pylist()[0] == ["ball", "cube", "star"]


def test_contrast_ranks_nouns_by_density_inside_minus_outside_and_drops_the_ever_present():
    # v1 is 10 s long with a `person` detected at 0.9 in every frame (1 fps): as dense inside any
    # proposal as outside it, so contrast 0 and never a noun. Contrast counts frames in [start, end).
    person = [("v1", float(t), "person", 0.9) for t in range(10)]
    props = PROPOSALS.assign(pidx=range(4), duration_s=[10.0, 10.0, 10.0, 6.0])
    dets = pd.concat([DETECTIONS, _dets(person)], ignore_index=True)
    dets = dets.assign(label=dets["label"].str.lower())
    ranked = rank_nouns(props, dets, num_nouns=5, ranking="contrast")
    assert "person" not in set(ranked["noun"])
    p0 = ranked[ranked["pidx"] == 0]
    # p0 = [0, 3): ball 1.7 / 3 s, cube 1.1 / 3 s, nothing of either outside; the star at 3.0 is outside
    assert p0["noun"].tolist() == ["ball", "cube"]
    assert p0["weight"].to_numpy() == pytest.approx([1.7 / 3, 1.1 / 3])
    # p1 = [2, 5): star 0.7 / 3 s inside, none outside; ring at 5.0 and 5.5 are both outside (negative)
    assert ranked.loc[ranked["pidx"] == 1, "noun"].tolist() == ["star"]
    assert ranked.loc[ranked["pidx"] == 1, "weight"].to_numpy() == pytest.approx([0.7 / 3])
    assert 2 not in set(ranked["pidx"])
    # v2 = 6 s, p0 = [0, 4): widget 0.9 / 4 s inside
    assert ranked.loc[ranked["pidx"] == 3, "weight"].to_numpy() == pytest.approx([0.225])
    # the paper's frequency ranking names `person` first in every v1 proposal
    assert rank_nouns(props, dets, num_nouns=1)["noun"].tolist()[:3] == ["person"] * 3


def test_compose_counts_proposals_without_a_distinctive_noun():
    person = [("v1", float(t), "person", 0.9) for t in range(10)]
    dets = pd.concat([DETECTIONS, _dets(person)], ignore_index=True)
    cfg = default(PseudoQueriesConfig, "pseudo_queries", num_verbs=2, noun_ranking="contrast")
    table, summary = compose(PROPOSALS, dets, COOC, {"v1": 10.0, "v2": 6.0}, cfg)
    # v1#p2 = [8, 9] holds only the person: detections, but none denser inside than outside
    assert summary["proposals_without_detections"] == 0
    assert summary["proposals_without_distinctive_nouns"] == 1
    assert table.column("query_id").to_pylist() == ["v1#p0#q0", "v1#p1#q0", "v2#p0#q0"]
    assert table.column("nouns").to_pylist() == [["ball", "cube"], ["star"], ["widget"]]
    with pytest.raises(ValueError, match="noun_ranking"):
        rank_nouns(PROPOSALS.assign(pidx=range(4), duration_s=10.0), dets, 2, ranking="density")
