"""Resumability under faults, on the real workflow: a run killed with SIGKILL (a power cut) resumes with
`--rerun-incomplete`, recomputes only what was unfinished, and ends with the same files as an
uninterrupted run; a job killed the way the OOM killer kills is retried with more memory; a bad video
costs a failures row, not the shard.

Kills are aimed at a job by watching for its `psvl <stage>` process; each test asserts the kill landed
while that job ran (its output absent), so a kill that came too late fails loudly instead of passing.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from workflow_helpers import (
    RESULTS,
    compare_runs,
    copy_run,
    descendants_matching,
    kill_run,
    missing_commands,
    mtimes,
    reference_run,
    run_snakemake,
    share_world,
    skip_unless_stages,
    start_snakemake,
    tail,
    tiny_config,
    wait_until,
    write_config,
)

pytestmark = pytest.mark.slow

FRAMES_STAGE = ("synth", "annotations", "manifest", "frames")


def _stage_process(proc, stage: str, shard: str | None = None):
    """The python process of `psvl <stage>` (not its bash wrapper) under snakemake `proc`, if running."""
    # rules run `psvl --job ATTEMPT LOG <stage> ...` (psvl.core.jobs): the stage follows the job options
    pattern = rf"psvl (--job \S+ \S+ )?{stage}\b" + (rf".*--shard {shard}\b" if shard else "")
    found = [p for p in descendants_matching(proc.pid, pattern) if p.name() not in ("bash", "sh")]
    return found[0] if found else None


def _all_parquet_readable(workdir: Path) -> list[str]:
    """Parquet files under results/ that do not read back (a half-written file at a final path)."""
    bad = []
    for path in sorted((workdir / "results").rglob("*.parquet")):
        try:
            pq.read_table(path)
        except (pa.ArrowInvalid, OSError) as exc:  # a torn file
            bad.append(f"{path.relative_to(workdir)}: {exc}")
    return bad


def _resume(workdir: Path, log_name: str) -> None:
    """What a user does after a crash: unlock the folder, rerun with --rerun-incomplete."""
    run_snakemake(workdir, extra=["--unlock"], log_name=f"{log_name}.unlock")
    run_snakemake(workdir, extra=["--rerun-incomplete"], log_name=log_name)


def test_tiny_config_is_valid_and_gives_two_shards_per_shard_stage():
    """The shared tiny config still validates against the schema (keys move while stages land) and keeps
    the shape the kill tests rely on: 4 videos in shards of 2."""
    from psvl.config import validate

    cfg = validate(tiny_config())
    assert (cfg["synthetic"]["videos"], cfg["shard_size"]) == (4, 2)
    assert cfg["train"]["epochs"] >= 10  # room to kill training after its first epoch


@pytest.fixture(scope="module")
def frames_run(tmp_path_factory) -> Path:
    """A finished run of (at least) the stages up to frames, both shards, of the tiny config: the shared
    reference run once every stage exists."""
    skip_unless_stages(pytest, FRAMES_STAGE)
    if not missing_commands():
        return reference_run(tmp_path_factory)
    workdir = tmp_path_factory.mktemp("frames_run")
    write_config(workdir)
    run_snakemake(workdir, [f"{RESULTS}/frames/00000.parquet", f"{RESULTS}/frames/00001.parquet"])
    return workdir


def test_job_killed_like_by_the_oom_killer_is_retried_with_twice_the_memory(frames_run, tmp_path):
    """SIGKILL of the stage process (what the kernel OOM killer sends) fails attempt 1; the rule's
    `retries: 1` reruns it with mem_mb doubled (mem_per_attempt), and the shard comes out the same."""
    workdir = copy_run(frames_run, tmp_path / "retry")
    target = workdir / RESULTS / "frames" / "00001.parquet"
    target.unlink()
    proc = start_snakemake(workdir, [str(target.relative_to(workdir))])
    try:
        victim = wait_until(lambda: _stage_process(proc, "frames", "00001"), 120, "psvl frames --shard 00001")
        victim.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=300) == 0, tail(workdir / "snakemake.log")
    finally:
        if proc.poll() is None:
            kill_run(proc)
    log = (workdir / "snakemake.log").read_text()
    memory = [int(m) for m in re.findall(r"resources:.*?\bmem_mb=(\d+)", log)]
    assert memory == [2000, 4000], f"mem_mb per attempt: {memory}\n{tail(workdir / 'snakemake.log')}"
    assert "Trying to restart job" in log
    assert compare_runs(frames_run, workdir) == []


def test_shard_with_one_bad_video_completes_with_a_failures_row(frames_run, tmp_path):
    """A custom dataset: two good videos and one that is not a video at all, in one shard."""
    videos = tmp_path / "videos"
    videos.mkdir()
    world = frames_run / RESULTS / "world"
    for name in ("synth_0000.mp4", "synth_0001.mp4"):
        shutil.copy(world / "videos" / name, videos / name)
    (videos / "broken clip.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(2000))
    workdir = tmp_path / "run"
    write_config(
        workdir,
        {
            "dataset": {"name": "custom", "videos_dir": str(videos), "corpus": str(world / "corpus.txt")},
            "detector": {"weights": "none"},
            "shard_size": 3,
        },
    )
    out = Path("results") / "custom"
    run_snakemake(workdir, [f"{out}/frames/00000.parquet"])

    failures = pq.read_table(workdir / out / "failures" / "frames" / "00000.parquet").to_pandas()
    assert failures["video_id"].tolist() == ["broken clip"]
    assert failures["stage"].tolist() == ["frames"]
    assert failures["error"].str.len().iloc[0] > 0
    frames = pq.read_table(workdir / out / "frames" / "00000.parquet").to_pandas()
    assert sorted(frames["video_id"].unique()) == ["synth_0000", "synth_0001"]
    reference = pq.read_table(frames_run / RESULTS / "frames" / "00000.parquet").to_pandas()
    assert len(frames) == len(reference)  # the good videos lost no frame


def test_run_killed_mid_shard_job_resumes_without_recomputing_finished_shards(tmp_path_factory, tmp_path):
    """A fresh run, killed (SIGKILL to snakemake and its jobs) while a proposals shard job runs; the rerun
    keeps the finished shard files (same mtime) and ends equal to an uninterrupted run."""
    skip_unless_stages(pytest)
    reference = reference_run(tmp_path_factory)
    workdir = tmp_path / "killed"
    write_config(workdir)
    share_world(reference, workdir)
    proc = start_snakemake(workdir, log_name="killed.log")
    try:
        wait_until(lambda: _stage_process(proc, "proposals"), 600, "psvl proposals (a proposals shard job)")
        kill_run(proc)
    finally:
        if proc.poll() is None:
            kill_run(proc)
    # Finished for sure at the kill: the frames and features of the shard being proposed (the proposals
    # job was running on them).
    running = [
        s for s in ("00000", "00001") if not (workdir / RESULTS / "proposals" / f"{s}.parquet").exists()
    ]
    assert running, "the kill came after every proposals job"

    def shard_files() -> dict[str, int]:
        return mtimes(workdir, f"{RESULTS}/frames/{running[0]}.parquet") | mtimes(
            workdir, f"{RESULTS}/features/{running[0]}.parquet"
        )

    finished = shard_files()
    assert len(finished) == 2, finished
    assert _all_parquet_readable(workdir) == []

    _resume(workdir, "resumed.log")
    assert shard_files() == finished
    assert compare_runs(reference, workdir) == []


def test_run_killed_mid_training_resumes_from_last_checkpoint_and_ends_with_the_same_model(
    tmp_path_factory, tmp_path
):
    """Kill the whole run once training has written its first epoch's last.pt; the rerun continues from
    it (`psvl train --resume`) and ends with the same weights, predictions and metrics."""
    skip_unless_stages(pytest)
    import torch

    reference = reference_run(tmp_path_factory)
    workdir = copy_run(reference, tmp_path / "killed_train")
    model = workdir / RESULTS / "model"
    shutil.rmtree(model)
    epochs = int(
        re.search(r"epochs: (\d+)", (workdir / "tiny_config.yaml").read_text().split("\ntrain:")[1])[1]
    )

    proc = start_snakemake(workdir, log_name="killed.log")
    try:
        wait_until(
            lambda: (model / "last.pt").exists() and _stage_process(proc, "train"), 300, "the first last.pt"
        )
        kill_run(proc)
    finally:
        if proc.poll() is None:
            kill_run(proc)
    done = torch.load(model / "last.pt", weights_only=True)["epoch"]
    assert 1 <= done < epochs, f"the kill came after training ({done} of {epochs} epochs)"
    assert _all_parquet_readable(workdir) == []

    _resume(workdir, "resumed.log")
    train_log = (workdir / "logs" / "synthetic" / "train.log").read_text()
    assert re.search(rf"resuming from \S*last\.pt after epoch {done}\b", train_log), train_log[-2000:]
    assert compare_runs(reference, workdir) == []
