"""The workflow and the code stay clean: snakemake --lint, snakefmt, ruff."""

import subprocess
import sys


def _run(args, cwd):
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)


def test_snakemake_lint_reports_nothing(repo_root):
    proc = _run([sys.executable, "-m", "snakemake", "--lint"], repo_root)
    out = proc.stdout + proc.stderr
    assert "Lints for" not in out, out[-3000:]
    assert "Congratulations" in out, out[-3000:]


def test_snakefmt_check_passes(repo_root):
    proc = _run([sys.executable, "-m", "snakefmt", "--check", "."], repo_root)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]


def test_ruff_check_passes(repo_root):
    proc = _run(
        [sys.executable, "-m", "ruff", "check", "psvl", "tests", "benchmarks", "experiments"], repo_root
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
