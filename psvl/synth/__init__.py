"""The synthetic world: a small, seeded dataset in the real formats (DESIGN section 6).

`generate(out_dir, videos=64, seed=0)` writes, under out_dir:
videos/synth_0000.mp4 ... (H.264), train.txt / test.txt (Charades-STA `vid start end##sentence`),
durations.csv, events.parquet (the truth per event), boxes.parquet (every rendered object in every
frame), classes.txt (the object nouns) and corpus.txt (unpaired sentences).

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
from psvl.core.artifacts import write_table, write_text
from psvl.core.progress import progress
from psvl.datasets.registry import synthetic_video_id
from psvl.synth.render import render_video, write_mp4
from psvl.synth.text import caption, corpus
from psvl.synth.world import OBJECTS, VideoPlan, plan_video

log = logging.getLogger(__name__)

STAGE = "synth"
_SPLIT_STREAM, _CORPUS_STREAM = 1_000_001, 1_000_002  # seed streams apart from the per-video ones


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
    min_events: int
    max_events: int
    min_event_frac: float
    max_event_frac: float
    min_event_seconds: float
    object_size: int
    distractor_prob: float
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
        cfg.min_events,
        cfg.max_events,
        cfg.min_event_frac,
        cfg.max_event_frac,
        cfg.min_event_seconds,
        cfg.distractor_prob,
    )


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
    if cfg.min_events > cfg.max_events:
        raise _config.ConfigError(
            f"config.synthetic.min_events ({cfg.min_events}) is larger than max_events ({cfg.max_events})"
        )
    return cfg


def generate(
    out_dir: str | os.PathLike, videos: int | None = None, seed: int | None = None, **section: Any
) -> Path:
    """Write the synthetic world to `out_dir` (see the module docstring); returns out_dir."""
    cfg = resolve(videos, seed, **section)
    out = Path(out_dir)
    vdir = out / "videos"
    vdir.mkdir(parents=True, exist_ok=True)
    wanted = {f"{video_id(i)}.mp4" for i in range(cfg.videos)}
    for stale in vdir.glob("synth_*.mp4"):  # a previous, larger world must not leak into this one
        if stale.name not in wanted:
            stale.unlink()

    test_idx = test_videos(cfg)
    lines = {"train": [], "test": []}
    durations = ["video_id,duration_s"]
    ev_rows: dict[str, list] = {k: [] for k in ("video_id", "split", "event_idx", "start_s", "end_s")}
    ev_rows.update(object=[], action=[], sentence=[])
    box_cols: list[np.ndarray] = []
    box_vids: list[str] = []
    box_labels: list[str] = []
    for i in progress(range(cfg.videos), desc="synth", total=cfg.videos, unit="video"):
        split = "test" if i in test_idx else "train"
        rng = np.random.default_rng([cfg.seed, i])
        p = plan(cfg, i, split, rng)
        frames, rows = render_video(p, cfg.size, cfg.object_size, rng)
        write_mp4(frames, vdir / f"{p.video_id}.mp4", cfg.fps, cfg.crf)
        durations.append(f"{p.video_id},{fmt_seconds(p.duration_s)}")
        for k, ev in enumerate(p.events):
            start, end = ev.start_frame / cfg.fps, ev.end_frame / cfg.fps
            sentence = caption(ev.obj, ev.action, ev.scene, rng) + "."
            lines[split].append(f"{p.video_id} {fmt_seconds(start)} {fmt_seconds(end)}##{sentence}")
            for key, val in zip(ev_rows, (p.video_id, split, k, start, end, ev.obj, ev.action, sentence)):
                ev_rows[key].append(val)
        if rows:
            box_cols.append(np.array([(f, x1, y1, x2, y2) for f, _, x1, y1, x2, y2 in rows], dtype=np.int64))
            box_vids += [p.video_id] * len(rows)
            box_labels += [r[1] for r in rows]

    boxes = np.concatenate(box_cols) if box_cols else np.zeros((0, 5), np.int64)
    shaping = {"synthetic": asdict(cfg)}
    write_table(
        "synth_boxes",
        {
            "video_id": box_vids,
            "frame_idx": boxes[:, 0],
            "time_s": boxes[:, 0] / cfg.fps,
            "label": box_labels,
            "x1": boxes[:, 1],
            "y1": boxes[:, 2],
            "x2": boxes[:, 3],
            "y2": boxes[:, 4],
            "width": np.full(len(boxes), cfg.size),
            "height": np.full(len(boxes), cfg.size),
        },
        out / "boxes.parquet",
        STAGE,
        shaping,
    )
    write_table("synth_events", ev_rows, out / "events.parquet", STAGE, shaping)
    for split, text in lines.items():
        write_text("\n".join(text) + "\n", out / f"{split}.txt")
    write_text("\n".join(durations) + "\n", out / "durations.csv")
    write_text("\n".join(OBJECTS) + "\n", out / "classes.txt")
    sentences = corpus(
        cfg.corpus_sentences,
        np.random.default_rng([cfg.seed, _CORPUS_STREAM]),
        cfg.corpus_noise,
        cfg.corpus_unrelated,
    )
    write_text("\n".join(s + "." for s in sentences) + "\n", out / "corpus.txt")
    log.info(
        "synthetic world: %d videos (%d test), %d events, %d boxes, %d corpus sentences -> %s",
        cfg.videos,
        len(test_idx),
        len(ev_rows["video_id"]),
        len(boxes),
        len(sentences),
        out,
    )
    return out
