"""Captions of the synthetic events and the unpaired text corpus.

Why templates were chosen this way: test captions must read like real ones and still simplify (spaCy
`en_core_web_sm`) to the event's verb lemma and object noun. Bare third-person forms such as "bounces",
"slides" or "shrinks" right after a noun are tagged NOUN by the small model, so captions use the
progressive ("is bouncing"), an auxiliary ("can bounce") or an adverb before the verb. The corpus uses
other templates, so a test query is not a corpus sentence, and follows the world's object-action
affinities with noise and unrelated everyday sentences, as a real corpus would.
"""

from __future__ import annotations

import re

import numpy as np

from psvl.synth.world import ACTIONS, OBJECTS, SCENES, affinity

# action -> (base, third person, gerund, adverbial phrases that fit the motion)
VERBS: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "bounce": ("bounce", "bounces", "bouncing", ("up and down", "again and again", "high")),
    "slide": ("slide", "slides", "sliding", ("across the floor", "back and forth", "smoothly")),
    "spin": ("spin", "spins", "spinning", ("around", "in circles", "quickly")),
    "grow": ("grow", "grows", "growing", ("bigger", "larger and larger", "steadily")),
    "shrink": ("shrink", "shrinks", "shrinking", ("smaller", "slowly", "over and over")),
    "fall": ("fall", "falls", "falling", ("down", "from the top", "quickly")),
    "rise": ("rise", "rises", "rising", ("up", "toward the top", "slowly")),
    "shake": ("shake", "shakes", "shaking", ("back and forth", "in place", "nervously")),
}

# Test/train captions, short like Charades-STA's (6.2 words on average). Fields: {a} (article before the
# colour) {color} {obj} {v} {ving} {adv} {place} {Place}. ("starts sliding" would tag the gerund as a
# noun, so "starts to slide".)
CAPTION_TEMPLATES: tuple[str, ...] = (
    "{a} {color} {obj} is {ving}",
    "the {obj} is {ving} {adv}",
    "a {obj} keeps {ving} {place}",
    "the {color} {obj} starts to {v}",
    "a {obj} is {ving} {place}",
    "{Place}, the {obj} begins to {v}",
    "the {obj} is seen {ving}",
    "{a} {color} {obj} is {ving} {adv}",
)

# Words of real English the corpus never uses, for the held-out share of test captions (a pretrained
# text encoder can know them; a vocabulary learned from pseudo-queries cannot). Objects without a
# plain synonym keep their name and change the verb only.
OBJECT_SYNONYMS: dict[str, tuple[str, ...]] = {
    "ball": ("sphere",),
    "cube": ("box", "block"),
    "ring": ("hoop",),
    "triangle": ("wedge",),
    "diamond": ("gem",),
}
# action -> ((base, gerund), ...)
VERB_SYNONYMS: dict[str, tuple[tuple[str, str], ...]] = {
    "bounce": (("hop", "hopping"),),
    "slide": (("glide", "gliding"),),
    "spin": (("rotate", "rotating"), ("twirl", "twirling")),
    "grow": (("expand", "expanding"),),
    "shrink": (("dwindle", "dwindling"),),
    "fall": (("drop", "dropping"),),
    "rise": (("ascend", "ascending"), ("climb", "climbing")),
    "shake": (("wobble", "wobbling"), ("tremble", "trembling")),
}
HELD_OUT_WORDS = frozenset(
    [w for ws in OBJECT_SYNONYMS.values() for w in ws] + [w for vs in VERB_SYNONYMS.values() for v in vs for w in v]
)

# Corpus sentences about the world's objects: other templates and other places than the captions.
# ("the red ball" is tagged PROPN by the small model, so colours go after "a" only.) `[a|b|c]` picks one
# alternative at random, so the other verbs a sentence needs are spread over many words, each rare, as
# in a real corpus, instead of a few filler verbs that rival the world's actions in P(verb | noun).
CORPUS_TEMPLATES: tuple[str, ...] = (
    "the {obj} was {ving} {adv} {cplace}",
    "a {obj} will {v} {adv} on its own",
    "in the video a {obj} is {ving} {adv}",
    "the {obj} had been {ving} {cplace}",
    "the {obj} would {v} {adv} every time",
    "{a} {color} {obj} could {v} {adv} {cplace}",
    "every morning the {obj} is {ving} {cplace}",
    "the kids [laughed|cheered|smiled|clapped|screamed] when the {obj} began {ving}",
    "i [noticed|saw|heard|remember|thought|knew] that the {obj} kept {ving} {cplace}",
    "my little brother [likes|loves|hates|enjoys] it when the {obj} is {ving}",
    "she [said|told me|mentioned|explained|wrote] that the {obj} had been {ving} {cplace}",
)
CORPUS_PLACES: tuple[str, ...] = (
    "on the table",
    "in the yard",
    "near the window",
    "in the living room",
    "at the playground",
    "on the shelf",
    "at school",
    "in the hallway",
)

# Sentences about the always-present actor (psvl.synth.world.ACTOR), ACTOR_SHARE of the corpus.
ACTOR_SHARE = 0.1
ACTOR_TEMPLATES: tuple[str, ...] = (
    "a person [walks|wanders|strolls] [across the room|around the yard|past the window]",
    "the person [stands|waits|stays] [near the door|in the hallway|by the table]",
    "a person [watches|looks at] the [ball|cube|star|ring|triangle|cross|heart|diamond] for a while",
)

