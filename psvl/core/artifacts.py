"""Every Parquet artifact's schema, defined once, with atomic writes and provenance metadata.

Why one place: stages, adapters, tests and `psvl inspect` must agree on column names and types, and a
killed job must never leave a file that looks whole. Writers go to a temporary name in the same folder
and `os.replace` it into place; readers can cast to the declared schema so empty shards still type-check.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from psvl import __version__
from psvl.core.errors import ArtifactError

_F32 = pa.float32()
_F64 = pa.float64()
_STR = pa.string()
_I32 = pa.int32()
_I64 = pa.int64()
_TOKENS = pa.list_(pa.string())

SCHEMAS: dict[str, pa.Schema] = {
    "annotations": pa.schema(
        [
            ("query_id", _STR),
            ("video_id", _STR),
            ("split", _STR),
            ("sentence", _STR),
            ("start_s", _F64),
            ("end_s", _F64),
            ("duration_s", _F64),
        ]
    ),
    "manifest": pa.schema([("video_id", _STR), ("path", _STR), ("split", _STR), ("shard", _I32)]),
    "frames": pa.schema(
        [
            ("video_id", _STR),
            ("frame_idx", _I32),
            ("time_s", _F64),
            ("width", _I32),
            ("height", _I32),
            ("jpeg", pa.binary()),
        ]
    ),
    "features": pa.schema(
        [
            ("video_id", _STR),
            ("segment_idx", _I32),
            ("start_s", _F64),
            ("end_s", _F64),
            ("feature", pa.list_(_F32)),
        ]
    ),
    # a video classifier's per-segment class scores (its head's logits); class names in the provenance's
    # config["classes"] (psvl.localization.class_grounding)
    "class_scores": pa.schema(
        [
            ("video_id", _STR),
            ("segment_idx", _I32),
            ("start_s", _F64),
            ("end_s", _F64),
            ("scores", pa.list_(_F32)),
        ]
    ),
    "detections": pa.schema(
        [
            ("video_id", _STR),
            ("frame_idx", _I32),
            ("time_s", _F64),
            ("label", _STR),
            ("score", _F32),
            ("x1", _F32),
            ("y1", _F32),
            ("x2", _F32),
            ("y2", _F32),
        ]
    ),
    "proposals": pa.schema(
        [
            ("video_id", _STR),
            ("proposal_id", _STR),
            ("start_s", _F64),
            ("end_s", _F64),
            ("n_atomic", _I32),
        ]
    ),
    "vocab": pa.schema([("lemma", _STR), ("pos", _STR), ("count", _I64)]),
    "cooccurrence": pa.schema([("noun", _STR), ("verb", _STR), ("count", _I64), ("p_verb_given_noun", _F64)]),
    "pseudo_queries": pa.schema(
        [
            ("query_id", _STR),
            ("video_id", _STR),
            ("start_s", _F64),
            ("end_s", _F64),
            ("duration_s", _F64),
            ("verbs", _TOKENS),
            ("nouns", _TOKENS),
            ("tokens", _TOKENS),
        ]
    ),
    "test_queries": pa.schema(
        [
            ("query_id", _STR),
            ("video_id", _STR),
            ("sentence", _STR),
            ("start_s", _F64),
            ("end_s", _F64),
            ("duration_s", _F64),
            ("tokens", _TOKENS),
        ]
    ),
    # severity "error": the video was skipped; "warning": kept, but something was wrong (a partial decode)
    "failures": pa.schema([("video_id", _STR), ("stage", _STR), ("error", _STR), ("severity", _STR)]),
    # what `psvl predict` writes: moments only; the truth is joined by `psvl evaluate`
    "predictions": pa.schema(
        [
            ("query_id", _STR),
            ("video_id", _STR),
            ("pred_start_s", _F64),
            ("pred_end_s", _F64),
            # no word of the query was trained (its tokens are all <unk>): still predicted, flagged
            ("no_known_words", pa.bool_()),
        ]
    ),
    # `psvl evaluate --per-query`: each true window with its prediction as scored (ordered, clipped) and IoU
    "per_query": pa.schema(
        [
            ("query_id", _STR),
            ("video_id", _STR),
            ("pred_start_s", _F64),
            ("pred_end_s", _F64),
            ("gt_start_s", _F64),
            ("gt_end_s", _F64),
            ("iou", _F64),
            # null where unknown (predictions read from another tool's file)
            ("no_known_words", pa.bool_()),
        ]
    ),
    # the synthetic world's truth (psvl synth): one row per event, one row per rendered object per frame
    "synth_events": pa.schema(
        [
            ("video_id", _STR),
            ("split", _STR),
            ("event_idx", _I32),
            ("start_s", _F64),
            ("end_s", _F64),
            ("object", _STR),
            ("action", _STR),
            ("sentence", _STR),
            ("held_out", pa.bool_()),
        ]
    ),
    "synth_boxes": pa.schema(
        [
            ("video_id", _STR),
            ("frame_idx", _I32),
            ("time_s", _F64),
            ("label", _STR),
            ("x1", _F32),
            ("y1", _F32),
            ("x2", _F32),
            ("y2", _F32),
            ("width", _I32),
            ("height", _I32),
        ]
    ),
    "train_log": pa.schema(
        [
            ("epoch", _I32),
            ("train_loss", _F64),
            ("train_loc_loss", _F64),
            ("train_att_loss", _F64),
            ("val_mIoU", _F64),
            ("val_R@0.5", _F64),
            ("seconds", _F64),
        ]
    ),
}

META_KEY = b"psvl"

# The model folder's word lists (JSON lists of strings): vocab.json starts with these specials, and
# trained_words.json beside best.pt holds the words the model trained on, so `psvl evaluate` can tell known
# from unknown test words without torch or the checkpoint.
VOCAB_SPECIALS = ("<pad>", "<unk>", "<bos>", "<eos>")
TRAINED_WORDS = "trained_words.json"


def schema(kind: str) -> pa.Schema:
    """The declared schema of artifact `kind` (a key of SCHEMAS)."""
    try:
        return SCHEMAS[kind]
    except KeyError:
        raise ArtifactError(f"unknown artifact kind {kind!r}; known: {', '.join(sorted(SCHEMAS))}") from None


def provenance(kind: str, stage: str, shaping: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The metadata every file carries: which stage made it, with which package version and config."""
    return {"artifact": kind, "stage": stage, "psvl_version": __version__, "config": dict(shaping or {})}


