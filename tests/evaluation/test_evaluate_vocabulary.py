"""metrics.json's unknown_words and by_vocabulary: hand-counted samples, a checkpoint's trained words,
the `psvl evaluate --vocab` path, and PSVL's released vocabulary against Charades-STA test."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
from repo_paths import SHARED_DATA

from psvl.cli import main
from psvl.core.artifacts import TRAINED_WORDS, write_table
from psvl.evaluation.evaluate import evaluate_with_table
from psvl.evaluation.vocabulary import known_words, unknown_words
from psvl.localization.vocab import Vocab

DATA = SHARED_DATA


def _queries() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "query_id": ["q1", "q2", "q3", "q4"],
            "video_id": ["a", "a", "b", "b"],
            "sentence": ["", "", "", ""],
            "start_s": [0.0, 2.0, 0.0, 5.0],
            "end_s": [4.0, 6.0, 5.0, 10.0],
            "duration_s": [10.0, 10.0, 10.0, 10.0],
            "tokens": [["open", "door"], ["open", "window"], [], ["eat", "sandwich", "door"]],
        }
    )


def test_token_and_query_shares_are_counted_against_the_known_words():
    got = unknown_words(_queries()["tokens"], {"open", "door"})
    # tokens: 2 + 2 + 0 + 3 = 7, unknown: window, eat, sandwich = 3; queries with one: q2, q4
    assert got == {"token_share": 3 / 7, "query_share": 2 / 4, "n_tokens": 7, "n_queries": 4}


def test_metrics_split_queries_by_whether_they_have_an_unknown_word():
    gt = _queries()
    pred = gt[["query_id", "video_id"]].assign(
        pred_start_s=[0.0, 0.0, 0.0, 5.0], pred_end_s=[4.0, 2.0, 2.5, 10.0]
    )
    tokens = dict(zip(gt["query_id"], gt["tokens"]))
    metrics, _ = evaluate_with_table(pred, gt.drop(columns="tokens"), vocabulary=(tokens, {"open", "door"}))
    split = metrics["by_vocabulary"]
    # IoUs: q1 1.0, q2 0.0, q3 0.5, q4 1.0; in vocabulary q1, q3; with an unknown word q2, q4
    assert split["in_vocabulary"] == {"n": 2, "R@0.3": 1.0, "R@0.5": 1.0, "R@0.7": 0.5, "mIoU": 0.75}
    assert split["with_unknown"] == {"n": 2, "R@0.3": 0.5, "R@0.5": 0.5, "R@0.7": 0.5, "mIoU": 0.5}
    assert metrics["unknown_words"]["query_share"] == 0.5
    assert "by_vocabulary" not in evaluate_with_table(pred, gt.drop(columns="tokens"))[0]


def test_corpus_only_words_of_a_trained_model_count_as_unknown(tmp_path):
    vocab = ["<pad>", "<unk>", "<bos>", "<eos>", "open", "door", "window"]  # window: corpus-only
    Vocab(vocab, n_trained=6).save_trained(tmp_path / TRAINED_WORDS)  # as `psvl train` writes it
    (tmp_path / "vocab.json").write_text(json.dumps(vocab))
    assert known_words(tmp_path) == {"open", "door"}
    assert known_words(tmp_path / "best.pt") == {"open", "door"}  # the list beside the checkpoint
    assert known_words(tmp_path / "vocab.json") == {"open", "door", "window"}
    with pytest.raises(FileNotFoundError, match="trained_words.json"):
        known_words(tmp_path / "old" / "best.pt")


def test_evaluate_with_a_model_folder_never_imports_torch(tmp_path):
    """`psvl evaluate --vocab MODEL` reads trained_words.json: scoring runs where torch is not installed."""
    gt = _queries()
    write_table("test_queries", gt, tmp_path / "test_queries.parquet", stage="test_queries")
    pred = gt[["query_id", "video_id"]].assign(pred_start_s=0.0, pred_end_s=5.0)
    pred.to_parquet(tmp_path / "pred.parquet")
    Vocab(["<pad>", "<unk>", "<bos>", "<eos>", "open", "door"]).save_trained(tmp_path / TRAINED_WORDS)
    out = tmp_path / "metrics.json"
    argv = [
        "evaluate",
        "--pred",
        str(tmp_path / "pred.parquet"),
        "--gt",
        str(tmp_path / "test_queries.parquet"),
    ]
    argv += ["--vocab", str(tmp_path), "--out", str(out)]
    code = (
        "import sys\n"
        "import psvl.commands.evaluate, psvl.evaluation.evaluate\n"
        "assert 'torch' not in sys.modules, 'imported torch'\n"
        "from psvl.cli import main\n"
        f"assert main({argv!r}) == 0\n"
        "assert 'torch' not in sys.modules, 'ran torch'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert json.loads(out.read_text())["unknown_words"]["token_share"] == pytest.approx(3 / 7)


def test_evaluate_with_vocab_writes_the_keys_and_prints_the_split(tmp_path, capsys):
    gt = _queries()
    write_table("test_queries", gt, tmp_path / "test_queries.parquet", stage="test_queries")
    pred = gt.drop(columns=["tokens", "sentence"]).rename(
        columns={"start_s": "pred_start_s", "end_s": "pred_end_s"}
    )
    pred.to_parquet(tmp_path / "pred.parquet")
    (tmp_path / "vocab.json").write_text(json.dumps(["<pad>", "<unk>", "<bos>", "<eos>", "open", "door"]))
    out = tmp_path / "metrics.json"
    args = ["--pred", str(tmp_path / "pred.parquet"), "--gt", str(tmp_path / "test_queries.parquet")]
    assert main(["evaluate", *args, "--vocab", str(tmp_path / "vocab.json"), "--out", str(out)]) == 0
    metrics = json.loads(out.read_text())
    assert metrics["unknown_words"]["token_share"] == pytest.approx(3 / 7)
    assert metrics["by_vocabulary"]["with_unknown"]["n"] == 2
    assert "unknown to the model: 42.9% of test tokens, 50.0% of queries" in capsys.readouterr().out


def test_evaluate_with_events_splits_queries_by_held_out_synonyms(tmp_path, capsys):
    gt = _queries().assign(sentence=["a ball bounces", "a sphere hops", "a cube slides", "a box glides"])
    write_table("test_queries", gt, tmp_path / "test_queries.parquet", stage="test_queries")
    pred = gt[["query_id", "video_id"]].assign(
        pred_start_s=[0.0, 0.0, 0.0, 5.0], pred_end_s=[4.0, 2.0, 2.5, 10.0]
    )
    pred.to_parquet(tmp_path / "pred.parquet")
    events = pd.DataFrame(
        {
            "video_id": ["a", "a", "b", "b", "c"],
            "sentence": ["a ball bounces", "a sphere hops", "a cube slides", "a box glides", "a box glides"],
            "held_out": [False, True, False, True, True],  # c: another video's caption, not a query here
        }
    )
    events.to_parquet(tmp_path / "events.parquet")
    out = tmp_path / "metrics.json"
    args = ["--pred", str(tmp_path / "pred.parquet"), "--gt", str(tmp_path / "test_queries.parquet")]
    assert main(["evaluate", *args, "--events", str(tmp_path / "events.parquet"), "--out", str(out)]) == 0
    split = json.loads(out.read_text())["by_held_out"]
    # IoUs: q1 1.0, q2 0.0, q3 0.5, q4 1.0; held-out synonyms in q2 (sphere, hop) and q4 (box, glide)
    assert split["corpus_words"] == {"n": 2, "R@0.3": 1.0, "R@0.5": 1.0, "R@0.7": 0.5, "mIoU": 0.75}
    assert split["held_out_words"] == {"n": 2, "R@0.3": 0.5, "R@0.5": 0.5, "R@0.7": 0.5, "mIoU": 0.5}
    assert "held_out_words" in capsys.readouterr().out


@pytest.mark.skipif(not DATA.is_dir(), reason="needs the real annotation files in ../shared/data")
def test_psvl_release_vocabulary_leaves_a_sixth_of_charades_test_tokens_unknown(tmp_path):
    release = json.loads(
        (DATA / "psvl-reference" / "charades_train_pseudo_supervision_TEP_PS.json").read_text()
    )
    known = {t for item in release for t in item["tokens"]}
    test = tmp_path / "test_queries.parquet"
    assert (
        main(
            [
                "annotations",
                "--test",
                str(DATA / "charades-sta" / "charades_sta_test.txt"),
                "--out",
                str(tmp_path / "a.parquet"),
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "test-queries",
                "--annotations",
                str(tmp_path / "a.parquet"),
                "--split",
                "test",
                "--out",
                str(test),
            ]
        )
        == 0
    )
    got = unknown_words(pd.read_parquet(test)["tokens"], known)
    assert got["n_queries"] == 3720
    # measured 17.1 % and 50.4 % (PSVL's own simplified test sentences: ~17.7 % and 52 %)
    assert got["token_share"] == pytest.approx(0.177, abs=0.01)
    assert got["query_share"] == pytest.approx(0.52, abs=0.02)
