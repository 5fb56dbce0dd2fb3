import subprocess
import sys

import pytest
import yaml

from psvl import config

CUSTOM = {"name": "custom", "videos_dir": "videos", "corpus": "corpus.txt"}


def test_defaults_are_filled_from_the_schema():
    assert config.validate({})["dataset"]["name"] == "synthetic"
    cfg = config.validate({"dataset": CUSTOM})  # no preset: the schema's defaults alone
    assert cfg["shard_size"] == 64
    assert cfg["results"] == "results"
    assert cfg["proposals"]["min_frac"] == 0.15 and cfg["proposals"]["max_frac"] == 0.85
    assert cfg["pseudo_queries"]["num_nouns"] == 5 and cfg["pseudo_queries"]["num_verbs"] == 3
    assert cfg["train"]["lr"] == 0.0004 and cfg["train"]["batch_size"] == 256


def test_the_synthetic_preset_applies_to_the_synthetic_world_only_and_user_keys_win():
    synthetic = config.validate({"model": {"hidden": 32}})
    assert synthetic["model"]["hidden"] == 32 and synthetic["model"]["word_dim"] == 64  # preset, then user
    assert synthetic["detector"]["weights"] == "trained" and synthetic["shard_size"] == 16
    custom = config.validate({"dataset": CUSTOM})
    assert (custom["model"]["word_dim"], custom["model"]["hidden"], custom["train"]["batch_size"]) == (
        300,
        256,
        256,
    )
    assert custom["detector"]["weights"] == "DEFAULT" and custom["features"]["extractor"] == "resnet50"


def test_a_custom_run_that_names_no_features_is_not_told_about_trained():
    cfg = config.validate({"dataset": CUSTOM, "detector": {"weights": "none"}})
    assert cfg["features"]["weights"] == "DEFAULT"


def test_trained_needs_a_dataset_with_box_labels():
    with pytest.raises(config.ConfigError, match=r"config\.detector\.weights: 'trained' trains on"):
        config.validate({"dataset": CUSTOM, "detector": {"weights": "trained"}})


def test_misspelled_key_is_named():
    with pytest.raises(config.ConfigError, match=r"config\.proposals: unknown key 'k_mni'"):
        config.validate({"proposals": {"k_mni": 2}})


def test_string_where_a_number_belongs_is_named():
    with pytest.raises(config.ConfigError, match=r"config\.proposals\.k_min: expected integer, got 'two'"):
        config.validate({"proposals": {"k_min": "two"}})


def test_unknown_top_level_key_is_named():
    with pytest.raises(config.ConfigError, match=r"config: unknown key 'shardsize'"):
        config.validate({"shardsize": 3})


def test_missing_dataset_path_is_named():
    with pytest.raises(config.ConfigError, match=r"config\.dataset\.videos_dir: required"):
        config.validate({"dataset": {"name": "custom", "corpus": "c.txt"}})


def test_overrides_accept_dotted_keys_and_whole_sections(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"shard_size": 8}))
    cfg = config.load(path, ["proposals.k_min=3", 'frames={"fps": 1, "size": 64}'])
    assert cfg["shard_size"] == 8 and cfg["proposals"]["k_min"] == 3
    assert cfg["frames"]["fps"] == 1 and cfg["frames"]["jpeg_quality"] == 90


def test_section_json_round_trips_through_set():
    cfg = config.validate({"proposals": {"k": 4}})
    again = config.load(None, [config.section_json(cfg, "proposals")])
    assert again["proposals"] == cfg["proposals"]


BAD_CONFIGS = {
    "misspelled": ({"shard_sise": 4}, "shard_sise"),
    "wrong_type": ({"frames": {"fps": "fast"}}, "config.frames.fps"),
    "missing_path": ({"dataset": {"name": "custom"}}, "config.dataset.videos_dir"),
    "synthetic_only_features": (
        {
            "dataset": {"name": "custom", "videos_dir": "v", "corpus": "c.txt"},
            "features": {"weights": "trained"},
        },
        "config.features.weights",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_snakemake_stops_before_any_job_naming_the_key(case, tmp_path, repo_root):
    cfg, key = BAD_CONFIGS[case]
    cfgfile = tmp_path / "bad.yaml"
    cfgfile.write_text(yaml.safe_dump(cfg))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-n",
            "--cores",
            "1",
            "--configfile",
            str(cfgfile),
            "--directory",
            str(tmp_path),
            "-s",
            str(repo_root / "Snakefile"),
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert key in out, out[-2000:]
    assert "rule " not in out.split(key)[0][-200:] and "Job stats" not in out
