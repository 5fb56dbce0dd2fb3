"""`psvl <stage>`: one subcommand per stage. Command modules are imported only when run, so
`psvl --help` stays fast (no torch import)."""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys
import traceback

from psvl import __version__
from psvl.core import console, errors, jobs

# name -> (module under psvl.commands, one-line help). Order is the order of the workflow.
COMMANDS: dict[str, tuple[str, str]] = {
    "synth": ("synth", "write the synthetic world: videos, corpus, test annotations, box labels"),
    "annotations": ("annotations", "read a dataset's annotation file(s) into annotations.parquet"),
    "plan": ("plan", "which shards a rerun adds, rewrites or keeps, and why"),
    "shards": ("shards", "write one shard's video list (stable shards: new videos go to new shards)"),
    "manifest": ("manifest", "list a dataset's videos into manifest.parquet, split into shards"),
    "convert": (
        "convert",
        "convert annotations between Charades-STA txt, ActivityNet json, JSONL, PSVL json",
    ),
    "standins": ("standins", "stand-in features and detections of a shard from Charades action timelines"),
    "eval-standins": ("eval_standins", "per-frame mAP and detection calibration of the stand-ins"),
    "frames": ("frames", "decode and sample frames of one shard into frames/{shard}.parquet"),
    "features": ("features", "one feature vector per temporal segment into features/{shard}.parquet"),
    "object-features": (
        "object_features",
        "per segment, each detector class's score and box motion (model.visual_input: objects)",
    ),
    "train-detector": ("train_detector", "fine-tune a torchvision detector on labeled frames"),
    "detect": ("detect", "run an object detector over a shard's frames"),
    "proposals": ("proposals", "temporal event proposals (k-means TEP, random or sliding)"),
    "eval-proposals": ("eval_proposals", "recall of true moments by proposals, with baselines"),
    "corpus": ("corpus", "noun-verb statistics of an unpaired text corpus"),
    "pseudo-queries": (
        "pseudo_queries",
        "compose pseudo-queries from proposals, detections and corpus statistics",
    ),
    "eval-pseudo-queries": ("eval_pseudo_queries", "how often pseudo-queries name the true verb/object"),
    "export-psvl": ("export_psvl", "write pseudo_queries.parquet as PSVL's pseudo-label JSON"),
    "test-queries": ("test_queries", "simplify test sentences to verb and noun lemmas"),
    "train": ("train", "train the localization model on pseudo-queries"),
    "evaluate": ("evaluate", "R@IoU and mIoU of predictions against annotations, with prior baselines"),
    "predict": ("predict", "localize a query in one video with a trained model"),
    "ground": ("ground", "localize test queries by the classifier classes they name (no training)"),
    "plot": ("plot", "figures for the run report"),
    "stats": ("stats", "per-stage counts for the run report"),
    "config": ("config", "print or write the effective config (files, dataset preset, defaults)"),
    "inspect": ("inspect", "print an artifact's schema, metadata, row count and first rows"),
}


def user_error(exc: BaseException) -> bool:
    """Whether `exc` is a user error (psvl.core.errors) or a FileNotFoundError (a path the user gave)."""
    return isinstance(exc, (FileNotFoundError, *errors.USER_ERRORS))


def one_line(command: str, exc: BaseException) -> str:
    """`psvl <command>: <message>` on one line (a message's own `psvl <command>:` prefix is not doubled)."""
    text = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip()) or type(exc).__name__
    prefix = f"psvl {command}:"
    return text if text.startswith(prefix) else f"{prefix} {text}"


# Old command names, kept for one release (0.2) so scripts written against 0.1 keep working.
ALIASES: dict[str, str] = {"propose": "proposals", "compose": "pseudo-queries", "simplify": "test-queries"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="psvl", description="Zero-shot video localization (PSVL): one subcommand per stage."
    )
    parser.add_argument("--version", action="version", version=f"psvl {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument(
        "--job",
        nargs=2,
        metavar=("ATTEMPT", "LOG"),
        help="run as attempt ATTEMPT of a workflow job logging to LOG: a permanent error (exit 2) is not "
        "retried (psvl.core.jobs); the closing line also goes to file descriptor 3 (the console)",
    )
    sub = parser.add_subparsers(dest="command", metavar="<stage>")
    for name, (_, help_text) in COMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    for old, new in ALIASES.items():
        sub.add_parser(old, help=f"old name of `psvl {new}` (removed in 0.3)", add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    as_program = argv is None
    if as_program and hasattr(signal, "SIGPIPE"):
        # Run as a program: like any Unix tool, end quietly when the reader goes away
        # (`psvl inspect X | head -3`). Not when called in-process (tests), whose pipes are not ours.
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    # Split off the global options, then hand the rest to the command's own parser.
    known, rest = parser.parse_known_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if known.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not known.command:
        parser.print_help()
        return 2
    name = ALIASES.get(known.command, known.command)
    if known.job is None:
        return _run(name, known, rest)[0]
    attempt, log_file = int(known.job[0]), known.job[1]
    if as_program:  # fd 3 is the rule's `3>&2`; in-process callers' descriptors are not ours to write
        console.attach(3)
    stop = jobs.refuse_retry(log_file, attempt)
    if stop:
        print(f"psvl {known.command}: {stop}", file=sys.stderr)
        return jobs.PERMANENT
    status, message = _run(name, known, rest)
    jobs.record(log_file, status, message)
    if status == jobs.PERMANENT and message:  # a user error: its one line on the console too
        console.show(message)
    return status


def _run(name: str, known: argparse.Namespace, rest: list[str]) -> tuple[int, str]:
    """Run command `name`: its exit status and, for a user error, the one line printed."""
    module_name, help_text = COMMANDS[name]
    module = importlib.import_module(f"psvl.commands.{module_name}")
    cmd_parser = argparse.ArgumentParser(prog=f"psvl {name}", description=help_text)
    module.add_arguments(cmd_parser)
    try:
        args = cmd_parser.parse_args(rest[1:] if rest and rest[0] == known.command else rest)
    except SystemExit as exc:  # argparse printed its usage error (or --help): its code says which
        return (exc.code if isinstance(exc.code, int) else 2), f"psvl {name}: bad arguments (see usage)"
    try:
        return int(module.run(args) or 0), ""
    except Exception as exc:
        if not user_error(exc):
            raise  # a bug: keep its traceback
        if known.verbose:
            traceback.print_exc()
        message = one_line(known.command, exc)
        print(message, file=sys.stderr)
        return 2, message


if __name__ == "__main__":
    sys.exit(main())
