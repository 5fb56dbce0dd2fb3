"""Test-query simplification against PSVL's own: exact token-list match and token F1 with the released
simplified Charades-STA test queries, for each rule set (`corpus.simplify`), in one run.

The released file is not part of this repository (no license); point `--reference` at a copy of the
public gistvision/PSVL repository (or at the file itself):

    python -m experiments.simplify_psvl --reference /path/to/PSVL
    # annotations/charades/charades_sta_test_pos_original_simple_sent.json: [{sentence, tokens, ...}]
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

from psvl.language.tagger import SIMPLIFY, Tagger

RELEASED = "annotations/charades/charades_sta_test_pos_original_simple_sent.json"


def token_f1(ours: list[str], theirs: list[str]) -> float:
    common = sum((Counter(ours) & Counter(theirs)).values())
    if not ours and not theirs:
        return 1.0
    if not common:
        return 0.0
    p, r = common / len(ours), common / len(theirs)
    return 2 * p * r / (p + r)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reference", required=True, help="a gistvision/PSVL checkout, or the released json")
    args = ap.parse_args()
    path = Path(args.reference)
    path = path / RELEASED if path.is_dir() else path
    records = json.loads(path.read_text(encoding="utf-8"))
    sentences = [r["sentence"] for r in records]
    theirs = [list(r["tokens"]) for r in records]
    print(f"{len(records)} released simplified queries from {path}")
    for rule in SIMPLIFY:
        start = time.perf_counter()
        ours = Tagger(simplify=rule).simplify(sentences)
        took = time.perf_counter() - start
        exact = sum(a == b for a, b in zip(ours, theirs))
        same_bag = sum(sorted(a) == sorted(b) for a, b in zip(ours, theirs))
        f1 = sum(token_f1(a, b) for a, b in zip(ours, theirs)) / len(records)
        print(
            f"simplify={rule:<8} exact {exact / len(records):.3f} ({exact}/{len(records)})  "
            f"same tokens in any order {same_bag / len(records):.3f}  token F1 {f1:.3f}  ({took:.1f} s)"
        )


if __name__ == "__main__":
    main()
