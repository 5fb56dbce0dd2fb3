"""How the experiment drivers run things: the workflow into a results root of its own, and psvl commands
whose output goes to a log that a failure names.

Every driver runs `snakemake` with the base config plus an overlay file (the run's `results` root and its
own settings: Snakemake's `--config` would read nested values as strings), so the same helpers serve the
seed, ablation and oracle runs alike.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def write_overlay(path: Path, overlay: dict) -> Path:
    """Write an overlay config file (parents made) and return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(overlay, sort_keys=False))
    return path


def snakemake_command(configfiles: list[Path], cores: int, *extra: str) -> list[str]:
    """`snakemake --cores N --configfile BASE OVERLAY ...` in this interpreter (so its packages are used)."""
    cmd = [sys.executable, "-m", "snakemake", "--cores", str(cores), "--configfile"]
    return [*cmd, *map(str, configfiles), *extra]


def run_logged(cmd: list[str], log: Path, cwd: Path | None = None) -> None:
    """Run `cmd` (in `cwd`, default the current folder) with its output in `log`; exit naming the command
    and the log when it fails."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as fh:
        done = subprocess.run(cmd, check=False, cwd=cwd, stdout=fh, stderr=subprocess.STDOUT)
    if done.returncode:
        sys.exit(f"{' '.join(cmd)} failed (exit {done.returncode}); see {log}")
