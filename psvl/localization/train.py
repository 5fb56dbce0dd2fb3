"""Training: Adam + cosine schedule on pseudo-queries, best checkpoint chosen on held-out *videos*.

Why held-out pseudo-labelled videos: the reference picked its best epoch on the test set. Here the test
set is never read during training. `last.pt` (model, optimizer, scheduler, RNG states, epoch, log) is
written atomically after every epoch; `resume=True` continues from it and ends with the same weights as
an uninterrupted run on CPU, because every random draw (shuffling, sampling phase, dropout) comes from
generators whose states are saved with it. Checkpoints hold only tensors and plain Python values, so
they load with `torch.load(weights_only=True)`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from psvl.core.artifacts import write_table
from psvl.core.devices import resolve_device
from psvl.core.progress import progress
from psvl.core.spans import iou, recall_at
from psvl.localization.batches import QueryDataset, batches
from psvl.localization.model import PSVLConfig, PSVLNet, localization_loss
from psvl.localization.vocab import Vocab

log = logging.getLogger(__name__)


@dataclass
class ModelSettings:
    """The `model` config section (defaults live in the config schema)."""

    num_segments: int = 128
    word_dim: int = 300
    hidden: int = 256
    fusion_dim: int = 256
    fusion_heads: int = 1
    fusion_layers: int = 3
    nonlocal_blocks: int = 2
    nonlocal_heads: int = 4
    dropout: float = 0.1
    max_query_tokens: int = 25
    vocab_from_corpus: bool = True
    normalize_video: bool = True

    def network(self, vocab_size: int, video_dim: int) -> PSVLConfig:
        """The network's config: every PSVLConfig field this section shares, plus the data's sizes."""
        shared = {f.name: getattr(self, f.name) for f in fields(PSVLConfig) if hasattr(self, f.name)}
        return PSVLConfig(vocab_size=vocab_size, video_dim=video_dim, **shared)


@dataclass
class TrainConfig:
    """The `train` config section (defaults live in the config schema)."""

    epochs: int = 30
    batch_size: int = 256
    lr: float = 4e-4
    min_lr_ratio: float = 0.05
    weight_decay: float = 0.0
    att_weight: float = 1.0
    word_dropout: float = 0.1
    val_fraction: float = 0.1
    seed: int = 0
    device: str = "auto"
    threads: int = 2
    amp: bool = True
    cpu_bf16: bool = False


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


def _fingerprint(**parts: Any) -> str:
    """What must match for `--resume` to continue a run instead of starting afresh."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _save(obj: Mapping[str, Any], path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(dict(obj), tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """A psvl checkpoint, loaded without unpickling arbitrary objects."""
    return torch.load(path, map_location=map_location, weights_only=True)


def evaluate_dataset(
    model: PSVLNet, data: QueryDataset, batch_size: int, device: torch.device, amp: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """(normalized predictions (N, 2), IoU with the targets (N,)) with the centre sampling phase."""
    model.eval()
    preds = np.zeros((len(data), 2))
    dtype = torch.bfloat16 if device.type == "cpu" or torch.cuda.is_bf16_supported() else torch.float16
    with torch.inference_mode(), torch.autocast(device.type, dtype=dtype, enabled=amp):
        for rows in batches(len(data), batch_size):
            b = data.collate(rows).to(device)
            preds[rows] = model(b.tokens, b.token_mask, b.video, b.video_mask)["moment"].float().cpu().numpy()
    return preds, iou(preds, data.spans)


def train(
    queries: pd.DataFrame,
    features: Mapping[str, tuple],
    out_dir: str | os.PathLike,
    model_cfg: ModelSettings,
    train_cfg: TrainConfig,
    corpus_words: list[str] | None = None,
    resume: bool = False,
    provenance: Mapping[str, Any] | None = None,
    stop_after: int | None = None,
) -> dict[str, Any]:
    """Train on `queries` (pseudo_queries table) with `features` ({video_id: (T x D, starts, ends)}).

    Writes best.pt, last.pt, vocab.json and train_log.parquet into `out_dir`; returns the best epoch's
    validation metrics. `provenance` (e.g. the features' metadata) is stored in the checkpoints so that
    `psvl predict --video` can rebuild the same features. `stop_after` ends this call after that many
    epochs (a time-boxed run); a later call with `resume=True` continues where it stopped.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(train_cfg.threads)
    device = resolve_device(train_cfg.device)
    # CUDA: bf16 (else fp16 + GradScaler) autocast. CPU: float32 unless cpu_bf16 (CPUs with AVX512-BF16/AMX).
    amp = (train_cfg.amp and device.type == "cuda") or (train_cfg.cpu_bf16 and device.type == "cpu")

    train_ids, val_ids = split_videos(queries["video_id"], train_cfg.val_fraction, train_cfg.seed)
    is_train = queries["video_id"].astype(str).isin(set(train_ids)).to_numpy()
    vocab = Vocab.build(
        queries.loc[is_train, "tokens"], (corpus_words or ()) if model_cfg.vocab_from_corpus else ()
    )
    mk = {"vocab": vocab, "num_segments": model_cfg.num_segments, "max_tokens": model_cfg.max_query_tokens}
    train_data = QueryDataset(queries[is_train], features, **mk)
    val_data = QueryDataset(queries[~is_train], features, **mk)
    if len(train_data) == 0:
        raise ValueError("no training queries with features: check --pseudo-queries and --features")
    log.info(
        "training on %d queries of %d videos, validating on %d queries of %d videos; vocabulary %d",
        len(train_data),
        len(train_data.video_ids),
        len(val_data),
        len(val_data.video_ids),
        len(vocab),
    )

    net_cfg = model_cfg.network(len(vocab), train_data.video_dim)
    settings = {"model": asdict(model_cfg), "train": asdict(train_cfg)}
    fingerprint = _fingerprint(
        net=asdict(net_cfg),
        model=asdict(model_cfg),
        train={k: v for k, v in asdict(train_cfg).items() if k not in ("device", "threads")},
        vocab=vocab.tokens,
        n_train=len(train_data),
        n_val=len(val_data),
    )
    steps_per_epoch = -(-len(train_data) // train_cfg.batch_size)

    torch.manual_seed(train_cfg.seed)
    model = PSVLNet(net_cfg)
    if model_cfg.normalize_video:
        model.set_video_stats(*train_data.feature_stats())
    model = model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=train_cfg.lr, weight_decay=train_cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer,
        T_max=max(train_cfg.epochs * steps_per_epoch, 1),
        eta_min=train_cfg.lr * train_cfg.min_lr_ratio,
    )
    data_rng = torch.Generator().manual_seed(train_cfg.seed)
    start_epoch, best_score, rows, best = 0, -1.0, [], None
    meta = {
        "vocab": vocab.tokens,
        # ids from here on are corpus-only words no training query had: their embeddings never trained
        "vocab_trained": vocab.n_trained,
        "settings": settings,
        "provenance": dict(provenance or {}),
        "val_videos": val_ids,
    }

    last_path = out / "last.pt"
    if resume and last_path.exists():
        state = _try_load(last_path)
        if state is not None and state.get("fingerprint") == fingerprint:
            model.load_state_dict(state["model"]["state_dict"])
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            data_rng.set_state(state["rng"]["data"])
            torch.set_rng_state(state["rng"]["torch"])
            if device.type == "cuda" and "cuda" in state["rng"]:
                torch.cuda.set_rng_state(state["rng"]["cuda"], device)
            start_epoch, best_score, rows = state["epoch"], state["best_score"], list(state["log"])
            best = state.get("best")
            if best is not None and not (out / "best.pt").exists():  # e.g. removed by --rerun-incomplete
                _save(best, out / "best.pt")
            log.info("resuming from %s after epoch %d", last_path, start_epoch)
        elif state is not None:
            log.warning("%s was trained with other settings or data; starting afresh", last_path)
    vocab.save(out / "vocab.json")

    bf16 = device.type == "cpu" or torch.cuda.is_bf16_supported()
    scaler = torch.amp.GradScaler(enabled=not bf16) if amp else None
    amp_dtype = torch.bfloat16 if bf16 else torch.float16
    end_epoch = train_cfg.epochs if stop_after is None else min(train_cfg.epochs, start_epoch + stop_after)
    for epoch in range(start_epoch, end_epoch):
        t0 = time.perf_counter()
        model.train()
        sums = np.zeros(3)
        data_seconds = 0.0
        for rows_idx in progress(
            batches(len(train_data), train_cfg.batch_size, data_rng),
            desc=f"epoch {epoch + 1}/{train_cfg.epochs}",
            total=steps_per_epoch,
            unit="batch",
        ):
            td = time.perf_counter()
            b = train_data.collate(rows_idx, data_rng, train_cfg.word_dropout).to(device)
            data_seconds += time.perf_counter() - td
            with torch.autocast(device.type, dtype=amp_dtype, enabled=amp):
                out_ = model(b.tokens, b.token_mask, b.video, b.video_mask)
            losses = localization_loss(
                out_["moment"], b.target, out_["attention"], b.guide, train_cfg.att_weight
            )
            optimizer.zero_grad(set_to_none=True)
            if scaler is not None and scaler.is_enabled():
                scaler.scale(losses["loss"]).backward()
                scaler.step(optimizer)
                scaler.update()
            else:
                losses["loss"].backward()
                optimizer.step()
            scheduler.step()
            n = len(rows_idx)
            sums += n * np.array([losses[k].item() for k in ("loss", "loc", "att")])
        sums /= len(train_data)
        val = _validate(model, val_data, train_cfg.batch_size, device, amp)
        seconds = time.perf_counter() - t0
        rows.append(
            {
                "epoch": epoch + 1,
                "train_loss": float(sums[0]),
                "train_loc_loss": float(sums[1]),
                "train_att_loss": float(sums[2]),
                "val_mIoU": float(val["mIoU"]),
                "val_R@0.5": float(val["R@0.5"]),
                "seconds": float(seconds),
            }
        )
        log.info(
            "epoch %d/%d: loss %.4f (loc %.4f, att %.4f), val mIoU %.4f R@0.5 %.4f, %.1fs (data %.1f%%)",
            epoch + 1,
            train_cfg.epochs,
            *sums,
            val["mIoU"],
            val["R@0.5"],
            seconds,
            100 * data_seconds / max(seconds, 1e-9),
        )
        # No validation videos: every epoch is "best" (the last one wins).
        score = float(val["mIoU"]) if len(val_data) else float(epoch)
        weights = model.to_checkpoint()
        if score > best_score:
            best_score = score
            cloned = {k: v.detach().clone() for k, v in weights["state_dict"].items()}
            best = {**meta, "model": {**weights, "state_dict": cloned}, "epoch": epoch + 1, "val": val}
            _save(best, out / "best.pt")
        rng = {"data": data_rng.get_state(), "torch": torch.get_rng_state()}
        if device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(device)
        _save(
            {
                **meta,
                "model": weights,
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "rng": rng,
                "epoch": epoch + 1,
                "best_score": best_score,
                "best": best,  # so a resumed run can restore best.pt if it was removed
                "log": rows,
                "fingerprint": fingerprint,
            },
            last_path,
        )
        _write_log(rows, out / "train_log.parquet", settings)
    if not (out / "best.pt").exists():  # only when no epoch ran and last.pt carried no best
        _save(
            best or {**meta, "model": model.to_checkpoint(), "epoch": start_epoch, "val": {}}, out / "best.pt"
        )
    _write_log(rows, out / "train_log.parquet", settings)
    return {"best_score": best_score, "epochs": len(rows)}


def _validate(model, data: QueryDataset, batch_size: int, device, amp: bool) -> dict[str, float]:
    if len(data) == 0:
        return {"mIoU": float("nan"), "R@0.5": float("nan"), "n_queries": 0}
    _, ious = evaluate_dataset(model, data, batch_size, device, amp)
    return recall_at(ious)


def _try_load(path: Path) -> dict[str, Any] | None:
    try:
        return load_checkpoint(path)
    except Exception as exc:  # noqa: BLE001 - a truncated or foreign file: start afresh rather than fail
        log.warning("cannot resume from %s (%s); starting afresh", path, exc)
        return None


def _write_log(rows: list[dict], path: Path, settings: Mapping[str, Any]) -> None:
    frame = pd.DataFrame(
        rows,
        columns=[
            "epoch",
            "train_loss",
            "train_loc_loss",
            "train_att_loss",
            "val_mIoU",
            "val_R@0.5",
            "seconds",
        ],
    )
    write_table("train_log", frame, path, stage="train", shaping=settings)
