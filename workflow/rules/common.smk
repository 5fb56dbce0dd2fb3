# Shared helpers: result paths, shard listing (at parse time, so the DAG is known before any job),
# per-dataset inputs, and the `--set section=<json>` arguments each rule passes to `psvl <stage>`.
import os
import shlex

from psvl.config import section_json
from psvl.datasets.videos import list_videos, shard_names

DATASET = config["dataset"]
NAME = DATASET["name"]
R = f"{config['results']}/{NAME}"
LOGS = f"logs/{NAME}"
BENCH = f"benchmarks/out/{NAME}"
WORLD = f"{R}/world"  # the synthetic world (synthetic dataset only)


wildcard_constraints:
    shard=r"\d{5}",


def count_videos():
    if NAME == "psvl_release":
        raise WorkflowError(
            "config.dataset.name: psvl_release has no workflow DAG yet; train from PSVL's release with "
            "`psvl train --psvl-json PSEUDO_LABELS --features-dir FEATURES_DIR --out-dir DIR` (docs/model.md)"
        )
    if NAME == "synthetic":
        return config["synthetic"]["videos"]
    return len(list_videos(DATASET["videos_dir"], DATASET["video_glob"]))


SHARDS = shard_names(count_videos(), config["shard_size"])


def sets(*sections):
    """`--set name=<json>` for each config section a rule's command reads (quoted for the shell)."""
    return " ".join(f"--set {shlex.quote(section_json(config, s))}" for s in sections)


def per_shard(pattern):
    return expand(pattern, shard=SHARDS)


def videos_dir():
    return f"{WORLD}/videos" if NAME == "synthetic" else DATASET["videos_dir"]


def corpus_file():
    return f"{WORLD}/corpus.txt" if NAME == "synthetic" else DATASET["corpus"]


def annotation_args():
    """Arguments of `psvl annotations` for this dataset (test and optional train files)."""
    flags = ("--test", "--train", "--durations")
    return " ".join(
        f"{flag} {shlex.quote(path)}"
        for flag, path in zip(flags, annotation_files())
        if path
    )


def annotation_files():
    """(test, train, durations) annotation paths of this dataset; None where it has none."""
    if NAME == "synthetic":
        return (f"{WORLD}/test.txt", f"{WORLD}/train.txt", f"{WORLD}/durations.csv")
    return tuple(DATASET[k] for k in ("annotations", "train_annotations", "durations"))


def annotation_inputs(wildcards):
    return [path for path in annotation_files() if path]


def truth_args():
    """The synthetic world's per-event truth (object, action) for the pseudo-query check."""
    return (
        f"--events {shlex.quote(f'{WORLD}/events.parquet')}"
        if NAME == "synthetic"
        else ""
    )


def has_annotations():
    return NAME == "synthetic" or bool(DATASET["annotations"])


def detects_with_trained():
    return config["detector"]["weights"] == "trained"


def trains_detector():
    """The workflow trains a detector on the synthetic box labels (for detection, or for features)."""
    return detects_with_trained() or features_use_detector()


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
    targets = [
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
