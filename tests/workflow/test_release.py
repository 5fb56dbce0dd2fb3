"""The release path (dataset.name psvl_release): PSVL's pseudo-label JSON + precomputed features ->
train -> predict -> evaluate -> report, on stand-in features of the real shapes (benchmarks/release_standins.py).

The full-scale run (all 3 720 Charades-STA test queries, ActivityNet val_1 + val_2) is
benchmarks/bench_release_scale.py; here a subset keeps the run under a minute.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from workflow_helpers import REPO, release_config, snakemake_with

from benchmarks import release_standins as standins
from psvl.cli import main
from psvl.core.artifacts import read_frame
from psvl.features.precomputed import PrecomputedFeatures
from psvl.localization.batches import QueryDataset
from psvl.localization.vocab import Vocab

DATA = REPO.parent / "shared" / "data"

TINY = {  # a narrow model and one short epoch: the plumbing at the real shapes, not the accuracy
    "model": {"word_dim": 16, "hidden": 16, "fusion_dim": 16, "fusion_layers": 1, "nonlocal_blocks": 1},
    "train": {"epochs": 1, "batch_size": 128, "threads": 1},
    "predict": {"threads": 1},
    "eval": {"plot_videos": 2},
}


@pytest.mark.skipif(not DATA.is_dir(), reason="needs the real annotation files in ../shared/data")
def test_release_dag_predicts_every_test_query_from_standin_charades_features(tmp_path):
    made = standins.charades(tmp_path / "in", DATA, n_test_queries=60, n_pseudo=400, dtype="float16")
    config = release_config(tmp_path, made, TINY)

    targets = [f"results/psvl_release/{t}" for t in ("eval/metrics.json", "report/metrics_table.png")]
    proc = snakemake_with(tmp_path, config, *targets)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = tmp_path / "results" / "psvl_release"
    metrics = json.loads((out / "eval" / "metrics.json").read_text())
    predictions = read_frame(out / "eval" / "predictions.parquet")
    assert metrics["n_queries"] == len(predictions) == made["test_queries"] == 60
    assert metrics["adjustments"]["missing_prediction"] == 0
    # the priors learn from the pseudo-labels, never from the test moments
    assert metrics["baselines"]["mean_moment"]["source"] == "train_moments"
    assert metrics["baselines"]["mean_moment"]["n_moments"] == 400
    # the release path has no train annotations: fixed_window's window is chosen on the pseudo-labels
    fixed = metrics["baselines"]["fixed_window"]
    assert fixed["source"] == "pseudo_labels" and fixed["n_reference"] == 400 and len(fixed["window"]) == 2
    assert metrics["inputs"]["reference"] == metrics["inputs"]["train_moments"]
    unknown, split = metrics["unknown_words"], metrics["by_vocabulary"]
    assert 0 < unknown["token_share"] < unknown["query_share"] < 1
    assert split["in_vocabulary"]["n"] + split["with_unknown"]["n"] == 60
    assert split["with_unknown"]["n"] == round(unknown["query_share"] * 60)
    # Charades-STA moments that end past the video (charades.json) are clipped, and counted
    durations = json.loads((DATA / "charades-sta" / "charades.json").read_text())
    lines = (tmp_path / "in" / "test.txt").read_text().splitlines()
    past_end = sum(float(ln.split("##")[0].split()[2]) > durations[ln.split()[0]]["duration"] for ln in lines)
    assert metrics["adjustments"]["gt_clipped_to_duration"] == past_end > 0
    for figure in ("report/metrics_table.png", "eval/plots/iou_histogram.png", "eval/plots/moments.png"):
        assert (out / figure).stat().st_size > 0
    assert not (out / "manifest.parquet").exists()  # no per-video stage ran
    again = snakemake_with(tmp_path, config, "-n", *targets)
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr


def _h5_and_npy(tmp_path: Path) -> tuple[Path, Path, dict]:
    rng = np.random.default_rng(0)
    arrays = {"v_a": rng.standard_normal((7, 5), np.float32), "v_b": rng.standard_normal((3, 5), np.float32)}
    h5_path, folder = tmp_path / "c3d.h5", tmp_path / "npy"
    folder.mkdir()
    with h5py.File(h5_path, "w") as h5:
        for vid, arr in arrays.items():
            h5.create_group(vid).create_dataset("c3d_features", data=arr)
            np.save(folder / f"{vid}.npy", arr[:, None, None, :])  # I3D files are T x 1 x 1 x D
    return h5_path, folder, arrays


def test_precomputed_features_are_read_a_video_at_a_time_and_train_alike(tmp_path):
    h5_path, folder, arrays = _h5_and_npy(tmp_path)
    durations = {"v_a": 14.0, "v_b": 6.0, "v_missing": 3.0}
    from_h5 = PrecomputedFeatures(h5_path, durations)
    from_npy = PrecomputedFeatures(folder, durations)
    assert sorted(from_h5) == sorted(from_npy) == ["v_a", "v_b"] and "v_missing" not in from_h5
    assert isinstance(from_h5["v_a"].array, h5py.Dataset)  # not read until a batch converts it
    assert isinstance(from_npy["v_a"].array, np.memmap)
    np.testing.assert_allclose(from_h5["v_a"].ends, np.linspace(2.0, 14.0, 7))
    queries = pd.DataFrame(
        {
            "video_id": ["v_a", "v_b", "v_a"],
            "tokens": [["open", "door"], ["hold"], ["door"]],
            "start_s": [1.0, 0.0, 4.0],
            "end_s": [5.0, 3.0, 9.0],
            "duration_s": [14.0, 6.0, 14.0],
        }
    )
    in_memory = {v: dataclasses.replace(from_h5[v], array=a) for v, a in arrays.items()}
    vocab = Vocab.build(queries["tokens"])
    datasets = [QueryDataset(queries, f, vocab, 4, 10) for f in (in_memory, from_h5, from_npy)]
    batches = [d.collate([0, 1, 2]) for d in datasets]
    for d, b in zip(datasets[1:], batches[1:]):
        assert d.video_dim == 5
        assert torch_equal(b.video, batches[0].video) and torch_equal(b.video_mask, batches[0].video_mask)
        for got, want in zip(d.feature_stats(), datasets[0].feature_stats()):
            np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)


def torch_equal(a, b) -> bool:
    return a.shape == b.shape and bool((a == b).all())


def test_several_test_files_are_queried_together_with_prefixed_ids(tmp_path):
    excerpt = REPO / "tests" / "data" / "activitynet_val_1_excerpt.json"
    val_1, val_2 = tmp_path / "val_1.json", tmp_path / "val_2.json"
    val_1.write_text(excerpt.read_text())
    val_2.write_text(excerpt.read_text())
    out = tmp_path / "annotations.parquet"
    assert main(["annotations", "--test", str(val_1), str(val_2), "--out", str(out)]) == 0
    table = pq.read_table(out).to_pandas()
    n = len(json.loads(excerpt.read_text()))
    assert len(table) >= 2 * n and table["query_id"].is_unique
    assert set(table["query_id"].str.split(":").str[0]) == {"val_1", "val_2"}
    assert (table["split"] == "test").all()
