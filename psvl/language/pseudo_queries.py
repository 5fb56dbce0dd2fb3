"""Pseudo-queries: what the detector saw inside a proposal (nouns) plus what the corpus says one does with
those things (verbs), as a bag of words like `hold open person door`.

For each proposal of a train video:
- nouns = the top `num_nouns` detected labels by score-weighted frequency (sum of detection scores) over
  the frames whose time lies inside [start_s, end_s], most weighted first (ties: alphabetical);
- verbs = `num_verbs` distinct verbs sampled without replacement from P(v | nouns) ∝ Σ_n P(v | n)
  (weights raised to 1 / temperature), over the verbs the corpus saw with at least one of the nouns;
  the sampling order is kept (first drawn first). Two options refine the paper's Σ_n P(v | n) (see
  `verb_weights`): each noun weighted by its share of the detections, and P(v | n) * lift so that verbs
  the corpus uses with every noun alike (`say`, `want`) do not crowd out the specific ones;
- `per_proposal` queries per proposal, each with its own verb sample; tokens = verbs then nouns.
A noun unknown to the corpus still names the proposal but proposes no verb; a proposal with no detection
inside gets no query (counted in the summary, which is also stored in the output's metadata).

All of it is vectorized on integer codes (numpy; no Python loop per detection or proposal): detections are
sorted by (video, label, time) once, a proposal's window sum per label is the difference of the running
score sum at two `searchsorted` positions; weighted sampling without replacement is the Gumbel-top-k trick
(sort log w + Gumbel noise), which draws exactly as successive weighted draws would. On big corpora each
noun proposes only its `candidate_verbs` most probable verbs, which bounds memory (the tail weighs little).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from psvl.core.artifacts import read_table, write_table

log = logging.getLogger(__name__)


@dataclass
class QueriesConfig:
    """The `queries` config section (defaults live in the config schema; these mirror them for tests)."""

    num_nouns: int = 5
    num_verbs: int = 3
    per_proposal: int = 1
    temperature: float = 0.5
    min_score: float = 0.0
    noun_weighting: str = "detection"
    verb_weighting: str = "lift"
    candidate_verbs: int = 25
    seed: int = 0


def _read(paths: Iterable[str | Path], columns: list[str]) -> pd.DataFrame:
    tables = [read_table(p, columns=columns) for p in paths]
    if not tables:
        return pd.DataFrame({c: [] for c in columns})
    return pa.concat_tables(tables, promote_options="default").to_pandas()


def load_inputs(
    manifest: str | Path,
    proposals: Iterable[str | Path],
    detections: Iterable[str | Path],
    features: Iterable[str | Path],
    cooccurrence: str | Path,
) -> dict[str, pd.DataFrame]:
    """Train-split proposals and detections, per-video durations (max feature end_s) and P(v | n)."""
    man = _read([manifest], ["video_id", "split"])
    train = set(man.loc[man["split"] == "train", "video_id"])
    props = _read(proposals, ["video_id", "proposal_id", "start_s", "end_s"])
    dets = _read(detections, ["video_id", "time_s", "label", "score"])
    feats = _read(features, ["video_id", "end_s"])
    return {
        "proposals": props[props["video_id"].isin(train)].reset_index(drop=True),
        "detections": dets[dets["video_id"].isin(train)].reset_index(drop=True),
        "durations": feats.groupby("video_id")["end_s"].max(),
        "cooccurrence": _read([cooccurrence], ["noun", "verb", "count", "p_verb_given_noun"]),
    }


def _group_rank(groups: np.ndarray) -> np.ndarray:
    """Position of each row within its run of equal values (rows sorted by group)."""
    n = groups.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
    return np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n]))


def _expand(keys: np.ndarray, sorted_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every (i, j) with keys[i] == sorted_keys[j] (an inner join of row numbers), grouped by i."""
    lo = np.searchsorted(sorted_keys, keys, "left")
    cnt = np.searchsorted(sorted_keys, keys, "right") - lo
    i = np.repeat(np.arange(keys.size), cnt)
    first = np.cumsum(cnt) - cnt
    j = np.arange(i.size) - np.repeat(first, cnt) + np.repeat(lo, cnt)
    return i, j


