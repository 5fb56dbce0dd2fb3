"""One rule for `device: auto | cpu | cuda | cuda:N` across features, detection, training and predict."""

from __future__ import annotations


def resolve_device(name: str):
    """`auto` -> CUDA when present, else CPU; anything else is passed to torch.device."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)
