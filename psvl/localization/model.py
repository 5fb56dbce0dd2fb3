"""PSVLNet: PSVL's cross-modality two-stage attention network, top to bottom (nanoGPT style).

Small blocks first (masked helpers, the video encoder, the fusion layer, non-local block, regression
head; the bi-GRU is in `layers.py`, the text side in the `query_encoders.py` registry), then `ModelConfig` (the `model` config section), `PSVLConfig` (what builds the
network) and `PSVLNet`, which composes them.

Parameter parity with the released reference (Charades config: vocab 506, word 300, video 1024, GRU 256
per direction, fusion 256 with 1 head and 3 layers per block, 2 non-local blocks of 4 heads) is 8,207,482
parameters; `tests/localization/test_model.py` pins every part. What differs from the reference, on purpose:
- GRUs run on padded tensors (fused `nn.GRU`, one call per direction); the backward direction reads each
  sequence reversed *within its length*, so padding never leaks in (the reference packs sequences, whose
  CPU backward slices every timestep: the main cost of its training step).
- padded positions are zeroed before every Conv1d and left out of BatchNorm statistics, so a video's
  output does not depend on how much padding its batch has;
- the output is constrained to 0 <= start <= end <= 1 (start = sigmoid(a), end = start + (1 - start) *
  sigmoid(b)); the reference's ReLU head lets start > end and values above 1 through;
- the unused second regression head is left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from psvl.core.spans import segment_centres
from psvl.localization.layers import BiGRU, reverse_padded  # noqa: F401 - reverse_padded: re-exported
from psvl.localization.named_channels import named_tracks
from psvl.localization.query_encoders import build_query_encoder


def positional_encoding(mask: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoids of each segment's *relative* position (centre / number of real segments), (B, T, dim).

    Parameter-free, zero on padding. Relative, so a moment's normalized position reads the same in short
    and long (or padded) videos: the attentive pooling then carries where it looked into the regression.
    """
    pos = segment_centres(mask.sum(1), mask.size(1))
    freqs = torch.pi * torch.arange(1, dim // 2 + 1, device=mask.device, dtype=torch.float32)
    angles = pos[..., None] * freqs
    pe = torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1)
    pe = F.pad(pe, (0, dim - pe.size(-1)))
    return pe * mask[..., None]


class MaskedBatchNorm1d(nn.BatchNorm1d):
    """BatchNorm over (B, C, L) whose training statistics use only the unpadded positions.

    With a single valid value per channel (batch 1, one segment) it normalizes with the running
    statistics instead of failing, so a batch of one 1-token query still trains.
    """

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        if not self.training or (x.size(0) * x.size(2) > 1 and bool(mask.all())):
            return super().forward(x)
        keep = mask.bool()
        flat = x.transpose(1, 2)[keep]  # (N_valid, C)
        train_stats = flat.size(0) > 1
        normed = F.batch_norm(
            flat,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            training=train_stats,
            momentum=self.momentum,
            eps=self.eps,
        )
        out = x.new_zeros(x.size(0), x.size(2), x.size(1))
        out[keep] = normed
        return out.transpose(1, 2)


