"""The 157 Charades action classes, each with the verb lemma and the object noun its name says.

Why parsed, not hand-typed: the stand-in confusions (classes that share a verb or an object) and the
stand-in detections (the object nouns) must speak the vocabulary of the project's queries, so the names go
through the project's one tagger (psvl.language.class_names, which also fixes the two Charades names the
tagger misreads).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

_LINE = re.compile(r"^c(\d{3})\s+(.+?)\s*$")


@dataclass(frozen=True)
class ActionClass:
    """Class `index` (line c{index:03d}), its name, verb lemma and object noun (None: no object)."""

    index: int
    name: str
    verb: str
    noun: str | None


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
    from psvl.language.class_names import class_words

    names = _read_names(path)
    out = []
    for (index, name), (verb, noun) in zip(names, class_words([name for _, name in names])):
        if not verb:
            raise ValueError(f"{path}: class c{index:03d} {name!r}: no verb found; add it to NAME_FIXES")
        out.append(ActionClass(index, name, verb, noun))
    return tuple(out)


def read_classes(path: str | Path) -> list[ActionClass]:
    """Charades_v1_classes.txt -> the classes in index order (parsed once per process and path)."""
    return list(_read_classes(str(Path(path).resolve())))
