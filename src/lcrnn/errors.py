"""Exceptions and warnings that lcrnn raises, so callers can catch ours and not everything."""

from __future__ import annotations

__all__ = [
    "InvalidConfigError",
    "InvalidLightCurveError",
    "InvalidTableError",
    "LcrnnError",
    "LcrnnWarning",
    "NotFittedError",
]


class LcrnnError(Exception):
    """Base class of every error lcrnn raises on purpose."""


class InvalidConfigError(LcrnnError, ValueError):
    """A setting (network, training, context, grid) has a value lcrnn cannot use, or a saved one is unknown."""


class InvalidTableError(LcrnnError, ValueError):
    """A table (photometry, objects, galaxies) is missing columns or holds values we cannot use."""


class InvalidLightCurveError(InvalidTableError):
    """Photometry that cannot be turned into a light curve (bad magnitudes, errors, times)."""


class NotFittedError(LcrnnError, RuntimeError):
    """A model or scaler was used before it was fitted or loaded."""


class LcrnnWarning(UserWarning):
    """Something recoverable happened that the user should know about (rows dropped, values clipped)."""
