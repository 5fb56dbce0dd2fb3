"""Query-named object channels: the (score, motion) track of the detector classes a query names.

Why: with `model.visual_input: objects` every segment carries each detector class's score and box motion
(`psvl.features.objects`), and the model has to learn from a few hundred pseudo-queries which pair of
channels a word points to. Through PSVL's fusion (softmax attention between segments and two or three
words) it learns that poorly: on the dev world the same model trained on the *true* train captions
reaches R@0.5 0.58 while a hand rule that reads the named class's score channel reaches 0.74. Yet the
detector's class names are words, and the pseudo-queries' nouns are those very names, so the match can
be read off instead of learned: for each query the mean (score, motion) over the classes its tokens name
is appended to every segment as two more channels, and the video encoder sees the named object's track
before any fusion (the query modulating segment features early, as LGI's and 2D-TAN's Hadamard fusion
of sentence and segment features does). A query naming no class gets zeros, and the model falls back
on the other channels. Unknown words can still reach a class through `predict.unknown_words: nearest`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch


def class_weights(token_lists: Sequence[Sequence[str]], classes: Sequence[str]) -> np.ndarray:
    """(N, C) float32: row i spreads 1 evenly over the classes query i names (all zeros when none).

    A class is named when a token equals its name or, for a multi-word name ("dining table", "cell
    phone"), the name's last word; compared lower-cased and stripped.
    """
    keys = [str(c).strip().lower() for c in classes]
    heads = [k.split()[-1] if k.split() else k for k in keys]
    out = np.zeros((len(token_lists), len(keys)), dtype=np.float32)
    for i, tokens in enumerate(token_lists):
        words = {str(t).strip().lower() for t in tokens}
        hit = [c for c, (k, h) in enumerate(zip(keys, heads)) if k in words or h in words]
        if hit:
            out[i, hit] = 1.0 / len(hit)
    return out


def named_tracks(video: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """(B, T, 2): the weighted score and motion channels of object-channel features (B, T, 2C), laid out
    as `psvl.features.objects` writes them (C scores, then C motions), with weights (B, C)."""
    n_cls = weights.size(1)
    w = weights.to(video.dtype)
    score = torch.einsum("bc,btc->bt", w, video[..., :n_cls])
    motion = torch.einsum("bc,btc->bt", w, video[..., n_cls : 2 * n_cls])
    return torch.stack([score, motion], dim=-1)


def channel_classes(features_meta: dict | None) -> list[str]:
    """The detector classes of object-channel features, from their metadata (what `psvl object-features`
    records, and checkpoints keep as provenance["features"]); a ValueError for features without them."""
    config = (features_meta or {}).get("config") or {}
    labels = (config.get("object_channels") or {}).get("labels")
    if not labels:
        raise ValueError(
            "model.named_channels: the features carry no detector class names; named channels read object "
            "channels (model.visual_input: objects, the object_features stage's output)"
        )
    return [str(n) for n in labels]


def model_classes(model, checkpoint: dict) -> list[str] | None:
    """The detector classes a loaded PSVLNet reads named channels of (None for a model without them)."""
    if not model.config.named_classes:
        return None
    return channel_classes(checkpoint.get("provenance", {}).get("features"))
