# Shared helpers: result paths, shard listing (at parse time, so the DAG is known before any job),
# per-dataset inputs (from the dataset registry, psvl.datasets.registry), and the `--set section=<json>`
# arguments each rule passes to `psvl <stage>`.
import os
import shlex

from psvl.config import ConfigError, model_input_folder, section_json
from psvl.datasets.preflight import check_corpus
from psvl.datasets.registry import DATASETS, world_dir
from psvl.datasets.shards import ShardPlan, plan, read_record, write_plan
from psvl.datasets.videos import VIDEO_SUFFIXES

DATASET = config["dataset"]
NAME = DATASET["name"]
KIND = DATASETS.get(NAME)
R = f"{config['results']}/{NAME}"
# The default run logs to logs/NAME and times its jobs in benchmarks/out/NAME; a run with its own results
# root (config/dev.yaml, experiments/seeds.py) keeps both under it, so runs never share a log file.
_OWN_ROOT = config["results"] != "results"
LOGS = f"{R}/logs" if _OWN_ROOT else f"logs/{NAME}"
BENCH = f"{R}/benchmarks" if _OWN_ROOT else f"benchmarks/out/{NAME}"
WORLD = world_dir(R)  # the synthetic world (synthetic dataset only)


wildcard_constraints:
    shard=r"\d{5}",


if not KIND.has_dag:
    raise WorkflowError(KIND.no_dag)
SOURCES = KIND.sources(config, R)


# Stable shards (psvl.datasets.shards): a video keeps the shard its list under shards/ records; new
# videos go to new shards. A shard's `shards` job reruns only when its digest (a rule parameter) changes.
# The folder is listed and the record read once per run, here; the plan goes to SHARD_PLAN, which each
# `shards` job (and a cluster job's re-parse of this file) reads instead of listing the folder again.
SHARD_LISTS = f"{R}/shards"
SHARD_RECORD = (
    f"{SHARD_LISTS}/record"  # the jobs' copies, kept while Snakemake replaces a list
)
SHARD_PLAN = f"{R}/shard_plan.tsv"


def listed_videos():
    """The dataset's videos, or one line saying why there are none (before any job runs); none on the
    release path (SOURCES.from_release), which reads precomputed features instead. Files skipped for
    their suffix are named in one warning by the listing (psvl.datasets.shards.scan)."""
    if SOURCES.from_release:
        return []
    try:
        videos = SOURCES.videos()
    except FileNotFoundError as err:
        raise WorkflowError(f"config.dataset.videos_dir: {err}") from None
    if not videos and not SOURCES.generated:
        raise WorkflowError(
            f"config.dataset.videos_dir: no videos under {SOURCES.videos_dir} matching "
            f"{DATASET['video_glob']!r} (suffixes: {' '.join(sorted(VIDEO_SUFFIXES))})"
        )
    return videos


def shard_plan():
    """The run's plan: made here by the main process (and written for the `shards` jobs), read back by
    a cluster job's re-parse, so the folder is listed once per run."""
    if not workflow.is_main_process and os.path.isfile(SHARD_PLAN):
        return ShardPlan.read(SHARD_PLAN)
    made = plan(listed_videos(), read_record(SHARD_RECORD), config["shard_size"])
    if not SOURCES.from_release:
        write_plan(made, SHARD_PLAN)
    return made


PLAN = shard_plan()
# A generated world writes its corpus in a job; the release path trains on PSVL's own pseudo-labels, where
# a corpus is optional (its words only join the vocabulary).
if not SOURCES.generated and not SOURCES.from_release:
    try:
        check_corpus(SOURCES.corpus)
    except ConfigError as err:
        raise WorkflowError(str(err)) from None
SHARDS = list(PLAN.shards)


# Keys no job reads through its section: which queries are evaluated (standins.split) reruns test_queries
# and what follows it, never the stand-ins, the split files or the model; features.class_scores is passed
# on its own to the features job that writes the scores (features_args), so turning it on reruns no other job.
UNREAD = {"standins": ("split",), "features": ("class_scores",)}


