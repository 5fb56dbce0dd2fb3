"""The shared tagger: PSVL's released tokens by default, the `content` rule by name, lemma fixes, stop-verbs,
compounds, the recorded options and their mismatch error, odd input."""

from __future__ import annotations

import logging

import pytest

from psvl.config import ConfigError, defaults
from psvl.language.tagger import Tagger, check_options, lemma, options, simplify

# PSVL's released simplified Charades-STA test queries (gistvision/PSVL,
# annotations/charades/charades_sta_test_pos_original_simple_sent.json): sentence -> its `tokens`.
PSVL_RELEASED = [
    ("person opens a cabinet door twice.", ["open", "person", "cabinet", "door"]),
    ("person start laughing.", ["start", "laugh", "person"]),
    ("a person runs into the dining room.", ["run", "person", "dining", "room"]),
    ("person begins to undress.", ["begin", "undress", "person"]),
    ("person holding a glass cup.", ["hold", "person", "glass", "cup"]),
    ("person flipped the light switch near the door.", ["flip", "person", "switch", "door"]),
    ("a person stands in the bathroom holding a glass.", ["stand", "hold", "person", "bathroom", "glass"]),
]


@pytest.mark.parametrize(("sentence", "expected"), PSVL_RELEASED)
def test_default_simplification_equals_psvls_released_tokens(sentence, expected):
    assert Tagger().simplify_rule == "psvl"
    assert simplify(sentence) == [expected]


@pytest.mark.parametrize(
    ("sentence", "psvl", "content"),
    [
        ("person opens a cabinet door.", ["open", "person", "cabinet", "door"], ["open", "person", "door"]),
        ("person start laughing.", ["start", "laugh", "person"], ["laugh", "person"]),
        ("a person is riding a horse.", ["ride", "person", "horse"], ["ride", "person", "horse"]),
        ("the person puts down the bag.", ["put", "person", "bag"], ["put", "person", "bag"]),
        ("Person opens the door.", ["open", "person", "door"], ["open", "person", "door"]),
        ("A person is holding a coffee cup.", ["hold", "person", "coffee", "cup"], ["hold", "person", "cup"]),
        ("The person is starting to laugh.", ["start", "laugh", "person"], ["laugh", "person"]),
        (
            "person takes a picture of the room.",
            ["take", "person", "picture", "room"],
            ["take", "person", "picture", "room"],
        ),
    ],
)
def test_hand_checked_sentences_by_rule_psvl_default_and_content_by_name(sentence, psvl, content):
    assert simplify(sentence) == [psvl]
    assert simplify(sentence, rule="psvl") == [psvl]
    assert simplify(sentence, rule="content") == [content]  # the rules before PSVL's conventions


def test_riding_lemmatizes_to_ride_not_spacys_rid():
    assert lemma("riding", "VERB") == "ride"
    assert lemma("flipped", "VERB") == "flip"
    assert lemma("men", "NOUN") == "man"
    assert lemma("zzzqx", "NOUN") == "zzzqx"


def test_content_rule_keeps_a_noun_before_a_plural_tagged_word_as_the_small_model_tags_verbs_as_nns():
    # "dresses" is tagged NNS here: "person" must survive, not be read as a compound modifier.
    assert simplify("person dresses in the closet.", rule="content") == [["person", "dress", "closet"]]


def test_stop_verbs_apply_to_the_content_rule_only():
    tagger = Tagger(stop_verbs=["be", "hold"], simplify="content")
    assert tagger.simplify(["A person is holding a cup."]) == [["person", "cup"]]
    # "is" is tagged AUX, which is never a verb, stop-verb or not.
    content = Tagger(stop_verbs=[], simplify="content")
    assert content.simplify(["A person is holding a cup."]) == [["hold", "person", "cup"]]
    take = Tagger(stop_verbs=["take"], simplify="content")
    assert take.simplify(["person takes a picture."]) == [["person", "picture"]]
    # psvl keeps every verb whatever the list says
    psvl = Tagger(stop_verbs=["take"], simplify="psvl")
    assert psvl.simplify(["person takes a picture."]) == [["take", "person", "picture"]]
    assert psvl.options == {"model": "en_core_web_sm", "simplify": "psvl", "stop_verbs": []}
    assert take.options["stop_verbs"] == ["take"] and take.options["simplify"] == "content"


def test_options_of_a_config_section_and_the_one_line_mismatch_error(caplog):
    section = defaults("corpus")
    assert options(section) == {"model": "en_core_web_sm", "simplify": "psvl", "stop_verbs": []}
    content = options({**section, "simplify": "content"})
    assert content["stop_verbs"] == sorted(section["stop_verbs"]) and len(content["stop_verbs"]) == 11
    check_options(content, dict(content), "best.pt", "test_queries.parquet")  # equal: accepted
    with pytest.raises(ConfigError) as err:
        check_options(content, options(section), "the checkpoint m/best.pt", "test_queries.parquet")
    msg = str(err.value)
    assert "\n" not in msg
    assert "m/best.pt was made with simplify=content" in msg
    assert "test_queries.parquet uses simplify=psvl stop_verbs=[]" in msg
    with pytest.raises(
        ConfigError, match=r"stop_verbs=\[be, do, have, start\] .* stop_verbs=\[be, do, have, keep\]"
    ):
        check_options(
            {**content, "stop_verbs": ["be", "do", "have", "start"]},
            {**content, "stop_verbs": ["be", "do", "have", "keep"]},
            "a",
            "b",
        )
    with caplog.at_level(logging.WARNING):
        check_options(None, options(section), "an old checkpoint", "b")  # older files: a warning only
    assert "an old checkpoint records no language options" in caplog.text


def test_odd_lines_give_empty_or_sane_token_lists_in_input_order():
    odd = ["", "   ", "!!! ... ???", "x" * 10_000, "Le garçon mange une pomme.", None, "the dog is running."]
    out = Tagger().simplify(odd)
    assert len(out) == len(odd)
    assert out[:4] == [[], [], [], []]
    assert out[5] == []
    assert out[6] == ["run", "dog"]


def test_duplicate_sentences_get_identical_tokens():
    tagged = Tagger().tag(["a person opens a door."] * 3 + ["a person closes a door."])
    assert [t.tokens for t in tagged] == [["open", "person", "door"]] * 3 + [["close", "person", "door"]]
    assert tagged[0].n_tokens == 6  # punctuation counts as a token


def test_two_worker_processes_give_the_same_tokens_as_one():
    sentences = [f"person {i} opens the door number {i}." for i in range(150)]
    sentences += ["a person is riding a horse.", "the person puts down the bag."] * 60
    one = Tagger(n_process=1).simplify(sentences)
    assert Tagger(n_process=2, parallel_min=100).simplify(sentences) == one
    assert one[-1] == ["put", "person", "bag"]
