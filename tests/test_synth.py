"""The synthetic world contract: what `psvl synth` writes, byte-identical per seed, and true to itself."""

from __future__ import annotations

import collections
import itertools
import re

import av
import numpy as np
import pandas as pd
import pytest

from psvl.cli import main as cli_main
from psvl.core.artifacts import read_frame, read_metadata
from psvl.synth import generate, plan, resolve
from psvl.synth.render import background, render_event, render_video
from psvl.synth.shapes import SHAPES, paste
from psvl.synth.text import CAPTION_TEMPLATES, CORPUS_TEMPLATES, VERBS, corpus, expand_alternatives, fill
from psvl.synth.world import ACTIONS, OBJECTS, SCENES, Event, affinity, plan_video

SMALL = {"videos": 5, "min_seconds": 12, "max_seconds": 20, "corpus_sentences": 200, "test_fraction": 0.4}
FILES = (
    "train.txt",
    "test.txt",
    "durations.csv",
    "events.parquet",
    "boxes.parquet",
    "classes.txt",
    "corpus.txt",
)
LINE = re.compile(r"^(\S+) (\d+(?:\.\d+)?) (\d+(?:\.\d+)?)##(.+)$")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("world"), seed=7, **SMALL)


def _all_files(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def _txt(path):
    rows = []
    for line in path.read_text().splitlines():
        m = LINE.match(line)
        assert m, f"not Charades-STA format: {line!r}"
        rows.append((m.group(1), float(m.group(2)), float(m.group(3)), m.group(4)))
    return pd.DataFrame(rows, columns=["video_id", "start_s", "end_s", "sentence"])


def test_same_seed_gives_byte_identical_files_and_another_seed_different_videos(world, tmp_path):
    again = generate(tmp_path / "again", seed=7, **SMALL)
    names = _all_files(world)
    assert names == _all_files(again)
    assert set(FILES) | {f"videos/synth_{i:04d}.mp4" for i in range(5)} == set(names)
    for name in names:
        assert (world / name).read_bytes() == (again / name).read_bytes(), name
    other = generate(tmp_path / "other", seed=8, **{**SMALL, "videos": 2})
    assert (other / "videos/synth_0000.mp4").read_bytes() != (world / "videos/synth_0000.mp4").read_bytes()


def test_videos_decode_with_pyav_and_have_duration_times_fps_frames(world):
    durations = pd.read_csv(world / "durations.csv")
    assert list(durations.columns) == ["video_id", "duration_s"]
    assert len(durations) == 5
    for vid, dur in zip(durations.video_id, durations.duration_s):
        assert 12 <= dur <= 20
        with av.open(str(world / "videos" / f"{vid}.mp4")) as c:
            s = c.streams.video[0]
            assert s.codec_context.name == "h264"
            frames = [f for f in c.decode(video=0)]
        assert len(frames) == round(dur * 8)
        assert (frames[0].width, frames[0].height) == (128, 128)
        assert [round(float(f.time) * 8) for f in frames] == list(range(len(frames)))


def test_events_tile_each_video_and_match_the_txt_files_and_durations(world):
    events = read_frame(world / "events.parquet")
    assert list(events.columns) == [
        "video_id",
        "split",
        "event_idx",
        "start_s",
        "end_s",
        "object",
        "action",
        "sentence",
    ]
    durations = pd.read_csv(world / "durations.csv").set_index("video_id").duration_s
    for vid, ev in events.groupby("video_id"):
        ev = ev.sort_values("event_idx")
        assert 2 <= len(ev) <= 4
        assert ev.start_s.iloc[0] == 0.0 and ev.end_s.iloc[-1] == durations[vid]
        assert np.array_equal(ev.start_s.to_numpy()[1:], ev.end_s.to_numpy()[:-1])  # tiles, no overlap
        frac = (ev.end_s - ev.start_s) / durations[vid]
        assert frac.min() >= 0.15 - 1e-9 and frac.max() <= 0.8 + 1e-9
        assert (ev.end_s - ev.start_s).min() >= 4.0
        assert (ev.object.to_numpy()[1:] != ev.object.to_numpy()[:-1]).all()  # the object changes
        assert ev.split.nunique() == 1
    for split in ("train", "test"):
        txt = _txt(world / f"{split}.txt")
        mine = events[events.split == split].reset_index(drop=True)
        assert txt.video_id.tolist() == mine.video_id.tolist()
        assert np.array_equal(txt.start_s, mine.start_s) and np.array_equal(txt.end_s, mine.end_s)
        assert txt.sentence.tolist() == mine.sentence.tolist()
    assert events[events.split == "test"].video_id.nunique() == 2  # round(5 * 0.4)
    for row in events.itertuples():
        assert row.object in row.sentence and VERBS[row.action][0][:-1] in row.sentence


def test_boxes_parquet_lies_inside_frames_with_one_main_object_per_frame(world):
    boxes = read_frame(world / "boxes.parquet")
    assert list(boxes.columns) == [
        "video_id",
        "frame_idx",
        "time_s",
        "label",
        "x1",
        "y1",
        "x2",
        "y2",
        "width",
        "height",
    ]
    assert (
        (boxes.x1 >= 0).all()
        and (boxes.y1 >= 0).all()
        and (boxes.x2 <= 128).all()
        and (boxes.y2 <= 128).all()
    )
    assert (boxes.x2 > boxes.x1).all() and (boxes.y2 > boxes.y1).all()
    assert np.allclose(boxes.time_s, boxes.frame_idx / 8)
    classes = (world / "classes.txt").read_text().split()
    assert classes == list(OBJECTS) and set(boxes.label) <= set(classes)
    events = read_frame(world / "events.parquet")
    durations = pd.read_csv(world / "durations.csv").set_index("video_id").duration_s
    for ev in events.itertuples():
        f0, f1 = round(ev.start_s * 8), round(ev.end_s * 8)
        b = boxes[(boxes.video_id == ev.video_id) & (boxes.frame_idx >= f0) & (boxes.frame_idx < f1)]
        main = b[b.label == ev.object]
        assert main.frame_idx.tolist() == list(range(f0, f1))  # exactly one main box in every frame
        assert ((main.x2 - main.x1).max() >= 20) and ((main.y2 - main.y1).min() >= 12)
        assert b.frame_idx.max() < round(durations[ev.video_id] * 8)
    assert read_metadata(world / "boxes.parquet")["config"]["synthetic"]["seed"] == 7


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_pasted_box_is_the_tight_box_of_the_drawn_pixels_even_when_clipped(shape):
    for size, angle, cy, cx in [(32, 0, 64, 64), (21, 45, 10, 120), (48, 93, 126, 3), (30, 180, 64, -5)]:
        canvas = np.zeros((128, 128, 3), np.uint8)
        box = paste(canvas, shape, size, angle, cy, cx, np.array([255.0, 255.0, 255.0]))
        ys, xs = np.nonzero(canvas.any(axis=2))
        assert box == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1), (shape, size, angle)
    assert paste(np.zeros((64, 64, 3), np.uint8), shape, 20, 0, -40, -40, np.zeros(3)) is None


