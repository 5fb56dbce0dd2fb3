"""Real-text verb check: is the FIRST pseudo-query verb drawn for a Charades-STA test sentence's own
nouns one of that sentence's own verbs? Per corpus and per verb sampler of the `pseudo_queries` section.

    python -m experiments.verbs_real [--corpora charades activitynet] [--simplify psvl content]
                                          [--sample N] [--processes 2]

1. The 3 720 Charades-STA test sentences are tagged (`psvl.language.tagger.Tagger`, the `corpus` section
   with `--simplify`); a sentence with at least one verb and one noun is a "proposal" whose nouns are its
   distinct true nouns (`person` included) and whose truth is its set of verbs.
2. Corpus statistics (`psvl.language.corpus.corpus_statistics`, same tagger) of the Charades-STA TRAIN
   captions (12 408) or the ActivityNet Captions train sentences (37 421); `--sample N` keeps a seeded N.
3. For each sampler, `psvl.language.verbs.verb_weight_codes` (the code `compose` runs, all sentences in
   one vectorised call) gives each sentence's verb weights w; the first Gumbel-top-k draw picks v with
   probability w_v / Σ w, so P(first verb is true) = Σ_{v true} w_v / Σ_v w_v, exact, no sampling. A
   sentence whose nouns propose no verb scores 0. Samplers: verb_weighting probability | lift x
   temperature 1 | 0.5 x noun_weighting uniform | idf (idf over the test sentences as the documents).
   `detection` equals `uniform` here (every true noun weighs the same) and is not listed.
4. The peer is the paper's sampler (probability, T = 1, uniform); `ratio` = row / peer on the same corpus.

Prints one table per (simplify rule, corpus); the tagging of ActivityNet dominates the ~2-3 minutes.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from psvl.config import default, defaults
from psvl.datasets import read_annotations
from psvl.language.corpus import CorpusConfig, corpus_statistics, read_sentences
from psvl.language.tagger import Tagged, Tagger
from psvl.language.verbs import verb_weight_codes

DATA = Path(os.environ.get("PSVL_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
TEST = DATA / "charades-sta" / "charades_sta_test.txt"
CORPORA = {
    "charades": DATA / "charades-sta" / "charades_sta_train.txt",
    "activitynet": DATA / "activitynet-captions" / "train.json",
}
PEER = ("uniform", "probability", 1.0)
SAMPLERS = [(nw, vw, t) for nw in ("uniform", "idf") for vw in ("probability", "lift") for t in (1.0, 0.5)]


def truth(tagged: list[Tagged]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(pidx, noun) and (pidx, verb) rows, distinct per sentence, of the sentences with a verb and a noun."""
    keep = [t for t in tagged if t.verbs and t.nouns]
    nouns = pd.DataFrame([(i, n) for i, t in enumerate(keep) for n in t.nouns], columns=["pidx", "noun"])
    verbs = pd.DataFrame([(i, v) for i, t in enumerate(keep) for v in t.verbs], columns=["pidx", "verb"])
    return nouns.drop_duplicates(ignore_index=True), verbs.drop_duplicates(ignore_index=True)


def first_verb_hit(
    nouns: pd.DataFrame,
    verbs: pd.DataFrame,
    cooc: pd.DataFrame,
    noun_weighting: str,
    verb_weighting: str,
    temperature: float,
    candidate_verbs: int,
) -> tuple[float, float]:
    """(mean P(first drawn verb is a true verb), share of sentences whose nouns propose any verb)."""
    n = int(nouns["pidx"].max()) + 1
    codes, labels = pd.factorize(nouns["noun"])
    pidx, code, weight, names = verb_weight_codes(
        nouns["pidx"].to_numpy(),
        codes,
        np.ones(len(nouns)),
        np.asarray(labels, dtype=object),
        cooc,
        temperature,
        noun_weighting,
        verb_weighting,
        candidate_verbs,
    )
    n_names = max(len(names), 1)
    true_code = pd.Index(names).get_indexer(verbs["verb"])
    known = true_code >= 0
    true_keys = verbs["pidx"].to_numpy()[known] * n_names + true_code[known]
    hit = np.isin(pidx * n_names + code, true_keys)
    total = np.bincount(pidx, weights=weight, minlength=n)
    good = np.bincount(pidx[hit], weights=weight[hit], minlength=n)
    p = np.divide(good, total, out=np.zeros(n), where=total > 0)
    return float(p.mean()), float((total > 0).mean())


def run(rule: str, corpora: list[str], sample: int | None, processes: int, caps: list[int | None]) -> None:
    section = {**defaults("corpus"), "simplify": rule}
    cfg = default(CorpusConfig, "corpus", simplify=rule)
    t0 = time.perf_counter()
    test = read_annotations(TEST)["sentence"].astype(str).tolist()
    nouns, verbs = truth(Tagger.from_config(section, processes).tag(test))
    n_eval = int(nouns["pidx"].nunique())
    print(
        f"\n## simplify: {rule}  ({n_eval} of {len(test)} test sentences have a verb and a noun; "
        f"tagged in {time.perf_counter() - t0:.1f} s)"
    )
    for name in corpora:
        sentences = read_sentences(CORPORA[name])
        if sample and sample < len(sentences):
            pick = np.random.default_rng(0).choice(len(sentences), sample, replace=False)
            sentences = [sentences[i] for i in np.sort(pick)]
        t0 = time.perf_counter()
        _, cooc, summary = corpus_statistics(sentences, cfg, processes)
        seconds = time.perf_counter() - t0
        print(
            f"\n### corpus: {name} ({len(sentences)} sentences, {summary['verbs']} verbs, "
            f"{summary['pairs']} pairs; statistics in {seconds:.1f} s)"
        )
        for cap in caps:
            rows = {s: first_verb_hit(nouns, verbs, cooc, *s, cap) for s in SAMPLERS}
            peer = rows[PEER][0]
            print(f"\ncandidate_verbs: {cap if cap else 'all'}\n")
            print(
                "| noun_weighting | verb_weighting | temperature | P(first verb true) | ratio to peer | coverage |"
            )
            print("|---|---|---|---|---|---|")
            for (nw, vw, t), (p, cover) in rows.items():
                tag = " (peer: the paper)" if (nw, vw, t) == PEER else ""
                print(f"| {nw} | {vw} | {t:g} | {p:.3f}{tag} | {p / peer:.2f} | {cover:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", nargs="+", choices=sorted(CORPORA), default=["charades", "activitynet"])
    parser.add_argument("--simplify", nargs="+", choices=["psvl", "content"], default=["psvl"])
    parser.add_argument("--sample", type=int, default=None, help="a seeded sample of N corpus sentences")
    parser.add_argument("--processes", type=int, default=2, help="tagger processes")
    parser.add_argument(
        "--candidate-verbs",
        nargs="+",
        type=int,
        default=[int(defaults("pseudo_queries")["candidate_verbs"])],
        help="verbs each noun proposes (default: the pseudo_queries section's); 0 = all",
    )
    args = parser.parse_args()
    logging.getLogger("psvl.datasets").setLevel(logging.ERROR)  # durations are not needed here
    start = time.perf_counter()
    for rule in args.simplify:
        run(rule, args.corpora, args.sample, args.processes, [c or None for c in args.candidate_verbs])
    print(f"\ntotal {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