def sets(*sections):
    """`--set name=<json>` for each config section a rule's command reads (quoted for the shell); keys
    in UNREAD are left out, so changing them reruns no job that passes the section."""
    return " ".join(
        f"--set {shlex.quote(section_json(config, s, drop=UNREAD.get(s, ())))}"
        for s in sections
    )


def per_shard(pattern):
    return expand(pattern, shard=SHARDS)


def videos_dir():
    return SOURCES.videos_dir


# The training queries: the workflow's own, or on the release path PSVL's pseudo-label JSON (for train,
# predict and evaluation).
def pseudo_queries_file():
    return SOURCES.pseudo_labels or f"{R}/pseudo_queries.parquet"


def truth_args():
    """Per-event truth (object, action) for the pseudo-query check, where the dataset has it."""
    return f"--events {shlex.quote(SOURCES.truth)}" if SOURCES.truth else ""


def has_annotations():
    return bool(SOURCES.test)


def detects_with_trained():
    return config["detector"]["weights"] == "trained"


def trains_detector():
    """The workflow trains a detector on the dataset's box labels (for detection, or for features)."""
    wanted = detects_with_trained() or features_use_detector()
    return wanted and bool(SOURCES.box_labels)


def detector_inputs(wildcards):
    if detects_with_trained():
        return {
            "model": f"{R}/detector/model.pt",
            "classes": f"{R}/detector/classes.txt",
        }
    return {}


def features_use_detector():
    return config["features"]["weights"] == "trained"


def detector_args(wildcards, input):
    if detects_with_trained():
        return f"--checkpoint {shlex.quote(input.model)} --classes {shlex.quote(input.classes)}"
    return ""


def final_targets(wildcards):
    if (
        SOURCES.from_release
    ):  # no per-video stage: train, predict, evaluate and their report
        return [
            f"{R}/config.effective.yaml",
            f"{R}/model/best.pt",
            f"{R}/eval/metrics.json",
            f"{R}/eval/plots/iou_histogram.png",
            f"{R}/eval/plots/moments.png",
            f"{R}/report/metrics_table.png",
            f"{R}/report/training_curves.png",
        ]
    targets = [
        f"{R}/config.effective.yaml",
        f"{R}/pseudo_queries.parquet",
        f"{R}/model/best.pt",
        f"{R}/corpus/summary.json",
        f"{R}/eval/stats.json",
        f"{R}/report/stages.png",
        f"{R}/report/training_curves.png",
    ]
    if has_annotations():
        targets += [
            f"{R}/eval/metrics.json",
            f"{R}/eval/proposals.json",
            f"{R}/eval/pseudo_queries.json",
            f"{R}/eval/plots/iou_histogram.png",
            f"{R}/eval/plots/moments.png",
            f"{R}/report/metrics_table.png",
        ]
    if trains_detector():
        targets.append(f"{R}/eval/detector.json")
    if SOURCES.timelines:
        targets.append(f"{R}/eval/standins.json")
    return targets


def out_dir(key):
    """A params function: the folder holding output `key` (derived from the output, not hard-coded)."""

    def folder(wildcards, output):
        return os.path.dirname(output[key])

    return folder


def in_dir(key):
    """A params function: the folder holding input `key`."""

    def folder(wildcards, input):
        return os.path.dirname(input[key])

    return folder


def mem_per_attempt(base_mb):
    """Memory that grows with each retry, so a job killed for memory gets more on its next attempt."""

    def mem_mb(wildcards, attempt):
        return base_mb * attempt

    return mem_mb


def attempt_number(wildcards, attempt):
    """The job's attempt (1, 2, ...) as a resource, for its shell's `psvl --job {resources.attempt} {log}`:
    a permanent error (exit 2) is then not retried (psvl.core.jobs), and `3>&2` before the log redirect
    hands the command the console for its closing line (psvl.core.console)."""
    return attempt