def window_nouns(
    p_video: np.ndarray,
    p_start: np.ndarray,
    p_end: np.ndarray,
    d_video: np.ndarray,
    d_label: np.ndarray,
    d_time: np.ndarray,
    d_score: np.ndarray,
    num_nouns: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(proposal row, label code, weight) of the top `num_nouns` labels per proposal, sorted by proposal
    then weight (desc) then label code. Videos and labels are integer codes; label codes sort like names."""
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64))
    if p_video.size == 0 or d_video.size == 0:
        return empty
    n_labels = int(d_label.max()) + 1
    pair_keys, gi = np.unique(d_video.astype(np.int64) * n_labels + d_label, return_inverse=True)
    t0 = min(float(d_time.min()), float(p_start.min()))
    span = max(float(d_time.max()), float(p_end.max())) - t0 + 1.0
    key = gi * span + (d_time - t0)  # sorts by (video, label), then time
    order = np.argsort(key, kind="stable")
    key = key[order]
    cum = np.r_[0.0, np.cumsum(d_score[order], dtype=np.float64)]
    pi, pj = _expand(p_video.astype(np.int64), pair_keys // n_labels)  # proposal x labels seen in its video
    lo = np.searchsorted(key, pj * span + (p_start[pi] - t0), "left")
    hi = np.searchsorted(key, pj * span + (p_end[pi] - t0), "right")  # a frame at end_s is inside
    inside = hi > lo
    pi, label, weight = pi[inside], (pair_keys[pj] % n_labels)[inside], (cum[hi] - cum[lo])[inside]
    order = np.lexsort((label, -weight, pi))
    keep = order[_group_rank(pi[order]) < num_nouns]
    return pi[keep], label[keep], weight[keep]


def noun_codes(
    props: pd.DataFrame, dets: pd.DataFrame, num_nouns: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(proposal row, label code, weight) of each proposal's top labels, and the label names of the codes.

    `props` needs video_id, start_s, end_s (row order = proposal row); `dets` video_id, time_s, label, score.
    """
    vid_codes, videos = pd.factorize(props["video_id"])
    d_vid = pd.Index(videos).get_indexer(dets["video_id"])
    d = dets[d_vid >= 0]
    label_codes, labels = pd.factorize(d["label"], sort=True)
    pi, lab, w = window_nouns(
        vid_codes,
        props["start_s"].to_numpy(float),
        props["end_s"].to_numpy(float),
        d_vid[d_vid >= 0],
        label_codes,
        d["time_s"].to_numpy(float),
        d["score"].to_numpy(float),
        num_nouns,
    )
    return pi, lab, w, np.asarray(labels, dtype=object)


def rank_nouns(props: pd.DataFrame, dets: pd.DataFrame, num_nouns: int) -> pd.DataFrame:
    """pidx, noun, weight, rank: the top `num_nouns` labels per proposal by summed detection score."""
    pi, lab, w, labels = noun_codes(props, dets, num_nouns)
    return pd.DataFrame(
        {"pidx": props["pidx"].to_numpy()[pi], "noun": labels[lab], "weight": w, "rank": _group_rank(pi)}
    )


def corpus_key(labels: Iterable[str], corpus_nouns: set[str]) -> dict[str, str]:
    """Detector label -> corpus noun: the label itself, or for `traffic light` its head word if only that
    is in the corpus."""
    out = {}
    for label in labels:
        head = label.rsplit(" ", 1)[-1]
        out[label] = label if label in corpus_nouns or head not in corpus_nouns else head
    return out


def _verb_table(cooc: pd.DataFrame, candidate_verbs: int) -> tuple[pd.DataFrame, np.ndarray]:
    """The co-occurrence rows each noun may propose (its top verbs), sorted by noun, and P(v) per row."""
    counts = cooc.groupby("verb")["count"].sum() if "count" in cooc else cooc.groupby("verb").size()
    top = cooc.sort_values(
        ["noun", "p_verb_given_noun", "verb"], ascending=[True, False, True], kind="stable"
    )
    top = top[top.groupby("noun", sort=False).cumcount() < candidate_verbs].reset_index(drop=True)
    return top, top["verb"].map(counts / counts.sum()).to_numpy(float)


def verb_weight_codes(
    pidx: np.ndarray,
    label_codes: np.ndarray,
    noun_weight: np.ndarray,
    labels: np.ndarray,
    cooc: pd.DataFrame,
    temperature: float,
    noun_weighting: str = "uniform",
    verb_weighting: str = "probability",
    candidate_verbs: int = 25,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(pidx, verb code, weight) grouped by pidx in a deterministic order, and the verb names of the codes.

    The proposals' nouns come as rows (pidx, label code, detection weight) grouped by pidx.
    """
    table, p_verb = _verb_table(cooc, candidate_verbs)
    t_noun, corpus_nouns = pd.factorize(table["noun"])  # table is sorted by noun: codes ascend
    key = corpus_key(labels, set(corpus_nouns))
    n_code = pd.Index(corpus_nouns).get_indexer([key[lab] for lab in labels])[label_codes]
    pidx = pidx.astype(np.int64)
    share = np.ones(pidx.size)
    if noun_weighting == "detection" and pidx.size:
        share = noun_weight / np.bincount(pidx, weights=noun_weight)[pidx]
    known = np.flatnonzero(n_code >= 0)
    i, j = _expand(n_code[known], t_noun.astype(np.int64))
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
    noun_weighting: str = "uniform",
    verb_weighting: str = "probability",
    candidate_verbs: int = 25,
) -> pd.DataFrame:
    """pidx, verb, weight: Σ_n s(v, n) over the proposal's nouns (pidx, noun, weight), ** (1 / temperature).

    s(v, n) = P(v | n) (`probability`, the paper) or P(v | n) * P(v | n) / P(v) (`lift`: verbs that go with
    every noun alike, `say`, `want`, weigh less than the verbs specific to n); with `noun_weighting:
    detection` each noun's term is scaled by its share of the proposal's detection weight.
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


def _lists(group: np.ndarray, values: np.ndarray, n_groups: int) -> pa.ListArray:
    """A list per group from rows already sorted by group (groups with no rows get [])."""
    offsets = np.concatenate([[0], np.cumsum(np.bincount(group, minlength=n_groups))]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(values, type=pa.string()))


def compose(
    proposals: pd.DataFrame,
    detections: pd.DataFrame,
    cooccurrence: pd.DataFrame,
    durations: pd.Series | dict | None,
    cfg: QueriesConfig,
) -> tuple[pa.Table, dict]:
    """The pseudo_queries table (DESIGN section 4) and a summary of what was composed and skipped."""
    props = proposals.sort_values(
        ["video_id", "start_s", "end_s", "proposal_id"], kind="stable", ignore_index=True
    )
    props["pidx"] = np.arange(len(props))
    dets = detections[detections["score"] >= cfg.min_score]
    dets = dets.assign(label=dets["label"].astype(str).str.strip().str.lower())

    n_pidx, n_code, n_weight, labels = noun_codes(props, dets, cfg.num_nouns)  # sorted by (pidx, rank)
    has = np.zeros(len(props), dtype=bool)
    has[n_pidx] = True
    kept = props[has].reset_index(drop=True)
    n_pidx = (np.cumsum(has) - 1)[n_pidx]

    w_pidx, w_code, w, vocab = verb_weight_codes(
        n_pidx,
        n_code,
        n_weight,
        labels,
        cooccurrence,
        cfg.temperature,
        cfg.noun_weighting,
        cfg.verb_weighting,
        cfg.candidate_verbs,
    )
    v_pidx, v_j, v_rows, _ = gumbel_top_k(
        w_pidx, w, cfg.per_proposal, cfg.num_verbs, np.random.default_rng(cfg.seed)
    )
    verb_names = vocab[w_code[v_rows]]

    n_kept, per = len(kept), cfg.per_proposal
    n_queries = n_kept * per
    # query q = pidx * per + j; verbs come sorted by (pidx, j, rank), nouns by (pidx, rank), repeated per j
    vq = (v_pidx * per + v_j).astype(np.int64)
    n_rows = np.repeat(np.arange(n_pidx.size), per)
    nq = n_pidx[n_rows] * per + np.tile(np.arange(per), n_pidx.size)
    n_order = np.argsort(nq, kind="stable")  # keeps each query's nouns in rank order
    noun_q, noun_v = nq[n_order].astype(np.int64), labels[n_code[n_rows][n_order]]
    tok_q = np.concatenate([vq, noun_q])
    tok_v = np.concatenate([verb_names, noun_v])
    tok_order = np.argsort(tok_q, kind="stable")  # verbs stay before nouns within each query

    dur = pd.Series(durations if durations is not None else {}, dtype="float64")
    fallback = props.groupby("video_id")["end_s"].max()
    vid_dur = kept["video_id"].map(dur).fillna(kept["video_id"].map(fallback)).to_numpy()
    rep = np.repeat(np.arange(n_kept), per)
    js = np.tile(np.arange(per), n_kept)
    table = pa.table(
        {
            "query_id": [f"{p}#q{j}" for p, j in zip(kept["proposal_id"].to_numpy()[rep], js)],
            "video_id": pa.array(kept["video_id"].to_numpy()[rep], type=pa.string()),
            "start_s": kept["start_s"].to_numpy(dtype=np.float64)[rep],
            "end_s": kept["end_s"].to_numpy(dtype=np.float64)[rep],
            "duration_s": vid_dur[rep],
            "verbs": _lists(vq, verb_names, n_queries),
            "nouns": _lists(noun_q, noun_v, n_queries),
            "tokens": _lists(tok_q[tok_order], tok_v[tok_order], n_queries),
        }
    )
    n_verbs = np.bincount(vq, minlength=n_queries) if n_queries else np.zeros(0)
    known = set(cooccurrence["noun"])
    labels_seen = set(labels[np.unique(n_code)])
    summary = {
        "train_videos_with_proposals": int(props["video_id"].nunique()),
        "proposals": len(props),
        "proposals_without_detections": int(len(props) - n_kept),
        "queries": n_queries,
        "queries_without_verbs": int((n_verbs == 0).sum()),
        "mean_verbs": round(float(n_verbs.mean()), 3) if n_queries else 0.0,
        "mean_nouns": round(n_pidx.size / n_kept, 3) if n_kept else 0.0,
        "nouns_unknown_to_corpus": sorted(
            lab for lab in labels_seen if corpus_key([lab], known)[lab] not in known
        ),
    }
    if summary["proposals_without_detections"]:
        log.warning(
            "%d of %d proposals have no detection inside and get no query",
            summary["proposals_without_detections"],
            len(props),
        )
    if summary["nouns_unknown_to_corpus"]:
        log.warning(
            "detected nouns unknown to the corpus (kept, but they propose no verb): %s",
            ", ".join(summary["nouns_unknown_to_corpus"][:20]),
        )
    return table, summary


def write_pseudo_queries(
    table: pa.Table, summary: dict, path: str | Path, cfg: QueriesConfig, sources: dict
) -> Path:
    """pseudo_queries.parquet with the config and the summary in its provenance metadata."""
    shaping = {"pseudo_queries": dict(cfg.__dict__), "summary": summary, **sources}
    return write_table("pseudo_queries", table, path, "pseudo_queries", shaping)
