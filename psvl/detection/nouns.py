"""The class-name -> noun table: what a detector's class names mean as pseudo-query words.

Why a table of nouns: pseudo-queries are bags of single-word lemmas, and a detector's class names are
not (`dining table`, `cell phone`, Visual Genome's `stop sign,stopsign`).
"""

from __future__ import annotations

from collections.abc import Mapping

BACKGROUND = "__background__"

# COCO (and other common) class names whose noun is not simply the name. `None` drops the class.
COCO_NOUNS: dict[str, str | None] = {
    BACKGROUND: None,
    "N/A": None,
    "dining table": "table",
    "cell phone": "phone",
    "potted plant": "plant",
    "sports ball": "ball",
    "traffic light": "light",
    "fire hydrant": "hydrant",
    "stop sign": "sign",
    "parking meter": "meter",
    "baseball bat": "bat",
    "baseball glove": "glove",
    "tennis racket": "racket",
    "wine glass": "glass",
    "hot dog": "hotdog",
    "teddy bear": "teddy",
    "hair drier": "dryer",
    "motorcycle": "motorcycle",
    "tv": "television",
}


def noun_of(name: str, noun_map: Mapping[str, str | None] | None = None) -> str | None:
    """The single-word noun a class name stands for (None: not an object, drop it).

    User overrides first, then the built-in table, then a rule that fits Visual Genome and most label
    sets: the first synonym before a comma, its last word (the head noun), lowercased.
    """
    for table in (noun_map or {}, COCO_NOUNS):
        if name in table:
            noun = table[name]
            return noun.strip().lower() or None if noun else None
    words = name.split(",")[0].strip().lower().replace("_", " ").split()
    return words[-1] if words else None
