"""Noise-resistant training: agreement weights fall for a corrupted pseudo-label, and refinement moves
a training label's boundaries to the model's confident prediction (validation labels stay)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from model_fixtures import TINY, toy_world

from psvl.config import default
from psvl.core.artifacts import read_frame
from psvl.core.spans import to_seconds
from psvl.localization.batches import QueryDataset
from psvl.localization.checkpoints import load_checkpoint
from psvl.localization.inference import predict_dataset
from psvl.localization.model import PSVLNet, localization_loss
from psvl.localization.noise import NoiseWeights, agreement_weights
from psvl.localization.rounds import refine_spans, train_rounds
from psvl.localization.train import TrainConfig, Trainer
from psvl.localization.vocab import Vocab

torch.set_num_threads(1)


def test_agreement_weight_is_iou_over_full_iou_clipped_to_the_floor_and_one():
    pred = np.array([[0.2, 0.5], [0.2, 0.5], [0.2, 0.5]])
    label = np.array([[0.2, 0.5], [0.35, 0.5], [0.7, 0.9]])  # agrees, IoU 0.5, disagrees (corrupted)
    assert agreement_weights(pred, label, full_iou=0.5, min_weight=0.1).tolist() == pytest.approx([1, 1, 0.1])
    assert agreement_weights(pred, label, full_iou=1.0, min_weight=0.0).tolist() == pytest.approx([1, 0.5, 0])


def test_weights_apply_only_when_on_and_after_the_warmup_and_scale_each_querys_loss():
    on = default(TrainConfig, "train", noise_weights=True, noise_warmup=2)
    w = NoiseWeights(on, n_queries=3)
    moment, target = torch.tensor([[0.2, 0.5], [0.2, 0.5]]), torch.tensor([[0.2, 0.5], [0.7, 0.9]])
    assert w(1, moment, target, [0, 2]) is None and w.last.tolist() == [1, 1, 1]
    got = w(2, moment, target, [0, 2])
    assert got.tolist() == pytest.approx([1.0, on.noise_min_weight]) and w.last[2] == pytest.approx(0.1)
    assert NoiseWeights(default(TrainConfig, "train"), 3)(9, moment, target, [0, 2]) is None  # off by default
    att, guide = torch.full((2, 4), 0.25), torch.ones(2, 4, dtype=torch.bool)
    plain = localization_loss(moment, target, att, guide)
    weighted = localization_loss(moment, target, att, guide, weights=torch.tensor([1.0, 0.0]))
    assert weighted["loc"] < plain["loc"] and weighted["loc"] == pytest.approx(
        0.0
    )  # only the clean one counts


def test_a_corrupted_pseudo_label_ends_with_a_lower_weight_than_the_clean_ones(tmp_path):
    queries, feats = toy_world(n_videos=10, seed=1)
    bad = queries.index[queries["query_id"].str.endswith("#0")][:3]
    for i in bad:  # each becomes the span of another event of its video (another noun)
        queries.loc[i, ["start_s", "end_s"]] = queries.loc[i + 2, ["start_s", "end_s"]].to_numpy()
    cfg = default(
        TrainConfig, "train", epochs=12, batch_size=8, lr=3e-3, val_fraction=0.0, seed=0, threads=1,
        word_dropout=0.0, noise_weights=True, noise_warmup=8,
    )  # fmt: skip
    run = Trainer(queries, feats, tmp_path, TINY, cfg)
    dtype, scaler = run.precision()
    for epoch in range(cfg.epochs):
        run.train_epoch(epoch, dtype, scaler)
    is_bad = run.train_data.queries["query_id"].isin(queries.loc[bad, "query_id"]).to_numpy()
    assert run.noise.last[is_bad].max() < np.median(run.noise.last[~is_bad])


def test_refine_spans_takes_confident_overlapping_predictions_and_keeps_the_rest():
    labels = np.array([[2.0, 6.0], [2.0, 6.0], [2.0, 6.0]])
    preds = np.array([[3.0, 6.5], [3.0, 6.5], [8.0, 9.0]])
    new, changed = refine_spans(labels, preds, np.array([0.9, 0.2, 0.9]), min_score=0.5, min_iou=0.3)
    assert changed.tolist() == [True, False, False]  # not confident; confident but another event
    assert new.tolist() == [[3.0, 6.5], [2.0, 6.0], [2.0, 6.0]]


def test_a_refinement_round_moves_training_labels_to_the_models_predictions_and_keeps_validation(tmp_path):
    queries, feats = toy_world(n_videos=8)
    cfg = default(
        TrainConfig, "train", epochs=2, batch_size=8, lr=2e-3, val_fraction=0.25, seed=3, threads=1,
        refine_rounds=1, refine_min_score=0.0, refine_min_iou=0.0,
    )  # fmt: skip
    result = train_rounds(queries, feats, tmp_path, TINY, cfg)
    round0 = load_checkpoint(Path(tmp_path) / "round0" / "best.pt")
    refined = read_frame(tmp_path / "round0" / "refined_queries.parquet")
    val = refined["video_id"].isin(round0["val_videos"]).to_numpy()
    assert result["refined"] == [int((~val).sum())]  # every training label (thresholds 0)
    cols = ["start_s", "end_s"]
    assert np.allclose(refined.loc[val, cols], queries.loc[val, cols])
    vocab = Vocab(round0["vocab"], round0["vocab_trained"])
    data = QueryDataset(queries[~val], feats, vocab, TINY.num_segments, TINY.max_query_tokens)
    model = PSVLNet.from_checkpoint(round0["model"])
    preds, _ = predict_dataset(model, data, 8, torch.device("cpu"))
    assert np.allclose(refined.loc[~val, cols].to_numpy(), to_seconds(preds, data.duration))
    assert not np.allclose(refined.loc[~val, cols], queries.loc[~val, cols])
    final = load_checkpoint(tmp_path / "best.pt")  # the last round trains where the workflow expects it
    assert final["settings"]["train"]["refine_rounds"] == 1
