# Shared helpers: result paths, shard listing (at parse time, so the DAG is known before any job),
# per-dataset inputs (from the dataset registry, psvl.datasets.registry), and the `--set section=<json>`
# arguments each rule passes to `psvl <stage>`.
import os
import shlex

from psvl.config import ConfigError, section_json
from psvl.datasets.preflight import check_corpus
from psvl.datasets.registry import DATASETS, world_dir
from psvl.datasets.shards import plan, read_record
from psvl.datasets.videos import VIDEO_SUFFIXES, other_files
from psvl.features.objects import model_input_folder

DATASET = config["dataset"]
NAME = DATASET["name"]
KIND = DATASETS.get(NAME)
R = f"{config['results']}/{NAME}"
# The default run logs to logs/NAME and times its jobs in benchmarks/out/NAME; a run with its own results
# root (config/dev.yaml, benchmarks/seeds.py) keeps both under it, so runs never share a log file.
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
SHARD_LISTS = f"{R}/shards"
SHARD_RECORD = (
    f"{SHARD_LISTS}/record"  # the jobs' copies, kept while Snakemake replaces a list
)


def listed_videos():
    """The dataset's videos, or one line saying why there are none (before any job runs); none on the
    release path (SOURCES.from_release), which reads precomputed features instead."""
    if SOURCES.from_release:
        return []
    try:
        videos = SOURCES.videos()
    except FileNotFoundError as err:
        raise WorkflowError(f"config.dataset.videos_dir: {err}") from None
    if SOURCES.generated:
        return videos
    others = other_files(SOURCES.videos_dir, DATASET["video_glob"])
    if others:
        examples = ", ".join(p.name for p in others[:3])
        logger.warning(
            f"{len(others)} files under {SOURCES.videos_dir} are not videos by their suffix and are "
            f"skipped (e.g. {examples})"
        )
    if not videos:
        raise WorkflowError(
            f"config.dataset.videos_dir: no videos under {SOURCES.videos_dir} matching "
            f"{DATASET['video_glob']!r} (suffixes: {' '.join(sorted(VIDEO_SUFFIXES))})"
        )
    return videos


PLAN = plan(listed_videos(), read_record(SHARD_RECORD), config["shard_size"])
# A generated world writes its corpus in a job; the release path trains on PSVL's own pseudo-labels, where
# a corpus is optional (its words only join the vocabulary).
if not SOURCES.generated and not SOURCES.from_release:
    try:
        check_corpus(SOURCES.corpus)
    except ConfigError as err:
        raise WorkflowError(str(err)) from None
SHARDS = list(PLAN.shards)


def shard_digest(wildcards):
    return PLAN.digest(wildcards.shard)


def shards_inputs(wildcards):
    """A generated world's videos folder (its shard lists follow the world); a user's folder is no
    input: its listing is in the digest, so touching the folder reruns nothing. The timelines kind
    has no video files (its listing is in the digest too)."""
    return (
        {"videos": videos_dir()} if SOURCES.generated and not SOURCES.timelines else {}
    )


def shards_args():
    """A generated world is listed by name: no sizes or times to record; the timelines kind's names
    come from the dataset registry, as at parse time."""
    if SOURCES.timelines:
        return f"--from-registry {sets('dataset', 'standins', 'results')}"
    return "--no-stat" if SOURCES.generated else ""


def sets(*sections):
    """`--set name=<json>` for each config section a rule's command reads (quoted for the shell)."""
    return " ".join(f"--set {shlex.quote(section_json(config, s))}" for s in sections)


def per_shard(pattern):
    return expand(pattern, shard=SHARDS)


def videos_dir():
    return SOURCES.videos_dir


def corpus_file():
    return SOURCES.corpus or []


def annotation_args():
    """Arguments of `psvl annotations` for this dataset (test files, optional train and durations)."""
    flags = ("--test", "--train", "--durations")
    return " ".join(
        f"{flag} {' '.join(shlex.quote(p) for p in paths)}"
        for flag, paths in zip(flags, annotation_files())
        if paths
    )


def annotation_files():
    """([test...], [train], [durations]) annotation paths of this dataset; empty where it has none."""
    return tuple(
        [p] if isinstance(p, str) else list(p or [])
        for p in (SOURCES.test, SOURCES.train, SOURCES.durations)
    )


def annotation_inputs(wildcards):
    return [path for paths in annotation_files() for path in paths]


# The training queries and the features: the workflow's own (per shard), or on the release path PSVL's
# pseudo-label JSON and precomputed features (read lazily by `psvl train/predict --features-dir`).
def pseudo_queries_file():
    return SOURCES.pseudo_labels or f"{R}/pseudo_queries.parquet"


def features_files():
    """What the model reads per segment: the visual features, or the object channels
    (model.visual_input: objects); on the release path, PSVL's features folder."""
    if SOURCES.from_release:
        return [SOURCES.features]
    folder = model_input_folder(config["model"]["visual_input"])
    return per_shard(f"{R}/{folder}/{{shard}}.parquet")


def features_flag(wildcards, input):
    """`--features SHARD...` or, on the release path, `--features-dir PATH`."""
    flag = "--features-dir" if SOURCES.from_release else "--features"
    return f"{flag} {' '.join(shlex.quote(p) for p in input.features)}"


def corpus_vocab_inputs(wildcards):
    """The corpus statistics whose verbs and nouns join the vocabulary, where there is a corpus."""
    return {"vocab": f"{R}/corpus/vocab.parquet"} if SOURCES.corpus else {}


def corpus_vocab_args(wildcards, input):
    return f"--vocab {shlex.quote(input.vocab)}" if "vocab" in input.keys() else ""


def frames_files():
    """The frame shards `psvl stats` counts: none where no video is read (the timelines kind)."""
    return [] if SOURCES.timelines else per_shard(f"{R}/frames/{{shard}}.parquet")


def proposal_truth():
    """The moments TEP's recall is measured on (the timelines kind: the training videos' train moments)."""
    return SOURCES.proposal_truth or f"{R}/annotations.parquet"


def test_queries_input():
    """The evaluated queries: the test split of annotations.parquet, or the kind's own file (the
    timelines kind: dev or test, config.standins.split)."""
    return SOURCES.queries or f"{R}/annotations.parquet"


def test_queries_args():
    """`--split` of `psvl test-queries`: every row of the kind's own queries file (with its durations)."""
    if SOURCES.queries:
        return f"--split all --durations {shlex.quote(SOURCES.durations)}"
    return "--split test"


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


def features_inputs(wildcards):
    """The trained detector checkpoint when the features come from its backbone."""
    return {"detector": f"{R}/detector/model.pt"} if features_use_detector() else {}


def features_args(wildcards, input):
    """Config sections for `psvl features`; `weights: trained` becomes the detector checkpoint's path."""
    args = sets("features", "frames")
    if features_use_detector():
        args += f" --set features.weights={shlex.quote(input.detector)}"
    return args


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
