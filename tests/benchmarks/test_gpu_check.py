"""benchmarks/gpu_check.py: the prepared CUDA-vs-CPU check. Here its plumbing runs CPU against CPU."""

from __future__ import annotations

import json

import pytest
import torch

from benchmarks import gpu_check


def test_cpu_against_cpu_reports_exact_agreement_for_every_part(tmp_path, capsys):
    out = tmp_path / "report.json"
    report = gpu_check.main(["--device", "cpu", "--quick", "--threads", "1", "--json", str(out)])
    feats, det, train = report["features"], report["detection"], report["training"]
    assert feats["shape"] == [2, 512]  # resnet18 features of the quick batch
    assert feats["max_abs_diff"] == 0.0 and feats["min_cosine"] == pytest.approx(1.0, abs=1e-6)
    assert det["counts_equal"] and sum(c for c, _ in det["boxes_per_frame"]) > 0
    assert det["mean_matched_iou"] == pytest.approx(1.0) and det["matched_share"] == 1.0
    assert len(train["loss_cpu"]) == len(train["loss_device"]) == train["steps"] == 4
    assert train["loss_max_rel_diff"] == 0.0
    assert report["ok"] == {"features": True, "detection": True, "training": True}
    assert json.loads(out.read_text())["tolerances"]["training_loss_max_rel_diff"] > 0
    printed = capsys.readouterr().out
    assert "max_abs_diff 0" in printed and "loss_max_rel_diff 0" in printed


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_against_cpu_agrees_within_tolerances():
    report = gpu_check.main(["--device", "cuda"])
    assert report["ok"] == {"features": True, "detection": True, "training": True}, report
