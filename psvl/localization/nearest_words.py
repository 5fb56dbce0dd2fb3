"""The `nearest` unknown-word baseline: a test word the learned encoder never trained on is replaced by
the trained word nearest to it in a sentence model's embedding space (e.g. `sphere` -> `ball`).

Why: PSVL reads every unknown test word as `<unk>`; with synonyms in the test sentences, that throws away
the word that names the object. A frozen sentence model knows which trained word means about the same,
at no training cost: the cheap peer of the `minilm` query encoder (`predict.unknown_words: nearest`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from psvl.localization import sentence_model

log = logging.getLogger(__name__)


class NearestWords:
    """Maps tokens outside `known` to their nearest `known` word (cosine of single-word embeddings of the
    sentence model `name`); known tokens pass unchanged. Each unknown word is looked up once."""

    def __init__(self, known: Sequence[str], name: str) -> None:
        self.known = [str(w) for w in known]
        self.known_set = set(self.known)
        self.model = sentence_model.load(name)
        self.known_vectors = sentence_model.word_vectors(self.model, self.known)
        self.mapped: dict[str, str] = {}

    def nearest(self, words: Sequence[str]) -> list[str]:
        """The nearest known word of each of `words` (unknown ones embedded together, once)."""
        todo = sorted({w for w in words if w not in self.mapped and w not in self.known_set})
        if todo and self.known:
            sims = sentence_model.word_vectors(self.model, todo) @ self.known_vectors.T
            for w, j in zip(todo, sims.argmax(1).tolist()):
                self.mapped[w] = self.known[j]
                log.debug("unknown word %r -> %r", w, self.known[j])
        return [w if w in self.known_set else self.mapped.get(w, w) for w in words]

    def __call__(self, tokens: Sequence[str]) -> list[str]:
        return self.nearest([str(t) for t in tokens])
