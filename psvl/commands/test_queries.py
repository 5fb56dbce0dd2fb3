"""`psvl test-queries --annotations A --split test --out test_queries.parquet`: test sentences -> verb and noun
lemmas; or `psvl test-queries --text "a person is riding a horse."` to print one simplification."""

from __future__ import annotations

import argparse
import logging

from psvl.commands._common import add_config_arguments, load_config
from psvl.language.simplify import read_any_annotations, simplify_annotations, write_test_queries
from psvl.language.tagger import Tagger

log = logging.getLogger("psvl.test_queries")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--annotations", help="annotation file in any supported format")
    src.add_argument("--text", action="append", help="a sentence to simplify and print (repeatable)")
    parser.add_argument("--split", default="test", help="annotation split to keep; `all` keeps every row")
    parser.add_argument(
        "--durations", help="durations for Charades-STA txt (charades.json or video_id,duration_s CSV)"
    )
    parser.add_argument("--out", help="test_queries.parquet to write (with --annotations)")
    add_config_arguments(parser)


def run(args: argparse.Namespace) -> int:
    tagger = Tagger.from_config(load_config(args)["corpus"])
    if args.text:
        for tokens in tagger.simplify(args.text):
            print(" ".join(tokens))
        return 0
    if not args.out:
        raise SystemExit("psvl test-queries: --annotations needs --out")
    annotations = read_any_annotations(args.annotations, args.durations)
    table = simplify_annotations(annotations, tagger, args.split)
    write_test_queries(table, args.out, tagger, str(args.annotations), args.split)
    log.info("%d test queries written to %s", table.num_rows, args.out)
    return 0
