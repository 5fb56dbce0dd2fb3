"""Run the real workflow (snakemake + the `psvl` CLI) on the tiny config in a temporary folder, and
compare what two runs wrote. Shared by the tests in tests/workflow/ (SLURM, resume, report, ...).

Every snakemake call runs under `timeout -k`: a snakemake that waits on a job that will never report
(e.g. a SLURM status query that keeps failing) ignores SIGTERM, so the test must not wait forever.
"""

from __future__ import annotations

import copy
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from importlib.util import find_spec
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml
from repo_paths import REPO

SNAKEFILE = REPO / "Snakefile"
TINY_CONFIG = REPO / "tests" / "data" / "tiny_config.yaml"
RESULTS = Path("results") / "synthetic"  # where the tiny run writes, relative to its workdir
TIMEOUT_S = 900  # a hung run fails the test instead of hanging CI


def workflow_commands() -> set[str]:
    """The `psvl <command>`s the rules call (read from workflow/rules/*.smk, so new rules count)."""
    text = "".join(p.read_text() for p in sorted((REPO / "workflow" / "rules").glob("*.smk")))
    return set(re.findall(r"\"psvl ([a-z][a-z-]*)", text))


def missing_commands(commands: Iterable[str] | None = None) -> list[str]:
    """Those of `commands` (default: all the workflow calls) whose module under psvl/commands is missing."""
    from psvl.cli import COMMANDS

    wanted = workflow_commands() if commands is None else set(commands)
    return sorted(
        c for c in wanted if c not in COMMANDS or find_spec(f"psvl.commands.{COMMANDS[c][0]}") is None
    )


def skip_unless_stages(pytest, commands: Iterable[str] | None = None) -> None:
    missing = missing_commands(commands)
    if missing:
        pytest.skip(f"waits for stage command(s) not written yet: psvl {', psvl '.join(missing)}")


# Until every stage exists, tests that run "the workflow" run the part that exists: these targets,
# stage by stage, each usable once its commands exist (and those before it).
_PARTIAL_TARGETS = (
    (("synth", "annotations", "manifest", "frames"), ("frames/00000.parquet", "frames/00001.parquet")),
    (("features",), ("features/00000.parquet", "features/00001.parquet")),
    (("proposals",), ("proposals/00000.parquet", "proposals/00001.parquet")),
    (("eval-proposals",), ("eval/proposals.json",)),
    (("corpus",), ("corpus/vocab.parquet",)),
)


def available_targets() -> tuple[str, ...]:
    """() (= the whole DAG, `rule all`) when every stage command exists; else the existing part's outputs."""
    if not missing_commands():
        return ()
    targets: list[str] = []
    for commands, outputs in _PARTIAL_TARGETS:
        if missing_commands(commands):
            break
        targets += [str(RESULTS / out) for out in outputs]
    return tuple(targets)


def tiny_config(overrides: dict | None = None) -> dict:
    """tests/data/tiny_config.yaml with `overrides` merged in (nested dicts merge key by key)."""
    cfg = yaml.safe_load(TINY_CONFIG.read_text())

    def merge(into: dict, new: dict) -> None:
        for key, value in new.items():
            if isinstance(value, dict) and isinstance(into.get(key), dict):
                merge(into[key], value)
            else:
                into[key] = copy.deepcopy(value)

    merge(cfg, overrides or {})
    return cfg


def write_config(workdir: Path, overrides: dict | None = None) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "tiny_config.yaml"
    path.write_text(yaml.safe_dump(tiny_config(overrides), sort_keys=False))
    return path


def snakemake_command(
    workdir: Path,
    targets: Iterable[str] = (),
    *,
    cores: int = 2,
    extra: Iterable[str] = (),
    timeout_s: int = TIMEOUT_S,
) -> list[str]:
    """`timeout -k 20 T python -m snakemake ...` on the repo's Snakefile, writing into `workdir`."""
    return [
        "timeout", "-k", "20", str(timeout_s),
        sys.executable, "-m", "snakemake",
        "--snakefile", str(SNAKEFILE),
        "--directory", str(workdir),
        "--configfile", str(workdir / "tiny_config.yaml"),
        "--cores", str(cores),
        "--printshellcmds",
        *extra,
        *targets,
    ]  # fmt: skip


def run_env() -> dict:
    env = dict(os.environ)
    env.setdefault("PSVL_QUIET", "1")
    env.setdefault("MPLBACKEND", "Agg")
    return env


def run_snakemake(
    workdir: Path, targets: Iterable[str] = (), *, log_name: str = "snakemake.log", check: bool = True, **kw
) -> subprocess.CompletedProcess:
    """Run snakemake to the end; its output goes to workdir/log_name (and into the error on failure)."""
    cmd = snakemake_command(workdir, targets, **kw)
    log = workdir / log_name
    with open(log, "w") as out:
        proc = subprocess.run(
            cmd, check=False, stdout=out, stderr=subprocess.STDOUT, env=run_env(), cwd=workdir
        )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"snakemake exited {proc.returncode}: {' '.join(cmd)}\n--- {log} (tail) ---\n{tail(log)}"
            f"{job_logs_tail(workdir)}"
        )
    return proc


