"""Random draws and processes that several populations share.

All work on flat arrays of visits grouped by object (``obj`` ascending, times ascending within an object),
the layout :func:`lcrnn.data.simulate.cadence.expand_visits` produces.
"""

from __future__ import annotations

import numpy as np

__all__ = ["damped_random_walk", "log_uniform"]


def log_uniform(rng: np.random.Generator, low: float, high: float, n: int) -> np.ndarray:
    """``n`` values spread evenly in log between ``low`` and ``high``."""
    return np.exp(rng.uniform(np.log(low), np.log(high), n))


def _first_of_object(obj: np.ndarray) -> np.ndarray:
    first = np.ones(len(obj), dtype=bool)
    first[1:] = obj[1:] != obj[:-1]
    return first


def damped_random_walk(
    rng: np.random.Generator, obj: np.ndarray, t: np.ndarray, tau: np.ndarray, sigma: np.ndarray
) -> np.ndarray:
    """Ornstein-Uhlenbeck process sampled exactly at each object's times (flat arrays, grouped by object).

    The damped random walk of Kelly et al. (2009) and MacLeod et al. (2010): each step decays the last value
    by ``exp(-dt / tau)`` and adds noise that keeps the variance at ``sigma**2``. ``tau`` and ``sigma`` are
    given per flat entry. Steps run over the position within a light curve, each step vectorised over all
    objects that are that long.
    """
    n = len(t)
    first = _first_of_object(obj)
    dt = np.diff(t, prepend=t[:1] if n else t)
    a = np.where(first, 0.0, np.exp(-np.maximum(dt, 0.0) / tau))
    step = sigma * np.sqrt(1.0 - a**2) * rng.standard_normal(n)
    start = np.maximum.accumulate(np.where(first, np.arange(n), 0))
    position = np.arange(n) - start
    order = np.argsort(position, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(position, minlength=1))])
    x = np.zeros(n)
    for k in range(len(bounds) - 1):
        idx = order[bounds[k] : bounds[k + 1]]
        x[idx] = step[idx] if k == 0 else a[idx] * x[idx - 1] + step[idx]
    return x
