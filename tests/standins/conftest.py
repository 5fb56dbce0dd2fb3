"""The real Charades timelines and class names, read once for the stand-ins' tests (skipped, with the
reason, where ../shared/data is absent)."""

from __future__ import annotations

import pytest

from psvl.standins.classes import read_classes
from psvl.standins.timelines import read_timelines


@pytest.fixture(scope="session")
def timelines(shared_data):
    return read_timelines(shared_data / "charades-sta/charades.json")


@pytest.fixture(scope="session")
def classes(shared_data):
    return read_classes(shared_data / "charades-sta/Charades_v1_classes.txt")
