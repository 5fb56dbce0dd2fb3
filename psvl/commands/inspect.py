"""`psvl inspect PATH`: what a stage produced, without writing code."""

from __future__ import annotations

import argparse
import json

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


def run(args: argparse.Namespace) -> int:
    try:
        pf = pq.ParquetFile(args.path)
    except pa.ArrowInvalid as exc:  # a video, a JSON file, a torn write: one line, not pyarrow's traceback
        raise FormatError(
            f"{args.path}: not a Parquet file ({exc}); psvl inspect reads psvl's .parquet artifacts"
        ) from exc
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
