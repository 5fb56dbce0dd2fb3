"""The registry of dataset kinds: where each kind's videos, corpus and annotation files come from.

The Snakefile asks this registry at parse time (how many videos, which files feed `psvl annotations`,
is there per-event truth or a box-labelled world), and `psvl.config.validate` asks it which keys a kind
requires, so a new kind of dataset is one `DATASETS.register(...)` entry here (plus its name in the
schema's `dataset.name` enum) and no edit to any `.smk` file.

Imported by the Snakefile when it parses: standard library and `psvl.datasets.videos` only (no pandas,
pyarrow or torch), and the standard-library listing of the Charades timelines' videos.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from psvl.core.registry import Registry
from psvl.datasets.shards import VideoFile, expected, scan
from psvl.datasets.timelines_split import listed_videos


@dataclass(frozen=True)
class DatasetConfig:
    """config.dataset: which kind of dataset, and where its files are (defaults live in the schema)."""

    name: str
    videos_dir: str | None
    video_glob: str
    annotations: str | list[str] | None
    train_annotations: str | None
    durations: str | None
    corpus: str | None
    features_dir: str | None
    pseudo_labels: str | None


@dataclass(frozen=True)
class DatasetSources:
    """Where one dataset's inputs are, as paths the workflow can name at parse time (None: absent)."""

    videos_dir: str | None  # folder the manifest lists (None: no videos, the release path)
    corpus: str | None  # unpaired text corpus (or an annotation file whose sentences are used)
    test: str | list[str] | None  # test annotations, any supported format (a list: queried together)
    train: str | None  # train annotations (only their video ids are used)
    durations: str | None  # charades.json or a video_id,duration_s CSV
    truth: str | None  # per-event truth (object, action) for `psvl eval-pseudo-queries --events`
    box_labels: str | None  # per-frame box labels a detector can be trained on (boxes.parquet)
    box_videos: str | None  # the folder of videos whose frames box_labels label
    box_classes: str | None  # the detector's class names, one per line
    videos: Callable[[], list[VideoFile]]  # the videos, listed at parse time (psvl.datasets.shards)
    generated: bool  # the workflow writes the videos itself: list them by name, never stat them
    # The release path: train on these pseudo-labels (PSVL JSON) and precomputed features (a folder of
    # per-video .npy/.npz or one HDF5 file) instead of the per-video stages; both set or both None.
    pseudo_labels: str | None = None
    features: str | None = None
    # The Charades timelines benchmark (psvl.standins, docs/standins.md): no video is read; a `standins` job
    # per shard writes features and detections from these action timelines (charades.json), and
    # `psvl shards --from-registry` lists the videos by name as the Snakefile did. With `pseudo_labels`
    # (and no `features`), training reads those pseudo-labels over the stand-in features.
    timelines: str | None = None
    queries: str | None = None  # the evaluated queries' file (None: the test split of annotations.parquet)
    proposal_truth: str | None = None  # moments `psvl eval-proposals` recalls (None: annotations.parquet)

    @property
    def from_release(self) -> bool:
        """No per-video stage runs: the DAG is annotations -> test queries -> train -> predict -> evaluate."""
        return self.pseudo_labels is not None and self.timelines is None


@dataclass(frozen=True)
class DatasetKind:
    """One kind of dataset. `sources` is None exactly when the kind has no raw-video workflow DAG, and
    then `no_dag` says what to do instead."""

    requires: tuple[str, ...]
    sources: Callable[[Mapping[str, Any], str], DatasetSources] | None
    no_dag: str | None
    preset: str | None = None  # psvl/data/presets/<preset>.yaml, laid under the user's config

    def __post_init__(self) -> None:
        if (self.sources is None) == (self.no_dag is None):
            raise ValueError("a dataset kind has either sources or a no_dag message, not both or neither")

    @property
    def has_dag(self) -> bool:
        return self.sources is not None


DATASETS: Registry[DatasetKind] = Registry(
    "dataset kind",
    "each entry is a DatasetKind: `requires` names the config.dataset keys that must be set (checked "
    "by psvl.config.validate); `sources(cfg, results)`, called with the validated config and the "
    "dataset's results folder (results/NAME), returns a DatasetSources naming its videos folder, corpus, "
    "test/train/durations annotation files, per-event truth and a detector's box labels with their videos "
    "and classes (None where absent) and a "
    "function listing its videos; `preset` names settings of its own (psvl/data/presets/NAME.yaml) that "
    "psvl.config.validate lays under the user's config; a kind that trains on released pseudo-labels and "
    "precomputed features returns sources with `pseudo_labels` and `features` set (videos_dir None, no "
    "videos): the workflow then runs annotations, test queries, train, predict, evaluate and the report "
    "only; a kind with no workflow DAG at all has sources None and a `no_dag` message the workflow stops with",
)


def synthetic_video_id(index: int) -> str:
    """The id (file stem) of the synthetic world's video `index`, known before the world is written."""
    return f"synth_{index:04d}"


def world_dir(results: str) -> str:
    """The synthetic world `psvl synth` writes under a dataset's results folder."""
    return f"{results}/world"


