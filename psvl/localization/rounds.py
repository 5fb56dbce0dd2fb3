"""Training rounds, what `psvl train` runs: train, let confident predictions replace their pseudo-labels
(refinement), train again.

Why: a proposal's boundaries come from k-means over segment features, so they are often a few segments
off even when the pseudo-query names the right event; a model trained on many such labels averages the
errors out and can place the boundary better than the label it learned from. Only *confident* predictions
replace a label: most of the model's attention lies inside the moment (`refine_min_score`, the score
`psvl predict` reports) and it overlaps the label (`refine_min_iou`), so a label's boundaries move but it
never jumps to another event. Only training videos' labels change; validation keeps the original labels,
so choosing best.pt is not judged against the model's own output.

`train_rounds` is `train` when `train.refine_rounds` is 0. With N rounds, round r < N trains into
`OUT/round{r}/` and writes the labels it refined there (`refined_queries.parquet`); the last round trains
into OUT itself, so best.pt is where the workflow expects it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from psvl.core.artifacts import write_table
from psvl.core.devices import resolve_device
from psvl.core.spans import iou, to_seconds
from psvl.features.segments import VideoFeatures
from psvl.localization.batches import QueryDataset
from psvl.localization.checkpoints import load_checkpoint
from psvl.localization.inference import predict_dataset
from psvl.localization.model import ModelConfig, PSVLNet
from psvl.localization.named_channels import model_classes
from psvl.localization.train import TrainConfig, train
from psvl.localization.vocab import Vocab

log = logging.getLogger(__name__)


def refine_spans(
    labels: np.ndarray, preds: np.ndarray, scores: np.ndarray, min_score: float, min_iou: float
) -> tuple[np.ndarray, np.ndarray]:
    """(new labels, which changed): a prediction replaces its label when its score >= `min_score` and its
    IoU with the label >= `min_iou`. Spans (N, 2) in any one unit."""
    labels, preds = np.asarray(labels, np.float64), np.asarray(preds, np.float64)
    confident = (np.asarray(scores) >= min_score) & (iou(preds, labels) >= min_iou)
    return np.where(confident[:, None], preds, labels), confident


def refine_queries(
    queries: pd.DataFrame, features: Mapping[str, VideoFeatures], model_dir: Path, train_cfg: TrainConfig
) -> tuple[pd.DataFrame, int]:
    """(queries with refined start_s/end_s on training videos, number refined) from model_dir/best.pt."""
    ckpt = load_checkpoint(model_dir / "best.pt")
    device = resolve_device(train_cfg.device)
    model = PSVLNet.from_checkpoint(ckpt["model"]).to(device)
    m = ckpt["settings"]["model"]
    vocab = Vocab(ckpt["vocab"], ckpt.get("vocab_trained"))
    on_train = ~queries["video_id"].astype(str).isin(set(ckpt.get("val_videos", []))).to_numpy()
    classes = model_classes(model, ckpt)
    data = QueryDataset(
        queries[on_train], features, vocab, int(m["num_segments"]), int(m["max_query_tokens"]), classes
    )
    preds, scores = predict_dataset(model, data, train_cfg.batch_size, device)
    labels = data.queries[["start_s", "end_s"]].to_numpy(np.float64)
    pred_s = to_seconds(preds, data.duration)
    new, changed = refine_spans(labels, pred_s, scores, train_cfg.refine_min_score, train_cfg.refine_min_iou)
    refined = queries.copy()
    where = dict(zip(data.queries["query_id"].astype(str), new))
    ids = refined["query_id"].astype(str)
    hit = ids.isin(where).to_numpy()
    refined.loc[hit, ["start_s", "end_s"]] = np.stack([where[q] for q in ids[hit]]) if hit.any() else []
    return refined, int(changed.sum())


def train_rounds(
    queries: pd.DataFrame,
    features: Mapping[str, VideoFeatures],
    out_dir: str | os.PathLike,
    model_cfg: ModelConfig,
    train_cfg: TrainConfig,
    **kwargs: Any,
) -> dict[str, Any]:
    """`train` (same arguments), then `train_cfg.refine_rounds` rounds of refine-and-retrain (each from a
    fresh, identically seeded model). Returns the last round's result plus `refined` (labels per round)."""
    out, rounds = Path(out_dir), train_cfg.refine_rounds
    refined_counts: list[int] = []
    for r in range(rounds + 1):
        where = out if r == rounds else out / f"round{r}"
        result = train(queries, features, where, model_cfg, train_cfg, **kwargs)
        if r == rounds:
            break
        queries, n = refine_queries(queries, features, where, train_cfg)
        refined_counts.append(n)
        write_table("pseudo_queries", queries, where / "refined_queries.parquet", stage="train")
        log.info(
            "refinement round %d: %d of %d pseudo-labels moved to the model's prediction",
            r + 1,
            n,
            len(queries),
        )
    return {**result, "refined": refined_counts}
