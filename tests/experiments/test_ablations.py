"""experiments/ablations.py: every shipped variant is a valid config switch of the sections downstream of
the pseudo-labels, runs get their own folders with the upstream files linked, and the table reads the
metrics files (intervals, several seeds, by_vocabulary subsets)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from repo_paths import REPO

from experiments import ablations as ab
from psvl.config import ConfigError, validate


def test_every_shipped_variant_validates_over_the_base_config_and_changes_one_thing():
    variants = ab.load_variants(REPO / "config" / "ablations.yaml")
    assert {"psvl", "minilm", "nearest", "noise_weights", "refine"} <= set(variants)
    # the base row is the paper's text side whatever the base config turns on
    assert variants["base"] == {}
    assert variants["psvl"] == {
        "model": {"query_encoder": "learned"},
        "predict": {"unknown_words": "unk", "video_classes": False},
    }
    base = yaml.safe_load((REPO / "config.yaml").read_text())
    for run in ab.plan(variants, [0, 1], Path("/tmp/root")):
        cfg = validate(ab.merge(base, run.overlay))
        assert (
            cfg["train"]["seed"] == run.seed and cfg["results"] == f"/tmp/root/{run.variant}/seed{run.seed}"
        )
    assert validate(ab.merge(base, variants["minilm"]))["model"]["query_encoder"] == "minilm"


def test_variants_that_differ_only_in_prediction_share_a_training_key_per_seed():
    variants = {
        "psvl": {"predict": {"unknown_words": "unk"}},
        "nearest": {"predict": {"unknown_words": "nearest"}, "eval": {"seed": 3}},
        "minilm": {"model": {"query_encoder": "minilm"}},
    }
    key = {(r.variant, r.seed): ab.training_key(r) for r in ab.plan(variants, [0, 1], Path("/tmp/root"))}
    assert key["psvl", 0] == key["nearest", 0] != key["psvl", 1] == key["nearest", 1]
    assert key["minilm", 0] != key["psvl", 0]


def test_a_variant_that_changes_upstream_sections_or_a_misspelled_key_is_refused(tmp_path):
    path = tmp_path / "ablations.yaml"
    path.write_text(yaml.safe_dump({"variants": {"bad": {"tep": {"k_min": 3}}, "ok": {}}}))
    with pytest.raises(SystemExit, match="variant bad overrides tep"):
        ab.load_variants(path)
    with pytest.raises(SystemExit, match="no variant nope"):
        ab.load_variants(path, ["nope"])
    with pytest.raises(ConfigError):
        validate({"train": {"noise_weigths": True}})


def test_upstream_files_are_linked_with_their_times_and_model_and_eval_are_left_out(tmp_path):
    src = tmp_path / "up" / "synthetic"
    for rel in ("pseudo_queries.parquet", "features/00000.parquet", "model/best.pt", "eval/metrics.json"):
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text(rel)
    os.utime(src / "features/00000.parquet", (1e9, 1e9))
    dst = tmp_path / "run" / "synthetic"
    assert ab.link_upstream(src, dst) == 2
    assert sorted(str(p.relative_to(dst)) for p in dst.rglob("*") if p.is_file()) == [
        "features/00000.parquet",
        "pseudo_queries.parquet",
    ]
    assert (dst / "features/00000.parquet").stat().st_mtime == 1e9
    assert ab.link_upstream(src, dst) == 0  # a second run links nothing again
    model = tmp_path / "other" / "model"
    assert ab.link_upstream(src / "model", model, skip=set()) == 1  # a shared model: every file
    assert os.path.samefile(model / "best.pt", src / "model/best.pt")


def _metrics(r5, r7, miou, subsets=False):
    m = {"R@0.5": r5, "R@0.7": r7, "mIoU": miou, "n_queries": 46}
    m["intervals"] = {
        "R@0.5": [r5 - 0.1, r5 + 0.1],
        "R@0.7": [r7 - 0.1, r7 + 0.1],
        "mIoU": [miou - 0.05, miou + 0.05],
    }
    if subsets:
        m["by_vocabulary"] = {
            "in_vocabulary": {"R@0.5": 0.7, "R@0.7": 0.5, "mIoU": 0.6, "n_queries": 30},
            "with_unknown": {"R@0.5": 0.4, "R@0.7": 0.2, "mIoU": 0.3, "n": 16},  # as evaluate writes it
        }
    return m


def test_the_table_shows_intervals_for_one_seed_mean_and_sd_for_several_and_vocabulary_subsets(tmp_path):
    runs = ab.plan({"psvl": {}, "minilm": {"model": {"query_encoder": "minilm"}}}, [0, 1], tmp_path)
    values = {("psvl", 0): (0.5, 0.3, 0.45), ("psvl", 1): (0.6, 0.4, 0.55), ("minilm", 0): (0.7, 0.5, 0.6)}
    for run in runs:
        if (run.variant, run.seed) in values:
            path = run.results / "synthetic" / "eval" / "metrics.json"
            path.parent.mkdir(parents=True)
            path.write_text(
                json.dumps(_metrics(*values[run.variant, run.seed], subsets=run.variant == "minilm"))
            )
    text, records = ab.table(runs, "synthetic")
    lines = text.splitlines()
    assert lines[0] == "| variant | subset | seeds | n | R@0.5 | R@0.7 | mIoU |"
    assert lines[2] == "| psvl | all | 0,1 | 46 | 0.550 ± 0.071 | 0.350 ± 0.071 | 0.500 ± 0.071 |"
    assert (
        lines[3] == "| minilm | all | 0 | 46 | 0.700 [0.60, 0.80] | 0.500 [0.40, 0.60] | 0.600 [0.55, 0.65] |"
    )
    assert lines[4] == "| minilm | in_vocabulary | 0 | 30 | 0.700 | 0.500 | 0.600 |"
    assert lines[5] == "| minilm | with_unknown | 0 | 16 | 0.400 | 0.200 | 0.300 |"
    assert len(records) == 5  # the missing run (minilm seed 1) is skipped


def test_each_run_is_one_snakemake_call_on_the_base_config_and_its_overlay():
    cmd = ab.snakemake(
        Path("config.yaml"), Path("/r/overlay.yaml"), ["/r/synthetic/eval/metrics.json"], 2, True
    )
    assert cmd[1:] == [
        "-m", "snakemake", "--cores", "2", "--configfile", "config.yaml", "/r/overlay.yaml",
        "--rerun-triggers", "mtime", "--rerun-incomplete", "-n", "/r/synthetic/eval/metrics.json",
    ]  # fmt: skip