def _synthetic(cfg: Mapping[str, Any], results: str) -> DatasetSources:
    world = world_dir(results)
    return DatasetSources(
        videos_dir=f"{world}/videos",
        corpus=f"{world}/corpus.txt",
        test=f"{world}/test.txt",
        train=f"{world}/train.txt",
        durations=f"{world}/durations.csv",
        truth=f"{world}/events.parquet",
        # the detector's own clips (another seed stream), never the workflow's train or test videos
        box_labels=f"{world}/detector/boxes.parquet",
        box_videos=f"{world}/detector/videos",
        box_classes=f"{world}/classes.txt",
        videos=lambda: expected(
            f"{world}/videos", [f"{synthetic_video_id(i)}.mp4" for i in range(cfg["synthetic"]["videos"])]
        ),
        generated=True,
    )


def _folder(cfg: Mapping[str, Any], results: str) -> DatasetSources:
    """A folder of videos plus the files config.dataset names (custom, Charades-STA, ActivityNet)."""
    ds = cfg["dataset"]
    return DatasetSources(
        videos_dir=ds["videos_dir"],
        corpus=ds["corpus"],
        test=ds["annotations"],
        train=ds["train_annotations"],
        durations=ds["durations"],
        truth=None,
        box_labels=None,
        box_videos=None,
        box_classes=None,
        videos=lambda: scan(ds["videos_dir"], ds["video_glob"]),
        generated=False,
    )


_ANNOTATED_FOLDER = DatasetKind(
    requires=("videos_dir", "annotations", "corpus"), sources=_folder, no_dag=None
)

DATASETS.register("synthetic")(DatasetKind(requires=(), sources=_synthetic, no_dag=None, preset="synthetic"))
DATASETS.register("custom")(DatasetKind(requires=("videos_dir", "corpus"), sources=_folder, no_dag=None))
DATASETS.register("charades_sta")(_ANNOTATED_FOLDER)
DATASETS.register("activitynet_captions")(_ANNOTATED_FOLDER)


def _release(cfg: Mapping[str, Any], results: str) -> DatasetSources:
    """PSVL's released pseudo-labels + precomputed features (Charades I3D .npy, ActivityNet C3D HDF5)."""
    ds = cfg["dataset"]
    return DatasetSources(
        videos_dir=None,
        corpus=ds["corpus"],  # optional: its verbs and nouns join the vocabulary (model.vocab_from_corpus)
        test=ds["annotations"],
        train=None,
        durations=ds["durations"],
        truth=None,
        box_labels=None,
        box_videos=None,
        box_classes=None,
        videos=list,
        generated=False,
        pseudo_labels=ds["pseudo_labels"],
        features=ds["features_dir"],
    )


DATASETS.register("psvl_release")(
    DatasetKind(requires=("features_dir", "pseudo_labels", "annotations"), sources=_release, no_dag=None)
)


def _timelines(cfg: Mapping[str, Any], results: str, release: bool = False) -> DatasetSources:
    """The Charades timelines benchmark: Charades-STA's videos by name, stand-in features and detections
    from their action timelines; the split files (dev/test queries, train moments, corpus) are written by
    the `standins_split` job under results/NAME/standins (psvl.datasets.timelines_split)."""
    ds, st = cfg["dataset"], cfg["standins"]
    split = f"{results}/standins"
    videos_dir = f"{results}/standins/videos"  # nominal: the manifest's paths name no file that is read
    return DatasetSources(
        videos_dir=videos_dir,
        corpus=f"{split}/corpus.txt",
        test=[f"{split}/test.txt", f"{split}/dev.txt"],  # both kept out of training (manifest split test)
        train=f"{split}/train.txt",
        durations=ds["durations"],
        truth=None,
        box_labels=None,
        box_videos=None,
        box_classes=None,
        videos=lambda: expected(
            videos_dir,
            [f"{v}.mp4" for v in listed_videos(ds["train_annotations"], ds["annotations"], st["max_videos"])],
        ),
        generated=True,
        pseudo_labels=f"{split}/pseudo_labels.json" if release else None,
        timelines=ds["durations"],
        queries=f"{split}/{st['split']}.txt",
        proposal_truth=f"{split}/train.txt",
    )


_TIMELINES_REQUIRES = ("annotations", "train_annotations", "durations", "pseudo_labels")
DATASETS.register("charades_timelines")(
    DatasetKind(requires=_TIMELINES_REQUIRES, sources=_timelines, no_dag=None)
)
DATASETS.register("charades_timelines_release")(
    DatasetKind(
        requires=_TIMELINES_REQUIRES,
        sources=lambda cfg, results: _timelines(cfg, results, release=True),
        no_dag=None,
    )
)


def reads_videos(cfg: Mapping[str, Any]) -> bool:
    """Whether the configured dataset runs the per-video stages (frames, features, detection): not on
    the release path, so its run needs no detector or backbone weights."""
    name = cfg["dataset"]["name"]
    kind = DATASETS.get(name)
    if not kind.has_dag:
        return False
    sources = kind.sources(cfg, f"{cfg['results']}/{name}")
    return not sources.from_release and sources.timelines is None
