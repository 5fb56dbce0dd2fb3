"""Prediction with a trained model: encode a video once, then `predict(query)` per query (lighthouse style).

`Predictor.predict` returns plain lists `[[start_s, end_s, score]]` in seconds; the score is the share of
the model's temporal attention that falls inside the predicted moment. `predict_table` localizes a whole
test_queries table, encoding each video once; `encode_file` runs the same frame and feature extraction
as training on one video, with the settings stored in the checkpoint. Device and batch size come from
the `predict` config section (`PredictConfig`). A sentence is simplified with the tagger options the
checkpoint records (`language`); options given that differ from the record are refused with one line
(`psvl.language.tagger.check_options`).

Both paths turn the model's fractions into seconds with the same duration as training did: the end of
the video's last feature segment (`psvl.core.spans.feature_duration`; training's pseudo-queries take
theirs from the features too), never an annotation's or a container's duration, so one query in one
video gets the same moment from `predict` and from `predict_table`. A query none of whose tokens the
model was trained on gets the model's prior moment; it is flagged (`has_known_word`, the `no_known_words`
column) and logged. How the query's words, unknown ones included, become model inputs (`unknown_words`,
`video_classes`) is `query_words.py`; the model call is `inference.infer`. Predictions carry no ground
truth: `psvl evaluate` joins it and scores them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from psvl.config import default, defaults
from psvl.core.artifacts import ArtifactError
from psvl.core.devices import resolve_device
from psvl.core.spans import to_seconds
from psvl.features.segments import VideoFeatures
from psvl.features.video_file import video_file_features
from psvl.frames.frames import FramesConfig
from psvl.language.tagger import check_options, simplify
from psvl.language.tagger import options as tagger_options
from psvl.localization.batches import as_tensor, stack_videos
from psvl.localization.checkpoints import load_checkpoint
from psvl.localization.inference import Inputs, attention_inside, infer
from psvl.localization.model import PSVLNet
from psvl.localization.named_channels import model_classes
from psvl.localization.query_words import QueryWords
from psvl.localization.vocab import Vocab

log = logging.getLogger(__name__)


@dataclass
class PredictConfig:
    """The `predict` config section (fields only; the defaults live in the config schema). `localizer` is
    read by the workflow (model: this Predictor; class_scores: psvl ground, class_grounding.py)."""

    localizer: str
    device: str
    threads: int
    batch_size: int
    unknown_words: str
    nearest_min_similarity: float
    video_classes: bool
    video_class_min_score: float


class Predictor:
    """A trained PSVLNet with its vocabulary and settings; holds the currently encoded video.

    `cfg` (the `predict` section) gives the device and the batch size of `predict_table`; None = the
    schema's defaults. A checkpoint without stored model settings reads the `model` section's defaults.
    `language` (tagger options, `Tagger.options`, that the queries were or will be simplified with, read
    from `where`) must equal the checkpoint's record, else ValueError (ConfigError); None = the record.
    A checkpoint without the record (older ones) is accepted with a warning and simplifies with `language`,
    else with the `corpus` section's schema defaults.
    """

    def __init__(
        self,
        checkpoint: Mapping[str, Any],
        cfg: PredictConfig | None = None,
        language: Mapping[str, Any] | None = None,
        where: str = "the corpus config section",
        name: str = "the checkpoint",
    ) -> None:
        self.recorded_language = checkpoint.get("language")
        given = language if language is not None else self.recorded_language
        self.language = dict(given if given is not None else tagger_options(defaults("corpus")))
        check_options(self.recorded_language, self.language, name, where)
        self.cfg = cfg or default(PredictConfig, "predict")
        self.device = resolve_device(self.cfg.device)
        self.model = PSVLNet.from_checkpoint(checkpoint["model"]).to(self.device).eval()
        self.vocab = Vocab(checkpoint["vocab"], checkpoint.get("vocab_trained"))
        self.classes = model_classes(self.model, checkpoint)  # named object channels, else None
        self.settings = dict(checkpoint.get("settings", {}))
        self.provenance = dict(checkpoint.get("provenance", {}))
        model = {**defaults("model"), **self.settings.get("model", {})}
        self.num_segments = int(model["num_segments"])
        self.max_tokens = int(model["max_query_tokens"])
        # unknown words (`unknown_words`, `video_classes`): how this model reads a query's tokens
        self.words = QueryWords(
            self.vocab,
            self.classes,
            self.model.config.query_encoder == "learned",
            self.max_tokens,
            str(model["sentence_model"]),
            self.cfg.unknown_words,
            self.cfg.nearest_min_similarity,
            self.cfg.video_classes,
            self.cfg.video_class_min_score,
        )
        # (raw video, mask, duration, its encoding: None when the encoding depends on the query)
        self._video: tuple[torch.Tensor, torch.Tensor, float, torch.Tensor | None] | None = None

    @classmethod
    def load(
        cls,
        path: str | os.PathLike,
        device: str | None = None,
        cfg: PredictConfig | None = None,
        language: Mapping[str, Any] | None = None,
        where: str = "the corpus config section",
    ) -> Predictor:
        """From a model folder (its best.pt) or a checkpoint file; `device` overrides `cfg.device`;
        `language` and `where` as in the constructor.

        A missing folder or best.pt is a FileNotFoundError, a file that is no psvl checkpoint an
        ArtifactError; each message says what to give instead."""
        path = Path(path)
        cfg = cfg or default(PredictConfig, "predict")
        if device is not None:
            cfg = replace(cfg, device=device)
        file = path / "best.pt" if path.is_dir() else path
        if not path.exists():
            raise FileNotFoundError(
                f"model {path}: no such folder or file; give the folder `psvl train --out-dir` wrote "
                "(it holds best.pt) or a checkpoint file"
            )
        if not file.exists():
            raise FileNotFoundError(
                f"model folder {path} has no best.pt: `psvl train` writes it after its first epoch; give a "
                "folder `psvl train --out-dir` wrote, or a checkpoint file (e.g. last.pt)"
            )
        try:
            checkpoint = load_checkpoint(file)
        except Exception as exc:  # torch raises many kinds for a file that is not a checkpoint
            reason = " ".join(str(exc).split())[:200]
            raise ArtifactError(
                f"{file}: not a readable psvl checkpoint ({type(exc).__name__}: {reason}); retrain with "
                "`psvl train` or give another model"
            ) from exc
        missing = sorted({"model", "vocab"} - set(checkpoint if isinstance(checkpoint, Mapping) else ()))
        if missing:
            raise ArtifactError(f"{file}: not a psvl checkpoint (no {', '.join(missing)}); give a best.pt")
        return cls(checkpoint, cfg, language, where, name=f"the checkpoint {file}")

    # -- one video ------------------------------------------------------------------------------
    def encode(self, features: np.ndarray, duration_s: float) -> Predictor:
        """Encode one video's segment features (T x D) once; later `predict` calls reuse them."""
        video, mask = stack_videos([torch.as_tensor(np.asarray(features, np.float32))], self.num_segments)
        with torch.inference_mode():
            video, mask = video.to(self.device), mask.to(self.device)
            enc = None if self.classes else self.model.encode_video(video, mask)
            self._video = (video, mask, float(duration_s), enc)
        return self

    def encode_file(
        self, path: str | os.PathLike, frames_cfg: Mapping[str, Any] | FramesConfig | None = None
    ) -> Predictor:
        """Encode one video file with the frames and features training used (`video_file_features`);
        frame settings missing from `frames_cfg` are the `frames` section's defaults."""
        features_meta = self.provenance.get("features", {}).get("config", {})
        return self.encode(*video_file_features(path, features_meta, frames_cfg))

    def tokens(self, query: str | Sequence[str]) -> list[str]:
        """A query's tokens: a sentence is simplified to verb then noun lemmas by the test-query tagger with
        the checkpoint's language options."""
        if isinstance(query, str):
            lang = self.language
            return simplify([query], lang["model"], lang["stop_verbs"], lang["simplify"])[0]
        return [str(t) for t in query]

    def has_known_word(self, query: str | Sequence[str]) -> bool:
        """Whether any token of `query` (as `tokens` makes them, within `max_query_tokens`) is a word the
        model was trained on; without one the moment is the model's prior for the video, not a match."""
        return self.words.known(self.tokens(query))

    def inputs(
        self, token_lists: Sequence[Sequence[str]], present: np.ndarray | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, list[str], torch.Tensor | None]:
        """`QueryWords.inputs` of tokenized queries, on the device."""
        tokens, mask, texts, named = self.words.inputs(token_lists, present)
        return (
            tokens.to(self.device),
            mask.to(self.device),
            texts,
            None if named is None else named.to(self.device),
        )

    def predict(self, query: str | Sequence[str]) -> list[list[float]]:
        """[[start_s, end_s, score]] of `query` in the encoded video (a sentence or a token list)."""
        if self._video is None:
            raise RuntimeError("no video encoded: call encode() or encode_file() first")
        video, mask, duration, video_enc = self._video
        tokens, token_mask, texts, named = self.inputs([self.tokens(query)], self.words.present(video, mask))
        with torch.inference_mode():  # no encoding yet: named object channels, which read the query
            out = infer(self.model, Inputs(tokens, token_mask, video, mask, texts, named), video_enc)
        moment = out["moment"].float().cpu().numpy()
        score = attention_inside(out["attention"].float().cpu().numpy(), moment, mask.cpu().numpy())
        start, end = to_seconds(moment, duration)[0]
        return [[float(start), float(end), float(score[0])]]

    # -- a table of queries -----------------------------------------------------------------------
    def predict_table(
        self, queries: pd.DataFrame, features: Mapping[str, VideoFeatures], batch_size: int | None = None
    ) -> pd.DataFrame:
        """Predictions (predictions schema: moments, no ground truth; `psvl evaluate` scores them) for a
        test_queries table; videos are encoded once each.

        `batch_size` queries per forward pass (None: `cfg.batch_size`), over `batch_size // 4` videos
        encoded at a time. Queries whose video has no features get no row (the evaluator counts them as
        misses). Seconds are fractions of `feature_duration` of each video's features (the queries'
        `duration_s` only where the features carry no times), as in `predict`. `no_known_words` flags the
        queries without a trained word (logged with their ids); their moments are computed all the same.
        """
        batch_size = self.cfg.batch_size if batch_size is None else batch_size
        queries = queries.reset_index(drop=True)
        have = queries["video_id"].astype(str).isin(set(features)).to_numpy()
        if not have.all():
            log.warning("%d queries have no video features and get no prediction", int((~have).sum()))
        queries = queries[have].reset_index(drop=True)
        pred = np.zeros((len(queries), 2))
        vids = queries["video_id"].astype(str).to_numpy()
        unique = sorted(set(vids))
        per_chunk = max(1, batch_size // 4)
        for lo in range(0, len(unique), per_chunk):
            chunk = unique[lo : lo + per_chunk]
            slot = {v: i for i, v in enumerate(chunk)}
            arrays = [as_tensor(features[v].array) for v in chunk]  # lazy mappings: one chunk in memory
            video, mask = stack_videos(arrays, self.num_segments)
            rows = np.flatnonzero(np.isin(vids, chunk))
            video, mask = video.to(self.device), mask.to(self.device)
            with torch.inference_mode():
                # once per video, unless named object channels make the encoding depend on the query
                enc = None if self.classes else self.model.encode_video(video, mask)
                present = self.words.present(video, mask)
                for i in range(0, len(rows), batch_size):
                    part = rows[i : i + batch_size]
                    idx = torch.as_tensor([slot[v] for v in vids[part]], device=self.device)
                    tokens, token_mask, texts, named = self.inputs(
                        [list(queries.at[r, "tokens"]) for r in part],
                        None if present is None else present[idx.cpu().numpy()],
                    )
                    inputs = Inputs(tokens, token_mask, video[idx], mask[idx], texts, named)
                    out = infer(self.model, inputs, None if enc is None else enc[idx])
                    pred[part] = out["moment"].float().cpu().numpy()
        spans = {v: features[v].duration for v in unique}
        duration = np.array([spans[v] for v in vids], dtype=np.float64)
        given = queries["duration_s"].to_numpy(dtype=np.float64)
        duration = np.where(np.isfinite(duration) & (duration > 0), duration, given)
        pred_s = to_seconds(pred, duration) if len(queries) else pred
        unknown = np.array([not self.has_known_word(list(t)) for t in queries["tokens"]], dtype=bool)
        if unknown.any():
            named = [f"{queries.at[r, 'query_id']} {_text(queries, r)!r}" for r in np.flatnonzero(unknown)]
            log.warning(
                "%d queries have no word the model was trained on (their moment is the model's prior; "
                "column no_known_words): %s%s",
                len(named),
                ", ".join(named[:10]),
                ", ..." if len(named) > 10 else "",
            )
        return pd.DataFrame(
            {
                "query_id": queries["query_id"].astype(str),
                "video_id": vids,
                "pred_start_s": pred_s[:, 0],
                "pred_end_s": pred_s[:, 1],
                "no_known_words": unknown,
            }
        )


def _text(queries: pd.DataFrame, row: int) -> str:
    """A query's sentence for messages, else its tokens joined."""
    if "sentence" in queries and isinstance(queries.at[row, "sentence"], str):
        return queries.at[row, "sentence"]
    return " ".join(map(str, queries.at[row, "tokens"]))