# Everyday sentences that mention none of the world's objects or actions.
_SUBJECTS = ("she", "he", "the man", "a woman", "my friend", "the children", "they", "our neighbour")
_PREDICATES = (
    "read a book",
    "drank a cup of coffee",
    "opened the window",
    "ate lunch",
    "wrote a letter",
    "cleaned the table",
    "walked the dog",
    "called her mother",
    "washed the dishes",
    "played the piano",
    "cooked dinner",
    "watched a movie",
    "fixed the door",
    "painted the fence",
    "carried a heavy bag",
    "waited for the bus",
)
_TAILS = (
    "in the kitchen",
    "this morning",
    "after work",
    "at the office",
    "before breakfast",
    "on sunday",
    "in the evening",
    "with a smile",
)
_FIXED_UNRELATED = (
    "the weather was cold this morning",
    "it rained all day in the city",
    "the train was late again",
    "the soup tasted a little salty",
    "the meeting lasted two hours",
)


def _fields(obj: str, action: str, rng: np.random.Generator) -> dict[str, str]:
    v, vs, ving, advs = VERBS[action]
    return {
        "obj": obj,
        "color": OBJECTS[obj][1],
        "a": "an" if OBJECTS[obj][1][0] in "aeiou" else "a",  # the article before the colour
        "v": v,
        "vs": vs,
        "ving": ving,
        "adv": advs[int(rng.integers(len(advs)))],
        "cplace": CORPUS_PLACES[int(rng.integers(len(CORPUS_PLACES)))],
    }


def caption(obj: str, action: str, scene: str, rng: np.random.Generator, held_out: bool = False) -> str:
    """A natural sentence for one event (a random template); with `held_out`, the object's name and/or
    the verb are replaced by synonyms the corpus never uses (at least one of the two)."""
    template = CAPTION_TEMPLATES[int(rng.integers(len(CAPTION_TEMPLATES)))]
    if not held_out:
        return fill(template, obj, action, scene, rng)
    swap_obj = obj in OBJECT_SYNONYMS and rng.random() < 0.6
    swap_verb = not swap_obj or rng.random() < 0.5
    words = {}
    if swap_obj:
        names = OBJECT_SYNONYMS[obj]
        words["obj"] = names[int(rng.integers(len(names)))]
    if swap_verb:
        choices = VERB_SYNONYMS[action]
        words["v"], words["ving"] = choices[int(rng.integers(len(choices)))]
    return fill(template, obj, action, scene, rng, words)


def fill(
    template: str, obj: str, action: str, scene: str, rng: np.random.Generator, words: dict | None = None
) -> str:
    """`template` filled for one (object, action, scene), `words` replacing fields; {Place} capitalised."""
    place = SCENES[scene][0]
    fields = {**_fields(obj, action, rng), **(words or {})}
    return template.format(**fields, place=place, Place=place.capitalize())


_ALTERNATIVES = re.compile(r"\[([^\]]+)\]")


def pick_alternatives(template: str, rng: np.random.Generator) -> str:
    """Replace every `[a|b|c]` in `template` by one of its alternatives."""

    def choose(m: re.Match) -> str:
        options = m.group(1).split("|")
        return options[int(rng.integers(len(options)))]

    return _ALTERNATIVES.sub(choose, template)


def expand_alternatives(template: str) -> list[str]:
    """Every variant of `template` (for checking each one with the tagger)."""
    m = _ALTERNATIVES.search(template)
    if m is None:
        return [template]
    head, tail = template[: m.start()], template[m.end() :]
    return [v for opt in m.group(1).split("|") for v in expand_alternatives(head + opt + tail)]


def unrelated_sentence(rng: np.random.Generator) -> str:
    """An everyday sentence without the world's nouns and verbs."""
    if rng.random() < 0.1:
        return _FIXED_UNRELATED[int(rng.integers(len(_FIXED_UNRELATED)))]
    parts = (_SUBJECTS, _PREDICATES, _TAILS)
    return " ".join(p[int(rng.integers(len(p)))] for p in parts)


def corpus(n: int, rng: np.random.Generator, noise: float = 0.15, unrelated: float = 0.2) -> list[str]:
    """n unpaired sentences: objects with affinity-sampled actions, `noise` of them with a uniformly
    random action, `unrelated` of them everyday sentences about nothing in the world, ACTOR_SHARE of
    them about the world's person (who is on screen all the time but never the subject of a caption)."""
    objects, aff = list(OBJECTS), affinity()
    out = []
    for _ in range(n):
        r = rng.random()
        if r < unrelated:
            out.append(unrelated_sentence(rng))
            continue
        if r < unrelated + ACTOR_SHARE:
            out.append(pick_alternatives(ACTOR_TEMPLATES[int(rng.integers(len(ACTOR_TEMPLATES)))], rng))
            continue
        obj = objects[int(rng.integers(len(objects)))]
        if r < unrelated + ACTOR_SHARE + noise:
            action = ACTIONS[int(rng.integers(len(ACTIONS)))]
        else:
            action = ACTIONS[int(rng.choice(len(ACTIONS), p=aff[obj]))]
        template = pick_alternatives(CORPUS_TEMPLATES[int(rng.integers(len(CORPUS_TEMPLATES)))], rng)
        out.append(template.format(**_fields(obj, action, rng)))
    return out
