"""The verbs of a pseudo-query: what the corpus says one does with the proposal's nouns.

Verbs are `num_verbs` distinct verbs sampled without replacement from P(v | nouns) ∝ Σ_n s(v, n) (weights
raised to 1 / temperature), over the verbs the corpus saw with at least one of the nouns; the sampling
order is kept (first drawn first). s(v, n) is P(v | n) (the paper) or P(v | n) * lift, so that verbs the
corpus uses with every noun alike (`say`, `want`) do not crowd out the specific ones; each noun's term
may be weighted by its share of the detections, or by its inverse document frequency over the proposals
(`idf`: a class detected in nearly every proposal, `wall`, `floor`, says little about what happens in one). A noun unknown to the corpus proposes no
verb. Weighted sampling without replacement is the Gumbel-top-k trick (sort log w + Gumbel noise), which
draws exactly as successive weighted draws would. On big corpora each noun proposes only its
`candidate_verbs` most probable verbs, which bounds memory (the tail weighs little).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from psvl.language.nouns import expand


def corpus_key(labels: Iterable[str], corpus_nouns: set[str]) -> dict[str, str]:
    """Detector label -> corpus noun: the label itself, or for `traffic light` its head word if only that
    is in the corpus."""
    out = {}
    for label in labels:
        head = label.rsplit(" ", 1)[-1]
        out[label] = label if label in corpus_nouns or head not in corpus_nouns else head
    return out


def _verb_table(cooc: pd.DataFrame, candidate_verbs: int | None) -> tuple[pd.DataFrame, np.ndarray]:
    """The co-occurrence rows each noun may propose (its top verbs; None: all), sorted by noun, and P(v)
    per row."""
    counts = cooc.groupby("verb")["count"].sum() if "count" in cooc else cooc.groupby("verb").size()
    top = cooc.sort_values(
        ["noun", "p_verb_given_noun", "verb"], ascending=[True, False, True], kind="stable"
    )
    if candidate_verbs is not None:
        top = top[top.groupby("noun", sort=False).cumcount() < candidate_verbs]
    top = top.reset_index(drop=True)
    return top, top["verb"].map(counts / counts.sum()).to_numpy(float)


def noun_idf(pidx: np.ndarray, label_codes: np.ndarray) -> np.ndarray:
    """Per row (pidx, label code), the label's smoothed inverse document frequency over the proposals:
    idf = ln((1 + N) / (1 + df)) + 1, N = proposals, df = proposals holding the label (scikit-learn's
    smooth idf). A label in every proposal weighs 1, one in a single proposal of N ln((1 + N) / 2) + 1."""
    if pidx.size == 0:
        return np.zeros(0)
    pidx, label_codes = pidx.astype(np.int64), label_codes.astype(np.int64)
    n_labels = int(label_codes.max()) + 1
    pairs = np.unique(pidx * n_labels + label_codes)  # a label counts once per proposal
    df = np.bincount(pairs % n_labels, minlength=n_labels)
    n_docs = np.unique(pidx).size
    return np.log((1.0 + n_docs) / (1.0 + df[label_codes])) + 1.0


def noun_shares(
    pidx: np.ndarray, label_codes: np.ndarray, noun_weight: np.ndarray, noun_weighting: str
) -> np.ndarray:
    """Each noun row's factor on its verb term: 1 (`uniform`, the paper), its share of the proposal's
    detection weight (`detection`) or its idf over the proposals (`idf`, `noun_idf`)."""
    if noun_weighting == "uniform" or pidx.size == 0:
        return np.ones(pidx.size)
    if noun_weighting == "detection":
        pidx = pidx.astype(np.int64)
        return noun_weight / np.bincount(pidx, weights=noun_weight)[pidx]
    if noun_weighting == "idf":
        return noun_idf(pidx, label_codes)
    raise ValueError(
        f"pseudo_queries.noun_weighting: expected uniform, detection or idf, got {noun_weighting!r}"
    )


def verb_weight_codes(
    pidx: np.ndarray,
    label_codes: np.ndarray,
    noun_weight: np.ndarray,
    labels: np.ndarray,
    cooc: pd.DataFrame,
    temperature: float,
    noun_weighting: str,
    verb_weighting: str,
    candidate_verbs: int | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(pidx, verb code, weight) grouped by pidx in a deterministic order, and the verb names of the codes.

    The proposals' nouns come as rows (pidx, label code, detection weight) grouped by pidx.
    """
    table, p_verb = _verb_table(cooc, candidate_verbs)
    t_noun, corpus_nouns = pd.factorize(table["noun"])  # table is sorted by noun: codes ascend
    key = corpus_key(labels, set(corpus_nouns))
    n_code = pd.Index(corpus_nouns).get_indexer([key[lab] for lab in labels])[label_codes]
    pidx = pidx.astype(np.int64)
    share = noun_shares(pidx, label_codes, noun_weight, noun_weighting)
    known = np.flatnonzero(n_code >= 0)
    i, j = expand(n_code[known], t_noun.astype(np.int64))
    term = table["p_verb_given_noun"].to_numpy(float)[j]
    if verb_weighting == "lift":
        term = term * term / p_verb[j]
    term = term * share[known][i]
    verb_codes, verbs = pd.factorize(table["verb"], sort=True)
    n_verbs = max(len(verbs), 1)
    # hash grouping (no sort): groups come in first-seen order, which is grouped by pidx and deterministic
    inv, keys = pd.factorize(pidx[known][i] * n_verbs + verb_codes[j])
    weight = np.bincount(inv, weights=term, minlength=keys.size) ** (1.0 / temperature)
    keep = weight > 0
    return (keys // n_verbs)[keep], (keys % n_verbs)[keep], weight[keep], np.asarray(verbs, dtype=object)


def verb_weights(
    nouns: pd.DataFrame,
    cooc: pd.DataFrame,
    temperature: float,
    noun_weighting: str,
    verb_weighting: str,
    candidate_verbs: int | None = None,
) -> pd.DataFrame:
    """pidx, verb, weight: Σ_n s(v, n) over the proposal's nouns (pidx, noun, weight), ** (1 / temperature).

    s(v, n) = P(v | n) (`probability`, the paper) or P(v | n) * P(v | n) / P(v) (`lift`: verbs that go with
    every noun alike, `say`, `want`, weigh less than the verbs specific to n); with `noun_weighting:
    detection` each noun's term is scaled by its share of the proposal's detection weight, with `idf` by
    its inverse document frequency over the proposals in `nouns` (`noun_idf`).
    `candidate_verbs` caps the verbs each noun proposes (its most probable; None: no cap).
    """
    codes, labels = pd.factorize(nouns["noun"])
    pidx, code, weight, verbs = verb_weight_codes(
        nouns["pidx"].to_numpy(),
        codes,
        nouns["weight"].to_numpy(float),
        np.asarray(labels, dtype=object),
        cooc,
        temperature,
        noun_weighting,
        verb_weighting,
        candidate_verbs,
    )
    return pd.DataFrame({"pidx": pidx, "verb": verbs[code] if code.size else [], "weight": weight})


def gumbel_top_k(
    pidx: np.ndarray, weight: np.ndarray, per_proposal: int, k: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(pidx, j, row, rank): for each proposal and query j, k distinct rows drawn without replacement with
    probability ∝ weight, in draw order. Rows must be grouped by pidx; noise is drawn j by j in row order.

    Gumbel-top-k: the k largest log w + Gumbel keys are a weighted draw without replacement. Each of the
    k rounds takes every group's maximum with `np.maximum.reduceat` (linear time, no sort of all rows).
    """
    n = pidx.size
    outs: list[tuple[np.ndarray, ...]] = []
    if n == 0 or k == 0:
        empty = np.zeros(0, np.int64)
        return empty, empty, empty, empty
    starts = np.flatnonzero(np.r_[True, pidx[1:] != pidx[:-1]])
    lengths = np.diff(np.r_[starts, n])
    segment = np.repeat(np.arange(starts.size), lengths)
    log_w = np.log(weight)
    for j in range(per_proposal):
        key = log_w + rng.gumbel(size=n)
        for rank in range(min(k, int(lengths.max()))):
            top = np.maximum.reduceat(key, starts)
            rows = np.flatnonzero(key == top[segment])
            rows = rows[np.r_[True, segment[rows][1:] != segment[rows][:-1]]]  # first maximum per group
            rows = rows[np.isfinite(key[rows])]
            key[rows] = -np.inf
            outs.append((pidx[rows], np.full(rows.size, j), rows, np.full(rows.size, rank)))
    p, jj, rows, rank = (np.concatenate(x) for x in zip(*outs))
    order = np.lexsort((rank, jj, p))
    return p[order], jj[order], rows[order], rank[order]
