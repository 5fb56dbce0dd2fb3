"""The shared tagger: the hand-checked simplifications, lemma fixes, stop-verbs, compounds, odd input."""

from __future__ import annotations

import pytest

from psvl.language.tagger import Tagger, lemma, simplify


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("person flipped the light switch near the door.", ["flip", "person", "switch", "door"]),
        ("a person is riding a horse.", ["ride", "person", "horse"]),
        ("the person puts down the bag.", ["put", "person", "bag"]),
        ("Person opens the door.", ["open", "person", "door"]),
        ("A person is holding a coffee cup.", ["hold", "person", "cup"]),
        ("The person is starting to laugh.", ["laugh", "person"]),
        ("person takes a picture of the room.", ["take", "person", "picture", "room"]),
    ],
)
def test_hand_checked_sentences_simplify_to_verbs_then_nouns(sentence, expected):
    assert simplify(sentence) == [expected]


def test_riding_lemmatizes_to_ride_not_spacys_rid():
    assert lemma("riding", "VERB") == "ride"
    assert lemma("flipped", "VERB") == "flip"
    assert lemma("men", "NOUN") == "man"
    assert lemma("zzzqx", "NOUN") == "zzzqx"


def test_noun_before_a_plural_tagged_word_is_kept_as_the_small_model_tags_verbs_as_nns():
    # "dresses" is tagged NNS here: "person" must survive, not be read as a compound modifier.
    assert simplify("person dresses in the closet.") == [["person", "dress", "closet"]]


def test_stop_verbs_are_configurable():
    tagger = Tagger(stop_verbs=["be", "hold"])
    assert tagger.simplify(["A person is holding a cup."]) == [["person", "cup"]]
    # "is" is tagged AUX, which is never a verb, stop-verb or not.
    assert Tagger(stop_verbs=[]).simplify(["A person is holding a cup."]) == [["hold", "person", "cup"]]
    assert Tagger(stop_verbs=["take"]).simplify(["person takes a picture."]) == [["person", "picture"]]


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
