"""Shared fixtures: small surveys made here, so tests never depend on files outside the repository."""

from __future__ import annotations

import os

# Typer draws CLI errors in a box as wide as the terminal and wraps long paths inside it; a wide box keeps each
# message on one line, so tests can match paths in it. Read by typer.rich_utils at import, hence before it.
os.environ.setdefault("TERMINAL_WIDTH", "400")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402


def make_toy_survey(n_per_class: dict[str, int] | None = None, seed: int = 0, max_obs: int = 12):
    """Three classes a network can tell apart from magnitude, scatter and sky position.

    VS: bright, scattered, low galactic latitude, no galaxy; SN: a fading transient next to a galaxy; AGN: faint,
    mildly varying, on a galaxy nucleus. Returns (photometry, objects, galaxies) DataFrames.
    """
    rng = np.random.default_rng(seed)
    n_per_class = n_per_class or {"VS": 120, "SN": 60, "AGN": 60}
    phot, objs, gals = [], [], []
    for cls, n in n_per_class.items():
        for i in range(n):
            oid = f"{cls}-{i:04d}"
            n_obs = int(rng.integers(1, max_obs + 1))
            t = np.sort(rng.uniform(0, 200, n_obs)) + 58500.0
            if cls == "VS":
                mag = 15 + rng.normal(0, 0.6, n_obs)
                ra, dec = rng.uniform(0, 360), rng.uniform(-5, 5)
            elif cls == "SN":
                mag = 18 + 0.03 * (t - t[0]) + rng.normal(0, 0.05, n_obs)
                ra, dec = rng.uniform(0, 360), rng.uniform(30, 80)
                gals.append((ra + 5 / 3600 / max(np.cos(np.radians(dec)), 0.1), dec))
            else:
                mag = 19 + rng.normal(0, 0.15, n_obs)
                ra, dec = rng.uniform(0, 360), rng.uniform(30, 80)
                gals.append((ra, dec))
            phot.append(pd.DataFrame({"object_id": oid, "mjd": t, "mag": mag, "mag_err": 0.05, "band": "L"}))
            objs.append((oid, ra, dec, cls))
    photometry = pd.concat(phot, ignore_index=True)
    photometry["mag"] = photometry["mag"].astype("float32")
    photometry["mag_err"] = photometry["mag_err"].astype("float32")
    objects = pd.DataFrame(objs, columns=["object_id", "ra", "dec", "label"])
    galaxies = pd.DataFrame(gals, columns=["ra", "dec"])
    galaxies["ra"] = galaxies["ra"] % 360
    return photometry, objects, galaxies


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread():
    """Tests use tiny networks, where a second intra-op thread only adds contention (and on a busy machine
    OpenMP threads spinning against each other make them many times slower)."""
    try:
        import torch
    except ImportError:  # pragma: no cover
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def toy_survey():
    """(photometry, objects, galaxies) of 240 separable light curves."""
    return make_toy_survey()


@pytest.fixture(scope="session")
def toy_survey_factory():
    """`make_toy_survey` itself, for tests that need other sizes or seeds."""
    return make_toy_survey


@pytest.fixture
def plain_output():
    """The CLI's output with Typer's error box undrawn and line wrapping undone, for matching messages."""

    def flatten(result) -> str:
        text = result.output
        for ch in "│╭╮╰╯─":
            text = text.replace(ch, " ")
        return " ".join(text.split())

    return flatten
