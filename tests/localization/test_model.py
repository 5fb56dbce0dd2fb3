"""PSVLNet: parameter parity with the reference, edge shapes, output constraints, padding invariance."""

from __future__ import annotations

import pytest
import torch

from psvl.config import default
from psvl.localization.model import (
    ModelConfig,
    PSVLConfig,
    PSVLNet,
    RegressionHead,
    localization_loss,
    positional_encoding,
    reverse_padded,
)

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def reference_net() -> PSVLNet:
    torch.manual_seed(0)
    # the reference's Charades configuration is the default
    return PSVLNet(PSVLConfig.from_model(default(ModelConfig, "model"), vocab_size=506, video_dim=1024))


def test_parameter_counts_match_the_reference_charades_configuration(reference_net):
    counts = reference_net.parameter_counts()
    assert counts["query_encoder"] == 1_140_216  # Embedding 151,800 + 2 GRU 857,088 + Linear 131,328
    assert 506 * 300 + 2 * 3 * (256 * 300 + 256 * 256 + 2 * 256) + 512 * 256 + 256 == 1_140_216
    assert counts["video_encoder"] == 2_362_624  # 2 GRU 1,969,152 + Linear(1536 -> 256) 393,472
    for block in ("word_fusion", "video_fusion", "two_stage_fusion"):
        assert counts[block] == 1_381_632  # 3 x (MHA 263,168 + Conv1d 196,864 + BN 512)
    assert counts["nonlocal_blocks"] == 394_752
    assert counts["head"] == 164_994  # pooling 32,896 + fc 65,792 + MLP 66,306; no unused second head
    assert counts["total"] == 8_207_482


def tiny(**kw) -> PSVLNet:
    torch.manual_seed(0)
    cfg = {
        "vocab_size": 20,
        "video_dim": 6,
        "word_dim": 4,
        "hidden": 5,
        "fusion_dim": 8,
        "fusion_heads": 2,
        "fusion_layers": 2,
        "nonlocal_blocks": 2,
        "nonlocal_heads": 2,
        "dropout": 0.0,
        "query_encoder": "learned",
        "sentence_model": "",
    }
    cfg.update(kw)
    return PSVLNet(PSVLConfig(**cfg))


@pytest.mark.parametrize("train_mode", [True, False])
def test_forward_handles_batch_one_one_token_query_and_one_segment_video(train_mode):
    net = tiny().train(train_mode)
    out = net(torch.tensor([[5]]), torch.tensor([[True]]), torch.randn(1, 1, 6), torch.tensor([[True]]))
    assert out["moment"].shape == (1, 2)
    assert out["attention"].tolist() == [[1.0]]  # one segment takes all the attention
    if train_mode:
        loss = localization_loss(
            out["moment"], torch.tensor([[0.2, 0.6]]), out["attention"], torch.tensor([[True]])
        )["loss"]
        loss.backward()
        assert all(torch.isfinite(p.grad).all() for p in net.parameters() if p.grad is not None)


def test_moments_are_ordered_and_inside_the_unit_interval_even_for_extreme_logits():
    net = tiny().eval()
    with torch.no_grad():
        net.head.mlp[-1].bias.copy_(torch.tensor([30.0, -30.0]))  # would give start >> end unconstrained
        out = net(
            torch.randint(1, 20, (7, 3)),
            torch.ones(7, 3, dtype=torch.bool),
            torch.randn(7, 9, 6) * 50,
            torch.ones(7, 9, dtype=torch.bool),
        )
    start, end = out["moment"].unbind(-1)
    assert ((0 <= start) & (start <= end) & (end <= 1)).all()


def test_output_does_not_depend_on_padding_of_video_or_query():
    net = tiny().eval()
    tokens, video = torch.tensor([[3, 4, 7]]), torch.randn(1, 10, 6)
    base = net(tokens, torch.ones(1, 3, dtype=torch.bool), video, torch.ones(1, 10, dtype=torch.bool))
    pad_tokens = torch.tensor([[3, 4, 7, 0, 0]])
    pad_video = torch.cat([video, torch.randn(1, 6, 6)], dim=1)  # garbage in the padding
    padded = net(pad_tokens, pad_tokens.ne(0), pad_video, torch.arange(16)[None] < 10)
    assert torch.allclose(base["moment"], padded["moment"], atol=1e-5)
    assert torch.allclose(base["attention"], padded["attention"][:, :10], atol=1e-5)
    assert padded["attention"][:, 10:].abs().max().item() == 0.0


