"""The `nearest` unknown-word baseline: a test word the learned encoder never trained on is replaced by
the trained word nearest to it in a sentence model's embedding space (e.g. `sphere` -> `ball`).

Why: PSVL reads every unknown test word as `<unk>`; with synonyms in the test sentences, that throws away
the word that names the object. A frozen sentence model knows which trained word means about the same,
at no training cost: the cheap peer of the `minilm` query encoder (`predict.unknown_words: nearest`).

Only a close neighbour counts (cosine >= `predict.nearest_min_similarity`, 0.5): on the synthetic world
the unknown test words are mostly scene words (`kitchen`, `street`, `beach`), whose nearest trained words
(`door`, `fall`, `cube`) lie at 0.30-0.49 and would put a wrong object into the query (R@0.5 fell from
0.587 to 0.543 when every unknown word was mapped), while synonyms lie at 0.55-0.84 (`sphere` -> `ball`
0.55, `rotate` -> `spin` 0.57, `mug` -> `cup` 0.71, `start` -> `begin` 0.84).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from psvl.localization import sentence_model

log = logging.getLogger(__name__)


class NearestWords:
    """Maps tokens outside `known` to their nearest `known` word (cosine of single-word embeddings of the
    sentence model `name`) when the cosine is at least `min_similarity`, else leaves them (read as
    `<unk>`); known tokens pass unchanged. Each unknown word is looked up once."""

    def __init__(self, known: Sequence[str], name: str, min_similarity: float) -> None:
        self.min_similarity = float(min_similarity)
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
            best, idx = sims.max(1)
            for w, sim, j in zip(todo, best.tolist(), idx.tolist()):
                self.mapped[w] = self.known[j] if sim >= self.min_similarity else w
                log.debug("unknown word %r: nearest %r (cosine %.3f)", w, self.known[j], sim)
        return [w if w in self.known_set else self.mapped.get(w, w) for w in words]

    def __call__(self, tokens: Sequence[str]) -> list[str]:
        return self.nearest([str(t) for t in tokens])
