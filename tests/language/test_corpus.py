"""Corpus statistics: per-sentence noun-verb counts, additive smoothing, odd lines, the written artifacts."""

from __future__ import annotations

import json

import pytest

from psvl.cli import main
from psvl.config import default
from psvl.core.artifacts import read_frame, read_metadata
from psvl.language.corpus import CorpusConfig, corpus_statistics, read_sentences

CORPUS = [
    "A person is riding a horse.",
    "A man rides a horse on the beach.",
    "The person puts down the bag.",
    "person flipped the light switch near the door.",
]


@pytest.fixture(scope="module")
def stats():
    return corpus_statistics(CORPUS, default(CorpusConfig, "corpus", alpha=0.1))


def test_vocab_counts_verb_and_noun_tokens(stats):
    vocab, _, _ = stats
    counts = {(r.lemma, r.pos): r.count for r in vocab.itertuples()}
    assert counts[("ride", "VERB")] == 2
    assert counts[("horse", "NOUN")] == 2
    assert counts[("person", "NOUN")] == 3
    assert ("light", "NOUN") not in counts  # adjective here, and never a compound head
    assert sorted(v for (v, pos) in counts if pos == "VERB") == ["flip", "put", "ride"]


def test_p_verb_given_noun_is_additively_smoothed_over_the_verb_vocabulary(stats):
    _, cooc, _ = stats
    p = {(r.noun, r.verb): (r.count, r.p_verb_given_noun) for r in cooc.itertuples()}
    # horse: ride twice; 3 verbs in the corpus -> (2 + 0.1) / (2 + 0.1 * 3)
    assert p[("horse", "ride")] == (2, pytest.approx(2.1 / 2.3))
    # person: ride, put, flip once each -> (1 + 0.1) / (3 + 0.3)
    assert p[("person", "put")] == (1, pytest.approx(1.1 / 3.3))
    assert ("horse", "put") not in p  # only observed pairs are stored
    # person x {ride, put, flip}, {horse, man, beach} x ride, bag x put, {switch, door} x flip
    assert len(cooc) == 3 + 3 + 1 + 2
    assert set(cooc["noun"]) == {"person", "horse", "man", "beach", "bag", "switch", "door"}


def test_summary_counts_sentences_and_top_pair(stats):
    _, _, summary = stats
    assert summary["sentences"] == 4
    assert summary["verbs"] == 3 and summary["nouns"] == 7
    assert summary["top_pairs"][0] == {
        "noun": "horse",
        "verb": "ride",
        "count": 2,
        "p_verb_given_noun": round(2.1 / 2.3, 4),
    }


def test_odd_corpus_lines_are_processed_without_error(tmp_path):
    path = tmp_path / "corpus.txt"
    lines = [
        "A person opens the door.",
        "",
        "word " * 2000,
        "Ein Mädchen öffnet die Tür — ça va?",
        "!!! ... ,,, ???",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "corpus"
    assert main(["corpus", "--corpus", str(path), "--out-dir", str(out), "--set", "corpus.alpha=0.5"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["empty_lines"] == 1
    assert summary["sentences"] == 4
    cooc = read_frame(out / "cooccurrence.parquet", "cooccurrence")
    row = cooc[(cooc["noun"] == "door") & (cooc["verb"] == "open")].iloc[0]
    n_verbs = read_metadata(out / "cooccurrence.parquet")["config"]["n_verbs"]
    assert row["p_verb_given_noun"] == pytest.approx(1.5 / (1 + 0.5 * n_verbs))
    assert read_metadata(out / "vocab.parquet")["config"]["corpus"]["alpha"] == 0.5
    assert (out / "top_verbs.png").read_bytes()[:4] == b"\x89PNG"


def test_corpus_verbs_follow_the_simplify_rule_and_the_files_record_it(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("person start laughing.\nperson opens a cabinet door.\n", encoding="utf-8")
    vocab = {}
    for rule in ("psvl", "content"):
        out = tmp_path / rule
        assert (
            main(["corpus", "--corpus", str(path), "--out-dir", str(out), "--set", f"corpus.simplify={rule}"])
            == 0
        )
        vocab[rule] = set(read_frame(out / "vocab.parquet", "vocab")["lemma"])
        language = read_metadata(out / "cooccurrence.parquet")["config"]["language"]
        assert language["simplify"] == rule
    assert vocab["psvl"] - vocab["content"] == {"start", "cabinet"}
    assert language["stop_verbs"] == sorted(default(CorpusConfig, "corpus").stop_verbs)


def test_charades_annotation_file_is_read_as_sentences_without_timestamps(tmp_path):
    path = tmp_path / "charades_sta_train.txt"
    path.write_text(
        "AO8RW 0.0 6.9##a person is putting a book on a shelf.\nY6R7T 1.2 8.0##person opens a door.\n"
    )
    assert read_sentences(path) == ["a person is putting a book on a shelf.", "person opens a door."]
