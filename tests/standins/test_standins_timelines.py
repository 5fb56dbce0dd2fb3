"""Charades timelines and the 157 classes (psvl.standins.timelines, psvl.standins.classes): counts of the
real files in ../shared/data, the clipping of intervals, and the tagger's verb/noun reading of the names."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from psvl.language.class_names import NAME_FIXES, tagger_text
from psvl.standins.timelines import Action, read_timelines, video_rng


def test_charades_json_has_9848_videos_9625_with_actions(timelines):
    assert len(timelines) == 9848
    assert sum(bool(t.actions) for t in timelines.values()) == 9625
    assert Counter(t.subset for t in timelines.values()) == {"training": 7985, "testing": 1863}
    assert sum(bool(t.actions) for t in timelines.values() if t.subset == "testing") == 1814
    # 66 500 annotated intervals; 7 lie wholly past their video's end and are dropped by the clip
    assert sum(len(t.actions) for t in timelines.values()) == 66493
    first = timelines["7UPGT"]
    assert (first.subset, first.duration_s, len(first.actions)) == ("training", 23.21, 8)
    assert first.actions[0] == Action(149, 16.0, 22.2)


def test_intervals_are_clipped_to_the_video_and_empty_ones_dropped(tmp_path):
    path = tmp_path / "c.json"
    raw = {
        "A": {
            "subset": "testing",
            "duration": 10.0,
            "actions": [[3, -1.0, 4.0], [5, 8.0, 12.0], [7, 11, 13]],
        },
        "B": {"subset": "training", "duration": 5.0, "actions": []},
    }
    path.write_text(json.dumps(raw))
    out = read_timelines(path)
    assert out["A"].actions == (Action(3, 0.0, 4.0), Action(5, 8.0, 10.0))
    assert out["B"].actions == ()


def test_a_class_outside_0_156_is_refused_with_the_video(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"V1": {"subset": "testing", "duration": 9.0, "actions": [[157, 1, 2]]}}))
    with pytest.raises(ValueError, match="V1: action class 157"):
        read_timelines(path)


def test_video_rng_depends_on_seed_video_and_stream_only():
    draw = [video_rng(s, v, k).random() for s, v, k in [(0, "A", 0), (0, "A", 0), (1, "A", 0), (0, "B", 0)]]
    assert draw[0] == draw[1]
    assert len({draw[0], draw[2], draw[3], video_rng(0, "A", 1).random()}) == 4


def test_slash_alternatives_keep_their_first_word():
    assert tagger_text("Holding a cup/glass/bottle of something") == "holding a cup of something"
    assert tagger_text("Tidying up a towel/s") == "tidying up a towel"
    assert tagger_text("Wash a dish/dishes") == "wash a dish"
    assert tagger_text("Watching/Reading/Looking at a book") == "watching at a book"


@pytest.mark.parametrize(
    ("index", "verb", "noun"),
    [
        (0, "hold", "clothes"),  # Holding some clothes
        (8, "open", "door"),  # Opening a door
        (9, "put", "table"),  # Putting something on a table
        (17, "put", "phone"),  # Putting a phone/camera somewhere
        (32, "watch", "book"),  # Watching/Reading/Looking at a book
        (44, "take", "box"),  # Taking something from a box
        (72, "snuggle", "blanket"),  # Snuggling with a blanket
        (104, "turn", "light"),  # Turning on a light
        (121, "wash", "dish"),  # Wash a dish/dishes
        (130, "put", "grocery"),  # Putting groceries somewhere
        (133, "awaken", "bed"),  # Someone is awakening in bed (override)
        (139, "wash", "hand"),  # Washing their hands
        (151, "sit", None),  # Someone is going from standing to sitting (override)
        (156, "eat", None),  # Someone is eating something
    ],
)
def test_class_names_parse_to_verb_and_object(classes, index, verb, noun):
    assert (classes[index].verb, classes[index].noun) == (verb, noun)


def test_every_class_has_a_verb_and_146_name_an_object(classes):
    assert [c.index for c in classes] == list(range(157))
    assert all(c.verb for c in classes)
    assert sum(c.noun is not None for c in classes) == 146  # c146-c156 ("Someone is ...") name none
    assert len({c.verb for c in classes}) == 33
    assert len({c.noun for c in classes if c.noun}) == 37
    assert Counter(c.verb for c in classes).most_common(3) == [("put", 21), ("take", 21), ("hold", 20)]
    assert sorted(NAME_FIXES) == ["someone is awakening in bed", "someone is going from standing to sitting"]
