"""The `psvl` program as a shell user meets it: old command names still work, a closed pipe ends it quietly."""

from __future__ import annotations

import shutil
import subprocess

import pandas as pd
import pytest

from psvl.cli import ALIASES, COMMANDS, main
from psvl.core.artifacts import write_table


def test_every_old_command_name_runs_its_new_command(capsys):
    assert set(ALIASES.values()) <= set(COMMANDS)
    assert main(["simplify", "--text", "a person opens the door."]) == 0
    assert capsys.readouterr().out.split() == ["open", "person", "door"]


@pytest.mark.skipif(shutil.which("psvl") is None, reason="the psvl script is not on PATH")
def test_a_closed_pipe_ends_inspect_quietly(tmp_path):
    rows = pd.DataFrame(
        {"video_id": [f"v{i}" for i in range(2000)], "path": "x.mp4", "split": "train", "shard": 0}
    )
    path = write_table("manifest", rows, tmp_path / "manifest.parquet", stage="test")
    for _ in range(5):  # the race between head closing and psvl writing differs per try
        out = subprocess.run(
            f"psvl inspect -n 2000 '{path}' | head -1",
            shell=True,
            capture_output=True,
            text=True,
            check=False,
        )
        assert out.stderr == "", out.stderr
        assert out.stdout.startswith(str(path))
