"""Frames stage speed: psvl vs the usual recipe, one `ffmpeg -vf fps=1 frame_%05d.jpg` process per video.

Both sample the same videos at --fps (1 by default) into JPEGs at the videos' own resolution (psvl's
`frames.size` is set to the shorter side, so neither side does less pixel work). Timed:
  ffmpeg   one ffmpeg process per video writing JPEG files (imageio-ffmpeg's binary; else a PyAV
           stand-in of the same recipe: decode every frame, fps filter, one JPEG file per kept frame)
  psvl     `psvl.frames.frames.extract_many` + the Parquet write, in one process (the stage's work)
  psvl-cli `psvl frames --video ... --out` as one subprocess (adds interpreter and import start-up)
Prints the median wall and CPU seconds of --repeats runs per method and the ratios ffmpeg / psvl
(> 1: psvl is faster). CPU seconds (this process and its children, all threads) are the steadier number
on a shared machine.

    python -m benchmarks.bench_frames                     # 8 synthetic-world videos (128 px, 8 fps)
    python -m benchmarks.bench_frames --source pyav --width 480 --height 360 --video-fps 30 --seconds 30
"""

from __future__ import annotations

import argparse
import io
import logging
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np
import pyarrow.parquet as pq

from psvl.frames.frames import FramesConfig, extract_many, write_frames
from psvl.synth.world_writer import generate

log = logging.getLogger("bench_frames")


