"""`snakemake --forcerun train` retrains: the rule passes `--resume` (for a killed run), but a finished
last.pt never stands in for a forced run (psvl.localization.train, Trainer.resume_from_last).

On the release path (stand-in features of Charades' shapes, a subset of PSVL's pseudo-labels), where
`train` is the only job before the model: the test stays under a minute.
"""

from __future__ import annotations

import re

import pytest
import torch
from workflow_helpers import REPO, release_config, snakemake_with

from benchmarks import release_standins as standins

pytestmark = pytest.mark.slow
DATA = REPO.parent / "shared" / "data"
TINY = {  # a narrow model and one short epoch: what is tested is whether the epoch runs
    "model": {"word_dim": 16, "hidden": 16, "fusion_dim": 16, "fusion_layers": 1, "nonlocal_blocks": 1},
    "train": {"epochs": 1, "batch_size": 128, "threads": 1},
}


@pytest.mark.skipif(not DATA.is_dir(), reason="needs the real annotation files in ../shared/data")
def test_forcerun_train_runs_every_epoch_again_instead_of_resuming_the_finished_run(tmp_path):
    made = standins.charades(tmp_path / "in", DATA, n_test_queries=10, n_pseudo=200, dtype="float16")
    config = release_config(tmp_path, made, TINY)
    target = "results/psvl_release/model/best.pt"
    model, train_log = tmp_path / "results/psvl_release/model", tmp_path / "logs/psvl_release/train.log"

    first = snakemake_with(tmp_path, config, target)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert torch.load(model / "last.pt", weights_only=True)["epoch"] == 1  # finished: 1 of 1 epochs
    before = (model / "last.pt").stat().st_mtime_ns

    forced = snakemake_with(tmp_path, config, "--forcerun", "train", "--", target)
    assert forced.returncode == 0, forced.stdout[-3000:] + forced.stderr[-3000:]
    text = train_log.read_text()
    assert re.search(r"last\.pt is a finished run \(1 of 1 epochs\): training afresh", text), text[-2000:]
    assert "resuming from" not in text
    assert len(re.findall(r"train epoch 1/1: loss", text)) == 1  # the epoch ran again
    assert (model / "last.pt").stat().st_mtime_ns > before
