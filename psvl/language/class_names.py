"""The verb and object noun each class name of a classifier says (`Opening a door` -> open, door).

Why: a video classifier's head names its classes in words (Charades' 157 actions, Kinetics' 400), so a
query can be matched to the classes it describes by the same lemmas the project's pseudo-queries and test
queries use (the one tagger, rule set `psvl`). Used by the stand-ins (which classes share a verb or an
object) and by class grounding (psvl.localization.class_grounding: which classes a query names).

Before tagging a name is lower-cased and each slash alternative keeps its first word (`a phone/camera` ->
`a phone`, `towel/s` -> `towel`, `Watching/Reading/Looking at` -> `watching at`). The verb is the first
VERB lemma, the noun the first NOUN lemma (`someone`, `something`, `somewhere` are pronouns or adverbs, so
`Someone is eating something` -> eat, None). NAME_FIXES holds the names whose tagged reading is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# lower-cased name -> (verb, noun): where the tagger's reading is wrong (two Charades classes)
NAME_FIXES: dict[str, tuple[str, str | None]] = {
    "someone is awakening in bed": ("awaken", "bed"),  # tagged awakening as a noun, no verb
    "someone is going from standing to sitting": ("sit", None),  # the action is sitting down, not go
}


def tagger_text(name: str) -> str:
    """The text the tagger reads for a class name: lower-cased, slash alternatives cut to the first."""
    text = re.sub(r"(\w+)/(?:s|es)\b", r"\1", name)  # towel/s, dish/es
    text = re.sub(r"(\w+)(?:/\w+)+", r"\1", text)  # phone/camera, cup/glass/bottle
    return text.lower()


def class_words(names: Sequence[str]) -> list[tuple[str, str | None]]:
    """(verb, noun) per class name, in order; verb "" where a name has none (e.g. an object class)."""
    from psvl.language.tagger import Tagger  # lazy: spaCy loads in seconds

    tagged = Tagger(simplify="psvl", n_process=1).tag([tagger_text(n) for n in names])
    out: list[tuple[str, str | None]] = []
    for name, tags in zip(names, tagged):
        fix = NAME_FIXES.get(name.strip().lower())
        out.append(fix or (tags.verbs[0] if tags.verbs else "", tags.nouns[0] if tags.nouns else None))
    return out
