"""Pseudo-queries: what the detector saw inside a proposal (nouns) plus what the corpus says one does with
those things (verbs), as a bag of words like `hold open person door`.

For each proposal of a train video: nouns = its top detected labels (`psvl.language.nouns`); verbs =
distinct verbs sampled from P(v | nouns) (`psvl.language.verbs`); `per_proposal` queries per proposal,
each with its own verb sample; tokens = verbs then nouns. A noun unknown to the corpus still names the
proposal but proposes no verb; a proposal with no detection inside gets no query, nor, with
`noun_ranking: contrast`, one with no label denser inside than outside (both counted in the summary,
which is also stored in the output's metadata). All of it runs on integer codes, with no Python loop per
detection or proposal.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from psvl.core.artifacts import read_table, write_table
from psvl.language.nouns import noun_codes
from psvl.language.verbs import corpus_key, gumbel_top_k, verb_weight_codes

log = logging.getLogger(__name__)


@dataclass
class PseudoQueriesConfig:
    """The `pseudo_queries` config section (fields only; the defaults live in the config schema)."""

    num_nouns: int
    num_verbs: int
    per_proposal: int
    temperature: float
    noun_ranking: str
    noun_weighting: str
    verb_weighting: str
    candidate_verbs: int
    min_score: float
    seed: int


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


def _lists(group: np.ndarray, values: np.ndarray, n_groups: int) -> pa.ListArray:
    """A list per group from rows already sorted by group (groups with no rows get [])."""
    offsets = np.concatenate([[0], np.cumsum(np.bincount(group, minlength=n_groups))]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(values, type=pa.string()))


def compose(
    proposals: pd.DataFrame,
    detections: pd.DataFrame,
    cooccurrence: pd.DataFrame,
    durations: pd.Series | dict | None,
    cfg: PseudoQueriesConfig,
) -> tuple[pa.Table, dict]:
    """The pseudo_queries table (schema in psvl.core.artifacts) and a summary of what was composed and skipped."""
    props = proposals.sort_values(
        ["video_id", "start_s", "end_s", "proposal_id"], kind="stable", ignore_index=True
    )
    props["pidx"] = np.arange(len(props))
    dur = pd.Series(durations if durations is not None else {}, dtype="float64")
    fallback = props.groupby("video_id")["end_s"].max()
    props["duration_s"] = props["video_id"].map(dur).fillna(props["video_id"].map(fallback)).to_numpy()
    dets = detections[detections["score"] >= cfg.min_score]
    dets = dets.assign(label=dets["label"].astype(str).str.strip().str.lower())

    # sorted by (pidx, rank)
    n_pidx, n_code, n_weight, labels = noun_codes(props, dets, cfg.num_nouns, cfg.noun_ranking)
    has = np.zeros(len(props), dtype=bool)
    has[n_pidx] = True
    if cfg.noun_ranking == "frequency":  # every proposal with a detection inside has a noun
        without_detections = int((~has).sum())
    else:  # contrast drops more: count the proposals with no detection at all apart
        without_detections = len(props) - np.unique(noun_codes(props, dets, 1)[0]).size
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

    vid_dur = kept["duration_s"].to_numpy()
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
        "proposals_without_detections": int(without_detections),
        "proposals_without_distinctive_nouns": int(len(props) - n_kept - without_detections),
        "queries": n_queries,
        "queries_without_verbs": int((n_verbs == 0).sum()),
        "mean_verbs": round(float(n_verbs.mean()), 3) if n_queries else 0.0,
        "mean_nouns": round(n_pidx.size / n_kept, 3) if n_kept else 0.0,
        "nouns_unknown_to_corpus": sorted(
            lab for lab in labels_seen if corpus_key([lab], known)[lab] not in known
        ),
    }
    if summary["proposals_without_distinctive_nouns"]:
        log.info(
            "%d of %d proposals have no label denser inside than outside and get no query (contrast)",
            summary["proposals_without_distinctive_nouns"],
            len(props),
        )
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
    table: pa.Table, summary: dict, path: str | Path, cfg: PseudoQueriesConfig, sources: dict
) -> Path:
    """pseudo_queries.parquet with the config and the summary in its provenance metadata."""
    shaping = {"pseudo_queries": asdict(cfg), "summary": summary, **sources}
    return write_table("pseudo_queries", table, path, "pseudo_queries", shaping)
