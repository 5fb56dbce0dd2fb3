"""Corpus statistics: noun-verb co-occurrence of an unpaired text corpus, and P(verb | noun) from it.

Pseudo-query verbs are sampled from P(v | n) (see psvl.language.pseudo_queries), so this stage decides which actions
the model ever hears about. Counting is per sentence: a (noun, verb) pair counts once per sentence that
holds both, however often either repeats in it. Smoothing is additive over the corpus verb vocabulary V:

    P(v | n) = (count(n, v) + alpha) / (sum_v' count(n, v') + alpha * |V|)

Only observed pairs are stored (a dense noun x verb table would be mostly the smoothing floor); the floor of
an unobserved pair is alpha / (sum_v' count(n, v') + alpha * |V|), and |V| is in the file's metadata.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from psvl.core.artifacts import write_json, write_table
from psvl.datasets import read_annotations
from psvl.language.tagger import Tagged, Tagger

log = logging.getLogger(__name__)

TEXT_SUFFIXES = {".txt", ".text", ".csv", ".tsv", ""}


@dataclass
class CorpusConfig:
    """The `corpus` config section (fields only; the defaults live in the config schema)."""

    model: str
    alpha: float
    simplify: str
    stop_verbs: list[str]
    batch_size: int
    n_process: int
    plot_nouns: int
    plot_verbs: int

    def tagger(self, n_process: int | None = None) -> Tagger:
        return Tagger.from_config(self.__dict__, n_process)


def read_sentences(path: str | Path) -> list[str]:
    """Sentences of a corpus file: a text file (one per line), or any annotation file (timestamps unused).

    Text is read as UTF-8 with undecodable bytes replaced, so one bad line never stops the stage.
    """
    path = Path(path)
    if path.suffix.lower() in TEXT_SUFFIXES and not _is_charades_txt(path):
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    return read_annotations(path)["sentence"].astype(str).tolist()


def _is_charades_txt(path: Path) -> bool:
    """A Charades-STA annotation file (`vid start end##sentence`) passed as a corpus: use its sentences."""
    if path.suffix.lower() != ".txt":
        return False
    with path.open(encoding="utf-8", errors="replace") as fh:
        head = [line for _, line in zip(range(5), fh) if line.strip()]
    return bool(head) and all("##" in line for line in head)


def long_table(tagged: list[Tagged]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(sentence, lemma) frames of the verbs and of the nouns of every tagged sentence."""

    def frame(attr: str) -> pd.DataFrame:
        rows = [(i, w) for i, t in enumerate(tagged) for w in getattr(t, attr)]
        return pd.DataFrame(rows, columns=["sentence", "lemma"]).astype({"sentence": "int64", "lemma": "str"})

    return frame("verbs"), frame("nouns")


def count_vocab(verbs: pd.DataFrame, nouns: pd.DataFrame) -> pd.DataFrame:
    """lemma, pos, count: every verb and noun lemma with its token count, most frequent first."""
    parts = [
        df["lemma"].value_counts().rename_axis("lemma").reset_index(name="count").assign(pos=pos)
        for df, pos in ((verbs, "VERB"), (nouns, "NOUN"))
    ]
    vocab = pd.concat(parts, ignore_index=True)[["lemma", "pos", "count"]]
    return vocab.sort_values(["count", "pos", "lemma"], ascending=[False, True, True], ignore_index=True)


