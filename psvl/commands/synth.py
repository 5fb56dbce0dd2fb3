"""`psvl synth --out DIR [--videos N] [--seed S]`: write the synthetic world (see psvl.synth.world_writer)."""

from __future__ import annotations

import argparse

from psvl.commands._common import add_config_arguments, load_config
from psvl.synth.world_writer import generate


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, metavar="DIR", help="folder to write the world into")
    parser.add_argument(
        "--videos", type=int, metavar="N", help="number of videos (overrides synthetic.videos)"
    )
    parser.add_argument("--seed", type=int, metavar="S", help="seed (overrides synthetic.seed)")
    add_config_arguments(parser)


def run(args: argparse.Namespace) -> int:
    section = dict(load_config(args)["synthetic"])
    if args.videos is not None:
        section["videos"] = args.videos
    if args.seed is not None:
        section["seed"] = args.seed
    generate(args.out, **section)
    return 0
