"""How the service runs: :class:`ServeConfig`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lcrnn.data.tables import MjdRange

__all__ = ["ServeConfig"]


@dataclass(frozen=True)
class ServeConfig:
    """How the service runs.

    Parameters
    ----------
    model_dir
        A run directory written by ``Classifier.save`` (ignored when a model is passed to ``create_app``).
    db_url
        State store URL: ``sqlite:///lcrnn.db`` or ``postgresql+psycopg://user@host/db``.
    galaxies_path
        Galaxy catalogue (Parquet/CSV with ``ra``, ``dec``) for the nearest-galaxy distance. A model trained
        with a catalogue is refused without one unless ``allow_missing_catalogue``.
    allow_missing_catalogue
        Serve a context model without a catalogue: every object gets the dummy distance (``/healthz`` says so).
    band
        The band(s) to read, e.g. ``"r"`` or ``"r,R"``; default: the band the model was trained in.
        Observations in other bands are refused with 422 (a light curve is read in one band).
    mjd_range
        Plausible detection times (default MJD 15,000-100,000, see :class:`lcrnn.data.tables.MjdRange`);
        a detection outside it is refused with 422, with a hint when it looks like a Julian Date.
    raw
        Serve the network's raw softmax instead of the calibrated probabilities (see ``lcrnn.train.calibrate``).
    priors
        Class priors of the survey served, e.g. ``"VS=0.99,SN=0.002,AGN=0.008"``: calibrated probabilities
        moved to them.
    max_body_bytes
        Larger request bodies get 413 (protects the service from a runaway client).
    max_batch
        Most observations accepted in one ``POST /observations``.
    token_env
        Environment variable holding the bearer token that writes need.
    db_prefix
        Table-name prefix inside the database.
    """

    model_dir: Path | None = None
    db_url: str = "sqlite:///lcrnn.db"
    galaxies_path: Path | None = None
    allow_missing_catalogue: bool = False
    band: str | None = None
    mjd_range: MjdRange = MjdRange()
    raw: bool = False
    priors: str | None = None
    max_body_bytes: int = 4_000_000  # ~20k observations of JSON
    max_batch: int = 10_000
    token_env: str = "LCRNN_API_TOKEN"
    db_prefix: str = "lcrnn_"
