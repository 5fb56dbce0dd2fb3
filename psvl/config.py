"""Config: one JSON Schema fills defaults and rejects bad keys; stages get typed dataclasses from it.

The same `validate` runs in the Snakefile (before any job) and in `psvl <stage> --config`, so a bad key
reads the same everywhere: `config.proposals.k_min: expected integer, got 'two'`.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import jsonschema
import yaml

from psvl.core.errors import ConfigError
from psvl.datasets.registry import DATASETS, DatasetConfig, reads_videos

T = TypeVar("T")
log = logging.getLogger(__name__)


def schema() -> dict:
    text = resources.files("psvl").joinpath("data/config.schema.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def _fill_defaults(validator_class):
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if "default" in sub and name not in instance:
                    instance[name] = copy.deepcopy(sub["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


_Validator = _fill_defaults(jsonschema.Draft7Validator)


def _describe(error: jsonschema.ValidationError) -> str:
    path = ".".join(str(p) for p in error.absolute_path)
    where = f"config.{path}" if path else "config"
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        known = ", ".join(sorted(error.schema.get("properties", {})))
        return f"{where}: unknown key {', '.join(map(repr, extra))} (known keys: {known})"
    if error.validator == "type":
        return f"{where}: expected {error.validator_value}, got {error.instance!r}"
    if error.validator == "enum":
        return f"{where}: expected one of {error.validator_value}, got {error.instance!r}"
    if error.validator == "required":
        return f"{where}: {error.message}"
    return f"{where}: {error.message}"


# Config sections renamed in 0.2 so that a stage has one name everywhere; the old names are read (with
# a warning) for one release.
RENAMED_SECTIONS = {"tep": "proposals", "queries": "pseudo_queries"}


def _rename_sections(cfg: dict) -> None:
    for old, new in RENAMED_SECTIONS.items():
        if old not in cfg:
            continue
        if new in cfg:
            raise ConfigError(f"config.{old}: renamed to config.{new}; give only config.{new}")
        log.warning("config.%s is now config.%s (the old name is removed in 0.3)", old, new)
        cfg[new] = cfg.pop(old)


def preset(name: str) -> dict:
    """A dataset kind's preset (psvl/data/presets/NAME.yaml)."""
    text = resources.files("psvl").joinpath(f"data/presets/{name}.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text) or {}


def _merged(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict:
    """`top` over `base`, nested sections key by key."""
    out = copy.deepcopy(dict(base))
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _with_preset(cfg: dict) -> dict:
    """The user's config over its dataset kind's preset (the synthetic world's sizes stay its own)."""
    name = (cfg.get("dataset") or {}).get(
        "name", schema()["properties"]["dataset"]["properties"]["name"]["default"]
    )
    kind = DATASETS.get(name) if name in DATASETS else None
    return _merged(preset(kind.preset), cfg) if kind is not None and kind.preset else cfg


def _filled(cfg: dict) -> dict:
    """`cfg` checked against the schema, with its defaults filled in (in place)."""
    errors = sorted(_Validator(schema()).iter_errors(cfg), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        raise ConfigError("invalid config:\n  " + "\n  ".join(_describe(e) for e in errors))
    return cfg


def validate(config: Mapping[str, Any] | None) -> dict:
    """Return a copy of `config` with defaults filled in; raise ConfigError naming every bad key."""
    cfg = copy.deepcopy(dict(config or {}))
    _rename_sections(cfg)
    cfg = _with_preset(cfg)
    cfg = _filled(cfg)
    _check_dataset_paths(cfg)
    _check_trained_detector(cfg)
    _check_visual_input(cfg)
    _check_class_scores(cfg)
    return cfg


def _check_dataset_paths(cfg: dict) -> None:
    """Every key the dataset's kind requires (psvl.datasets.registry) is set."""
    ds = build(DatasetConfig, cfg["dataset"])
    missing = [k for k in DATASETS.get(ds.name).requires if not getattr(ds, k)]
    if missing:
        raise ConfigError(
            "invalid config:\n  "
            + "\n  ".join(f"config.dataset.{k}: required when dataset.name is {ds.name!r}" for k in missing)
        )


def _has_box_labels(cfg: dict) -> bool:
    kind = DATASETS.get(cfg["dataset"]["name"])
    name = cfg["dataset"]["name"]
    return bool(kind.has_dag and kind.sources(cfg, f"{cfg['results']}/{name}").box_labels)


def _check_trained_detector(cfg: dict) -> None:
    """`trained` (detector or features) needs box labels to train on; only some dataset kinds have them."""
    if _has_box_labels(cfg):
        return
    if cfg["features"]["weights"] == "trained":
        raise ConfigError(
            "config.features.weights: 'trained' uses the detector trained on the synthetic world's box "
            "labels; for this dataset use a torchvision weights name (DEFAULT) or a checkpoint path"
        )
    if cfg["detector"]["weights"] == "trained":
        raise ConfigError(
            "config.detector.weights: 'trained' trains on the synthetic world's box labels; for this dataset "
            "use a COCO weights name (DEFAULT), or a checkpoint path plus detector.classes "
            "(train one with `psvl train-detector --coco FILE --images DIR`)"
        )


def _check_visual_input(cfg: dict) -> None:
    """Object channels come from the workflow's detections: a dataset without per-video stages has none;
    named channels are object channels."""
    if cfg["model"]["visual_input"] != "objects":
        if cfg["model"]["named_channels"]:
            raise ConfigError(
                "config.model.named_channels: true reads object channels; set model.visual_input: objects "
                "or named_channels: false"
            )
        return
    if not reads_videos(cfg):
        raise ConfigError(
            f"config.model.visual_input: 'objects' needs the workflow's detections, which dataset "
            f"{cfg['dataset']['name']!r} does not make (no per-video stages); use features"
        )


# Extractors with no classification head to name classes by (features.class_scores refuses them).
HEADLESS_EXTRACTORS = ("detector_backbone", "precomputed")


def _check_class_scores(cfg: dict) -> None:
    """features.class_scores needs a named classifier head; predict.localizer class_scores needs a
    class_scores source: the timelines stand-ins, or the features stage with features.class_scores."""
    features = cfg["features"]
    if features["class_scores"] and features["extractor"] in HEADLESS_EXTRACTORS:
        raise ConfigError(
            f"config.features.class_scores: true needs an extractor with a classification head; "
            f"{features['extractor']!r} has none (use a resnet or r2plus1d_18, r3d_18, mc3_18, or set it false)"
        )
    if cfg["predict"]["localizer"] != "class_scores":
        return
    kind = DATASETS.get(cfg["dataset"]["name"])
    timelines = kind.has_dag and kind.sources(cfg, f"{cfg['results']}/{cfg['dataset']['name']}").timelines
    if not timelines and not (features["class_scores"] and reads_videos(cfg)):
        raise ConfigError(
            "config.predict.localizer: 'class_scores' reads class_scores shards, which this dataset makes "
            "only with config.features.class_scores: true (or use localizer: model)"
        )


def model_input_folder(visual_input: str) -> str:
    """The workflow's folder of the shards the localization model reads (`model.visual_input`): the
    object channels, or the visual features. Here, beside the check above, because it wires one stage's
    output to another's input, and the Snakefile reads it at parse time (no pandas or torch)."""
    return "object_features" if visual_input == "objects" else "features"


def parse_override(text: str) -> tuple[list[str], Any]:
    """`a.b=value` -> (['a', 'b'], value); the value is YAML (so JSON objects work too)."""
    if "=" not in text:
        raise ConfigError(f"--set expects KEY=VALUE, got {text!r}")
    key, value = text.split("=", 1)
    return key.strip().split("."), yaml.safe_load(value)


def load_yaml(path: str | Path) -> dict:
    """A config file's own content (no defaults); a file that cannot be read is a ConfigError."""
    try:
        return yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc


def user_layer(path: str | Path | None = None, overrides: list[str] | None = None) -> dict:
    """What the user gave: a YAML config (or none) with the `--set` overrides applied; no defaults."""
    cfg: dict = load_yaml(path) if path else {}
    for text in overrides or []:
        keys, value = parse_override(text)
        node = cfg
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        node[keys[-1]] = value
    return cfg


def load(path: str | Path | None = None, overrides: list[str] | None = None) -> dict:
    """Read a YAML config (or none), apply `--set` overrides, validate, fill defaults."""
    return validate(user_layer(path, overrides))


def build(cls: type[T], section: Mapping[str, Any]) -> T:
    """A stage dataclass from a validated config section (keys the dataclass lacks are ignored).

    Strict on the other side: every field must be in the section, because the dataclasses declare no
    defaults (the schema is the one source of them).
    """
    names = [f.name for f in dataclasses.fields(cls)]
    missing = [n for n in names if n not in section]
    if missing:
        raise ConfigError(f"{cls.__name__}: section lacks {', '.join(missing)} (validate the config first)")
    return cls(**{n: section[n] for n in names})


def defaults(name: str) -> dict:
    """The schema's defaults of section `name` (dotted for nested sections, e.g. `detector.train`); no
    dataset preset (the synthetic world's is psvl/data/presets/synthetic.yaml, `preset("synthetic")`)."""
    node: Any = _filled({})
    for part in name.split("."):
        node = node[part]
    return node


def default(cls: type[T], section: str, /, **overrides: Any) -> T:
    """A stage dataclass holding the schema's defaults of `section`, with `overrides` on top.

    What tests and benchmarks call instead of `cls()`, so they run the shipped defaults, never a copy.
    (Positional-only arguments: a section may have a key called `name`.)
    """
    values = defaults(section)
    unknown = sorted(set(overrides) - set(values))
    if unknown:
        raise ConfigError(f"config.{section}: unknown key {', '.join(map(repr, unknown))}")
    return build(cls, {**values, **overrides})


def section_json(cfg: Mapping[str, Any], name: str, drop: Iterable[str] = ()) -> str:
    """The `--set name=<json>` argument a Snakemake rule passes to `psvl <stage>`, without the keys in
    `drop` (the command then reads their schema defaults)."""
    section = cfg[name]
    if drop:
        section = {k: v for k, v in section.items() if k not in set(drop)}
    return f"{name}={json.dumps(section, sort_keys=True)}"


def reference_markdown() -> str:
    """The README's config reference, generated from the schema so the two cannot drift apart."""
    rows = ["| key | type | default | meaning |", "|---|---|---|---|"]

    def walk(props: Mapping[str, Any], prefix: str) -> None:
        for name, sub in props.items():
            key = f"{prefix}{name}"
            if sub.get("type") == "object" and "properties" in sub:
                walk(sub["properties"], f"{key}.")
                continue
            typ = sub.get("type", "")
            typ = " or ".join(typ) if isinstance(typ, list) else typ
            if "enum" in sub:
                typ = " / ".join(map(str, sub["enum"]))
            default = json.dumps(sub.get("default"))
            text = " ".join(str(sub.get("description", "")).split()).replace("|", "\\|")
            typ = typ.replace("|", "\\|")
            rows.append(f"| `{key}` | {typ} | `{default}` | {text} |")

    walk(schema()["properties"], "")
    return "\n".join(rows)
