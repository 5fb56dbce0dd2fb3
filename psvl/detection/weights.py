"""Checking, before any job, that configured weights load offline: `check_weights` (check_backend calls it
for detector.weights, detector.train.weights and features.weights).

Why: a job that downloads weights on a machine without internet fails minutes into the run, once per
shard. A torchvision weights name (DEFAULT, COCO_V1, ...) is loaded from
`torch.hub.get_dir()/checkpoints/<file name of the weights' url>`; when that file is not there, the run
stops at parse time with one line naming the file and the folder (unless PSVL_DOWNLOAD_WEIGHTS=1 says
this machine may download it). torchvision is imported only when a
weights name is configured (its enum holds the url); `none`, `trained` and paths import nothing.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from urllib.parse import urlparse

from psvl.core.errors import ConfigError

# Set on machines with internet to let the first job download weights missing from the cache.
DOWNLOAD_ENV = "PSVL_DOWNLOAD_WEIGHTS"
CHECKPOINT_SUFFIXES = frozenset({".pt", ".pth", ".ckpt", ".bin", ".pkl"})


def looks_like_path(weights: str) -> bool:
    """A checkpoint path rather than a weights name: it has a folder or a checkpoint file suffix."""
    return "/" in weights or os.sep in weights or Path(weights).suffix.lower() in CHECKPOINT_SUFFIXES


def cached_weights_file(url: str) -> Path:
    """Where torch.hub keeps (and looks for) the file downloaded from `url` ($TORCH_HOME/hub/checkpoints)."""
    import torch  # lazy: only reached when a weights name is configured

    return Path(torch.hub.get_dir()) / "checkpoints" / PurePosixPath(urlparse(url).path).name


def verify_weights(enum, arch: str, weights: str, key: str, error: type[Exception] = ConfigError):
    """The member of torchvision weights `enum` that `weights` names (DEFAULT, COCO_V1, ...); else one
    line of `error` listing the names `arch` knows."""
    try:
        return enum.verify(weights)
    except (KeyError, ValueError):
        known = ", ".join(dict.fromkeys(["DEFAULT", *enum.__members__]))
        raise error(
            f"config.{key}: {weights!r} is not a weights name of {arch} (known: {known}), "
            "nor none, trained or an existing checkpoint path"
        ) from None


def check_weights(key: str, arch: str, weights: str, *, expand_user: bool = False) -> None:
    """Raise a one-line ConfigError unless `weights` of torchvision model `arch` loads offline.

    `weights` is an existing checkpoint file (fine), a path that does not exist (an error), or a
    torchvision weights name whose file must already be in the torch hub cache. `none` and `trained`
    are the callers' business (nothing to check here). `expand_user` mirrors loaders that expand `~`.
    """
    if weights in ("none", "trained"):
        return
    path = Path(os.path.expanduser(weights) if expand_user else weights)
    if path.is_file():
        return
    if looks_like_path(weights) or path.exists():
        raise ConfigError(f"config.{key}: checkpoint {path} does not exist (give an existing file, or none)")
    # lazy: torchvision only when a weights name is configured
    from torchvision.models import get_model_weights

    try:
        enum = get_model_weights(arch)
    except (KeyError, ValueError):
        raise ConfigError(
            f"config.{key}: {arch} has no torchvision weights ({weights!r}); use none or a checkpoint path"
        ) from None
    chosen = verify_weights(enum, arch, weights, key)
    target = cached_weights_file(chosen.url)
    if not target.is_file() and not os.environ.get(DOWNLOAD_ENV):
        raise ConfigError(
            f"config.{key}: {weights} needs {target.name} in {target.parent}: download {chosen.url} "
            f"there first, or set {DOWNLOAD_ENV}=1 to let the jobs download it (machines with internet)"
        )
