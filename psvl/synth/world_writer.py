"""The synthetic world: a small, seeded dataset in the real formats (docs/synth.md).

`generate(out_dir, videos=128, seed=0)` writes, under out_dir:
videos/synth_0000.mp4 ... (H.264), train.txt / test.txt (Charades-STA `vid start end##sentence`),
durations.csv, events.parquet (the truth per event), boxes.parquet (every rendered object in every
frame), classes.txt (the detector's class nouns), corpus.txt (unpaired sentences), stats.json (the
annotations' timeline statistics beside Charades-STA's, psvl.synth.stats), and detector/videos/det_*.mp4
with detector/boxes.parquet: the detector's own labelled clips, drawn from another seed stream and never
part of the workflow's train or test videos (as COCO is to Charades).

Everything depends only on the seed (and video i only on (seed, i)), so the same seed gives
byte-identical files.
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from psvl import config as _config
from psvl.core.artifacts import write_json, write_table, write_text
from psvl.core.progress import progress
from psvl.datasets.registry import synthetic_video_id
from psvl.synth.render import render_video, write_mp4
from psvl.synth.stats import off_target, table, timeline_stats
from psvl.synth.text import caption, corpus
from psvl.synth.world import CLASSES, VideoPlan, plan_video

log = logging.getLogger(__name__)

STAGE = "synth"
# seed streams apart from the per-video ones ([seed, i])
_SPLIT_STREAM, _CORPUS_STREAM, _HELD_OUT_STREAM, _DETECTOR_STREAM = 1_000_001, 1_000_002, 1_000_003, 1_000_004
DETECTOR_SECONDS = (8.0, 12.0)  # length of the detector's clips


@dataclass(frozen=True)
class SynthConfig:
    """The `synthetic` config section (defaults live in the config schema)."""

    videos: int
    seed: int
    test_fraction: float
    fps: int
    size: int
    min_seconds: float
    max_seconds: float
    min_event_seconds: float
    object_size: int
    distractors: float
    scene_changes: float
    effects_prob: float
    held_out_share: float
    detector_videos: int
    corpus_sentences: int
    corpus_noise: float
    corpus_unrelated: float
    crf: int


def video_id(index: int) -> str:
    return synthetic_video_id(index)


def fmt_seconds(x: float) -> str:
    """Seconds as short exact text (boundaries sit on a 1/fps grid): 12.5, 36.0, 7.125."""
    s = f"{x:.4f}".rstrip("0")
    return s + "0" if s.endswith(".") else s


def test_videos(cfg: SynthConfig) -> set[int]:
    """Indices of the test videos: a seeded `test_fraction` of them, at least one of each split."""
    n_test = min(max(1, round(cfg.videos * cfg.test_fraction)), cfg.videos - 1)
    rng = np.random.default_rng([cfg.seed, _SPLIT_STREAM])
    return set(rng.choice(cfg.videos, size=n_test, replace=False).tolist())


def plan(cfg: SynthConfig, index: int, split: str, rng: np.random.Generator) -> VideoPlan:
    return plan_video(
        rng,
        video_id(index),
        split,
        cfg.fps,
        cfg.min_seconds,
        cfg.max_seconds,
        cfg.min_event_seconds,
        cfg.distractors,
        cfg.scene_changes,
        cfg.effects_prob,
    )


def detector_plan(cfg: SynthConfig, index: int) -> tuple[VideoPlan, np.random.Generator]:
    """Clip `index` of the detector's set and the generator to render it with (its own seed stream)."""
    rng = np.random.default_rng([cfg.seed, _DETECTOR_STREAM, index])
    lo, hi = DETECTOR_SECONDS
    p = plan_video(rng, f"det_{index:04d}", "detector", cfg.fps, lo, hi, 2.0, 1.5, 0.5, cfg.effects_prob)
    return p, rng


def resolve(videos: int | None = None, seed: int | None = None, **section: Any) -> SynthConfig:
    """A SynthConfig from (part of) a `synthetic` section; the schema fills and checks the rest."""
    if videos is not None:
        section["videos"] = videos
    if seed is not None:
        section["seed"] = seed
    full = _config.validate({"synthetic": section})["synthetic"]
    cfg = _config.build(SynthConfig, full)
    if cfg.min_seconds > cfg.max_seconds:
        raise _config.ConfigError(
            f"config.synthetic.min_seconds ({cfg.min_seconds}) is larger than max_seconds ({cfg.max_seconds})"
        )
    return cfg


class _Boxes:
    """Box rows of many videos, gathered as columns for one Parquet table."""

    def __init__(self) -> None:
        self.cols: list[np.ndarray] = []
        self.vids: list[str] = []
        self.labels: list[str] = []

    def add(self, vid: str, rows: list) -> None:
        if rows:
            self.cols.append(np.array([(f, x1, y1, x2, y2) for f, _, x1, y1, x2, y2 in rows], dtype=np.int64))
            self.vids += [vid] * len(rows)
            self.labels += [r[1] for r in rows]

    def write(self, path: Path, cfg: SynthConfig) -> int:
        boxes = np.concatenate(self.cols) if self.cols else np.zeros((0, 5), np.int64)
        table = {
            "video_id": self.vids,
            "frame_idx": boxes[:, 0],
            "time_s": boxes[:, 0] / cfg.fps,
            "label": self.labels,
            "x1": boxes[:, 1],
            "y1": boxes[:, 2],
            "x2": boxes[:, 3],
            "y2": boxes[:, 4],
            "width": np.full(len(boxes), cfg.size),
            "height": np.full(len(boxes), cfg.size),
        }
        write_table("synth_boxes", table, path, STAGE, {"synthetic": asdict(cfg)})
        return len(boxes)


