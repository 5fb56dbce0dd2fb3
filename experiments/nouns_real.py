"""Noun weighting on PSVL's released Charades pseudo-labels: which nouns drive the verb sampler with
`noun_weighting: uniform` (the paper) and with `idf`.

    python -m experiments.nouns_real [--top 10]

Each of the 12 523 released pseudo-queries (psvl-reference/charades_train_pseudo_supervision_TEP_PS.json,
tokens = 3 verbs then 5 nouns) is one proposal whose nouns are its 5 nouns. A noun's factor on its verb
term is `psvl.language.verbs.noun_shares` (the function `compose` uses): 1 each for `uniform`, its idf
over the proposals for `idf`. Normalised within each proposal, that is the noun's share of the proposal's
say in the verbs; summed over proposals and divided by their number, the share of all verb-sampling mass
each noun holds. Prints the top nouns by that mass under each weighting, and the df (proposals holding
the noun). `detection` needs detection scores, which the release does not carry.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from psvl.language.verbs import noun_shares

DATA = Path(os.environ.get("PSVL_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
RELEASE = DATA / "psvl-reference" / "charades_train_pseudo_supervision_TEP_PS.json"


def noun_rows(path: Path = RELEASE) -> pd.DataFrame:
    """pidx, noun: the distinct nouns (tokens after the 3 verbs) of each released pseudo-query."""
    labels = json.loads(path.read_text(encoding="utf-8"))
    rows = [(i, n) for i, q in enumerate(labels) for n in q["tokens"][3:]]
    return pd.DataFrame(rows, columns=["pidx", "noun"]).drop_duplicates(ignore_index=True)


def noun_mass(nouns: pd.DataFrame, noun_weighting: str) -> pd.Series:
    """Each noun's share (sums to 1) of the verb-sampling mass over all proposals."""
    pidx = nouns["pidx"].to_numpy()
    codes, labels = pd.factorize(nouns["noun"])
    share = noun_shares(pidx, codes, np.ones(len(nouns)), noun_weighting)
    share = share / np.bincount(pidx, weights=share)[pidx]  # each proposal's nouns sum to 1
    mass = np.bincount(codes, weights=share) / np.unique(pidx).size
    return pd.Series(mass, index=labels).sort_values(ascending=False, kind="stable")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args()
    nouns = noun_rows()
    df = nouns["noun"].value_counts()
    n = nouns["pidx"].nunique()
    before, after = noun_mass(nouns, "uniform"), noun_mass(nouns, "idf")
    print(f"{n} pseudo-queries, {len(df)} distinct nouns, {len(nouns) / n:.2f} nouns each\n")
    print("| rank | uniform (the paper): noun, share of mass, df | idf: noun, share of mass, df |")
    print("|---|---|---|")
    for r in range(args.top):
        a, b = before.index[r], after.index[r]
        print(
            f"| {r + 1} | {a} {100 * before[a]:.1f}% ({df[a] / n:.0%}) "
            f"| {b} {100 * after[b]:.1f}% ({df[b] / n:.0%}) |"
        )
    top = list(before.index[: args.top])
    print(
        f"\nthe uniform top {args.top} ({', '.join(top[:4])}, ...) hold {100 * before[top].sum():.1f}% of the "
        f"mass uniform, {100 * after[top].sum():.1f}% with idf"
    )
    for noun in top[:4]:
        print(f"  {noun}: {100 * before[noun]:.2f}% -> {100 * after[noun]:.2f}%")
    for name, mass in (("uniform", before), ("idf", after)):
        print(
            f"effective number of nouns (exp entropy of the mass), {name}: {np.exp(-(mass * np.log(mass)).sum()):.1f}"
        )
    common = df[df >= 0.01 * n].index  # nouns in >= 1% of the pseudo-queries
    gain = (after[common] / before[common]).sort_values(ascending=False)
    print(
        "largest gains among nouns in >= 1% of the queries: "
        + ", ".join(f"{w} {100 * before[w]:.2f}% -> {100 * after[w]:.2f}%" for w in gain.index[:5])
    )


if __name__ == "__main__":
    main()