def to_table(kind: str, data: pa.Table | Mapping[str, Iterable] | Any) -> pa.Table:
    """Build a table of the declared schema from a pyarrow Table, a dict of columns or a DataFrame.

    Extra columns are an error (they would silently vanish otherwise); missing columns are an error.
    """
    target = schema(kind)
    if isinstance(data, pa.Table):
        table = data
    elif hasattr(data, "to_dict") and hasattr(data, "columns"):  # pandas DataFrame
        table = pa.Table.from_pandas(data, preserve_index=False)
    else:
        table = pa.table(dict(data)) if data else target.empty_table()
    have, want = set(table.column_names), set(target.names)
    if have != want:
        raise ArtifactError(
            f"{kind}: columns {sorted(have)} do not match the schema; "
            f"missing {sorted(want - have)}, unexpected {sorted(have - want)}"
        )
    if table.num_rows == 0:
        return target.empty_table()
    try:
        return table.select(target.names).cast(target)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        raise ArtifactError(f"{kind}: cannot cast to the declared schema: {exc}") from exc


def atomic_target(path: Path) -> tuple[int, str]:
    """(open descriptor, temporary path) beside `path`, to write and then `os.replace` onto it: a reader
    never sees half a file, and the file gets the usual mode (umask), not mkstemp's 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600; published files get the usual permissions
    return fd, tmp


def remove_temporaries(folder: str | os.PathLike) -> int:
    """Delete the temporary files (`.NAME.*.tmp`, `.NAME.tmp`) that writes killed mid-way left in
    `folder`; how many. Only for a folder one job writes alone (a model folder), at that job's start: in
    a folder shared by running jobs another job's temporary file may be in use."""
    removed = 0
    for path in Path(folder).glob(".*.tmp"):
        if path.is_file():
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def write_table(
    kind: str,
    data: pa.Table | Mapping[str, Iterable] | Any,
    path: str | os.PathLike,
    stage: str,
    shaping: Mapping[str, Any] | None = None,
) -> Path:
    """Write artifact `kind` to `path` atomically, with its schema and provenance metadata."""
    path = Path(path)
    table = to_table(kind, data)
    meta = dict(table.schema.metadata or {})
    meta[META_KEY] = json.dumps(provenance(kind, stage, shaping), sort_keys=True, default=str).encode()
    table = table.replace_schema_metadata(meta)
    fd, tmp = atomic_target(path)
    os.close(fd)
    try:
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_json(obj: Any, path: str | os.PathLike) -> Path:
    """Write JSON atomically (metrics, summaries): same temp-and-rename contract as Parquet."""
    return write_text(json.dumps(obj, indent=2, sort_keys=True, default=float) + "\n", path)


def write_text(text: str, path: str | os.PathLike) -> Path:
    """Write a text file atomically."""
    path = Path(path)
    fd, tmp = atomic_target(path)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_table(
    path: str | os.PathLike, kind: str | None = None, columns: list[str] | None = None
) -> pa.Table:
    """Read a Parquet artifact; with `kind`, check and cast it to the declared schema."""
    path = Path(path)
    if not path.exists():
        raise ArtifactError(f"{path}: no such artifact")
    table = pq.read_table(path, columns=columns)
    if kind is None or columns is not None:
        return table
    return to_table(kind, table.replace_schema_metadata(None))


def read_frame(path: str | os.PathLike, kind: str | None = None, columns: list[str] | None = None):
    """Read an artifact as a pandas DataFrame (the form most stages compute on)."""
    return read_table(path, kind, columns).to_pandas()


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The provenance metadata of a psvl Parquet file ({} for a foreign file)."""
    meta = pq.read_schema(path).metadata or {}
    raw = meta.get(META_KEY)
    return json.loads(raw) if raw else {}


def concat_tables(kind: str, paths: Iterable[str | os.PathLike]) -> pa.Table:
    """Read several shards of one artifact into one table of the declared schema."""
    tables = [read_table(p, kind) for p in paths]
    return pa.concat_tables(tables) if tables else schema(kind).empty_table()


def reference_markdown() -> str:
    """The README's artifact-schema table, generated from SCHEMAS."""
    rows = ["| artifact | columns |", "|---|---|"]
    for kind, sch in SCHEMAS.items():
        cols = ", ".join(f"{f.name} ({f.type})" for f in sch)
        rows.append(f"| {kind} | {cols} |")
    return "\n".join(rows)
