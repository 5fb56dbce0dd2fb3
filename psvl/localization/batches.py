"""Training and prediction batches: queries + their videos' segment features, resampled and masked.

A video with more than `num_segments` segments is stride-sampled down to `num_segments`
(`psvl.core.spans.resample_indices`; a random phase per sample in training, the centre at evaluation); a
shorter one keeps all its segments and is zero-padded, with a mask. A batch is padded only to its
longest video (the model's output does not depend on padding), so short videos train fast. The
attention-guidance mask (`psvl.core.spans.segment_mask`) lies over the real segments only, never padding.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from psvl.core.spans import resample_indices, segment_mask, to_normalized
from psvl.features.segments import VideoFeatures
from psvl.localization.named_channels import class_weights
from psvl.localization.vocab import Vocab

log = logging.getLogger(__name__)


@dataclass
class Batch:
    """Model inputs and targets of one batch (CPU tensors; `to(device)` moves them)."""

    tokens: torch.Tensor  # (B, L) long
    token_mask: torch.Tensor  # (B, L) bool
    video: torch.Tensor  # (B, T, D) float32
    video_mask: torch.Tensor  # (B, T) bool
    target: torch.Tensor  # (B, 2) normalized start, end
    guide: torch.Tensor  # (B, T) bool, segments inside the target moment
    rows: np.ndarray  # (B,) row positions in the dataset's query table
    texts: list[str]  # (B,) the queries' tokens joined by spaces (read by sentence-model query encoders)
    named: torch.Tensor | None = None  # (B, C) float, the classes each query names (named object channels)

    def to(self, device: torch.device | str) -> Batch:
        move = {
            k: v.to(device, non_blocking=True) for k, v in vars(self).items() if isinstance(v, torch.Tensor)
        }
        return Batch(**move, rows=self.rows, texts=self.texts)


class QueryDataset:
    """Queries (pseudo_queries or test_queries table) joined to their videos' features.

    Queries whose video has no features are dropped with a warning (a video that failed upstream is in
    `failures/`); `self.queries` is the kept table, row order preserved. With `classes` (the detector
    classes of object-channel features), each query's named-class weights go into its batches.
    """

    def __init__(
        self,
        queries: pd.DataFrame,
        features: Mapping[str, VideoFeatures],
        vocab: Vocab,
        num_segments: int,
        max_tokens: int,
        classes: Sequence[str] | None = None,
    ) -> None:
        have = queries["video_id"].astype(str).isin(set(features))
        if not have.all():
            missing = sorted(set(queries.loc[~have, "video_id"].astype(str)))
            log.warning(
                "%d queries of %d videos without features are skipped (first: %s)",
                int((~have).sum()),
                len(missing),
                missing[:3],
            )
        self.queries = queries[have.to_numpy()].reset_index(drop=True)
        self.num_segments = num_segments
        vids = self.queries["video_id"].astype(str).to_numpy()
        self.video_ids = sorted(set(vids))
        slot = {v: i for i, v in enumerate(self.video_ids)}
        self.video_of = np.array([slot[v] for v in vids], dtype=np.int64)
        if getattr(features, "lazy", False):  # e.g. PrecomputedFeatures: read a video when a batch needs it
            self.videos: Sequence[torch.Tensor] = LazyVideos(features, self.video_ids)
        else:
            self.videos = [as_tensor(features[v].array) for v in self.video_ids]
        dims = {features[v].array.shape[1] for v in self.video_ids}
        if len(dims) > 1:
            raise ValueError(f"videos have features of different dimensions: {sorted(dims)}")
        self.video_dim = dims.pop() if dims else 0
        self.token_ids = [vocab.encode(list(t), max_tokens) for t in self.queries["tokens"]]
        self.texts = [query_text(t, max_tokens) for t in self.queries["tokens"]]
        self.named = (
            class_weights([list(t)[:max_tokens] for t in self.queries["tokens"]], classes)
            if classes
            else None
        )
        spans = self.queries[["start_s", "end_s"]].to_numpy(dtype=np.float64)
        self.duration = self.queries["duration_s"].to_numpy(dtype=np.float64)
        self.spans = to_normalized(spans, self.duration).astype(np.float32) if len(spans) else spans

    def __len__(self) -> int:
        return len(self.queries)

    def feature_stats(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-dimension mean and standard deviation over every segment of the dataset's videos."""
        if not self.videos:
            return torch.zeros(self.video_dim), torch.ones(self.video_dim)
        if not isinstance(self.videos, LazyVideos):
            flat = torch.cat(self.videos).double()
            return flat.mean(0).float(), flat.std(0, correction=0).float()
        n, total, squares = 0, torch.zeros(self.video_dim, dtype=torch.float64), 0.0
        for video in self.videos:  # one video in memory at a time; shifted by the first mean for accuracy
            x = video.double()
            if n == 0:
                shift = x.mean(0)
            n, total, squares = n + len(x), total + (x - shift).sum(0), squares + ((x - shift) ** 2).sum(0)
        mean = total / n
        return (shift + mean).float(), (squares / n - mean**2).clamp_min(0).sqrt().float()

    def collate(
        self, rows: Sequence[int], generator: torch.Generator | None = None, word_dropout: float = 0.0
    ) -> Batch:
        """The batch of query rows `rows`; a `generator` draws a random sampling phase per query and,
        with `word_dropout`, replaces that share of tokens by `<unk>` (so `<unk>` is a trained token:
        test queries carry words no pseudo-query had)."""
        rows = np.asarray(rows, dtype=np.int64)
        phases = (
            torch.rand(len(rows), generator=generator, dtype=torch.float64).tolist()
            if generator is not None
            else None
        )
        video, video_mask = stack_videos(
            [self.videos[self.video_of[r]] for r in rows], self.num_segments, phases
        )
        T, n_valid = video.size(1), video_mask.sum(1).numpy()
        tokens, token_mask = pad_tokens([self.token_ids[r] for r in rows])
        if generator is not None and word_dropout > 0:
            drop = (torch.rand(tokens.shape, generator=generator) < word_dropout) & token_mask
            tokens = tokens.masked_fill(drop, 1)
        spans = self.spans[rows] if len(rows) else np.zeros((0, 2), np.float32)
        guide = torch.from_numpy(segment_mask(spans, T, n_valid))
        return Batch(
            tokens,
            token_mask,
            video,
            video_mask,
            torch.from_numpy(np.asarray(spans, np.float32)),
            guide,
            rows,
            [self.texts[r] for r in rows],
            None if self.named is None else torch.from_numpy(self.named[rows]),
        )