def make_pyav_videos(out: Path, n: int, seconds: float, fps: int, width: int, height: int) -> list[Path]:
    """Moving-gradient H.264 videos (content changes every frame, like real footage, unlike flat colour)."""
    out.mkdir(parents=True, exist_ok=True)
    ys, xs = np.mgrid[0:height, 0:width]
    paths = []
    for v in range(n):
        path = out / f"video_{v:03d}.mp4"
        with av.open(str(path), "w") as container:
            stream = container.add_stream("libx264", rate=fps)
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            for i in range(int(seconds * fps)):
                r = (xs + 3 * i + 17 * v) % 256
                g = (ys + 2 * i) % 256
                b = ((xs + ys) // 2 + i) % 256
                img = np.stack([r, g, b], -1).astype(np.uint8)
                for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        paths.append(path)
    return paths


def make_videos(args: argparse.Namespace, out: Path) -> list[Path]:
    if args.source == "synth":
        generate(out / "world", videos=args.videos, seed=0)
        return sorted((out / "world" / "videos").glob("*.mp4"))
    return make_pyav_videos(out / "pyav", args.videos, args.seconds, args.video_fps, args.width, args.height)


def ffmpeg_exe() -> str | None:
    try:  # optional (the test extra ships a binary); else an ffmpeg on PATH
        import imageio_ffmpeg
    except ImportError:
        return shutil.which("ffmpeg")
    return imageio_ffmpeg.get_ffmpeg_exe()


def run_ffmpeg(exe: str, videos: list[Path], fps: float, out: Path) -> int:
    """The usual recipe: one ffmpeg process per video, one JPEG file per kept frame."""
    n = 0
    for video in videos:
        folder = out / video.stem
        folder.mkdir(parents=True, exist_ok=True)
        cmd = [exe, "-nostdin", "-loglevel", "error", "-i", str(video), "-vf", f"fps={fps}",
               "-q:v", "2", str(folder / "frame_%05d.jpg")]  # fmt: skip
        subprocess.run(cmd, check=True)
        n += len(list(folder.iterdir()))
    return n


def run_pyav_recipe(videos: list[Path], fps: float, out: Path) -> int:
    """Stand-in for ffmpeg when no binary is installed: decode every frame, keep one per 1/fps, write files."""
    n = 0
    for video in videos:
        folder = out / video.stem
        folder.mkdir(parents=True, exist_ok=True)
        with av.open(str(video)) as container:
            next_t = 0.0
            for frame in container.decode(video=0):
                if frame.time is not None and frame.time + 1e-9 >= next_t:
                    n += 1
                    frame.to_image().save(folder / f"frame_{n:05d}.jpg", quality=90)
                    next_t += 1.0 / fps
    return n


def run_psvl(videos: list[Path], fps: float, size: int, out: Path) -> int:
    cfg = FramesConfig.from_config({"fps": fps, "size": size})  # jpeg_quality: the shipped default
    frames, failures = extract_many([(v.stem, str(v)) for v in videos], cfg)
    write_frames(frames, failures, out / "frames.parquet", out / "failures.parquet", cfg)
    return len(frames)


def run_psvl_cli(videos: list[Path], fps: float, size: int, out: Path) -> int:
    cmd = [sys.executable, "-m", "psvl.cli", "frames", "--out", str(out / "frames.parquet"),
           "--set", f"frames.fps={fps}", "--set", f"frames.size={size}"]  # fmt: skip
    for v in videos:
        cmd += ["--video", str(v)]
    subprocess.run(cmd, check=True, capture_output=True)
    return pq.read_metadata(out / "frames.parquet").num_rows


def cpu_seconds() -> float:
    """User + system CPU of this process and its finished children: unlike wall time, it does not count
    waiting for other users' processes on a shared machine."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def short_side(video: Path) -> int:
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        return min(stream.codec_context.width, stream.codec_context.height)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--source", choices=["synth", "pyav"], default="synth")
    parser.add_argument("--videos", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--fps", type=float, default=1.0, help="sampled frames per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="pyav videos: length")
    parser.add_argument("--video-fps", type=int, default=30, help="pyav videos: frame rate")
    parser.add_argument("--width", type=int, default=320, help="pyav videos: width")
    parser.add_argument("--height", type=int, default=240, help="pyav videos: height")
    parser.add_argument("--peer", choices=["auto", "ffmpeg", "pyav"], default="auto")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    with tempfile.TemporaryDirectory(prefix="bench_frames_") as tmp:
        tmp_path = Path(tmp)
        videos = make_videos(args, tmp_path / "videos")
        size = short_side(videos[0])
        exe = ffmpeg_exe() if args.peer in ("auto", "ffmpeg") else None
        if args.peer == "ffmpeg" and exe is None:
            parser.error("no ffmpeg binary: pip install imageio-ffmpeg")
        peer_name = "ffmpeg" if exe else "pyav-recipe"
        methods = {
            peer_name: (lambda out: run_ffmpeg(exe, videos, args.fps, out))
            if exe
            else (lambda out: run_pyav_recipe(videos, args.fps, out)),
            "psvl": lambda out: run_psvl(videos, args.fps, size, out),
            "psvl-cli": lambda out: run_psvl_cli(videos, args.fps, size, out),
        }
        times: dict[str, list[float]] = {m: [] for m in methods}
        cpus: dict[str, list[float]] = {m: [] for m in methods}
        frames: dict[str, int] = {}
        for r in range(args.repeats):
            for name, fn in methods.items():  # interleaved, so load changes hit every method alike
                out = tmp_path / f"out_{name}_{r}"
                out.mkdir()
                cpu0, start = cpu_seconds(), time.perf_counter()
                frames[name] = fn(out)
                times[name].append(time.perf_counter() - start)
                cpus[name].append(cpu_seconds() - cpu0)
                shutil.rmtree(out)

    out = io.StringIO()
    print(f"{len(videos)} videos ({args.source}, shorter side {size} px), sampled at {args.fps} fps, "
          f"median of {args.repeats} runs", file=out)  # fmt: skip
    print(f"{'method':<12} {'frames':>7} {'wall_s':>8} {'cpu_s':>7}  wall runs", file=out)
    for name, ts in times.items():
        runs = " ".join(f"{t:.2f}" for t in ts)
        wall, cpu = statistics.median(ts), statistics.median(cpus[name])
        print(f"{name:<12} {frames[name]:>7} {wall:>8.3f} {cpu:>7.3f}  {runs}", file=out)
    peer, peer_cpu = statistics.median(times[peer_name]), statistics.median(cpus[peer_name])
    for name in ("psvl", "psvl-cli"):
        wall, cpu = statistics.median(times[name]), statistics.median(cpus[name])
        print(f"ratio {peer_name} / {name}: wall {peer / wall:.2f}x, cpu {peer_cpu / cpu:.2f}x", file=out)
    sys.stdout.write(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