def test_render_event_changes_only_pixels_inside_its_boxes():
    event = Event(0, 24, "star", "bounce", "kitchen", distractor="cube")
    frames = np.zeros((24, 128, 128, 3), np.uint8)
    rows = render_event(frames, event, 8, 32, np.random.default_rng(3))
    bg = background("kitchen", 128, np.random.default_rng(3))  # the same first draw as render_event
    assert len(rows) == 48 and collections.Counter(r[1] for r in rows) == {"star": 24, "cube": 24}
    for f in range(24):
        changed = (frames[f] != bg).any(axis=2)
        inside = np.zeros_like(changed)
        for _, _, x1, y1, x2, y2 in (r for r in rows if r[0] == f):
            inside[y1:y2, x1:x2] = True
            assert changed[y1:y2, x1:x2].sum() >= 0.3 * (x2 - x1) * (y2 - y1)
        assert not (changed & ~inside).any()


def test_each_action_moves_scales_or_turns_the_object_differently():
    stats = {}
    for action in ACTIONS:
        frames = np.zeros((40, 128, 128, 3), np.uint8)
        rows = render_event(
            frames, Event(0, 40, "triangle", action, "office"), 8, 32, np.random.default_rng(0)
        )
        b = np.array([r[2:] for r in rows], float)
        cx, cy, w = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2, b[:, 2] - b[:, 0]
        stats[action] = (np.ptp(cx), np.ptp(cy), np.ptp(w), np.mean(np.diff(cy)))
    assert stats["slide"][0] > 40 and stats["slide"][1] < 1
    assert stats["bounce"][1] > 30 and stats["bounce"][0] > 10
    assert stats["fall"][3] > 0 and stats["rise"][3] < 0 and stats["fall"][1] > 40 and stats["rise"][1] > 40
    assert stats["grow"][2] > 15 and stats["shrink"][2] > 15 and stats["grow"][0] < 8
    assert stats["shake"][0] >= 6 and stats["shake"][0] < 20 and stats["shake"][2] == 0
    # a turning triangle keeps its centre but its box wobbles (the box centre is not the centroid)
    assert stats["spin"][0] < 14 and stats["spin"][1] < 14 and stats["spin"][2] > 3


