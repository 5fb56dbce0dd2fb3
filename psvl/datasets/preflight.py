"""The dataset's own files, checked when the workflow is parsed: an unusable corpus stops the run before
its first job (a missing file would otherwise surface as Snakemake's "Missing input files", an empty one
only when the corpus job fails minutes in)."""

from __future__ import annotations

from pathlib import Path

from psvl.core.errors import ConfigError

SNIFF_BYTES = 1 << 20
"""How much of a corpus is read to see it has any text (corpora run to gigabytes)."""


def check_corpus(path: str | None, key: str = "config.dataset.corpus") -> None:
    """Raise a one-line ConfigError naming `key` and the file when the corpus is missing or holds no text."""
    if not path:
        raise ConfigError(f"{key}: no corpus file given (one sentence per line, or an annotation file)")
    file = Path(path).expanduser()
    if not file.is_file():
        what = "is a folder, not a file" if file.is_dir() else "does not exist"
        raise ConfigError(f"{key}: {path} {what} (one sentence per line, or an annotation file)")
    with open(file, "rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if not head.strip():
        raise ConfigError(f"{key}: {path} is empty (no sentence to learn verbs from)")