def start_snakemake(workdir: Path, targets: Iterable[str] = (), *, log_name: str = "snakemake.log", **kw):
    """Start snakemake in its own process group (so the test can SIGKILL the whole run)."""
    cmd = snakemake_command(workdir, targets, **kw)
    with open(workdir / log_name, "w") as out:
        return subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, env=run_env(), cwd=workdir, start_new_session=True
        )


def tail(path: Path, lines: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return f"({path} missing)"


def job_logs_tail(workdir: Path, lines: int = 15) -> str:
    """The last lines of every job log (logs/...), to show why a failed run failed."""
    parts = []
    for log in sorted((workdir / "logs").rglob("*.log")) if (workdir / "logs").is_dir() else []:
        text = tail(log, lines)
        if "Error" in text or "Traceback" in text:
            parts.append(f"\n--- {log.relative_to(workdir)} ---\n{text}")
    return "".join(parts)


def descendants_matching(pid: int, pattern: str) -> list:
    """Processes under `pid` whose command line matches the regex `pattern`."""
    import psutil

    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    found = []
    for child in children:
        try:
            if re.search(pattern, " ".join(child.cmdline())):
                found.append(child)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            pass
    return found


def wait_until(condition: Callable[[], object], timeout_s: float, what: str, poll_s: float = 0.05):
    """Poll `condition` until it returns something truthy; fail the test with `what` on timeout."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(poll_s)
    raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}")


def kill_run(proc: subprocess.Popen) -> None:
    """SIGKILL snakemake and every job it started (its own process group, by id): a power cut."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=30)


def copy_run(src: Path, dst: Path) -> Path:
    """A copy of a finished run (results, logs, .snakemake metadata) with file mtimes kept."""
    shutil.copytree(src, dst, symlinks=True, copy_function=shutil.copy2)
    return dst


def share_world(reference: Path, workdir: Path) -> None:
    """Give `workdir` the reference run's synthetic world (files and mtimes), so `synth` does not run.

    Why: a comparison of two runs must compare what the stages make of the same inputs. Regenerating the
    world in each run made the comparison depend on x264: once in CI, one of three regenerations of the
    tiny world's synth_0003.mp4 came out with other bytes (encoder-side: macroblock-aligned differences
    within one GOP of identical input frames). `psvl synth` determinism has its own tests.
    """
    shutil.copytree(reference / RESULTS / "world", workdir / RESULTS / "world", copy_function=shutil.copy2)


def mtimes(workdir: Path, pattern: str) -> dict[str, int]:
    return {str(p.relative_to(workdir)): p.stat().st_mtime_ns for p in sorted(workdir.glob(pattern))}


def result_files(workdir: Path) -> list[str]:
    """Every file a run wrote under results/, relative to the workdir."""
    root = workdir / "results"
    return sorted(str(p.relative_to(workdir)) for p in root.rglob("*") if p.is_file())


# Files whose bytes legitimately differ between equal runs: pickled torch checkpoints (compared tensor
# by tensor instead) and PNG figures (the report test checks they are not blank).
_SKIP_BYTES = (".png", ".pt")
# Wall-clock measurements recorded in artifacts (train_log `seconds`, ...) differ between equal runs.
_TIMING = re.compile(r"^(seconds|.*_seconds|.*_per_second|elapsed.*|wall.*)$")


def _without_run_dir(table: pa.Table, root: Path) -> pa.Table:
    """`table` with the run's own folder removed from string columns (the manifest holds absolute paths)."""
    table = table.select([n for n in table.column_names if not _TIMING.match(n)])
    columns = []
    for column in table.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            column = pc.replace_substring(column, str(root), "<run>")
        columns.append(column)
    return pa.Table.from_arrays(columns, names=table.column_names)


def _bytes(path: Path, root: Path) -> bytes:
    return path.read_bytes().replace(bytes(root), b"<run>")


def compare_runs(a: Path, b: Path, *, rel_tol: float = 1e-6) -> list[str]:
    """Differences between two runs' results/: Parquet by content (not metadata), JSON numbers within
    `rel_tol`, torch checkpoints tensor by tensor, other files by bytes; each run's own folder name is
    ignored where a file records a path. Empty list = equal."""
    files_a, files_b = result_files(a), result_files(b)
    if not files_a or not files_b:
        return [f"nothing to compare: {a} has {len(files_a)} result files, {b} has {len(files_b)}"]
    diffs = [f"only in {a.name}: {f}" for f in sorted(set(files_a) - set(files_b))]
    diffs += [f"only in {b.name}: {f}" for f in sorted(set(files_b) - set(files_a))]
    for rel in sorted(set(files_a) & set(files_b)):
        pa_, pb_ = a / rel, b / rel
        if rel.endswith(".parquet"):
            ta = _without_run_dir(pq.read_table(pa_), a)
            tb = _without_run_dir(pq.read_table(pb_), b)
            if not ta.equals(tb):
                cols = [c for c in ta.column_names if c in tb.column_names and not ta[c].equals(tb[c])]
                diffs.append(f"{rel}: Parquet content differs ({ta.num_rows} vs {tb.num_rows} rows; {cols})")
        elif rel.endswith(".json"):
            ja = json.loads(pa_.read_text().replace(str(a), "<run>"))
            jb = json.loads(pb_.read_text().replace(str(b), "<run>"))
            why = _json_diff(ja, jb, rel_tol)
            if why:
                diffs.append(f"{rel}: {why}")
        elif rel.endswith(".pt"):
            why = _checkpoint_diff(pa_, pb_)
            if why:
                diffs.append(f"{rel}: {why}")
        elif not rel.endswith(_SKIP_BYTES) and _bytes(pa_, a) != _bytes(pb_, b):
            diffs.append(f"{rel}: bytes differ")
    return diffs


def _json_diff(x, y, rel_tol: float, where: str = "") -> str:
    if isinstance(x, dict) and isinstance(y, dict):
        if set(x) != set(y):
            return f"{where or '/'} keys {sorted(set(x) ^ set(y))} differ"
        for key in x:
            if isinstance(key, str) and _TIMING.match(key):
                continue
            why = _json_diff(x[key], y[key], rel_tol, f"{where}/{key}")
            if why:
                return why
        return ""
    if isinstance(x, list) and isinstance(y, list):
        if len(x) != len(y):
            return f"{where} lengths {len(x)} != {len(y)}"
        for i, (u, v) in enumerate(zip(x, y)):
            why = _json_diff(u, v, rel_tol, f"{where}[{i}]")
            if why:
                return why
        return ""
    if isinstance(x, float) or isinstance(y, float):
        numbers = isinstance(x, (int, float)) and isinstance(y, (int, float))
        if numbers and (
            math.isclose(x, y, rel_tol=rel_tol, abs_tol=1e-9) or (math.isnan(x) and math.isnan(y))
        ):
            return ""
        return f"{where}: {x!r} != {y!r}"
    return "" if x == y else f"{where}: {x!r} != {y!r}"


def _checkpoint_diff(a: Path, b: Path) -> str:
    import torch

    xa, xb = (
        torch.load(a, weights_only=True, map_location="cpu"),
        torch.load(b, weights_only=True, map_location="cpu"),
    )
    return _tensor_tree_diff(xa, xb, "")


def _tensor_tree_diff(x, y, where: str) -> str:
    import torch

    if isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor):
        return "" if x.shape == y.shape and torch.equal(x, y) else f"tensor {where} differs"
    if isinstance(x, dict) and isinstance(y, dict):
        if set(x) != set(y):
            return f"{where or '/'} keys differ"
        for key in x:
            if isinstance(key, str) and _TIMING.match(key):
                continue
            why = _tensor_tree_diff(x[key], y[key], f"{where}/{key}")
            if why:
                return why
        return ""
    if isinstance(x, (list, tuple)) and isinstance(y, (list, tuple)) and len(x) == len(y):
        for i, (u, v) in enumerate(zip(x, y)):
            why = _tensor_tree_diff(u, v, f"{where}[{i}]")
            if why:
                return why
        return ""
    return _json_diff(x, y, 1e-6, where) if isinstance(x, (int, float, str, bool, type(None))) else ""