def as_tensor(array) -> torch.Tensor:
    """A float32 tensor of one video's T x D features (copied from a memory map or an HDF5 dataset)."""
    return torch.from_numpy(np.require(array, np.float32, ["C", "W"]))


class LazyVideos(Sequence):
    """The videos' feature tensors by slot, read from a lazy mapping on each access (never all in RAM)."""

    def __init__(self, features: Mapping[str, VideoFeatures], video_ids: Sequence[str]) -> None:
        self.features, self.video_ids = features, list(video_ids)

    def __len__(self) -> int:
        return len(self.video_ids)

    def __getitem__(self, i: int) -> torch.Tensor:
        return as_tensor(self.features[self.video_ids[i]].array)


def stack_videos(
    videos: Sequence[torch.Tensor], num_segments: int, phases: Sequence[float] | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, T, D) videos resampled to at most `num_segments` and padded to the longest, and their mask.

    `phases` (one in [0, 1) per video) places the stride sampling; None = the centre (evaluation).
    """
    picks = [
        resample_indices(len(v), num_segments, 0.5 if phases is None else float(phases[i]))
        for i, v in enumerate(videos)
    ]
    n_valid = np.array([len(p) for p in picks])
    T = int(n_valid.max())
    out = torch.zeros(len(videos), T, videos[0].size(1))
    for i, (v, pick) in enumerate(zip(videos, picks)):
        out[i, : len(pick)] = v[torch.from_numpy(pick)] if len(pick) < len(v) else v
    return out, torch.from_numpy(np.arange(T)[None, :] < n_valid[:, None])


def query_text(tokens: Sequence[str], max_tokens: int) -> str:
    """A query as text for a sentence-model encoder: its first `max_tokens` tokens joined by spaces (the
    same words the learned encoder reads, in the same order)."""
    return " ".join(str(t) for t in list(tokens)[:max_tokens])


def pad_tokens(id_lists: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, L) ids padded with 0 (`<pad>`) and the (B, L) mask of real tokens."""
    L = max((len(ids) for ids in id_lists), default=1)
    tokens = torch.zeros(len(id_lists), L, dtype=torch.long)
    for i, ids in enumerate(id_lists):
        tokens[i, : len(ids)] = torch.as_tensor(ids, dtype=torch.long)
    return tokens, tokens.ne(0)


def batches(n: int, batch_size: int, generator: torch.Generator | None = None) -> list[np.ndarray]:
    """Row indices split into batches; shuffled when a generator is given (training)."""
    order = torch.randperm(n, generator=generator).numpy() if generator is not None else np.arange(n)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]
