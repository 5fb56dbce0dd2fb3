"""Hand-made training data for the model tests: random features with a planted signal, in the
pseudo_queries schema (no other stage needed)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from psvl.config import default
from psvl.features.segments import VideoFeatures
from psvl.localization.model import ModelConfig

TINY = default(
    ModelConfig,
    "model",
    num_segments=32,
    word_dim=8,
    hidden=8,
    fusion_dim=8,
    fusion_heads=1,
    fusion_layers=1,
    nonlocal_blocks=1,
    nonlocal_heads=2,
    dropout=0.1,
    max_query_tokens=6,
)


def toy_world(
    n_videos: int = 12,
    dim: int = 16,
    seed: int = 0,
    seconds_per_segment: float = 0.5,
    min_len: int = 20,
    max_len: int = 50,
):
    """(pseudo_queries DataFrame, {video_id: VideoFeatures (T x D, starts, ends)}): 3 events per video, each event's
    segments carry its noun's prototype vector, so a model can learn where a noun is."""
    rng = np.random.default_rng(seed)
    nouns, verbs = ["ball", "cube", "star", "ring"], ["spin", "slide", "bounce"]
    protos = {n: rng.normal(size=dim).astype(np.float32) for n in nouns}
    feats, rows = {}, []
    for v in range(n_videos):
        vid = f"video {v:03d}"
        T = int(rng.integers(min_len, max_len + 1))
        x = rng.normal(scale=0.5, size=(T, dim)).astype(np.float32)
        cuts = np.sort(rng.choice(np.arange(3, T - 3), size=2, replace=False))
        bounds = [0, *cuts.tolist(), T]
        for e in range(3):
            noun = nouns[int(rng.integers(len(nouns)))]
            verb = verbs[int(rng.integers(len(verbs)))]
            a, b = bounds[e], bounds[e + 1]
            x[a:b] += protos[noun]
            rows.append(
                {
                    "query_id": f"{vid}#{e}",
                    "video_id": vid,
                    "start_s": a * seconds_per_segment,
                    "end_s": b * seconds_per_segment,
                    "duration_s": T * seconds_per_segment,
                    "verbs": [verb],
                    "nouns": [noun],
                    "tokens": [verb, noun],
                }
            )
        starts = np.arange(T) * seconds_per_segment
        feats[vid] = VideoFeatures(x, starts, starts + seconds_per_segment)
    return pd.DataFrame(rows), feats
