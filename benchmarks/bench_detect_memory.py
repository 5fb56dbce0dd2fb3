"""Peak memory and time of one `psvl detect` job on CPU at the default batch (16 frames): the defaults
(input size = the frames' stored size; on CPU, passes of 4 000 proposed regions = 4 frames of a COCO R-CNN)
vs the old defaults (the COCO R-CNNs' own 800 px, the whole batch in one pass) and each change alone.

    python -m benchmarks.bench_detect_memory                  # 16 frames at 128 px, R50-FPN v2 (the default)
    python -m benchmarks.bench_detect_memory --sizes 360 --cases default "16/pass"

Each case is a fresh `psvl detect` process (as a workflow job is); its peak resident memory is the
kernel's ru_maxrss for that child (os.wait4). `weights: none` builds the same network as the COCO
weights (random init, so no download), so time and memory are the same as with them.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_detect import synthetic_frames
from psvl.core.artifacts import write_table

CASES = (  # (label, detector.input_size, proposed regions per pass on CPU; None = the defaults')
    ("default", None, None),
    ("800 px", 800, None),
    ("16/pass", None, 16_000),
    ("old: 800 px, 16/pass", 800, 16_000),
)
# One `psvl detect` process; the regions-per-pass constant is set before the command runs (no config key).
JOB = "import sys; import psvl.detection.detectors as d; from psvl.cli import main; {set}sys.exit(main(sys.argv[1:]))"


def run_job(
    frames: Path, out: Path, name: str, input_size: int | None, regions: int | None, threads: int
) -> tuple[float, float]:
    """(seconds, peak RSS in MiB) of one `psvl detect` process over `frames`."""
    code = JOB.format(set=f"d.CPU_REGIONS_PER_PASS = {regions}; " if regions else "")
    cmd = [sys.executable, "-c", code, "detect", "--frames", str(frames), "--out", str(out)]
    cmd += ["--failures", str(out.with_suffix(".failures.parquet")), "--threads", str(threads)]
    cmd += ["--set", f"detector.name={name}", "--set", "detector.weights=none"]
    if input_size:
        cmd += ["--set", f"detector.input_size={input_size}"]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"psvl detect failed: {proc.stderr.read().decode()[-2000:]}")
    return seconds, usage.ru_maxrss / 1024  # Linux: KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=16, help="frames in the shard (one default batch)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[128], help="stored frame sides (px)")
    parser.add_argument("--cases", nargs="+", default=[c[0] for c in CASES], help="which of CASES to run")
    parser.add_argument(
        "--name", default="fasterrcnn_resnet50_fpn_v2", help="detector (the schema's default)"
    )
    parser.add_argument("--threads", type=int, default=2, help="torch threads (the detect rule's)")
    args = parser.parse_args()
    print(f"psvl detect, {args.name}, {args.frames} frames, batch 16 (default), {args.threads} threads, CPU")
    print(f"{'frames px':>9} {'case':>22} {'seconds':>8} {'peak RSS MiB':>13}")
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            frames = Path(tmp) / f"frames{size}.parquet"
            write_table("frames", synthetic_frames(args.frames, size=size), frames, stage="frames")
            for label, input_size, regions in (c for c in CASES if c[0] in args.cases):
                out = Path(tmp) / "det.parquet"
                seconds, peak = run_job(frames, out, args.name, input_size, regions, args.threads)
                print(f"{size:>9} {label:>22} {seconds:>8.1f} {peak:>13.0f}", flush=True)


if __name__ == "__main__":
    main()
