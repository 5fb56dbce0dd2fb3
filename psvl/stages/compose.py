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

All of it is vectorized: window sums come from per-(video, label) cumulative scores looked up with
`pandas.merge_asof` at both ends of each proposal, and weighted sampling without replacement is the
Gumbel-top-k trick (sort log w + Gumbel noise), which draws exactly as successive weighted draws would.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from psvl.artifacts import read_table, write_table

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


def rank_nouns(props: pd.DataFrame, dets: pd.DataFrame, num_nouns: int) -> pd.DataFrame:
    """pidx, noun, weight, rank: the top `num_nouns` labels per proposal by summed detection score.

    `props` needs pidx, video_id, start_s, end_s; `dets` video_id, time_s, label, score.
    """
    cols = ["pidx", "noun", "weight", "rank"]
    if props.empty or dets.empty:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(cols, ["int64", "str", "float64", "int64"])})
    keys = ["video_id", "label"]
    per_time = dets.groupby([*keys, "time_s"], sort=True, observed=True)["score"].agg(["sum", "size"]).reset_index()
    grouped = per_time.groupby(keys, sort=False, observed=True)
    per_time["cum_w"] = grouped["sum"].cumsum()
    per_time["cum_n"] = grouped["size"].cumsum()
    per_time = per_time.sort_values("time_s", kind="stable")[[*keys, "time_s", "cum_w", "cum_n"]]

    pairs = props[["pidx", "video_id", "start_s", "end_s"]].merge(
        per_time[keys].drop_duplicates(), on="video_id"
    )
    at_end = pd.merge_asof(
        pairs.sort_values("end_s", kind="stable"), per_time, left_on="end_s", right_on="time_s", by=keys
    )
    before = pd.merge_asof(
        pairs.sort_values("start_s", kind="stable"), per_time, left_on="start_s", right_on="time_s", by=keys,
        allow_exact_matches=False,
    )
    win = at_end[["pidx", "label", "cum_w", "cum_n"]].merge(
        before[["pidx", "label", "cum_w", "cum_n"]], on=["pidx", "label"], suffixes=("", "_before")
    )
    win = win.fillna({"cum_w": 0.0, "cum_n": 0, "cum_w_before": 0.0, "cum_n_before": 0})
    win["weight"] = win["cum_w"] - win["cum_w_before"]
    win = win[(win["cum_n"] - win["cum_n_before"]) > 0]  # exact presence test (no float residue)
    win = win.rename(columns={"label": "noun"}).sort_values(
        ["pidx", "weight", "noun"], ascending=[True, False, True], kind="stable"
    )
    win["rank"] = win.groupby("pidx", sort=False).cumcount()
    return win.loc[win["rank"] < num_nouns, cols].reset_index(drop=True)


def corpus_key(labels: Iterable[str], corpus_nouns: set[str]) -> dict[str, str]:
    """Detector label -> corpus noun: the label itself, or for `traffic light` its head word if only that
    is in the corpus."""
    out = {}
    for label in labels:
        head = label.rsplit(" ", 1)[-1]
        out[label] = label if label in corpus_nouns or head not in corpus_nouns else head
    return out


def verb_weights(
    nouns: pd.DataFrame,
    cooc: pd.DataFrame,
    temperature: float,
    noun_weighting: str = "uniform",
    verb_weighting: str = "probability",
) -> pd.DataFrame:
    """pidx, verb, weight: Σ_n s(v, n) over the proposal's nouns, raised to 1 / temperature.

    s(v, n) = P(v | n) (`probability`, the paper) or P(v | n) * P(v | n) / P(v) (`lift`: verbs that go with
    every noun alike, `say`, `want`, weigh less than the verbs specific to n); with `noun_weighting:
    detection` each noun's term is scaled by its share of the proposal's detection weight.
    """
    key = corpus_key(nouns["noun"].unique(), set(cooc["noun"]))
    keyed = nouns[["pidx", "weight"]].assign(noun=nouns["noun"].map(key))
    joined = keyed.merge(cooc, on="noun")
    term = joined["p_verb_given_noun"]
    if verb_weighting == "lift":
        counts = cooc.groupby("verb")["count"].sum()
        p_verb = joined["verb"].map(counts / counts.sum())
        term = term * term / p_verb
    if noun_weighting == "detection":
        term = term * joined["weight"] / nouns.groupby("pidx")["weight"].sum().reindex(joined["pidx"]).to_numpy()
    joined = joined.assign(term=term)
    w = joined.groupby(["pidx", "verb"], sort=True)["term"].sum().reset_index(name="weight")
    w["weight"] = w["weight"] ** (1.0 / temperature)
    return w[w["weight"] > 0].reset_index(drop=True)