class VideoEncoder(nn.Module):
    """Segment features (B, T, D) -> BiGRU; [input || GRU states] -> Linear + ReLU + Dropout."""

    def __init__(self, video_dim: int, hidden: int, out_dim: int, dropout: float) -> None:
        super().__init__()
        self.gru = BiGRU(video_dim, hidden)
        self.proj = nn.Sequential(nn.Linear(video_dim + 2 * hidden, out_dim), nn.ReLU(), nn.Dropout(dropout))

    def forward(self, feats: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # proj([feats || states]) as two matmuls: no concatenated copy, and no gradient is computed for
        # the (constant) input features, which a Linear over the concatenation would compute and drop.
        linear, d = self.proj[0], feats.size(-1)
        h = F.linear(feats, linear.weight[:, :d]) + F.linear(
            self.gru(feats, mask), linear.weight[:, d:], linear.bias
        )
        return self.proj[2](self.proj[1](h))


class FusionLayer(nn.Module):
    """x attends over a context (MultiheadAttention), then Conv1d(k=3)-BN-ReLU, plus the residual x."""

    def __init__(self, dim: int, heads: int, kernel: int = 3) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.conv = nn.Conv1d(dim, dim, kernel, padding=kernel // 2)
        self.norm = MaskedBatchNorm1d(dim)

    def forward(self, x: torch.Tensor, x_mask: torch.Tensor, ctx: torch.Tensor, ctx_mask: torch.Tensor):
        attended, _ = self.attn(x, ctx, ctx, key_padding_mask=~ctx_mask, need_weights=False)
        h = (attended * x_mask[..., None]).transpose(1, 2)  # zero padding so the conv never sees it
        h = F.relu(self.norm(self.conv(h), x_mask)).transpose(1, 2)
        return (h + x) * x_mask[..., None]


class FusionBlock(nn.Module):
    """`layers` FusionLayers; the stream x is updated, the context stays fixed."""

    def __init__(self, dim: int, heads: int, layers: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(FusionLayer(dim, heads) for _ in range(layers))

    def forward(self, x, x_mask, ctx, ctx_mask):
        for layer in self.layers:
            x = layer(x, x_mask, ctx, ctx_mask)
        return x


class NonLocalBlock(nn.Module):
    """Multi-head self-attention over segments with a residual and no output projection (as LGI)."""

    def __init__(self, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        B, T, D = x.shape
        q, k, v = self.qkv(self.drop(x)).view(B, T, 3, self.heads, D // self.heads).permute(2, 0, 3, 1, 4)
        r = F.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None, None, :])
        return x + r.transpose(1, 2).reshape(B, T, D)


class RegressionHead(nn.Module):
    """Attentive pooling over segments -> MLP -> (start, end) with 0 <= start <= end <= 1.

    The MLP refines the moment the attention itself implies: a span [s, e] attended uniformly has mean
    position (s + e) / 2 and standard deviation (e - s) / sqrt(12), so mean -/+ sqrt(3) std is where the
    head starts from (its last layer starts at zero). The guidance loss already teaches the attention to
    cover the moment; reading the moment off it directly makes that knowledge count from the first step,
    instead of the regression MLP having to rediscover positions from the pooled features.
    Returns the moment (B, 2) and the pooling weights (B, T), which the attention-guidance loss reads.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.feat2att = nn.Linear(dim, dim // 2, bias=False)
        self.to_alpha = nn.Linear(dim // 2, 1, bias=False)
        self.fc = nn.Linear(dim, dim)
        self.mlp = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, 2))
        nn.init.zeros_(self.mlp[-1].weight)
        nn.init.zeros_(self.mlp[-1].bias)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        alpha = self.to_alpha(torch.tanh(self.feat2att(x))).squeeze(-1).float()
        weights = torch.softmax(alpha.masked_fill(~mask, float("-inf")), dim=-1)
        pooled = self.fc(torch.bmm(weights[:, None, :].to(x.dtype), x).squeeze(1))
        a, b = self.mlp(pooled).float().unbind(-1)
        # the moment the attention implies (positions are segment centres, relative to the real length)
        pos = segment_centres(mask.sum(1), mask.size(1))
        mean = (weights * pos).sum(1)
        std = ((weights * (pos - mean[:, None]) ** 2).sum(1) + 1e-8).sqrt()
        eps = 1e-4
        s0 = (mean - 3**0.5 * std).clamp(eps, 1 - eps)
        e0 = (mean + 3**0.5 * std).clamp(eps, 1 - eps)
        start = torch.sigmoid(torch.logit(s0) + a)
        rest = ((e0 - start) / (1 - start)).clamp(eps, 1 - eps)  # where e0 lies in [start, 1]
        end = start + (1 - start) * torch.sigmoid(torch.logit(rest) + b)
        return torch.stack([start, end], dim=-1), weights


@dataclass
class ModelConfig:
    """The `model` config section: the network's widths plus how its inputs are shaped (schema defaults)."""

    num_segments: int
    word_dim: int
    hidden: int
    fusion_dim: int
    fusion_heads: int
    fusion_layers: int
    nonlocal_blocks: int
    nonlocal_heads: int
    dropout: float
    max_query_tokens: int
    vocab_from_corpus: bool
    normalize_video: bool
    visual_input: str  # which shards the workflow passes as --features (the model reads any width)
    named_channels: bool  # object channels only: append the track of the classes each query names
    query_encoder: str
    sentence_model: str


@dataclass
class PSVLConfig:
    """What builds a PSVLNet: the `model` section's widths plus the data's sizes. Checkpoints store it as a
    plain dict (`asdict`, in this field order) and rebuild it with `PSVLConfig(**stored)`."""

    vocab_size: int
    video_dim: int
    word_dim: int
    hidden: int  # GRU hidden size per direction
    fusion_dim: int
    fusion_heads: int
    fusion_layers: int
    nonlocal_blocks: int
    nonlocal_heads: int
    dropout: float
    query_encoder: str  # a name in psvl.localization.query_encoders.QUERY_ENCODERS
    sentence_model: str  # the sentence-transformers model of `minilm` (unused by `learned`)
    named_classes: int = 0  # > 0: the input is object channels of this many classes, plus named tracks

    @classmethod
    def from_model(
        cls, model: ModelConfig, vocab_size: int, video_dim: int, named_classes: int = 0
    ) -> PSVLConfig:
        """The network of the `model` section for a vocabulary and feature width (and, with named
        object channels, the number of detector classes)."""
        shared = {f.name: getattr(model, f.name) for f in fields(cls) if hasattr(model, f.name)}
        return cls(vocab_size=vocab_size, video_dim=video_dim, named_classes=named_classes, **shared)


class PSVLNet(nn.Module):
    """Query and video encoders -> two-stage cross-modal fusion -> non-local blocks -> moment regression.

    forward(tokens (B, L) long, token_mask (B, L) bool, video (B, T, D) float, video_mask (B, T) bool,
    texts (the B queries as strings; read by sentence-model query encoders), named (B, C) float: the
    classes each query names, `psvl.localization.named_channels`; only for a model with named_classes)
    -> {"moment": (B, 2) normalized start/end, "attention": (B, T) pooling weights}.
    """

    def __init__(self, config: PSVLConfig) -> None:
        super().__init__()
        c = self.config = config
        self.query_encoder = build_query_encoder(c)
        tracks = 2 if c.named_classes else 0  # the named classes' (score, motion)
        self.video_encoder = VideoEncoder(c.video_dim + tracks, c.hidden, c.fusion_dim, c.dropout)
        # stage 1: words attend over video; video attends over words. stage 2: video over the attended words.
        self.word_fusion = FusionBlock(c.fusion_dim, c.fusion_heads, c.fusion_layers)
        self.video_fusion = FusionBlock(c.fusion_dim, c.fusion_heads, c.fusion_layers)
        self.two_stage_fusion = FusionBlock(c.fusion_dim, c.fusion_heads, c.fusion_layers)
        self.nonlocal_blocks = nn.ModuleList(
            NonLocalBlock(c.fusion_dim, c.nonlocal_heads, c.dropout) for _ in range(c.nonlocal_blocks)
        )
        self.head = RegressionHead(c.fusion_dim)
        # Per-dimension standardization of the input features, set from the training videos
        # (`set_video_stats`). Buffers, not parameters: raw CNN features share a large common component
        # (cosine similarity > 0.95 between any two segments of random-init ResNet features), which the
        # encoders would otherwise have to learn away.
        self.register_buffer("video_mean", torch.zeros(c.video_dim))
        self.register_buffer("video_std", torch.ones(c.video_dim))

    def set_video_stats(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        self.video_mean.copy_(mean)
        self.video_std.copy_(std.clamp(min=1e-6))

    def encode_video(
        self, video: torch.Tensor, video_mask: torch.Tensor, named: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Video features: query-independent (compute once per video, reuse for every query) unless the
        model reads named object channels, which take each query's `named` class weights (B, C)."""
        normed = (video - self.video_mean) / self.video_std * video_mask[..., None]
        if self.config.named_classes:
            if named is None:
                raise ValueError("this model reads query-named object channels: pass named= (B, C)")
            tracks = named_tracks(video, named) * video_mask[..., None]
            normed = torch.cat([normed, tracks.to(normed.dtype)], dim=-1)
        encoded = self.video_encoder(normed, video_mask)
        return encoded + positional_encoding(video_mask, encoded.size(-1)).to(encoded.dtype)

    def localize(self, tokens, token_mask, video_enc, video_mask, texts=None) -> dict[str, torch.Tensor]:
        """`texts`: the queries as strings, which text encoders with their own tokenizer read."""
        words, token_mask = self.query_encoder(tokens, token_mask, texts)
        words_att = self.word_fusion(words, token_mask, video_enc, video_mask)
        video_att = self.video_fusion(video_enc, video_mask, words, token_mask)
        fused = self.two_stage_fusion(video_att, video_mask, words_att, token_mask)
        for block in self.nonlocal_blocks:
            fused = block(fused, video_mask)
        moment, attention = self.head(fused, video_mask)
        return {"moment": moment, "attention": attention}

    def forward(
        self, tokens, token_mask, video, video_mask, texts=None, named=None
    ) -> dict[str, torch.Tensor]:
        encoded = self.encode_video(video, video_mask, named)
        return self.localize(tokens, token_mask, encoded, video_mask, texts)

    # -- helpers ---------------------------------------------------------------------------------
    def parameter_counts(self) -> dict[str, int]:
        """Parameters per part, named as in the reference's parity table."""

        def count(*mods: nn.Module) -> int:
            return sum(p.numel() for m in mods for p in m.parameters())

        return {
            "query_encoder": count(self.query_encoder),
            "video_encoder": count(self.video_encoder),
            "word_fusion": count(self.word_fusion),
            "video_fusion": count(self.video_fusion),
            "two_stage_fusion": count(self.two_stage_fusion),
            "nonlocal_blocks": count(*self.nonlocal_blocks),
            "head": count(self.head),
            "total": count(self),
        }

    def to_checkpoint(self) -> dict[str, Any]:
        return {"config": asdict(self.config), "state_dict": self.state_dict()}

    @classmethod
    def from_checkpoint(cls, ckpt: Mapping[str, Any]) -> PSVLNet:
        # checkpoints from before the query-encoder registry all hold the learned encoder
        stored = {"query_encoder": "learned", "sentence_model": "", **ckpt["config"]}
        model = cls(PSVLConfig(**stored))
        model.load_state_dict(ckpt["state_dict"])
        return model


def localization_loss(
    moment: torch.Tensor,
    target: torch.Tensor,
    attention: torch.Tensor,
    guide: torch.Tensor,
    att_weight: float = 1.0,
    weights: torch.Tensor | None = None,
) -> dict[str, torch.Tensor]:
    """SmoothL1 on (start, end) + temporal attention guidance -sum(m_i log w_i) / sum(m_i), per query,
    averaged over the batch; `weights` (B,) scale each query's share (noise-resistant training)."""
    loc = F.smooth_l1_loss(moment.float(), target.float(), reduction="none").mean(-1)
    guide = guide.float()
    att = -(guide * torch.log(attention.float() + 1e-8)).sum(1) / guide.sum(1).clamp(min=1.0)
    w = torch.ones_like(loc) if weights is None else weights.to(loc.device, loc.dtype)
    loc, att = (w * loc).mean(), (w * att).mean()
    return {"loss": loc + att_weight * att, "loc": loc, "att": att}