def _clear_stale(vdir: Path, prefix: str, wanted: set[str]) -> None:
    """A previous, larger world must not leak into this one."""
    vdir.mkdir(parents=True, exist_ok=True)
    for stale in vdir.glob(f"{prefix}_*.mp4"):
        if stale.name not in wanted:
            stale.unlink()


def write_detector_set(cfg: SynthConfig, out: Path) -> int:
    """The detector's labelled clips under out/detector: another seed stream, no workflow video."""
    vdir = out / "detector" / "videos"
    _clear_stale(vdir, "det", {f"det_{i:04d}.mp4" for i in range(cfg.detector_videos)})
    boxes = _Boxes()
    for i in progress(
        range(cfg.detector_videos), desc="synth detector set", total=cfg.detector_videos, unit="video"
    ):
        p, rng = detector_plan(cfg, i)
        frames, rows = render_video(p, cfg.size, cfg.object_size, rng)
        write_mp4(frames, vdir / f"{p.video_id}.mp4", cfg.fps, cfg.crf)
        boxes.add(p.video_id, rows)
    return boxes.write(out / "detector" / "boxes.parquet", cfg)


def generate(
    out_dir: str | os.PathLike, videos: int | None = None, seed: int | None = None, **section: Any
) -> Path:
    """Write the synthetic world to `out_dir` (see the module docstring); returns out_dir."""
    cfg = resolve(videos, seed, **section)
    out = Path(out_dir)
    vdir = out / "videos"
    _clear_stale(vdir, "synth", {f"{video_id(i)}.mp4" for i in range(cfg.videos)})

    test_idx = test_videos(cfg)
    held_rng = np.random.default_rng([cfg.seed, _HELD_OUT_STREAM])
    lines = {"train": [], "test": []}
    durations = ["video_id,duration_s"]
    lengths: dict[str, float] = {}
    ev_rows: dict[str, list] = {k: [] for k in ("video_id", "split", "event_idx", "start_s", "end_s")}
    ev_rows.update(object=[], action=[], sentence=[], held_out=[])
    boxes = _Boxes()
    for i in progress(range(cfg.videos), desc="synth", total=cfg.videos, unit="video"):
        split = "test" if i in test_idx else "train"
        rng = np.random.default_rng([cfg.seed, i])
        p = plan(cfg, i, split, rng)
        frames, rows = render_video(p, cfg.size, cfg.object_size, rng)
        write_mp4(frames, vdir / f"{p.video_id}.mp4", cfg.fps, cfg.crf)
        durations.append(f"{p.video_id},{fmt_seconds(p.duration_s)}")
        lengths[p.video_id] = p.duration_s
        for k, ev in enumerate(sorted(p.events, key=lambda e: (e.start_frame, e.end_frame))):
            start, end = ev.start_frame / cfg.fps, ev.end_frame / cfg.fps
            held_out = split == "test" and bool(held_rng.random() < cfg.held_out_share)
            scene = p.scene_at((ev.start_frame + ev.end_frame) // 2)
            sentence = caption(ev.obj, ev.action, scene, rng, held_out) + "."
            lines[split].append(f"{p.video_id} {fmt_seconds(start)} {fmt_seconds(end)}##{sentence}")
            row = (p.video_id, split, k, start, end, ev.obj, ev.action, sentence, held_out)
            for key, val in zip(ev_rows, row):
                ev_rows[key].append(val)
        boxes.add(p.video_id, rows)

    n_boxes = boxes.write(out / "boxes.parquet", cfg)
    write_table("synth_events", ev_rows, out / "events.parquet", STAGE, {"synthetic": asdict(cfg)})
    for split, text in lines.items():
        write_text("\n".join(text) + "\n", out / f"{split}.txt")
    write_text("\n".join(durations) + "\n", out / "durations.csv")
    write_text("\n".join(CLASSES) + "\n", out / "classes.txt")
    sentences = corpus(
        cfg.corpus_sentences,
        np.random.default_rng([cfg.seed, _CORPUS_STREAM]),
        cfg.corpus_noise,
        cfg.corpus_unrelated,
    )
    write_text("\n".join(s + "." for s in sentences) + "\n", out / "corpus.txt")
    n_det = write_detector_set(cfg, out)

    stats = timeline_stats(
        zip(ev_rows["video_id"], ev_rows["start_s"], ev_rows["end_s"], ev_rows["sentence"]), lengths
    )
    write_json({"world": stats, "off_target": off_target(stats)}, out / "stats.json")
    log.info("timeline statistics of the annotations (train and test):\n%s", table(stats))
    log.info(
        "synthetic world: %d videos (%d test), %d events (%d with held-out words), %d boxes, %d corpus "
        "sentences; detector set: %d clips, %d boxes -> %s",
        cfg.videos,
        len(test_idx),
        len(ev_rows["video_id"]),
        sum(ev_rows["held_out"]),
        n_boxes,
        len(sentences),
        cfg.detector_videos,
        n_det,
        out,
    )
    return out
