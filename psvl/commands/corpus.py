"""`psvl corpus --corpus FILE --out-dir R/corpus`: noun-verb statistics of an unpaired text corpus.

FILE is a text file (one sentence per line) or any supported annotation file (its sentences only).
Writes vocab.parquet, cooccurrence.parquet, summary.json and top_verbs.png into --out-dir.
"""

from __future__ import annotations

import argparse
import logging

from psvl.commands._common import add_config_arguments, load_config
from psvl.config import build
from psvl.language.corpus import CorpusConfig, corpus_statistics, read_sentences, write_outputs

log = logging.getLogger("psvl.corpus")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--corpus", required=True, help="corpus: .txt (one sentence per line) or an annotation file"
    )
    parser.add_argument(
        "--out-dir", required=True, help="folder for vocab/cooccurrence Parquet, summary, plot"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="tagger processes (default: corpus.n_process; 0 = all cores)",
    )
    add_config_arguments(parser)


def run(args: argparse.Namespace) -> int:
    cfg = build(CorpusConfig, load_config(args)["corpus"])
    sentences = read_sentences(args.corpus)
    log.info("%d lines read from %s", len(sentences), args.corpus)
    vocab, cooc, summary = corpus_statistics(sentences, cfg, args.threads)
    write_outputs(vocab, cooc, summary, args.out_dir, cfg, str(args.corpus))
    log.info(
        "%d sentences, %d nouns, %d verbs, %d noun-verb pairs (%.0f sentences/s)",
        summary["sentences"],
        summary["nouns"],
        summary["verbs"],
        summary["pairs"],
        summary["sentences_per_second"] or 0,
    )
    return 0
