"""How the stage benchmarks time things, in one place so every printed median and ratio means the same.

`timed` is the median of wall and CPU seconds over repeats of a callable; `dry_run` times one
`snakemake -n` over the workflow (the planning cost a scheduler pays). CPU seconds count this process
and, by default, its finished children (worker processes, subprocesses): on a shared machine the CPU
figure is the steadier one, since waiting for a core does not count.
"""

from __future__ import annotations

import re
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Timing:
    """Median wall and CPU seconds (each divided by `per`) and the last call's result."""

    wall: float
    cpu: float
    result: object = None


def cpu_seconds(children: bool = True) -> float:
    """User + system seconds of this process (all threads) and, with `children`, of its joined children."""
    who = [resource.RUSAGE_SELF, *([resource.RUSAGE_CHILDREN] if children else [])]
    return sum(u.ru_utime + u.ru_stime for u in map(resource.getrusage, who))


def timed(
    fn: Callable[[], object],
    repeats: int = 1,
    *,
    per: float = 1.0,
    warmup: int = 0,
    sync: Callable[[], None] | None = None,
    children: bool = True,
) -> Timing:
    """Median seconds of `repeats` calls of `fn` (after `warmup` untimed calls), divided by `per` (e.g.
    the videos or frames a call handles). `sync` runs before each clock read (a CUDA synchronize)."""
    sync = sync or (lambda: None)
    result = None
    for _ in range(warmup):
        result = fn()
    sync()
    walls, cpus = [], []
    for _ in range(repeats):
        c0, w0 = cpu_seconds(children), time.perf_counter()
        result = fn()
        sync()
        walls.append((time.perf_counter() - w0) / per)
        cpus.append((cpu_seconds(children) - c0) / per)
    return Timing(statistics.median(walls), statistics.median(cpus), result)


@dataclass(frozen=True)
class DryRun:
    """One `snakemake -n`: the jobs it planned, wall seconds, CPU seconds of the snakemake process."""

    jobs: int
    wall: float
    cpu: float


def dry_run(
    workdir: Path, configfile: Path, env: Mapping[str, str] | None = None, repo: Path = REPO
) -> DryRun:
    """Plan the workflow (`repo`'s Snakefile: this checkout, or another one such as a base commit's)
    for `configfile` in `workdir` with `snakemake -n`; exits with snakemake's output tail when planning
    fails. `env` must put `repo` on PYTHONPATH when it is not this checkout."""
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(repo / "Snakefile"), "--directory",
           str(workdir), "--configfile", str(configfile), "-n", "--quiet", "rules"]  # fmt: skip
    c0, w0 = _children_cpu(), time.perf_counter()
    proc = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, check=False)
    wall, cpu = time.perf_counter() - w0, _children_cpu() - c0
    if proc.returncode:
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    totals = re.findall(r"^total\s+(\d+)\s*$", proc.stdout + proc.stderr, re.MULTILINE)
    return DryRun(int(totals[-1]) if totals else 0, wall, cpu)


def _children_cpu() -> float:
    u = resource.getrusage(resource.RUSAGE_CHILDREN)
    return u.ru_utime + u.ru_stime
