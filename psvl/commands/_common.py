"""Arguments every stage command shares: the config file and `--set` overrides."""

from __future__ import annotations

import argparse

from psvl import config


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="YAML config (defaults fill the rest)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key (dotted, YAML value); `section={json}` replaces a whole section",
    )


def load_config(args: argparse.Namespace) -> dict:
    """The validated config (defaults filled) that `--config` and `--set` describe."""
    return config.load(args.config, args.overrides)
