"""The user errors: a mistake in what the user gave (config, files, weights), not a bug in psvl.

Each message says what is wrong, where and what to do, so `psvl <stage>` prints it as one line and exits
2 (psvl.cli). They live here, with no imports, so the CLI can catch them without importing the modules
that raise them (`psvl --help` stays fast) and any layer can raise them.
"""

from __future__ import annotations


class ConfigError(ValueError):
    """The config is invalid; the message names the key and what was expected."""


class DetectorError(ConfigError):
    """The detector cannot be built as configured; the one-line message says what to do."""


class FormatError(ValueError):
    """A file is in no supported format, or a line/record of it is malformed (the message says where)."""


class ArtifactError(ValueError):
    """An artifact is missing a column, has the wrong type, or is not a psvl artifact."""


class VideoError(RuntimeError):
    """A video cannot be used: missing, unreadable, without a video stream, empty or truncated."""


class WeightsError(RuntimeError):
    """Weights could not be loaded; the message says what to download or fix, and where."""


class EmptyOutputError(RuntimeError):
    """A stage would write nothing the next stages can use (no pseudo-queries, no training queries): the
    run stops there, and the message names the cause, the counts and the config key to change."""


# What `psvl <stage>` reports as one line (DetectorError is a ConfigError).
USER_ERRORS: tuple[type[Exception], ...] = (
    ConfigError,
    FormatError,
    ArtifactError,
    VideoError,
    WeightsError,
    EmptyOutputError,
)
