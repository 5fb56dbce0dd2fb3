"""The training data of one run: videos split into training and validation, the vocabulary, datasets.

Why split by video: queries of one video share its features, so a validation query from a training
video would be seen in training; holding out whole videos keeps best.pt's choice honest.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd

from psvl.core.errors import EmptyOutputError
from psvl.features.segments import VideoFeatures
from psvl.localization.batches import QueryDataset
from psvl.localization.vocab import Vocab

log = logging.getLogger(__name__)


def split_videos(video_ids, val_fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """(train, val) video ids: a seeded share of the *videos* is held out (>= 1 when the share > 0)."""
    vids = sorted({str(v) for v in video_ids})
    n_val = round(len(vids) * val_fraction)
    if val_fraction > 0 and len(vids) >= 2:
        n_val = min(max(n_val, 1), len(vids) - 1)
    else:
        n_val = 0
    order = np.random.default_rng(seed).permutation(len(vids))
    val = sorted(vids[i] for i in order[:n_val])
    return sorted(set(vids) - set(val)), val


def build_datasets(
    queries: pd.DataFrame,
    features: Mapping[str, VideoFeatures],
    model_cfg,
    train_cfg,
    corpus_words: list[str] | None,
    classes: list[str] | None = None,
) -> tuple[Vocab, QueryDataset, QueryDataset, list[str]]:
    """(vocabulary, train data, validation data, validation video ids): the split is by video;
    `classes`: the detector classes of named object channels (None: the model reads none)."""
    train_ids, val_ids = split_videos(queries["video_id"], train_cfg.val_fraction, train_cfg.seed)
    is_train = queries["video_id"].astype(str).isin(set(train_ids)).to_numpy()
    vocab = Vocab.build(
        queries.loc[is_train, "tokens"], (corpus_words or ()) if model_cfg.vocab_from_corpus else ()
    )
    mk = {
        "vocab": vocab,
        "num_segments": model_cfg.num_segments,
        "max_tokens": model_cfg.max_query_tokens,
        "classes": classes,
    }
    train_data = QueryDataset(queries[is_train], features, **mk)
    val_data = QueryDataset(queries[~is_train], features, **mk)
    if len(train_data) == 0:
        raise EmptyOutputError(
            f"no training queries with features: {len(queries)} queries, {len(train_ids)} training "
            f"videos, {len(features)} videos with features; check --pseudo-queries and --features"
        )
    log.info(
        "training on %d queries of %d videos, validating on %d queries of %d videos; vocabulary %d",
        len(train_data),
        len(train_data.video_ids),
        len(val_data),
        len(val_data.video_ids),
        len(vocab),
    )
    return vocab, train_data, val_data, val_ids