def count_cooccurrence(verbs: pd.DataFrame, nouns: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """noun, verb, count (sentences holding both), p_verb_given_noun (additively smoothed over verbs)."""
    pairs = nouns.drop_duplicates().merge(verbs.drop_duplicates(), on="sentence", suffixes=("_n", "_v"))
    cooc = pairs.groupby(["lemma_n", "lemma_v"], sort=False).size().reset_index(name="count")
    cooc = cooc.rename(columns={"lemma_n": "noun", "lemma_v": "verb"})
    n_verbs = verbs["lemma"].nunique()
    total = cooc.groupby("noun")["count"].transform("sum")
    denom = total + alpha * n_verbs
    cooc["p_verb_given_noun"] = (cooc["count"] + alpha) / denom.where(denom > 0, 1.0)
    return cooc.sort_values(["noun", "count", "verb"], ascending=[True, False, True], ignore_index=True)


def summarize(
    tagged: list[Tagged],
    vocab: pd.DataFrame,
    cooc: pd.DataFrame,
    cfg: CorpusConfig,
    seconds: float,
    top: int = 20,
) -> dict:
    """The numbers a user checks first: how much text, how many distinct nouns/verbs, the top pairs."""
    n_sentences = sum(1 for t in tagged if t.n_tokens)
    nouns = vocab[vocab["pos"] == "NOUN"]
    verbs = vocab[vocab["pos"] == "VERB"]
    top_pairs = cooc.sort_values(["count", "noun", "verb"], ascending=[False, True, True]).head(top)
    return {
        "sentences": n_sentences,
        "empty_lines": len(tagged) - n_sentences,
        "tokens": int(sum(t.n_tokens for t in tagged)),
        "noun_tokens": int(nouns["count"].sum()),
        "verb_tokens": int(verbs["count"].sum()),
        "nouns": len(nouns),
        "verbs": len(verbs),
        "pairs": len(cooc),
        "sentences_without_verbs": sum(1 for t in tagged if t.n_tokens and not t.verbs),
        "sentences_without_nouns": sum(1 for t in tagged if t.n_tokens and not t.nouns),
        "top_nouns": [[w, int(c)] for w, c in zip(nouns["lemma"].head(top), nouns["count"].head(top))],
        "top_verbs": [[w, int(c)] for w, c in zip(verbs["lemma"].head(top), verbs["count"].head(top))],
        "top_pairs": [
            {
                "noun": r.noun,
                "verb": r.verb,
                "count": int(r.count),
                "p_verb_given_noun": round(r.p_verb_given_noun, 4),
            }
            for r in top_pairs.itertuples()
        ],
        "model": cfg.model,
        "alpha": cfg.alpha,
        "seconds": round(seconds, 3),
        "sentences_per_second": round(len(tagged) / seconds, 1) if seconds > 0 else None,
    }


def corpus_statistics(
    sentences: list[str], cfg: CorpusConfig, n_process: int | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Tag every sentence once and count: (vocab, cooccurrence, summary)."""
    start = time.perf_counter()
    tagged = cfg.tagger(n_process).tag(sentences)
    verbs, nouns = long_table(tagged)
    vocab = count_vocab(verbs, nouns)
    cooc = count_cooccurrence(verbs, nouns, cfg.alpha)
    summary = summarize(tagged, vocab, cooc, cfg, time.perf_counter() - start)
    return vocab, cooc, summary


def plot_top_verbs(
    cooc: pd.DataFrame, vocab: pd.DataFrame, path: str | Path, n_nouns: int, n_verbs: int
) -> Path:
    """One small bar chart of the top P(v | n) per most frequent noun (written atomically)."""
    import matplotlib  # lazy: importing this module (tests, benchmarks) never loads matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paired = set(cooc["noun"])
    nouns = [n for n in vocab.loc[vocab["pos"] == "NOUN", "lemma"] if n in paired][:n_nouns]
    cols = min(4, max(1, len(nouns)))
    rows = max(1, -(-len(nouns) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.4 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.set_axis_off()
    for ax, noun in zip(axes.ravel(), nouns):
        top = cooc[cooc["noun"] == noun].nlargest(n_verbs, "p_verb_given_noun").iloc[::-1]
        ax.set_axis_on()
        ax.barh(top["verb"], top["p_verb_given_noun"], color="tab:blue")
        ax.set_title(noun, fontsize=10)
        ax.set_xlim(0, 1)
        ax.tick_params(labelsize=8)
    if not nouns:
        axes[0, 0].text(0.5, 0.5, "no noun-verb pairs in the corpus", ha="center", va="center")
    fig.suptitle("P(verb | noun): top verbs of the most frequent nouns", fontsize=11)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        fig.savefig(tmp, format="png", dpi=100)
        os.replace(tmp, path)  # atomic, like every other artifact
    finally:
        plt.close(fig)
        tmp.unlink(missing_ok=True)
    return path


def write_outputs(
    vocab: pd.DataFrame,
    cooc: pd.DataFrame,
    summary: dict,
    out_dir: str | Path,
    cfg: CorpusConfig,
    source: str,
) -> dict[str, Path]:
    """vocab.parquet, cooccurrence.parquet, summary.json and top_verbs.png under `out_dir`."""
    out = Path(out_dir)
    shaping = {
        "corpus": {k: v for k, v in cfg.__dict__.items() if k not in ("n_process",)},
        "language": cfg.tagger(1).options,  # what train records in the checkpoint (psvl.language.tagger)
        "source": source,
    }
    n_verbs = int((vocab["pos"] == "VERB").sum())
    paths = {
        "vocab": write_table("vocab", vocab, out / "vocab.parquet", "corpus", shaping),
        "cooccurrence": write_table(
            "cooccurrence", cooc, out / "cooccurrence.parquet", "corpus", {**shaping, "n_verbs": n_verbs}
        ),
        "summary": write_json(summary, out / "summary.json"),
        "plot": plot_top_verbs(cooc, vocab, out / "top_verbs.png", cfg.plot_nouns, cfg.plot_verbs),
    }
    return paths
