"""`psvl inspect PATH`: what a stage produced, without writing code."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from psvl.core.artifacts import read_metadata
from psvl.core.errors import FormatError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="a Parquet artifact")
    parser.add_argument("-n", "--rows", type=int, default=5, help="rows to show (default 5)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def _preview(value):
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, list) and len(value) > 8:
        return [_preview(v) for v in value[:8]] + [f"... {len(value)} items"]
    return value


def _open(path: str) -> pq.ParquetFile:
    """The Parquet file at `path`; anything else (a folder, a missing path, a video, a JSON file, a torn
    write) is one FormatError line saying what it is, not pyarrow's traceback."""
    where = Path(path)
    if where.is_dir():
        inside = sorted(p.name for p in where.glob("*.parquet") if not p.name.startswith("."))
        hint = f" (it holds {len(inside)}, e.g. {where / inside[0]})" if inside else ""
        raise FormatError(f"{path}: is a folder; psvl inspect reads one .parquet file{hint}")
    if not where.exists():
        raise FormatError(f"{path}: no such file")
    try:
        return pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise FormatError(
            f"{path}: not a Parquet file ({exc}); psvl inspect reads psvl's .parquet artifacts"
        ) from exc


def run(args: argparse.Namespace) -> int:
    pf = _open(args.path)
    schema = pf.schema_arrow
    head = pf.read_row_group(0).slice(0, args.rows).to_pylist() if pf.num_row_groups else []
    rows = [{k: _preview(v) for k, v in r.items()} for r in head]
    report = {
        "path": args.path,
        "rows": pf.metadata.num_rows,
        "schema": {f.name: str(f.type) for f in schema},
        "metadata": read_metadata(args.path),
        "head": rows,
    }
    if args.json:
        print(json.dumps(report, indent=2, default=str))
        return 0
    print(f"{args.path}: {report['rows']} rows")
    print("schema:")
    for name, typ in report["schema"].items():
        print(f"  {name}: {typ}")
    print("metadata:")
    print("  " + json.dumps(report["metadata"], indent=2, default=str).replace("\n", "\n  "))
    print(f"first {len(rows)} rows:")
    for r in rows:
        print("  " + json.dumps(r, default=str))
    return 0
