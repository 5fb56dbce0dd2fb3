"""Each config section has one dataclass whose fields are exactly the section's schema keys, with no
defaults of its own: the schema is the one source of defaults, so a key added to one side only fails here."""

from __future__ import annotations

import dataclasses
import importlib

import pytest

from psvl import config

# section (dotted for nested) -> "module:Class". Sections that are not a stage's settings are listed in
# NOT_A_STAGE with the reason.
SECTIONS = {
    "dataset": "psvl.datasets.registry:DatasetConfig",
    "synthetic": "psvl.synth.world_writer:SynthConfig",
    "frames": "psvl.frames.frames:FramesConfig",
    "features": "psvl.features.features:FeaturesConfig",
    "detector": "psvl.detection.config:DetectorConfig",
    "detector.train": "psvl.detection.config:DetectorTrainConfig",
    "proposals": "psvl.proposals.proposals:ProposalsConfig",
    "corpus": "psvl.language.corpus:CorpusConfig",
    "pseudo_queries": "psvl.language.pseudo_queries:PseudoQueriesConfig",
    "model": "psvl.localization.model:ModelConfig",
    "train": "psvl.localization.train:TrainConfig",
    "predict": "psvl.localization.predict:PredictConfig",
    "class_grounding": "psvl.localization.class_grounding:GroundingConfig",
    "eval": "psvl.evaluation.evaluate:EvalConfig",
    "standins": "psvl.standins.config:StandinsConfig",
    "standins.detections": "psvl.standins.config:DetectionNoiseConfig",
}
NOT_A_STAGE = {"results": "the output root", "shard_size": "read by the workflow only"}


def _cls(path: str) -> type:
    module, name = path.split(":")
    return getattr(importlib.import_module(module), name)


def _section_schema(name: str) -> dict:
    node = config.schema()
    for part in name.split("."):
        node = node["properties"][part]
    return node


def test_every_schema_section_has_a_dataclass_or_a_reason():
    top = set(config.schema()["properties"])
    assert top == {s for s in SECTIONS if "." not in s} | set(NOT_A_STAGE)


@pytest.mark.parametrize("section", sorted(SECTIONS))
def test_dataclass_fields_equal_the_schema_section_keys(section):
    cls = _cls(SECTIONS[section])
    fields = {f.name for f in dataclasses.fields(cls)}
    assert fields == set(_section_schema(section)["properties"]), f"{cls.__name__} vs config.{section}"


@pytest.mark.parametrize("section", sorted(SECTIONS))
def test_dataclass_declares_no_defaults(section):
    cls = _cls(SECTIONS[section])
    with_default = [
        f.name
        for f in dataclasses.fields(cls)
        if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
    ]
    assert with_default == [], f"{cls.__name__} repeats schema defaults for {with_default}"


@pytest.mark.parametrize("section", sorted(SECTIONS))
def test_default_builds_each_section_from_the_schema(section):
    cls = _cls(SECTIONS[section])
    built = config.default(cls, section)
    assert dataclasses.asdict(built) == {
        k: v for k, v in config.defaults(section).items() if k in {f.name for f in dataclasses.fields(cls)}
    }


def test_default_rejects_an_unknown_override():
    with pytest.raises(config.ConfigError, match=r"config\.frames: unknown key 'fsp'"):
        config.default(_cls(SECTIONS["frames"]), "frames", fsp=3)
