"""Training: Adam + cosine schedule on pseudo-queries, best checkpoint chosen on held-out *videos*.

Why held-out pseudo-labelled videos: the reference picked its best epoch on the test set. Here the test
set is never read during training. `last.pt` (model, optimizer, scheduler, RNG states, epoch, log) is
written atomically after every epoch; `resume=True` continues from it and ends with the same weights as
an uninterrupted run on CPU, because every random draw (shuffling, sampling phase, dropout) comes from
generators whose states are saved with it. Checkpoints hold only tensors and plain Python values, so
they load with `torch.load(weights_only=True)`.

`train` reads top to bottom: a `Trainer` sets up (split, vocabulary, model, optimizer, schedule), resumes
from last.pt when asked, then runs each epoch as `train_epoch`, `validate`, `log_epoch` and `save_epoch`.
With `noise_weights`, each query's loss is weighted by the model's agreement with its pseudo-label
(`noise.py`); refinement rounds, which call `train` again on refined labels, are in `rounds.py`.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from psvl.config import defaults
from psvl.core import console
from psvl.core.artifacts import TRAINED_WORDS
from psvl.core.devices import resolve_device
from psvl.core.progress import progress
from psvl.core.spans import iou, recall_at
from psvl.features.segments import VideoFeatures
from psvl.language.tagger import options as tagger_options
from psvl.localization.batches import QueryDataset, batches
from psvl.localization.checkpoints import (
    LOG_COLUMNS,
    fingerprint,
    queries_digest,
    save_checkpoint,
    try_load,
    write_log,
)
from psvl.localization.inference import infer, predict_dataset
from psvl.localization.model import ModelConfig, PSVLConfig, PSVLNet, localization_loss
from psvl.localization.named_channels import channel_classes
from psvl.localization.noise import NoiseWeights
from psvl.localization.splits import build_datasets, split_videos  # noqa: F401 - split_videos: re-exported

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    """The `train` config section (fields only; the defaults live in the config schema)."""

    epochs: int
    batch_size: int
    lr: float
    min_lr_ratio: float
    weight_decay: float
    att_weight: float
    word_dropout: float
    val_fraction: float
    seed: int
    device: str
    threads: int
    amp: bool
    cpu_bf16: bool
    noise_weights: bool
    noise_warmup: int
    noise_full_iou: float
    noise_min_weight: float
    refine_rounds: int
    refine_min_score: float
    refine_min_iou: float


def evaluate_dataset(
    model: PSVLNet, data: QueryDataset, batch_size: int, device: torch.device, amp: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """(normalized predictions (N, 2), IoU with the targets (N,)) with the centre sampling phase."""
    preds, _ = predict_dataset(model, data, batch_size, device, amp)
    return preds, iou(preds, data.spans)


class Trainer:
    """One training run, in the order it happens: `__init__` sets up (threads and device, the video split,
    vocabulary and datasets, then seeded: model, optimizer, cosine schedule, data generator);
    `resume_from_last` restores a killed run's progress; each epoch is `train_epoch`, `validate`,
    `log_epoch` and `save_epoch` (best.pt, last.pt, train_log.parquet)."""

    def __init__(
        self,
        queries: pd.DataFrame,
        features: Mapping[str, VideoFeatures],
        out: Path,
        model_cfg: ModelConfig,
        train_cfg: TrainConfig,
        corpus_words: list[str] | None = None,
        provenance: Mapping[str, Any] | None = None,
        language: Mapping[str, Any] | None = None,
    ) -> None:
        self.out, self.cfg = out, train_cfg
        torch.set_num_threads(train_cfg.threads)
        self.device = device = resolve_device(train_cfg.device)
        # CUDA: bf16 (else fp16 + GradScaler) autocast. CPU: float32 unless cpu_bf16 (CPUs with AVX512-BF16/AMX).
        self.amp = (train_cfg.amp and device.type == "cuda") or (train_cfg.cpu_bf16 and device.type == "cpu")
        # named object channels: the detector classes, from the features' metadata
        classes = channel_classes((provenance or {}).get("features")) if model_cfg.named_channels else None
        self.vocab, self.train_data, self.val_data, val_ids = build_datasets(
            queries, features, model_cfg, train_cfg, corpus_words, classes
        )
        if classes and self.train_data.video_dim != 2 * len(classes):
            raise ValueError(
                f"model.named_channels: {len(classes)} detector classes need 2 x {len(classes)} object "
                f"channels, but the features have {self.train_data.video_dim} dimensions"
            )
        net_cfg = PSVLConfig.from_model(
            model_cfg,
            vocab_size=len(self.vocab),
            video_dim=self.train_data.video_dim,
            named_classes=len(classes or ()),
        )
        self.settings = {"model": asdict(model_cfg), "train": asdict(train_cfg)}
        self.fingerprint = fingerprint(
            net=asdict(net_cfg),
            model=asdict(model_cfg),
            train={k: v for k, v in asdict(train_cfg).items() if k not in ("device", "threads")},
            vocab=self.vocab.tokens,
            n_train=len(self.train_data),
            n_val=len(self.val_data),
            queries=queries_digest(queries),
            **({"language": dict(language)} if language is not None else {}),
        )
        self.steps_per_epoch = -(-len(self.train_data) // train_cfg.batch_size)
        self.noise = NoiseWeights(train_cfg, len(self.train_data))

        torch.manual_seed(train_cfg.seed)
        model = PSVLNet(net_cfg)
        if model_cfg.normalize_video:
            model.set_video_stats(*self.train_data.feature_stats())
        self.model = model.to(device)
        self.optimizer = torch.optim.Adam(
            self.model.parameters(), lr=train_cfg.lr, weight_decay=train_cfg.weight_decay
        )
        self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
            self.optimizer,
            T_max=max(train_cfg.epochs * self.steps_per_epoch, 1),
            eta_min=train_cfg.lr * train_cfg.min_lr_ratio,
        )
        self.data_rng = torch.Generator().manual_seed(train_cfg.seed)  # shuffling, phases, word dropout
        # the progress resume_from_last restores; `best` is the best.pt checkpoint so far
        self.start_epoch, self.best_score, self.rows, self.best = 0, -1.0, [], None
        self.meta = {  # what every checkpoint carries besides the weights
            "vocab": self.vocab.tokens,
            # ids from here on are corpus-only words no training query had: their embeddings never trained
            "vocab_trained": self.vocab.n_trained,
            "settings": self.settings,
            "provenance": dict(provenance or {}),
            "val_videos": val_ids,
            # the tagger options of the training tokens; psvl predict refuses queries simplified otherwise
            "language": dict(language) if language is not None else tagger_options(defaults("corpus")),
        }

    def resume_from_last(self) -> None:
        """Continue from `last.pt` when it was written with the same settings and data (its fingerprint)
        and its run is unfinished: weights, optimizer, schedule, RNG states, epoch, log and best so far.
        Else the run starts afresh: a finished last.pt never stands in for a run asked for again (the
        workflow reruns `train` only when forced or when code, params or inputs changed)."""
        last_path = self.out / "last.pt"
        if not last_path.exists():
            return
        state = try_load(last_path)
        if state is None:
            return
        if state.get("fingerprint") != self.fingerprint:
            log.warning("%s was trained with other settings or data; starting afresh", last_path)
            return
        if state["epoch"] >= self.cfg.epochs:
            log.info(
                "%s is a finished run (%d of %d epochs): training afresh (only an unfinished run resumes)",
                last_path,
                state["epoch"],
                self.cfg.epochs,
            )
            return
        self.model.load_state_dict(state["model"]["state_dict"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.data_rng.set_state(state["rng"]["data"])
        torch.set_rng_state(state["rng"]["torch"])
        if self.device.type == "cuda" and "cuda" in state["rng"]:
            torch.cuda.set_rng_state(state["rng"]["cuda"], self.device)
        self.start_epoch, self.best_score, self.rows = state["epoch"], state["best_score"], list(state["log"])
        self.best = state.get("best")
        if (
            self.best is not None and not (self.out / "best.pt").exists()
        ):  # e.g. removed by --rerun-incomplete
            save_checkpoint(self.best, self.out / "best.pt")
        log.info("resuming from %s after epoch %d", last_path, self.start_epoch)

    def precision(self) -> tuple[torch.dtype, torch.amp.GradScaler | None]:
        """The autocast dtype (bf16 where supported, else fp16) and, for fp16 autocast, a GradScaler."""
        bf16 = self.device.type == "cpu" or torch.cuda.is_bf16_supported()
        scaler = torch.amp.GradScaler(enabled=not bf16) if self.amp else None
        return (torch.bfloat16 if bf16 else torch.float16), scaler

    def train_epoch(
        self, epoch: int, amp_dtype: torch.dtype, scaler: torch.amp.GradScaler | None
    ) -> tuple[np.ndarray, float]:
        """One pass over the training queries in a shuffled order: the mean (loss, loc loss, att loss) and
        the seconds spent making batches."""
        cfg, model, data = self.cfg, self.model, self.train_data
        model.train()
        sums = np.zeros(3)
        data_seconds = 0.0
        for rows_idx in progress(
            batches(len(data), cfg.batch_size, self.data_rng),
            desc=f"epoch {epoch + 1}/{cfg.epochs}",
            total=self.steps_per_epoch,
            unit="batch",
        ):
            td = time.perf_counter()
            b = data.collate(rows_idx, self.data_rng, cfg.word_dropout).to(self.device)
            data_seconds += time.perf_counter() - td
            with torch.autocast(self.device.type, dtype=amp_dtype, enabled=self.amp):
                out_ = infer(model, b)
            w = self.noise(epoch, out_["moment"], b.target, rows_idx)  # None: equal weights
            losses = localization_loss(
                out_["moment"], b.target, out_["attention"], b.guide, cfg.att_weight, w
            )
            self.optimizer.zero_grad(set_to_none=True)
            if scaler is not None and scaler.is_enabled():
                scaler.scale(losses["loss"]).backward()
                scaler.step(self.optimizer)
                scaler.update()
            else:
                losses["loss"].backward()
                self.optimizer.step()
            self.scheduler.step()
            n = len(rows_idx)
            sums += n * np.array([losses[k].item() for k in ("loss", "loc", "att")])
        sums /= len(data)
        return sums, data_seconds

    def validate(self) -> dict[str, float]:
        """R@IoU and mIoU on the held-out videos (NaN when none are held out)."""
        if len(self.val_data) == 0:
            return {"mIoU": float("nan"), "R@0.5": float("nan"), "n_queries": 0}
        _, ious = evaluate_dataset(self.model, self.val_data, self.cfg.batch_size, self.device, self.amp)
        return recall_at(ious)

    def log_epoch(self, epoch: int, sums: np.ndarray, val: dict, seconds: float, data_seconds: float) -> None:
        """The epoch's train_log row, and its line in the log."""
        values = [epoch + 1, *map(float, sums), float(val["mIoU"]), float(val["R@0.5"]), float(seconds)]
        self.rows.append(dict(zip(LOG_COLUMNS, values)))
        data = 100 * data_seconds / max(seconds, 1e-9)
        console.say(  # the log's line, and the console's when run as a workflow job (psvl --job)
            f"train epoch {epoch + 1}/{self.cfg.epochs}: "
            f"loss {sums[0]:.4f} (loc {sums[1]:.4f}, att {sums[2]:.4f}), "
            f"val mIoU {val['mIoU']:.4f} R@0.5 {val['R@0.5']:.4f}, {seconds:.1f} s (data {data:.0f}%)"
        )
        if self.noise.on and epoch >= self.noise.warmup:
            log.info("noise-resistant weights after epoch %d: %s", epoch + 1, self.noise.summary())

    def save_epoch(self, epoch: int, val: dict) -> None:
        """best.pt when the validation mIoU improved, then last.pt and train_log.parquet (all atomic)."""
        # No validation videos: every epoch is "best" (the last one wins).
        score = float(val["mIoU"]) if len(self.val_data) else float(epoch)
        weights = self.model.to_checkpoint()
        if score > self.best_score:
            self.best_score = score
            cloned = {k: v.detach().clone() for k, v in weights["state_dict"].items()}
            self.best = {
                **self.meta,
                "model": {**weights, "state_dict": cloned},
                "epoch": epoch + 1,
                "val": val,
            }
            save_checkpoint(self.best, self.out / "best.pt")
        rng = {"data": self.data_rng.get_state(), "torch": torch.get_rng_state()}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        last = {
            **self.meta,
            "model": weights,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "rng": rng,
            "epoch": epoch + 1,
            "best_score": self.best_score,
            "best": self.best,  # so a resumed run can restore best.pt if it was removed
            "log": self.rows,
            "fingerprint": self.fingerprint,
        }
        save_checkpoint(last, self.out / "last.pt")
        write_log(self.rows, self.out / "train_log.parquet", self.settings)


