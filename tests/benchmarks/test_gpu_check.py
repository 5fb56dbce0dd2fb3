"""benchmarks/gpu_check.py: the prepared CUDA-vs-CPU check. Here its plumbing runs CPU against CPU."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest
import torch

from benchmarks import gpu_check, gpu_throughput
from benchmarks._timing import REPO
from psvl.config import defaults, load


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


def test_full_quick_on_cpu_reports_every_rate_and_the_projections_follow_from_them(tmp_path):
    out = tmp_path / "acceptance.json"
    argv = ["--device", "cpu", "--quick", "--full", "--threads", "1", "--json", str(out)]
    report = gpu_check.main(argv)
    tp = report["throughput"]
    assert tp["detector"]["name"] == "fasterrcnn_tiny" and tp["detector"]["items_per_call"] == 2
    assert (
        tp["detector"]["frame"] == [96, 72]
        and tp["clips"]["clip_frames"] == defaults("features")["clip_frames"]
    )
    assert tp["training"]["batch"] == 4 and tp["training"]["tokens"] == defaults("model")["max_query_tokens"]
    assert tp["training"]["autocast"] == "none"  # the CPU trains in float32
    for part in ("detector", "clips", "training"):
        assert tp[part]["calls"] == 2 and tp[part]["per_s"] == pytest.approx(
            tp[part]["calls"] * tp[part]["items_per_call"] / tp[part]["seconds"]
        )
    assert "reference" not in tp
    charades = tp["projections"]["charades_sta"]
    fps = load(REPO / "config/charades_sta.yaml")["frames"]["fps"]
    assert charades["frames_per_video"] == 30.0 * fps
    assert charades["detection_hours"] == pytest.approx(9848 * 30.0 * fps / tp["detector"]["per_s"] / 3600)
    assert json.loads(out.read_text())["throughput"]["clips"]["per_s"] == tp["clips"]["per_s"]


BLOCKED = (
    "snakemake",
    "av",
    "spacy",
    "sentence_transformers",
    "lemminflect",
    "h5py",
    "matplotlib",
    "tqdm",
    "pycocotools",
)


def test_full_run_imports_no_workflow_video_or_text_package(tmp_path):
    """What a bare GPU machine lacks is never imported: each is blocked (an import of it raises)."""
    code = (
        f"import sys\nfor name in {BLOCKED!r}:\n    sys.modules[name] = None\n"
        "from benchmarks import gpu_check\n"
        f"gpu_check.main(['--device', 'cpu', '--quick', '--full', '--threads', '1', '--json', {str(tmp_path / 'r.json')!r}])\n"
    )
    env = os.environ | {"PYTHONPATH": str(REPO), "PSVL_QUIET": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads((tmp_path / "r.json").read_text())["ok"] == {
        "features": True,
        "detection": True,
        "training": True,
    }


FAKE_RELEASE = {  # the four files of a gistvision/PSVL work tree that bench_train.load_released reads
    "config_parsers/simple_model_cross_modality_twostage_attention_config.py": (
        "from yacs.config import CfgNode as CN\n_C = CN()\n_C.MODEL = CN()\n_C.MODEL.QUERY = CN()\n"
        "_C.MODEL.QUERY.EMB_IDIM = -1\n_C.MODEL.VIDEO = CN()\n_C.MODEL.VIDEO.IDIM = 1024\n"
        "_C.TRAIN = CN()\n_C.TRAIN.LR = 0.1\n"
    ),
    "configs/cha_simple_model/simplemodel_cha_BS256_two-stage_attention.yml": "TRAIN:\n  LR: 0.0004\n",
    "models/simple_model_cross_modal_two_stage.py": (
        "from torch import nn\nclass SimpleModel(nn.Module):\n    def __init__(self, cfg):\n"
        "        super().__init__()\n        self.lr = cfg.TRAIN.LR\n"
        "        self.emb = nn.Embedding(cfg.MODEL.QUERY.EMB_IDIM, 4)\n"
        "        self.video = nn.Linear(cfg.MODEL.VIDEO.IDIM, 4)\n"
        "    def forward(self, b):\n"
        "        return {'s': (self.emb(b['query_labels']).mean(1) * self.video(b['video_feats']).mean(1)).sum(1)}\n"
    ),
    "utils/loss.py": (
        "from torch import nn\nclass NLVLLoss(nn.Module):\n    def __init__(self, cfg):\n        super().__init__()\n"
        "    def forward(self, out, batch):\n        return {'l': out['s'].pow(2).mean()}\n"
    ),
}


def test_reference_builds_the_released_model_from_its_config_without_yacs(tmp_path):
    """--reference reads the released code's own parser and yml (a stand-in CfgNode where yacs is missing)
    and times its step at the same shapes as PSVLNet's."""
    for rel, text in FAKE_RELEASE.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    had_yacs = "yacs" in sys.modules
    try:
        out = gpu_throughput.reference_rate(torch.device("cpu"), gpu_throughput.QUICK, tmp_path)
    finally:
        if not had_yacs:  # the stand-in (or the real yacs) leaves with this test
            sys.modules.pop("yacs", None), sys.modules.pop("yacs.config", None)
    quick = gpu_throughput.QUICK
    assert out["parameters"] == gpu_throughput.VOCAB * 4 + quick.video_dim * 4 + 4  # EMB_IDIM, IDIM were set
    assert (out["batch"], out["segments"], out["calls"]) == (
        quick.train_batch,
        quick.segments,
        quick.max_calls,
    )
    assert out["yacs"] == (importlib.util.find_spec("yacs") is not None)
