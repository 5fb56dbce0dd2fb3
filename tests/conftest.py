"""Shared fixtures. Areas keep their own fixtures in their test modules; only cross-area ones live here.

Layout: tests/<area>/test_*.py mirrors psvl's packages (core, config, cli, datasets, frames, synth,
language, detection, features, proposals, localization, evaluation), plus package/ (layering, generated
docs), workflow/ (Snakemake and SLURM runs), benchmarks/ and experiments/ (those folders' scripts).
Helpers shared across areas live in tests/helpers/, which pyproject's `pythonpath` puts on sys.path, so
every folder imports them by plain name (`from model_fixtures import TINY`); a test module never imports
another test module. The folders have no __init__.py: pytest's default "prepend" import mode then needs
every test file's basename to be unique across tests/ (a duplicate fails collection with "import file
mismatch"), which the area prefixes in the names give for free. A package layout (tests/__init__.py and
one per folder) would lift that rule, but it would turn every helper import into `tests.helpers...` and
make the area folders importable as `tests.datasets` etc.; unique names are the cheaper rule to keep.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from repo_paths import REPO, SHARED_DATA

os.environ.setdefault("PSVL_QUIET", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real annotation files not found at {SHARED_DATA} (the shared/ folder beside the repo)")
    return SHARED_DATA
