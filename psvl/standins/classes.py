"""The 157 Charades action classes, each with the verb lemma and the object noun its name says.

Why parsed, not hand-typed: the stand-in confusions (classes that share a verb or an object) and the
stand-in detections (the object nouns) must speak the vocabulary of the project's queries, so the names go
through the project's one tagger (psvl.language.tagger, rule set `psvl`). Before tagging, a name is
lower-cased and each slash alternative keeps its first word (`a phone/camera` -> `a phone`, `towel/s` ->
`towel`, `Watching/Reading/Looking at` -> `watching at`). The verb is the first VERB lemma, the noun the
first NOUN lemma (`someone`, `something`, `somewhere` are pronouns/adverbs, so `Someone is eating
something` -> eat, None). OVERRIDES fixes the classes where this reading is wrong (two of 157).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

# index -> (verb, noun): where the tagger's reading is wrong.
OVERRIDES: dict[int, tuple[str, str | None]] = {
    133: ("awaken", "bed"),  # "Someone is awakening in bed": tagged awakening as a noun, no verb
    151: ("sit", None),  # "Someone is going from standing to sitting": the action is sitting down, not go
}
_LINE = re.compile(r"^c(\d{3})\s+(.+?)\s*$")


@dataclass(frozen=True)
class ActionClass:
    """Class `index` (line c{index:03d}), its name, verb lemma and object noun (None: no object)."""

    index: int
    name: str
    verb: str
    noun: str | None


def tagger_text(name: str) -> str:
    """The text the tagger reads for a class name: lower-cased, slash alternatives cut to the first."""
    text = re.sub(r"(\w+)/(?:s|es)\b", r"\1", name)  # towel/s, dish/es
    text = re.sub(r"(\w+)(?:/\w+)+", r"\1", text)  # phone/camera, cup/glass/bottle
    return text.lower()


def _read_names(path: str | Path) -> list[tuple[int, str]]:
    out = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        m = _LINE.match(line)
        if m is None:
            raise ValueError(f"{path}:{n}: expected `cNNN <class name>`, got {line!r}")
        out.append((int(m.group(1)), m.group(2)))
    if [i for i, _ in out] != list(range(len(out))):
        raise ValueError(f"{path}: class ids must run c000, c001, ... without gaps")
    return out


@lru_cache(maxsize=4)
def _read_classes(path: str) -> tuple[ActionClass, ...]:
    from psvl.language.tagger import Tagger  # lazy: spaCy loads in seconds

    names = _read_names(path)
    tagged = Tagger(simplify="psvl", n_process=1).tag([tagger_text(name) for _, name in names])
    out = []
    for (index, name), tags in zip(names, tagged):
        verb, noun = OVERRIDES.get(index) or (
            tags.verbs[0] if tags.verbs else "",
            tags.nouns[0] if tags.nouns else None,
        )
        if not verb:
            raise ValueError(f"{path}: class c{index:03d} {name!r}: no verb found; add it to OVERRIDES")
        out.append(ActionClass(index, name, verb, noun))
    return tuple(out)


def read_classes(path: str | Path) -> list[ActionClass]:
    """Charades_v1_classes.txt -> the classes in index order (parsed once per process and path)."""
    return list(_read_classes(str(Path(path).resolve())))