# The reference run: one uninterrupted local run of the tiny config per test session, shared by
# the SLURM, resume and report tests (module state, so every test module importing this sees it).
_REFERENCE: dict[str, Path] = {}


def reference_run(tmp_path_factory, targets: tuple[str, ...] = ()) -> Path:
    """Workdir of an uninterrupted local run of the tiny config (run once per session and target set)."""
    key = " ".join(targets) or "all"
    if key not in _REFERENCE:
        workdir = tmp_path_factory.mktemp("reference")
        write_config(workdir)
        run_snakemake(workdir, targets)
        _REFERENCE[key] = workdir
    return _REFERENCE[key]


def snakemake_with(
    workdir: Path, config: Path, *extra: str, timeout_s: int = 600
) -> subprocess.CompletedProcess:
    """snakemake on the repo's Snakefile with `config` (not tiny_config.yaml), writing into `workdir`;
    output captured, never raises (the tests assert on returncode and stderr)."""
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(SNAKEFILE), "--directory", str(workdir)]
    cmd += ["--configfile", str(config), "--cores", "2", *extra]
    return subprocess.run(
        ["timeout", "-k", "20", str(timeout_s), *cmd],
        check=False,
        cwd=workdir,
        env=run_env(),
        capture_output=True,
        text=True,
    )


def release_config(workdir: Path, made: dict, overrides: dict) -> Path:
    """The release path's config written by benchmarks.release_standins (`made`), with `overrides`
    merged section by section and results under `workdir`/results: workdir/release.yaml."""
    cfg = yaml.safe_load(made["config"].read_text())
    for section, values in overrides.items():
        cfg.setdefault(section, {}).update(values)
    cfg["results"] = "results"
    config = workdir / "release.yaml"
    config.write_text(yaml.safe_dump(cfg))
    return config
