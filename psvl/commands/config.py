"""`psvl config --out config.effective.yaml`: the validated config of a run (the user's files, the dataset
kind's preset and the schema's defaults, merged) as YAML, so a reader sees every setting a run used."""

from __future__ import annotations

import argparse

import yaml

from psvl.commands._common import add_config_arguments, load_config
from psvl.core.artifacts import write_text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", help="YAML file to write (default: print)")
    add_config_arguments(parser)


def run(args: argparse.Namespace) -> int:
    text = yaml.safe_dump(load_config(args), sort_keys=False, allow_unicode=True)
    if args.out:
        write_text(text, args.out)
    else:
        print(text, end="")
    return 0
