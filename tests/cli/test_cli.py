"""The `psvl` program as a shell user meets it: old command names still work, a closed pipe ends it quietly."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pandas as pd
import pytest

from psvl.cli import ALIASES, COMMANDS, main, user_error
from psvl.core.artifacts import write_table
from psvl.core.errors import (
    ArtifactError,
    ConfigError,
    DetectorError,
    FormatError,
    VideoError,
    WeightsError,
)


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


def test_help_imports_no_heavy_library():
    code = (
        "import sys; from psvl.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('torch', 'pandas', 'pyarrow', 'numpy', 'av') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines()[-1] == "[]"


@pytest.mark.parametrize(
    "kind", [ConfigError, DetectorError, FormatError, ArtifactError, VideoError, WeightsError]
)
def test_every_user_error_is_one_line_and_a_bug_is_not(kind):
    assert user_error(kind("x"))
    assert user_error(FileNotFoundError("x"))
    assert not user_error(KeyError("x"))
