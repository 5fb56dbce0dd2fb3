"""Per-stage counts of a results folder, for the run report: how many videos, frames, detections, ...

Why cheap: a real run holds gigabytes of JPEG bytes and features; row counts come from the Parquet
footers (no data read), and distinct videos from the `video_id` column alone.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from psvl.core.failures import ERROR, WARNING, records, summary, videos_with

log = logging.getLogger(__name__)

# artifact name -> glob under the results folder. Sharded artifacts are globs over their shards.
ARTIFACTS: dict[str, str] = {
    "annotations": "annotations.parquet",
    "manifest": "manifest.parquet",
    "frames": "frames/*.parquet",
    "features": "features/*.parquet",
    "detections": "detections/*.parquet",
    "proposals": "proposals/*.parquet",
    "corpus_vocab": "corpus/vocab.parquet",
    "pseudo_queries": "pseudo_queries.parquet",
    "test_queries": "test_queries.parquet",
    "train_log": "model/train_log.parquet",
}

# The headline counts (stats.json "counts", shown in the stage diagram): name -> (artifact, measure).
HEADLINE: dict[str, tuple[str, str]] = {
    "videos": ("manifest", "rows"),
    "frames": ("frames", "rows"),
    "segments": ("features", "rows"),
    "detections": ("detections", "rows"),
    "proposals": ("proposals", "rows"),
    "corpus_lemmas": ("corpus_vocab", "rows"),
    "pseudo_queries": ("pseudo_queries", "rows"),
    "epochs": ("train_log", "rows"),
    "test_queries": ("test_queries", "rows"),
}


def _files(results: Path, pattern: str) -> list[Path]:
    return sorted(p for p in results.glob(pattern) if not p.name.startswith("."))


def _video_ids(paths: list[Path]) -> set[str] | None:
    """Distinct video ids over the files (None when the artifact has no video_id column)."""
    ids: set[str] | None = None
    for p in paths:
        if "video_id" in pq.read_schema(p).names:
            column = pq.read_table(p, columns=["video_id"]).column("video_id")
            ids = (ids or set()) | set(pc.unique(column).to_pylist())
    return ids


def artifact_counts(paths: list[Path]) -> dict:
    """files, rows (from Parquet footers) and distinct videos of one artifact's files; a file that is not
    readable Parquet is listed under `unreadable` instead of failing the whole count."""
    good, bad, rows = [], [], 0
    for p in paths:
        try:
            rows += pq.ParquetFile(p).metadata.num_rows
            good.append(p)
        except (OSError, pa.ArrowInvalid) as exc:
            log.warning("%s: not readable Parquet: %s", p, exc)
            bad.append(p.name)
    out = {"files": len(paths), "rows": int(rows)}
    videos = _video_ids(good)
    if videos is not None:
        out["videos"] = len(videos)
    if bad:
        out["unreadable"] = bad
    return out


def _splits(path: Path) -> dict[str, int]:
    if "split" not in pq.read_schema(path).names:
        return {}
    counts = pc.value_counts(pq.read_table(path, columns=["split"]).column("split"))
    return {str(c["values"]): int(c["counts"]) for c in counts.to_pylist()}


def failure_counts(results: Path, rows: list[tuple[str, str, str, str]] | None = None) -> dict[str, dict]:
    """failures/{stage}/*.parquet -> {stage: {rows, videos, warnings, warned_videos, files}}: rows and
    videos count failures (skipped videos); warnings count the rows of videos kept with a flaw."""
    out = {}
    for folder in sorted(p for p in (results / "failures").glob("*") if p.is_dir()):
        out[folder.name] = {"rows": 0, "videos": set(), "warnings": 0, "warned_videos": set()}
        out[folder.name]["files"] = len(_files(folder, "*.parquet"))
    for stage, video, _, severity in records(results) if rows is None else rows:
        n_key, v_key = {ERROR: ("rows", "videos"), WARNING: ("warnings", "warned_videos")}[severity]
        out[stage][n_key] += 1
        out[stage][v_key].add(video)
    for counted in out.values():
        counted["videos"], counted["warned_videos"] = len(counted["videos"]), len(counted["warned_videos"])
    return out


def collect(results_dir: str | os.PathLike) -> dict:
    """stats.json's content: per-artifact counts, failures per stage and the headline counts."""
    results = Path(results_dir)
    if not results.is_dir():
        raise FileNotFoundError(f"results folder {results} does not exist")
    artifacts: dict[str, dict] = {}
    for name, pattern in ARTIFACTS.items():
        paths = _files(results, pattern)
        if not paths:
            continue
        artifacts[name] = artifact_counts(paths)
        if name in ("manifest", "annotations") and "unreadable" not in artifacts[name]:
            artifacts[name]["splits"] = _splits(paths[0])
    rows = records(results)  # every failures file, read once for the counts and the summary
    failures = failure_counts(results, rows)
    counts = {key: artifacts[a][m] for key, (a, m) in HEADLINE.items() if m in artifacts.get(a, {})}
    # each bad video once, though frames and a later stage may both have recorded it
    counts["failures"] = len(videos_with(rows, ERROR))
    counts["warnings"] = len(videos_with(rows, WARNING))  # kept videos with a flaw (partial decodes)
    return {
        "results": str(results),
        "artifacts": artifacts,
        "failures": failures,
        # the run's closing summary, by stage and reason, so the report has it too
        "failure_summary": summary(results, rows).splitlines() if failures else [],
        "counts": counts,
    }
