"""Test words the model never trained on: their share, and the metrics split by it (`metrics.json`).

Why: the model reads a word it never trained on as `<unk>` (PSVL's pseudo-label vocabulary leaves
17.7 % of Charades-STA test tokens and 52 % of its queries with one), so a result means little without
how many test words the model could read, and how it does on queries it can read whole. Keys (read by
other stages; keep them): `unknown_words: {token_share, query_share, n_tokens, n_queries}` and
`by_vocabulary: {in_vocabulary: {n, R@0.3, R@0.5, R@0.7, mIoU}, with_unknown: {...}}`; a query is
`with_unknown` when at least one of its tokens is unknown, `in_vocabulary` otherwise (a query with no
token at all too). On the synthetic world, `by_held_out: {corpus_words: {...}, held_out_words: {...}}`
splits the queries by whether the world wrote their caption with a synonym its corpus never uses
(`psvl evaluate --events world/events.parquet`): the words a pretrained text encoder may know and a
vocabulary learned from pseudo-queries cannot.

The known words are those the model trained on: `trained_words.json`, which `psvl train` writes beside
best.pt (corpus-only words keep a random embedding, so they are as unknown to it as any other, and are not
in it), or every word of a vocab.json. Read as JSON: evaluation never needs torch.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from psvl.core import spans
from psvl.core.artifacts import TRAINED_WORDS, VOCAB_SPECIALS

SPLIT_THRESHOLDS = (0.3, 0.5, 0.7)


def known_words(path: str | os.PathLike) -> set[str]:
    """The trained words of a model folder or a checkpoint file in one (the trained_words.json beside it),
    or of a JSON word list (trained_words.json, or a vocab.json: all its words)."""
    path = Path(path)
    given = path
    if path.is_dir():
        path = path / TRAINED_WORDS
    elif path.suffix != ".json":
        path = path.with_name(TRAINED_WORDS)
    if not path.is_file():
        raise FileNotFoundError(
            f"--vocab {given}: no {path.name} there (`psvl train` writes it beside best.pt); retrain, or give "
            "the model's vocab.json (then corpus-only words count as known too)"
        )
    words = json.loads(path.read_text(encoding="utf-8"))
    return {str(w) for w in words} - set(VOCAB_SPECIALS)


def unknown_words(token_lists: Iterable[Sequence[str]], known: set[str]) -> dict:
    """{token_share, query_share, n_tokens, n_queries}: the share of test tokens, and of queries with at
    least one token, that `known` lacks."""
    n_tokens = n_unknown = n_queries = n_with = 0
    for tokens in token_lists:
        missing = sum(str(t) not in known for t in tokens)
        n_tokens, n_unknown = n_tokens + len(tokens), n_unknown + missing
        n_queries, n_with = n_queries + 1, n_with + (missing > 0)
    return {
        "token_share": n_unknown / n_tokens if n_tokens else 0.0,
        "query_share": n_with / n_queries if n_queries else 0.0,
        "n_tokens": n_tokens,
        "n_queries": n_queries,
    }


def split_metrics(ious: np.ndarray, flagged: np.ndarray, names: tuple[str, str]) -> dict:
    """{names[0]: metrics of the unflagged queries, names[1]: of the flagged}, each {n, R@0.3/0.5/0.7, mIoU}."""
    ious, flagged = np.asarray(ious, dtype=np.float64), np.asarray(flagged, dtype=bool)
    out = {}
    for name, rows in ((names[0], ~flagged), (names[1], flagged)):
        out[name] = {"n": int(rows.sum()), **spans.recall_at(ious[rows], SPLIT_THRESHOLDS)}
        out[name].pop("n_queries", None)
    return out


def by_vocabulary(
    ious: np.ndarray, query_ids: Sequence[str], tokens: Mapping[str, Sequence[str]], known: set[str]
) -> dict:
    """R@0.3/0.5/0.7 and mIoU of the queries without and with an unknown token (`ious[i]` is query
    `query_ids[i]`'s IoU; a query absent from `tokens` counts as in vocabulary)."""
    with_unknown = [any(str(t) not in known for t in tokens.get(str(q), ())) for q in query_ids]
    return split_metrics(ious, with_unknown, ("in_vocabulary", "with_unknown"))


def held_out_queries(gt: pd.DataFrame, events: pd.DataFrame) -> set[str]:
    """Query ids of `gt` (query_id, video_id, sentence) whose sentence the synthetic world wrote with a
    word its corpus never uses (`events.parquet`'s `held_out`), matched by (video_id, sentence)."""
    marked = events.loc[events["held_out"].astype(bool), ["video_id", "sentence"]].astype(str)
    keys = set(zip(marked["video_id"], marked["sentence"].str.strip()))
    rows = zip(gt["query_id"].astype(str), gt["video_id"].astype(str), gt["sentence"].astype(str).str.strip())
    return {q for q, v, text in rows if (v, text) in keys}


def _query_ids(table: pd.DataFrame, groups: np.ndarray) -> np.ndarray:
    """The query id of each window group, in `per_query`'s order (first rows)."""
    first = ~pd.Series(groups).duplicated().to_numpy()
    return table["query_id"].astype(str).to_numpy()[first]


def held_out_metrics(
    table: pd.DataFrame, query_ious: np.ndarray, groups: np.ndarray, held_out: set[str]
) -> dict:
    """metrics.json's `by_held_out` for a scored table, its per-query IoUs and window groups."""
    flagged = np.isin(_query_ids(table, groups), sorted(held_out))
    return {"by_held_out": split_metrics(query_ious, flagged, ("corpus_words", "held_out_words"))}


def vocabulary_metrics(
    table: pd.DataFrame,
    query_ious: np.ndarray,
    groups: np.ndarray,
    tokens: Mapping[str, Sequence[str]],
    known: set[str],
) -> dict:
    """metrics.json's `unknown_words` and `by_vocabulary` for a scored table (`evaluate_with_table`'s),
    its per-query IoUs and window groups (`query_ious[i]` belongs to the i-th distinct group)."""
    query_ids = _query_ids(table, groups)
    return {
        "unknown_words": unknown_words([tokens.get(q, ()) for q in query_ids], known),
        "by_vocabulary": by_vocabulary(query_ious, query_ids, tokens, known),
    }