def train(
    queries: pd.DataFrame,
    features: Mapping[str, VideoFeatures],
    out_dir: str | os.PathLike,
    model_cfg: ModelConfig,
    train_cfg: TrainConfig,
    corpus_words: list[str] | None = None,
    resume: bool = False,
    provenance: Mapping[str, Any] | None = None,
    stop_after: int | None = None,
    language: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Train on `queries` (pseudo_queries table) with `features` ({video_id: VideoFeatures}).

    Writes best.pt, last.pt, vocab.json, trained_words.json and train_log.parquet into `out_dir`; returns the best epoch's
    validation metrics. `provenance` (e.g. the features' metadata) is stored in the checkpoints so that
    `psvl predict --video` can rebuild the same features. `language` (the tagger options the tokens were
    made with, `psvl.language.tagger.Tagger.options`; None: the `corpus` section's schema defaults) is
    stored as the checkpoints' `language`, which `psvl predict` checks. `stop_after` ends this call after
    that many epochs (a time-boxed run); a later call with `resume=True` continues where it stopped.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    run = Trainer(queries, features, out, model_cfg, train_cfg, corpus_words, provenance, language)
    if resume:
        run.resume_from_last()
    run.vocab.save(out / "vocab.json")
    run.vocab.save_trained(out / TRAINED_WORDS)

    amp_dtype, scaler = run.precision()
    end_epoch = (
        train_cfg.epochs if stop_after is None else min(train_cfg.epochs, run.start_epoch + stop_after)
    )
    for epoch in range(run.start_epoch, end_epoch):
        t0 = time.perf_counter()
        sums, data_seconds = run.train_epoch(epoch, amp_dtype, scaler)
        val = run.validate()
        run.log_epoch(epoch, sums, val, time.perf_counter() - t0, data_seconds)
        run.save_epoch(epoch, val)
    if not (out / "best.pt").exists():  # only when no epoch ran and last.pt carried no best
        untrained = {"model": run.model.to_checkpoint(), "epoch": run.start_epoch, "val": {}}
        save_checkpoint(run.best or {**run.meta, **untrained}, out / "best.pt")
    write_log(run.rows, out / "train_log.parquet", run.settings)
    return {"best_score": run.best_score, "epochs": len(run.rows)}
