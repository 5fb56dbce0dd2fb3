"""Training: held-out videos, determinism, exact resume, checkpoints that load with weights_only."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from model_fixtures import TINY, toy_world

from psvl.config import default, defaults
from psvl.core.artifacts import read_frame
from psvl.language.tagger import options
from psvl.localization.batches import QueryDataset
from psvl.localization.train import TrainConfig, split_videos, train
from psvl.localization.vocab import Vocab

torch.set_num_threads(1)
CFG = default(TrainConfig, "train", epochs=3, batch_size=8, lr=2e-3, val_fraction=0.25, seed=3, threads=1)


def weights(path):
    return torch.load(path, weights_only=True)["model"]["state_dict"]


def test_validation_split_holds_out_whole_videos_with_a_seed():
    vids = [f"v{i}" for i in range(20)] * 3
    train_ids, val_ids = split_videos(vids, 0.1, seed=0)
    assert len(val_ids) == 2 and len(train_ids) == 18 and not set(train_ids) & set(val_ids)
    assert split_videos(vids, 0.1, seed=0) == (train_ids, val_ids)
    assert split_videos(vids, 0.1, seed=1)[1] != val_ids
    assert split_videos(["a", "b"], 0.01, seed=0)[1] != []  # a share > 0 holds out at least one video
    assert split_videos(vids, 0.0, seed=0)[1] == []


def test_resumed_run_ends_with_the_same_weights_as_an_uninterrupted_one(tmp_path):
    queries, feats = toy_world(n_videos=8)
    train(queries, feats, tmp_path / "a", TINY, CFG)
    train(queries, feats, tmp_path / "b", TINY, CFG, stop_after=1)  # "killed" after epoch 1
    assert torch.load(tmp_path / "b" / "last.pt", weights_only=True)["epoch"] == 1
    (tmp_path / "b" / "best.pt").unlink()  # snakemake --rerun-incomplete removes the declared outputs
    train(queries, feats, tmp_path / "b", TINY, CFG, resume=True)
    wa, wb = weights(tmp_path / "a" / "last.pt"), weights(tmp_path / "b" / "last.pt")
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    ba, bb = (torch.load(tmp_path / d / "best.pt", weights_only=True) for d in "ab")
    assert ba["epoch"] == bb["epoch"] and all(
        torch.equal(ba["model"]["state_dict"][k], bb["model"]["state_dict"][k]) for k in wa
    )
    log_a, log_b = (
        read_frame(tmp_path / "a" / "train_log.parquet"),
        read_frame(tmp_path / "b" / "train_log.parquet"),
    )
    assert log_a["epoch"].tolist() == [1, 2, 3] == log_b["epoch"].tolist()
    assert np.allclose(log_a["train_loss"], log_b["train_loss"])
    # without --resume a fresh run starts over (epoch 1 again), and a different seed changes the weights
    other = dataclasses.replace(CFG, seed=4, epochs=1)
    train(queries, feats, tmp_path / "b", TINY, other)
    assert torch.load(tmp_path / "b" / "last.pt", weights_only=True)["epoch"] == 1


def test_resume_never_takes_a_finished_run_for_the_result(tmp_path):
    # --forcerun train after a finished run: same settings and data, and yet every epoch runs again
    queries, feats = toy_world(n_videos=6)
    one = dataclasses.replace(CFG, epochs=1)
    train(queries, feats, tmp_path, TINY, one)
    first = torch.load(tmp_path / "last.pt", weights_only=True)
    with torch.no_grad():  # mark this run's weights, so a result taken from last.pt would show
        first["model"]["state_dict"] = {k: v + 1 for k, v in first["model"]["state_dict"].items()}
    torch.save(first, tmp_path / "last.pt")
    result = train(queries, feats, tmp_path, TINY, one, resume=True)
    assert result["epochs"] == 1
    assert read_frame(tmp_path / "train_log.parquet")["epoch"].tolist() == [1]
    fresh = weights(tmp_path / "last.pt")
    assert all(not torch.equal(fresh[k], first["model"]["state_dict"][k]) for k in fresh)


def test_resume_with_other_settings_starts_afresh(tmp_path):
    queries, feats = toy_world(n_videos=6)
    train(queries, feats, tmp_path, TINY, dataclasses.replace(CFG, epochs=1))
    result = train(queries, feats, tmp_path, TINY, dataclasses.replace(CFG, epochs=1, lr=1e-3), resume=True)
    assert result["epochs"] == 1  # retrained, not "already finished with 1 epoch of the old run"
    assert torch.load(tmp_path / "last.pt", weights_only=True)["settings"]["train"]["lr"] == 1e-3


def test_resume_with_other_queries_of_the_same_size_and_vocabulary_starts_afresh(tmp_path):
    queries, feats = toy_world(n_videos=6)
    train(queries, feats, tmp_path, TINY, dataclasses.replace(CFG, epochs=1))
    before = weights(tmp_path / "last.pt")
    moved = queries.assign(end_s=queries["end_s"] - 0.5)  # same ids, count and words; other spans
    train(moved, feats, tmp_path, TINY, dataclasses.replace(CFG, epochs=1), resume=True)
    after = weights(tmp_path / "last.pt")
    # retrained on the new labels, not "already finished" with the old ones
    assert any(not torch.equal(before[k], after[k]) for k in before)


def test_checkpoints_carry_vocab_settings_and_val_videos_and_best_is_chosen_on_validation(tmp_path):
    queries, feats = toy_world(n_videos=8)
    train(
        queries,
        feats,
        tmp_path,
        TINY,
        CFG,
        corpus_words=["roll", "cone"],
        provenance={"features": {"config": {"extractor": "resnet18"}}},
    )
    best = torch.load(tmp_path / "best.pt", weights_only=True)
    log = read_frame(tmp_path / "train_log.parquet", "train_log")
    assert best["epoch"] == int(log.loc[log["val_mIoU"].idxmax(), "epoch"])
    assert best["vocab"][:4] == ["<pad>", "<unk>", "<bos>", "<eos>"]
    assert {"roll", "cone", "ball", "spin"} <= set(best["vocab"])
    assert Vocab.load(tmp_path / "vocab.json").tokens == best["vocab"]
    val = set(best["val_videos"])
    assert len(val) == 2 and val <= set(queries["video_id"])
    assert best["provenance"]["features"]["config"]["extractor"] == "resnet18"
    assert best["settings"]["model"]["num_segments"] == TINY.num_segments


def test_checkpoints_record_the_language_options_of_the_training_tokens(tmp_path):
    queries, feats = toy_world(n_videos=4)
    content = options({**defaults("corpus"), "simplify": "content"})
    train(queries, feats, tmp_path / "a", TINY, dataclasses.replace(CFG, epochs=1), language=content)
    for name in ("best.pt", "last.pt"):
        assert torch.load(tmp_path / "a" / name, weights_only=True)["language"] == content
    assert content["simplify"] == "content" and "start" in content["stop_verbs"]
    # not given: the corpus section's schema defaults, PSVL's conventions
    train(queries, feats, tmp_path / "b", TINY, dataclasses.replace(CFG, epochs=1))
    recorded = torch.load(tmp_path / "b" / "best.pt", weights_only=True)["language"]
    assert recorded == {"model": "en_core_web_sm", "simplify": "psvl", "stop_verbs": []}


def test_batches_stride_sample_long_videos_pad_short_ones_and_guide_only_real_segments():
    queries, feats = toy_world(n_videos=4, min_len=20, max_len=50)
    data = QueryDataset(queries, feats, Vocab.build(queries["tokens"]), num_segments=32, max_tokens=6)
    lengths = np.array([len(feats[v].array) for v in queries["video_id"]])
    rows = np.arange(len(queries))
    batch = data.collate(rows, torch.Generator().manual_seed(0))
    n_valid = batch.video_mask.sum(1).numpy()
    assert batch.video.shape[1] == min(32, lengths.max())
    assert (n_valid == np.minimum(lengths, 32)).all()
    assert not (batch.guide & ~batch.video_mask).any()  # the guidance never covers padding
    assert (batch.guide.sum(1) >= 1).all()
    # a query ending at the video's end guides up to the last real segment, not into the padding
    last = batch.target[:, 1] == 1.0
    assert last.any()
    for i in np.flatnonzero(last.numpy()):
        assert batch.guide[i, n_valid[i] - 1] and not batch.guide[i, n_valid[i] :].any()
    # evaluation sampling is the centre phase, so it is the same every time
    assert torch.equal(data.collate(rows).video, data.collate(rows).video)


@pytest.mark.parametrize("n_videos", [1])
def test_training_on_a_single_video_keeps_it_for_training(tmp_path, n_videos):
    queries, feats = toy_world(n_videos=n_videos)
    result = train(queries, feats, tmp_path, TINY, dataclasses.replace(CFG, epochs=1))
    assert result["epochs"] == 1
    assert torch.load(tmp_path / "best.pt", weights_only=True)["val_videos"] == []


def test_corpus_only_words_read_as_unk_and_word_dropout_trains_unk():
    vocab = Vocab.build([["spin", "ball"], ["spin", "cube"]], extra=["forest", "ball"])
    assert vocab.tokens[4:] == ["spin", "ball", "cube", "forest"] and vocab.n_trained == 7
    assert vocab.encode(["spin", "forest", "never"]) == [4, 1, 1]  # untrained and unknown -> <unk>
    assert vocab.encode([]) == [1]
    queries, feats = toy_world(n_videos=4)
    data = QueryDataset(queries, feats, Vocab.build(queries["tokens"]), num_segments=32, max_tokens=6)
    rows = np.arange(len(queries))
    kept = data.collate(rows, torch.Generator().manual_seed(0)).tokens
    dropped = data.collate(rows, torch.Generator().manual_seed(0), word_dropout=0.5).tokens
    assert (kept != 1).all() and 0.25 < (dropped == 1).float().mean().item() < 0.75
    assert torch.equal(dropped, data.collate(rows, torch.Generator().manual_seed(0), word_dropout=0.5).tokens)


def test_cpu_training_is_float32_by_default_because_cpu_bf16_measured_slower(tmp_path):
    from psvl.localization.train import Trainer

    queries, feats = toy_world(n_videos=4)
    cfg = default(TrainConfig, "train", device="cpu", epochs=1, threads=1)
    assert cfg.cpu_bf16 is False  # docs/localization.md: ~7x slower in bf16 on this project's CPU
    assert not Trainer(queries, feats, tmp_path, TINY, cfg, None, None, None).amp
    with_bf16 = dataclasses.replace(cfg, cpu_bf16=True)
    assert Trainer(queries, feats, tmp_path, TINY, with_bf16, None, None, None).amp