def test_plans_respect_event_bounds_for_many_seeds():
    n_events = collections.Counter()
    for seed in range(300):
        p = plan_video(np.random.default_rng(seed), "v", "train", 8, 16, 40, 2, 4, 0.15, 0.8, 4.0, 0.3)
        assert 16 * 8 <= p.n_frames <= 40 * 8
        cuts = [e.start_frame for e in p.events] + [p.events[-1].end_frame]
        assert cuts[0] == 0 and cuts[-1] == p.n_frames and all(b > a for a, b in itertools.pairwise(cuts))
        lengths = np.diff(cuts)
        assert lengths.min() >= max(0.15 * p.n_frames, 32) - 4 and lengths.max() <= 0.8 * p.n_frames
        assert all(a.scene != b.scene and a.obj != b.obj for a, b in itertools.pairwise(p.events))
        n_events[len(p.events)] += 1
    assert set(n_events) == {2, 3, 4} and min(n_events.values()) > 40


def test_affinities_put_most_mass_on_two_or_three_favourite_actions():
    for obj, p in affinity().items():
        assert p.sum() == pytest.approx(1.0)
        top3 = np.sort(p)[::-1][:3].sum()
        assert top3 > 0.85, obj


def test_corpus_follows_the_affinities_with_noise_and_unrelated_sentences():
    sents = corpus(4000, np.random.default_rng(0), noise=0.15, unrelated=0.2)
    pairs, unrelated = collections.Counter(), 0
    for s in sents:
        objs = [o for o in OBJECTS if re.search(rf"\b{o}\b", s)]
        acts = [a for a in ACTIONS if re.search(rf"\b({'|'.join(VERBS[a][:3])})\b", s)]
        if not objs:
            unrelated += 1
            assert not acts, s
            continue
        assert len(objs) == 1 and len(acts) == 1, s
        pairs[objs[0], acts[0]] += 1
    assert unrelated / len(sents) == pytest.approx(0.2, abs=0.03)
    aff = affinity()
    for obj in OBJECTS:
        counts = np.array([pairs[obj, a] for a in ACTIONS], float)
        observed = counts / counts.sum()
        expected = 0.85 / 0.8 * aff[obj] * (0.65 / 0.85) + 0.15 / 0.8 / len(ACTIONS)
        assert np.abs(observed - expected).max() < 0.08, obj
        assert ACTIONS[int(observed.argmax())] == ACTIONS[int(aff[obj].argmax())]


def test_every_caption_and_corpus_template_simplifies_to_its_verb_lemma_and_object_noun(world):
    from psvl.language.tagger import simplify

    rng = np.random.default_rng(0)
    corpus_variants = [v for t in CORPUS_TEMPLATES for v in expand_alternatives(t)]
    assert len(corpus_variants) == 7 + 5 + 6 + 4 + 5
    sents, keys = [], []
    for template, obj, action in itertools.product(CAPTION_TEMPLATES, OBJECTS, ACTIONS):
        scene = list(SCENES)[int(rng.integers(len(SCENES)))]
        sents.append(fill(template, obj, action, scene, rng) + ".")
        keys.append((obj, action))
    for template, obj, action in itertools.product(corpus_variants, OBJECTS, ACTIONS):
        sents.append(fill(template, obj, action, "park", rng))
        keys.append((obj, action))
    events = read_frame(world / "events.parquet")
    sents += events.sentence.tolist()
    keys += list(zip(events.object, events.action))
    for sentence, (obj, action), tokens in zip(sents, keys, simplify(sents)):
        assert obj in tokens and action in tokens, (sentence, tokens)


def test_cli_flags_override_the_config_section(tmp_path):
    section = '{"videos": 9, "seed": 1, "min_seconds": 10, "max_seconds": 12, "corpus_sentences": 20}'
    rc = cli_main(
        ["synth", "--out", str(tmp_path), "--set", f"synthetic={section}", "--videos", "2", "--seed", "4"]
    )
    assert rc == 0
    assert sorted(p.name for p in (tmp_path / "videos").iterdir()) == ["synth_0000.mp4", "synth_0001.mp4"]
    assert len((tmp_path / "corpus.txt").read_text().splitlines()) == 20
    assert read_metadata(tmp_path / "events.parquet")["config"]["synthetic"]["seed"] == 4


def test_bad_settings_name_the_key():
    with pytest.raises(ValueError, match="synthetic.videos"):
        resolve(videos=1)
    with pytest.raises(ValueError, match="min_seconds"):
        resolve(min_seconds=30, max_seconds=20)


def test_frames_change_more_across_event_boundaries_than_within_events():
    cfg = resolve()
    within, across = [], []
    for i in range(6):
        rng = np.random.default_rng([cfg.seed, i])
        p = plan(cfg, i, "train", rng)
        frames, _ = render_video(p, cfg.size, cfg.object_size, rng)
        coarse = frames.reshape(len(frames), 16, 8, 16, 8, 3).mean(axis=(2, 4)).reshape(len(frames), -1)
        cuts = [e.start_frame for e in p.events[1:]]
        for f in range(4, len(frames), 4):  # 0.5 s apart, as the frames stage samples at 2 fps
            d = np.linalg.norm(coarse[f] - coarse[f - 4])
            (across if any(f - 4 < c <= f for c in cuts) else within).append(d)
    assert len(across) >= 12
    assert min(across) > np.percentile(within, 90)
