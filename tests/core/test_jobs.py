"""A workflow job's attempts (psvl --job, psvl.core.jobs): an error that cannot go away is not retried, a
transient one is, and each finished job's closing line reaches the console. Real Snakemake runs of a tiny
workflow whose rules call the real `psvl` the way workflow/rules/*.smk do."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

from video_fixtures import write_video

from psvl.cli import main
from psvl.core import jobs

# The same shell form as workflow/rules/*.smk: attempt and log to psvl, the console as fd 3.
SNAKEFILE = """
def attempt_number(wildcards, attempt):
    return attempt


rule config_error:
    output: "bad.parquet"
    log: "logs/bad.log"
    retries: 2
    resources: attempt=attempt_number
    shell:
        "psvl --job {resources.attempt} {log:q} frames --video @VIDEO@ --out {output:q} "
        "--set frames.fps=-1 3>&2 > {log:q} 2>&1"


rule flaky:
    output: "flaky.parquet"
    log: "logs/flaky.log"
    retries: 2
    resources: attempt=attempt_number
    shell:
        "psvl --job {resources.attempt} {log:q} frames --video @VIDEO@ --out {output:q} "
        "3>&2 > {log:q} 2>&1; test {resources.attempt} -gt 1"
"""


def _snakemake(workdir: Path, target: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "snakemake", "--cores", "1", "--nolock", target]
    return subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=300, check=False)


def _workflow(tmp_path: Path) -> Path:
    video = write_video(tmp_path / "clip one.mp4", seconds=2.0)
    (tmp_path / "Snakefile").write_text(SNAKEFILE.replace("@VIDEO@", shlex.quote(str(video))))
    return tmp_path


def test_a_config_error_in_a_job_is_not_retried_by_snakemake(tmp_path):
    run = _snakemake(_workflow(tmp_path), "bad.parquet")
    assert run.returncode != 0
    out = run.stdout + run.stderr
    assert out.count("Trying to restart job") == 2, out[-3000:]  # Snakemake did ask for attempts 2 and 3
    # ... and attempt 3's log is one line: it stopped at once, naming attempt 1's error.
    lines = (tmp_path / "logs" / "bad.log").read_text().strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("psvl frames: not retried (attempt 3): attempt 1 failed")
    assert "config.frames.fps" in lines[0]


def test_a_transient_failure_is_retried_and_the_closing_line_reaches_the_console(tmp_path):
    run = _snakemake(_workflow(tmp_path), "flaky.parquet")
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-3000:]
    assert out.count("Trying to restart job") == 1
    assert (tmp_path / "flaky.parquet").is_file()
    # One closing line per attempt on Snakemake's console (the job's stderr goes to its log).
    done = re.findall(r"^frames \(by hand\): 1 video, (\d+) frames, 0 failures, \d+ s$", out, re.MULTILINE)
    assert len(done) == 2 and int(done[0]) > 0, out[-3000:]
    assert "frames (by hand): 1 video" in (tmp_path / "logs" / "flaky.log").read_text()


def test_attempt_2_after_a_permanent_error_stops_before_running(tmp_path, capsys):
    log = tmp_path / "job.log"
    jobs.record(log, jobs.PERMANENT, "psvl frames: config.frames.fps: -1 is not > 0")
    out = tmp_path / "frames.parquet"
    start = time.perf_counter()
    rc = main(["--job", "2", str(log), "frames", "--video", str(tmp_path / "x.mp4"), "--out", str(out)])
    assert rc == 2 and not out.exists()
    assert time.perf_counter() - start < 5
    err = capsys.readouterr().err.strip()
    assert err == (
        "psvl frames: not retried (attempt 2): attempt 1 failed with an error retrying cannot fix: "
        "psvl frames: config.frames.fps: -1 is not > 0"
    )


def test_attempt_1_clears_a_marker_left_by_an_earlier_run(tmp_path):
    log = tmp_path / "job.log"
    jobs.record(log, jobs.PERMANENT, "an error the user has since fixed")
    video = write_video(tmp_path / "v.mp4", seconds=1.0)
    rc = main(["--job", "1", str(log), "frames", "--video", str(video), "--out", str(tmp_path / "f.parquet")])
    assert rc == 0 and not jobs.marker(log).exists()


def test_an_exit_status_other_than_2_leaves_no_marker(tmp_path):
    log = tmp_path / "job.log"
    jobs.record(log, 1, "a node went away")
    assert not jobs.marker(log).exists()
    assert jobs.refuse_retry(log, 2) is None


def test_the_closing_line_splits_thousands_and_names_singulars():
    from psvl.core import console

    line = console.line(
        "detect 00003",
        console.count(64, "video"),
        console.count(1920, "frame"),
        console.count(14203, "box", "boxes"),
        console.count(1, "failure"),
    )
    assert re.fullmatch(r"detect 00003: 64 videos, 1 920 frames, 14 203 boxes, 1 failure, \d+ s", line)
