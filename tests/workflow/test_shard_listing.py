"""One listing per run: the Snakefile lists the videos folder once (at parse time) and writes the plan;
the `shards` jobs read that plan and never list the folder. Counted with the audit event that
`psvl.datasets.videos.list_folder` raises and the standard library's `glob`/`os.scandir` events, recorded
by an audit hook that a `sitecustomize` module installs in every Python process of the run."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from workflow_helpers import run_env, snakemake_command, write_config

from psvl.datasets.shards import read_list, read_plan

pytestmark = pytest.mark.slow

OUT = Path("results") / "custom"
LISTING_EVENTS = ("psvl.list_folder", "glob.glob", "glob.glob/2", "os.scandir", "os.listdir")

# Installed by `sitecustomize` in each process: appends one JSON line per listing event whose folder is
# under PSVL_AUDIT_DIR (the test's videos folder), with the process's command line.
HOOK = """
import json, os, sys
_LOG, _DIR = os.environ["PSVL_AUDIT_LOG"], os.environ["PSVL_AUDIT_DIR"]
_EVENTS = {events!r}

def _hook(event, args):
    if event not in _EVENTS or not args or not isinstance(args[0], str):
        return
    where = args[2] if event == "glob.glob/2" and args[2] else ""
    path = os.path.abspath(os.path.join(where, args[0]))
    if path.startswith(_DIR):
        with open(_LOG, "a") as fh:
            fh.write(json.dumps({{"event": event, "path": path, "argv": sys.argv[:2]}}) + "\\n")

sys.addaudithook(_hook)
"""


def _events(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def _custom_run(tmp_path: Path, videos: Path) -> Path:
    """A custom dataset's run folder over `videos` (shards of 2, no weights to download)."""
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("a person opens the door\n")
    workdir = tmp_path / "run"
    dataset = {"name": "custom", "videos_dir": str(videos), "corpus": str(corpus)}
    write_config(
        workdir,
        {
            "dataset": dataset,
            "shard_size": 2,
            "detector": {"weights": "none"},
            "features": {"weights": "none"},
        },
    )
    return workdir


def test_a_run_lists_the_videos_folder_once_and_its_shards_jobs_not_at_all(tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    for i in range(5):  # shards of 2: 00000, 00001, 00002; the jobs never open a file
        (videos / f"v{i} clip.mp4").write_bytes(b"x" * (i + 1))
    (videos / "notes.txt").write_text("not a video\n")  # the parse's warning comes from the same listing
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(HOOK.format(events=LISTING_EVENTS))
    workdir = _custom_run(tmp_path, videos)
    log = tmp_path / "audit.jsonl"
    env = run_env() | {
        "PYTHONPATH": os.pathsep.join([str(hooks), os.environ.get("PYTHONPATH", "")]),
        "PSVL_AUDIT_LOG": str(log),
        "PSVL_AUDIT_DIR": str(videos),
    }
    targets = [str(OUT / "shards" / f"{s}.tsv") for s in ("00000", "00001", "00002")]
    cmd = snakemake_command(workdir, targets, cores=1)
    proc = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    events = _events(log)
    listings = [e for e in events if e["event"] == "psvl.list_folder"]
    assert len(listings) == 1 and "snakemake" in listings[0]["argv"][0]  # the parse, once
    assert sum(e["event"].startswith("glob.glob") for e in events) == 1  # one glob, not two
    assert [e for e in events if "snakemake" not in e["argv"][0]] == []  # no job lists the folder
    assert "1 files under" in proc.stdout + proc.stderr and "notes.txt" in proc.stdout + proc.stderr
    # Three jobs ran and each list is its plan's rows, sizes included.
    plan = read_plan(workdir / OUT / "shard_plan.tsv")
    assert list(plan) == ["00000", "00001", "00002"]
    for shard in plan:
        assert tuple(read_list(workdir / OUT / "shards" / f"{shard}.tsv")) == plan[shard]
    assert [v.size_bytes for v in plan["00001"]] == [3, 4]


def test_a_cluster_jobs_reparse_reads_the_plan_and_not_the_folder(tmp_path):
    """Under SLURM each job re-parses the Snakefile (`--mode remote`); with the folder gone, that
    re-parse still builds its job from the plan the main process wrote."""
    videos = tmp_path / "videos"
    videos.mkdir()
    for i in range(3):
        (videos / f"v{i}.mp4").write_bytes(b"x" * (i + 1))
    workdir = _custom_run(tmp_path, videos)
    env = run_env()
    parse = subprocess.run(snakemake_command(workdir, extra=["-n"]), cwd=workdir, env=env, check=True)
    assert (workdir / OUT / "shard_plan.tsv").is_file() and parse.returncode == 0
    videos.rename(tmp_path / "moved")  # a listing now fails: "videos folder ... does not exist"
    job = snakemake_command(
        workdir, cores=1, extra=["--target-jobs", "shards:shard=00001", "--mode", "remote"]
    )
    proc = subprocess.run(job, cwd=workdir, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    listed = read_list(workdir / OUT / "shards" / "00001.tsv")
    assert [(v.video_id, v.size_bytes) for v in listed] == [("v2", 3)]
