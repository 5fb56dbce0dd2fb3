"""The query vocabulary: token <-> id, built from training pseudo-queries (+ the corpus's verbs and nouns).

Why the corpus too: PSVL's vocabulary came only from pseudo-queries, so 18% of Charades test tokens were
unknown. Four specials come first (the reference's 502 words + 4 = 506): padding is id 0 so that
`nn.Embedding(padding_idx=0)` and masks agree. Saved as JSON (a plain list), loadable without pickle.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from psvl.core.artifacts import VOCAB_SPECIALS, write_text

SPECIALS = VOCAB_SPECIALS
PAD, UNK, BOS, EOS = SPECIALS
CORPUS_POS = ("NOUN", "VERB", "PROPN")


class Vocab:
    """An ordered token list; ids are positions. Unknown tokens map to `<unk>` (id 1)."""

    def __init__(self, tokens: Sequence[str], n_trained: int | None = None) -> None:
        if tuple(tokens[: len(SPECIALS)]) != SPECIALS:
            raise ValueError(f"a vocabulary must start with the specials {SPECIALS}")
        self.tokens = list(tokens)
        self.index = {t: i for i, t in enumerate(self.tokens)}
        if len(self.index) != len(self.tokens):
            raise ValueError("vocabulary has duplicate tokens")
        # specials + words of the training queries; later ids (corpus-only words) are read as <unk>
        self.n_trained = len(self.tokens) if n_trained is None else int(n_trained)

    @classmethod
    def build(cls, token_lists: Iterable[Sequence[str]], extra: Iterable[str] = ()) -> Vocab:
        """Tokens by descending frequency (ties alphabetical), then `extra` words not seen in training."""
        counts = Counter(t for tokens in token_lists for t in tokens if t not in SPECIALS)
        words = sorted(counts, key=lambda t: (-counts[t], t))
        seen, n_trained = set(words), len(SPECIALS) + len(words)
        words += sorted({w for w in extra if w and w not in seen and w not in SPECIALS})
        return cls(list(SPECIALS) + words, n_trained)

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: str) -> bool:
        return token in self.index

    def encode(self, tokens: Sequence[str], max_len: int | None = None) -> list[int]:
        """Ids of `tokens` (unknown or never trained -> `<unk>`), cut to `max_len`; an empty query becomes
        one `<unk>`. A never-trained word keeps a random initial embedding, which is noise; the trained
        `<unk>` (word dropout) is not."""
        ids = [i if (i := self.index.get(t, 1)) < self.n_trained else 1 for t in tokens][:max_len]
        return ids or [1]

    def unknown_share(self, token_lists: Iterable[Sequence[str]]) -> float:
        """The share of tokens the vocabulary does not know (reported for the test queries)."""
        total = unknown = 0
        for tokens in token_lists:
            total += len(tokens)
            unknown += sum(t not in self.index for t in tokens)
        return unknown / total if total else 0.0

    @property
    def trained_words(self) -> list[str]:
        """The words of the training queries: no specials, no corpus-only words (never trained)."""
        return self.tokens[len(SPECIALS) : self.n_trained]

    def save(self, path: str | os.PathLike) -> Path:
        return write_text(json.dumps(self.tokens, ensure_ascii=False) + "\n", path)

    def save_trained(self, path: str | os.PathLike) -> Path:
        """`trained_words` as a JSON list (what `psvl evaluate --vocab` reads)."""
        return write_text(json.dumps(self.trained_words, ensure_ascii=False) + "\n", path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Vocab:
        return cls(json.loads(Path(path).read_text(encoding="utf-8")))


def corpus_words(vocab_table) -> list[str]:
    """Lemmas of the corpus statistics (`corpus/vocab.parquet` frame) that a query can contain.

    Queries are verbs and nouns, so those parts of speech are kept; a table with other POS names is
    taken whole.
    """
    if vocab_table is None or len(vocab_table) == 0:
        return []
    pos = vocab_table["pos"].astype(str).str.upper()
    keep = pos.isin(CORPUS_POS)
    rows = vocab_table[keep] if keep.any() else vocab_table
    return [str(w) for w in rows["lemma"]]
