"""Arguments every stage command shares: the config file and `--set` overrides."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

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


def user_set(args: argparse.Namespace, *keys: str) -> bool:
    """Whether the user's own --config file or --set overrides give config key `keys` (e.g. "predict",
    "video_classes"), as opposed to a default or the dataset's preset: a note about a setting that does
    nothing is worth logging only when the user asked for it."""
    node = config.user_layer(getattr(args, "config", None), getattr(args, "overrides", None))
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            return False
        node = node[key]
    return True


def shard_name(args: argparse.Namespace, path: str | os.PathLike | None = None) -> str:
    """The shard a command worked on, for its closing line: --shard, else the stem of the shard's list
    (--manifest shards/00003.tsv) or of `path` (a shard's Parquet file)."""
    if getattr(args, "shard", None):
        return str(args.shard)
    source = getattr(args, "manifest", None) or path
    if isinstance(source, (list, tuple)):
        source = source[0] if len(source) == 1 else None
    return Path(source).stem if source else "(by hand)"