def test_training_batchnorm_statistics_ignore_padding():
    net = tiny().train()
    torch.manual_seed(1)
    tokens, video = torch.tensor([[3, 4], [5, 6]]), torch.randn(2, 8, 6)
    full = torch.ones(2, 8, dtype=torch.bool)
    a = net(tokens, torch.ones(2, 2, dtype=torch.bool), video, full)["moment"]
    b = net(
        tokens,
        torch.ones(2, 2, dtype=torch.bool),
        torch.cat([video, 1e3 * torch.ones(2, 4, 6)], 1),
        torch.cat([full, torch.zeros(2, 4, dtype=torch.bool)], 1),
    )["moment"]
    assert torch.allclose(a, b, atol=1e-5)


def test_reverse_padded_reverses_only_the_valid_steps():
    x = torch.arange(10.0).view(2, 5, 1)
    out = reverse_padded(x, torch.tensor([3, 5]))
    assert out[..., 0].tolist() == [[2, 1, 0, 3, 4], [9, 8, 7, 6, 5]]


def test_attention_guidance_loss_is_mean_negative_log_weight_inside_the_moment():
    att = torch.tensor([[0.5, 0.25, 0.25, 0.0]])
    guide = torch.tensor([[True, True, False, False]])
    moment = torch.tensor([[0.0, 0.5]])
    losses = localization_loss(moment, torch.tensor([[0.0, 0.5]]), att, guide, att_weight=2.0)
    expected_att = -(torch.log(torch.tensor(0.5)) + torch.log(torch.tensor(0.25))) / 2
    assert losses["loc"].item() == 0.0
    assert losses["att"].item() == pytest.approx(expected_att.item(), rel=1e-5)
    assert losses["loss"].item() == pytest.approx(2 * expected_att.item(), rel=1e-5)


def test_checkpoint_round_trip_with_weights_only_load(tmp_path):
    net = tiny().eval()
    torch.save(net.to_checkpoint(), tmp_path / "m.pt")
    back = PSVLNet.from_checkpoint(torch.load(tmp_path / "m.pt", weights_only=True)).eval()
    args = (
        torch.tensor([[1, 2]]),
        torch.ones(1, 2, dtype=torch.bool),
        torch.randn(1, 4, 6),
        torch.ones(1, 4, dtype=torch.bool),
    )
    assert torch.equal(net(*args)["moment"], back(*args)["moment"])


def test_head_starts_from_the_moment_the_attention_implies():
    head = RegressionHead(8)
    with torch.no_grad():
        head.to_alpha.weight.zero_()  # uniform attention over the real segments
    mask = torch.arange(20)[None, :] < torch.tensor([[10], [20]])
    moment, weights = head(torch.randn(2, 20, 8), mask)
    assert torch.allclose(weights.sum(1), torch.ones(2))
    # uniform over all real segments: mean 0.5, std 0.5 / sqrt(3) * (1 - 1/n^2)^0.5 -> about [0, 1]
    assert torch.allclose(moment, torch.tensor([[0.0, 1.0], [0.0, 1.0]]), atol=0.02)


def test_positional_encoding_is_relative_to_the_real_length_and_zero_on_padding():
    short = positional_encoding(torch.ones(1, 4, dtype=torch.bool), 6)
    padded = positional_encoding(torch.arange(8)[None, :] < 4, 6)
    assert torch.allclose(short, padded[:, :4]) and padded[:, 4:].abs().max() == 0
    long = positional_encoding(torch.ones(1, 8, dtype=torch.bool), 6)
    assert not torch.allclose(long[:, :4], short)  # segment 0 of 8 sits nearer the start than 0 of 4
