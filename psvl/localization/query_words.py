"""How a trained model reads a test query's words, including the words it never trained on.

Why apart from `Predictor`: the predictor loads a model and batches queries; which ids, texts and named
classes a query becomes is a question of the model's vocabulary and of two `predict` settings alone.
With `unknown_words: nearest`, an unknown word becomes its nearest trained word (`nearest_words.py`), in
what the learned encoder reads and in the classes a query names (a sentence-model encoder reads the
words as written). With `video_classes` (models with named object channels), a query still naming no
class names the class its video shows that lies nearest to one of its unknown words (`video_classes.py`).
Whether a query has a known word always reads the training vocabulary, whatever the encoder, so subsets
compare across encoders.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import torch

from psvl.localization.batches import pad_tokens, query_text
from psvl.localization.named_channels import class_weights
from psvl.localization.nearest_words import NearestWords
from psvl.localization.video_classes import VideoClasses, present_classes
from psvl.localization.vocab import SPECIALS, Vocab

log = logging.getLogger(__name__)


class QueryWords:
    """Token lists -> model inputs for one trained model.

    `vocab` and `classes` (named object channels, else None) are the checkpoint's; `learned`: the model's
    query encoder reads vocabulary ids (else text); `sentence_model` names the model that ranks words;
    the rest are the `predict` section's settings of the same names (docs/localization.md)."""

    def __init__(
        self,
        vocab: Vocab,
        classes: list[str] | None,
        learned: bool,
        max_tokens: int,
        sentence_model: str,
        unknown_words: str,
        nearest_min_similarity: float,
        video_classes: bool,
        video_class_min_score: float,
    ) -> None:
        self.vocab, self.classes, self.learned, self.max_tokens = vocab, classes, learned, max_tokens
        trained = vocab.trained_words
        self.nearest = None
        if unknown_words == "nearest" and (learned or classes):
            self.nearest = NearestWords(trained, sentence_model, nearest_min_similarity)
        # a setting for models with named channels; others have no classes to name, and ignore it, as
        # `nearest` is ignored by a minilm encoder's reading
        self.video_classes = None
        if video_classes and not classes:
            # debug: the synthetic preset sets it for every model; `psvl predict` says it when the user did
            log.debug("predict.video_classes: this model has no named object channels; ignored")
        if video_classes and classes:
            self.video_classes = VideoClasses(classes, trained, sentence_model)
        self.class_min_score = video_class_min_score

    def known(self, tokens: Sequence[str]) -> bool:
        """Whether any of `tokens` (within `max_tokens`) is a word the model was trained on."""
        return any(i >= len(SPECIALS) for i in self.vocab.encode(list(tokens), self.max_tokens))

    def present(self, video: torch.Tensor, mask: torch.Tensor) -> np.ndarray | None:
        """(B, C) classes the detector found in each video, for `video_classes` (else None)."""
        if self.video_classes is None:
            return None
        return present_classes(video, mask, len(self.classes), self.class_min_score)

    def inputs(
        self, token_lists: Sequence[Sequence[str]], present: np.ndarray | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, list[str], torch.Tensor | None]:
        """(ids (B, L), mask (B, L), texts, named-class weights (B, C) or None), on the CPU; `present`
        (B, C): each query's video's detected classes, for `video_classes`."""
        mapped = [self.nearest(t) if self.nearest else list(t) for t in token_lists]
        lists = mapped if self.learned else [list(t) for t in token_lists]
        tokens, mask = pad_tokens([self.vocab.encode(t, self.max_tokens) for t in lists])
        named = None
        if self.classes:
            kept = [t[: self.max_tokens] for t in mapped]
            weights = class_weights(kept, self.classes)
            if self.video_classes is not None and present is not None:
                weights = self.video_classes.fill(weights, kept, present)
            named = torch.from_numpy(weights)
        texts = [query_text(t, self.max_tokens) for t in lists]
        return tokens, mask, texts, named
