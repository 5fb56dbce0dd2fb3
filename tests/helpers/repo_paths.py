"""Where the repository, its test data and the real annotation files are, for every tests/<area>/ folder
(a test's own `__file__` depends on how deep its folder is; these do not)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TEST_DATA = REPO / "tests" / "data"
SHARED_DATA = REPO.parent / "shared" / "data"  # real annotations, beside the repository (not in it)
