"""The workflow on a real (single-node) SLURM: every rule is an sbatch job, GPU rules get the fake GPU,
and the results equal a local run's.

The cluster comes from tests/slurm/cluster.sh (started by tests/slurm/ci_setup.sh in CI, or here when
the Debian packages are installed and we are root). Without the packages the test skips and says so.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from workflow_helpers import (
    REPO,
    available_targets,
    compare_runs,
    missing_commands,
    reference_run,
    run_snakemake,
    share_world,
    skip_unless_stages,
    tail,
    write_config,
)

pytestmark = [pytest.mark.slow, pytest.mark.slurm]

CLUSTER_SH = REPO / "tests" / "slurm" / "cluster.sh"
PROFILE = REPO / "workflow" / "profiles" / "slurm" / "config.yaml"
STATE = Path(os.environ.get("PSVL_SLURM_DIR", "/tmp/psvl-slurm"))
GPU_RULES = {"features", "detect", "train_detector", "train"}
NEEDED = ("sbatch", "squeue", "scontrol", "sinfo", "slurmctld", "slurmd", "munged")


def _cluster_answers(env: dict) -> bool:
    try:
        out = subprocess.run(
            ["sinfo", "-h", "-N", "-o", "%t"],
            env=env,
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return False
    return out.returncode == 0 and bool(re.search(r"^(idle|mix|alloc)", out.stdout, re.MULTILINE))


@pytest.fixture(scope="module")
def slurm_cluster():
    """SLURM_CONF of a running one-node cluster; starts one (and stops it after) when none runs."""
    missing = [c for c in NEEDED if shutil.which(c) is None]
    if missing:
        pytest.skip(
            f"SLURM is not installed (no {', '.join(missing)}): `tests/slurm/ci_setup.sh` (root) installs "
            "the Debian packages slurmctld slurmd slurm-client munge and starts a one-node cluster"
        )
    conf = STATE / "etc" / "slurm.conf"
    env = dict(os.environ, SLURM_CONF=str(conf))
    started = False
    if os.geteuid() == 0:  # (re)start it: `up` is quick and idempotent when the cluster already runs
        started = not (conf.is_file() and _cluster_answers(env))
        up = subprocess.run([str(CLUSTER_SH), "up"], check=False, capture_output=True, text=True, timeout=120)
        assert up.returncode == 0, f"cluster.sh up failed:\n{up.stdout}\n{up.stderr}"
    elif not (conf.is_file() and _cluster_answers(env)):
        pytest.skip(f"no test cluster answers at {conf} and starting one needs root: `{CLUSTER_SH} up`")
    old = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = str(conf)
    try:
        yield conf
    finally:
        if old is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = old
        if started:
            subprocess.run([str(CLUSTER_SH), "down"], check=False, capture_output=True, timeout=120)


def test_slurm_profile_asks_one_gpu_per_gpu_rule_polls_with_squeue_and_scopes_gpu_locally():
    profile = yaml.safe_load(PROFILE.read_text())
    assert profile["executor"] == "slurm"
    assert profile["slurm-status-command"] == "squeue"
    assert {rule for rule, res in profile["set-resources"].items() if res.get("gpu") == 1} == GPU_RULES
    assert profile["set-resource-scopes"] == {"gpu": "local"}
    # squeue only sees finished jobs for MinJobAge seconds: the test cluster keeps them >= 3x the
    # profile's first status interval, as the plugin requires.
    conf = (CLUSTER_SH.read_text().split("MinJobAge=")[1]).split()[0]
    assert int(conf) >= 3 * profile["slurm-init-seconds-before-status-checks"]


def _test_profile(workdir: Path) -> Path:
    """The shipped SLURM profile with test-speed polling (same resources, same GPU requests)."""
    profile = yaml.safe_load(PROFILE.read_text())
    profile.update(
        {
            # The plugin polls after this many seconds, then 10 s more each time nothing finished:
            # a tiny job (sbatch + jobstep snakemake + psvl) takes 5-15 s, so 10 s keeps rounds short.
            # (Cluster MinJobAge 3600 >= 3 x 10, so squeue still sees finished jobs.)
            "slurm-init-seconds-before-status-checks": 10,
            "slurm-keep-successful-logs": True,
            "latency-wait": 5,
            "keep-going": False,
            "jobs": 4,
        }
    )
    folder = workdir / "profile"
    folder.mkdir()
    (folder / "config.yaml").write_text(yaml.safe_dump(profile))
    return folder


def _submitted_jobs(log: str) -> dict[str, str]:
    """snakemake job id -> SLURM job id, from the plugin's 'submitted with SLURM jobid' lines."""
    return dict(re.findall(r"Job (\d+) has been submitted with SLURM jobid (\d+)", log))


def _slurm_job(job_id: str) -> dict[str, str]:
    out = subprocess.run(
        ["scontrol", "show", "job", "-o", job_id], capture_output=True, text=True, timeout=20, check=True
    )
    return dict(re.findall(r"(\w+(?::\w+)?)=(\S*)", out.stdout))


def _rules_run(log: str) -> set[str]:
    return set(re.findall(r"^(?:local)?rule (\w+):", log, re.MULTILINE))


def test_tiny_workflow_runs_every_rule_as_an_sbatch_job_and_matches_a_local_run(
    slurm_cluster, tmp_path_factory, capsys
):
    # The whole DAG once every stage exists; until then the stages that exist (frames, features, ...).
    targets = available_targets()
    if targets == () and missing_commands():
        skip_unless_stages(pytest, ("synth", "frames"))
    reference = reference_run(tmp_path_factory, targets)
    workdir = tmp_path_factory.mktemp("slurm")
    write_config(workdir)
    share_world(reference, workdir)
    profile = _test_profile(workdir)
    run_snakemake(workdir, targets, extra=["--profile", str(profile)], timeout_s=600)
    log = (workdir / "snakemake.log").read_text()

    jobs = _submitted_jobs(log)
    details = {sid: _slurm_job(sid) for sid in jobs.values()}
    rules = {
        sid: re.sub(r"_wildcards_.*$", "", d.get("Comment", "")).removeprefix("rule_")
        for sid, d in details.items()
    }
    with capsys.disabled():  # the CI log shows the real job ids
        print(f"\nSLURM jobs of the tiny workflow ({len(jobs)}):")
        for sid, d in sorted(details.items(), key=lambda kv: int(kv[0])):
            print(
                f"  sbatch job {sid}: rule {rules[sid]:<20} {d.get('JobState')} "
                f"TRES={d.get('TRES')} {d.get('TresPerJob', '')}"
            )

    # Every rule the local run ran ran here as a SLURM job (bar the local `all`, and `synth`: the world
    # is shared, see share_world), and all completed.
    assert set(rules.values()) == _rules_run((reference / "snakemake.log").read_text()) - {"all", "synth"}
    assert {d.get("JobState") for d in details.values()} == {"COMPLETED"}
    # GPU rules held the fake GPU (sbatch --gpus=1); the others did not.
    for sid, rule in rules.items():
        gres = details[sid].get("TresPerJob", "")
        assert (gres == "gres:gpu:1") == (rule in GPU_RULES), f"job {sid} ({rule}): TresPerJob={gres!r}"
    diffs = compare_runs(reference, workdir)
    assert diffs == [], (
        "SLURM run differs from the local run:\n" + "\n".join(diffs) + tail(workdir / "snakemake.log")
    )