def sample_verbs(weights: pd.DataFrame, per_proposal: int, num_verbs: int, rng: np.random.Generator) -> pd.DataFrame:
    """pidx, j, verb, rank: `num_verbs` distinct verbs per (proposal, query j), weighted, without replacement."""
    cols = ["pidx", "j", "verb", "rank"]
    if weights.empty or num_verbs == 0:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(cols, ["int64", "int64", "str", "int64"])})
    n = len(weights)
    rep = weights.iloc[np.tile(np.arange(n), per_proposal)].reset_index(drop=True)
    rep["j"] = np.repeat(np.arange(per_proposal), n)
    rep = rep.sort_values(["pidx", "j", "verb"], kind="stable", ignore_index=True)  # the order noise is drawn in
    rep["key"] = np.log(rep["weight"].to_numpy()) + rng.gumbel(size=len(rep))
    rep = rep.sort_values(["pidx", "j", "key"], ascending=[True, True, False], kind="stable")
    rep["rank"] = rep.groupby(["pidx", "j"], sort=False).cumcount()
    return rep.loc[rep["rank"] < num_verbs, cols].reset_index(drop=True)


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
    props = proposals.sort_values(["video_id", "start_s", "end_s", "proposal_id"], kind="stable", ignore_index=True)
    props["pidx"] = np.arange(len(props))
    dets = detections[detections["score"] >= cfg.min_score]
    dets = dets.assign(label=dets["label"].astype(str).str.strip().str.lower())

    nouns = rank_nouns(props, dets, cfg.num_nouns)
    has = np.zeros(len(props), dtype=bool)
    has[nouns["pidx"].to_numpy()] = True
    kept = props[has].reset_index(drop=True)
    kept["new"] = np.arange(len(kept))
    remap = np.full(len(props), -1)
    remap[kept["pidx"].to_numpy()] = kept["new"].to_numpy()
    nouns["pidx"] = remap[nouns["pidx"].to_numpy()]

    weights = verb_weights(nouns, cooccurrence, cfg.temperature, cfg.noun_weighting, cfg.verb_weighting)
    verbs = sample_verbs(weights, cfg.per_proposal, cfg.num_verbs, np.random.default_rng(cfg.seed))

    n_kept, per = len(kept), cfg.per_proposal
    # query q = pidx * per + j; verbs sorted by (pidx, j, rank), nouns by (pidx, rank) and repeated per j
    vq = (verbs["pidx"].to_numpy() * per + verbs["j"].to_numpy()).astype(np.int64)
    nq_rows = np.repeat(np.arange(len(nouns)), per)
    nq = (nouns["pidx"].to_numpy()[nq_rows] * per + np.tile(np.arange(per), len(nouns))).astype(np.int64)
    n_order = np.lexsort((nouns["rank"].to_numpy()[nq_rows], nq))
    noun_q, noun_v = nq[n_order], nouns["noun"].to_numpy()[nq_rows][n_order]
    n_queries = n_kept * per
    tok_q = np.concatenate([vq, noun_q])
    tok_v = np.concatenate([verbs["verb"].to_numpy(), noun_v])
    tok_order = np.argsort(tok_q, kind="stable")  # verbs come first within each query: stable sort

    dur = pd.Series(durations if durations is not None else {}, dtype="float64")
    fallback = props.groupby("video_id")["end_s"].max()
    vid_dur = kept["video_id"].map(dur).fillna(kept["video_id"].map(fallback)).to_numpy()
    rep = np.repeat(np.arange(n_kept), per)
    table = pa.table(
        {
            "query_id": [f"{p}#q{j}" for p, j in zip(kept["proposal_id"].to_numpy()[rep], np.tile(np.arange(per), n_kept))],
            "video_id": kept["video_id"].to_numpy()[rep],
            "start_s": kept["start_s"].to_numpy(dtype=np.float64)[rep],
            "end_s": kept["end_s"].to_numpy(dtype=np.float64)[rep],
            "duration_s": vid_dur[rep],
            "verbs": _lists(vq, verbs["verb"].to_numpy(), n_queries),
            "nouns": _lists(noun_q, noun_v, n_queries),
            "tokens": _lists(tok_q[tok_order], tok_v[tok_order], n_queries),
        }
    )
    n_verbs = np.bincount(vq, minlength=n_queries) if n_queries else np.zeros(0)
    known = set(cooccurrence["noun"])
    labels = set(nouns["noun"])
    summary = {
        "train_videos_with_proposals": int(props["video_id"].nunique()),
        "proposals": len(props),
        "proposals_without_detections": int(len(props) - n_kept),
        "queries": n_queries,
        "queries_without_verbs": int((n_verbs == 0).sum()),
        "mean_verbs": round(float(n_verbs.mean()), 3) if n_queries else 0.0,
        "mean_nouns": round(len(nouns) / n_kept, 3) if n_kept else 0.0,
        "nouns_unknown_to_corpus": sorted(lab for lab in labels if corpus_key([lab], known)[lab] not in known),
    }
    if summary["proposals_without_detections"]:
        log.warning("%d of %d proposals have no detection inside and get no query",
                    summary["proposals_without_detections"], len(props))
    if summary["nouns_unknown_to_corpus"]:
        log.warning("detected nouns unknown to the corpus (kept, but they propose no verb): %s",
                    ", ".join(summary["nouns_unknown_to_corpus"][:20]))
    return table, summary


def write_pseudo_queries(table: pa.Table, summary: dict, path: str | Path, cfg: QueriesConfig, sources: dict) -> Path:
    """pseudo_queries.parquet with the config and the summary in its provenance metadata."""
    shaping = {"queries": dict(cfg.__dict__), "summary": summary, **sources}
    return write_table("pseudo_queries", table, path, "compose", shaping)
