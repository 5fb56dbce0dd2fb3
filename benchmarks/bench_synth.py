"""Time `psvl synth`: cached-mask rendering against per-frame mask evaluation (the peer), plus the whole run.

    python -m benchmarks.bench_synth [--videos 64] [--render-videos 8] [--repeats 3]

Prints the median seconds (wall and CPU) of:
- render: drawing `--render-videos` videos with the shape-mask cache (what `psvl synth` does);
- peer: the same frames with the mask re-evaluated for every frame (the obvious loop, no cache);
- encode: H.264-encoding those frames (one x264 thread, as `psvl synth` does for reproducibility);
- generate: the whole `psvl.synth.world_writer.generate` of `--videos` videos (default: the 64 of the default config).
The target is the default 64-video world in well under a minute of CPU on one core.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path

import numpy as np

from benchmarks._timing import timed
from psvl.synth import shapes
from psvl.synth.render import render_video, write_mp4
from psvl.synth.world_writer import generate, plan, resolve


def _render_all(cfg, n: int) -> list[np.ndarray]:
    out = []
    for i in range(n):
        rng = np.random.default_rng([cfg.seed, i])
        frames, _ = render_video(plan(cfg, i, "train", rng), cfg.size, cfg.object_size, rng)
        out.append(frames)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", type=int, default=64, help="videos in the whole-run timing")
    ap.add_argument("--render-videos", type=int, default=8, help="videos in the render/peer/encode timings")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    cfg = resolve()
    n = args.render_videos
    frames = _render_all(cfg, n)
    n_frames = sum(len(f) for f in frames)

    cached_mask = shapes.mask

    def render_cached():
        shapes.mask = cached_mask
        shapes.mask.cache_clear()  # a fresh process: every distinct mask is computed once
        _render_all(cfg, n)

    def render_peer():
        shapes.mask = cached_mask.__wrapped__
        try:
            _render_all(cfg, n)
        finally:
            shapes.mask = cached_mask

    def encode():
        with tempfile.TemporaryDirectory() as tmp:
            for i, f in enumerate(frames):
                write_mp4(f, Path(tmp) / f"{i}.mp4", cfg.fps, cfg.crf)

    def whole():
        with tempfile.TemporaryDirectory() as tmp:
            generate(tmp, videos=args.videos)

    rows = {}
    for name, fn, reps in [
        ("render", render_cached, args.repeats),
        ("peer", render_peer, args.repeats),
        ("encode", encode, args.repeats),
        ("generate", whole, 1),
    ]:
        t = timed(fn, reps, children=False)
        rows[name] = (t.wall, t.cpu)
    print(
        f"render/peer/encode over {n} videos ({n_frames} frames of {cfg.size}px); generate over {args.videos}"
    )
    for name, (wall, cpu) in rows.items():
        per = f"{1e3 * wall / n_frames:7.3f} ms/frame" if name != "generate" else ""
        print(f"{name:9s} median wall {wall:7.2f} s  cpu {cpu:7.2f} s  {per}")
    print(
        f"ratio peer/render: wall {rows['peer'][0] / rows['render'][0]:.1f}x, "
        f"cpu {rows['peer'][1] / rows['render'][1]:.1f}x"
    )
    print(
        f"generate: {rows['generate'][1]:.1f} s CPU for {args.videos} videos "
        f"({rows['generate'][1] / args.videos:.2f} s/video)"
    )


if __name__ == "__main__":
    main()
