"""The survey: draw each class's candidates until enough pass the detection cut, then build the tables.

Objects are kept only when detected at least ``min_detections`` times, as a survey catalogue would be. The
classes are then shuffled together, so that an object's id says nothing about its class, and the galaxy
catalogue is drawn around them (:mod:`.galaxies`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from lcrnn.data.simulate.agn import agn
from lcrnn.data.simulate.cadence import Schedule, expand_visits, field_index, make_schedule
from lcrnn.data.simulate.config import SimulationConfig, class_counts
from lcrnn.data.simulate.galaxies import galaxy_catalogue
from lcrnn.data.simulate.photometry import observe
from lcrnn.data.simulate.sky import sky_extragalactic, sky_variable_stars
from lcrnn.data.simulate.supernovae import supernovae
from lcrnn.data.simulate.variables import variable_stars
from lcrnn.data.tables import Survey
from lcrnn.errors import LcrnnError

__all__ = ["simulate_survey", "simulate_survey_with_truth"]

_BATCH = 20_000  # candidates simulated at once (bounds memory)
_MIN_BATCH = 64  # smallest batch, so that the last few objects do not take many tiny batches
_BATCH_MARGIN = 1.2  # draw this many more candidates than the expected acceptance calls for
_MIN_ACCEPTANCE = 0.02  # floor of the running estimate of the share of candidates that pass
_MAX_FRUITLESS_BATCHES = 20  # batches in a row without one accepted object before giving up


@dataclass(frozen=True)
class _ClassModel:
    """How one class is simulated: where its objects lie and what their light curves do."""

    positions: Callable[..., tuple[np.ndarray, np.ndarray]]  # (rng, n, min_dec, min_abs_b) -> ra, dec
    light_curves: Callable[..., tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]]  # see variable_stars
    # First guess at the share of candidates that pass the cut, which sizes the first batch (the estimate is
    # then updated batch by batch).
    first_acceptance: float


_CLASS_MODELS = {
    "VS": _ClassModel(sky_variable_stars, variable_stars, 0.5),
    "SN": _ClassModel(sky_extragalactic, supernovae, 0.2),
    "AGN": _ClassModel(sky_extragalactic, agn, 0.3),
}


@dataclass(frozen=True)
class _Batch:
    """A batch of candidates (positions and truth, one per candidate) and their visits (flat, by object)."""

    ra: np.ndarray
    dec: np.ndarray
    truth: dict[str, np.ndarray]
    obj: np.ndarray  # candidate of each visit
    t: np.ndarray
    detected: np.ndarray
    mag_obs: np.ndarray
    mag_err: np.ndarray


@dataclass
class _ClassDraw:
    """Accepted objects of one class (positions, truth) and their detections (object index within class)."""

    ra: list[np.ndarray] = field(default_factory=list)
    dec: list[np.ndarray] = field(default_factory=list)
    truth: list[dict[str, np.ndarray]] = field(default_factory=list)
    obj: list[np.ndarray] = field(default_factory=list)
    mjd: list[np.ndarray] = field(default_factory=list)
    mag: list[np.ndarray] = field(default_factory=list)
    mag_err: list[np.ndarray] = field(default_factory=list)
    n: int = 0

    def keep(self, batch: _Batch, passed: np.ndarray) -> None:
        """Append the candidates ``passed`` of ``batch``, and their detections, in draw order."""
        new_index = np.full(len(batch.ra), -1, dtype=np.int64)
        new_index[passed] = self.n + np.arange(len(passed))
        keep = batch.detected & (new_index[batch.obj] >= 0)
        self.ra.append(batch.ra[passed])
        self.dec.append(batch.dec[passed])
        self.truth.append({k: np.asarray(v)[passed] for k, v in batch.truth.items()})
        self.obj.append(new_index[batch.obj[keep]])
        self.mjd.append(batch.t[keep])
        self.mag.append(batch.mag_obs[keep])
        self.mag_err.append(batch.mag_err[keep])
        self.n += len(passed)

    def truth_column(self, key: str) -> np.ndarray:
        """One truth column in draw order (NaN where the class has no such quantity)."""
        values = [t.get(key) for t in self.truth]
        if values and all(v is not None for v in values):
            return np.concatenate(values).astype(object if key == "subtype" else np.float64)
        return np.full(self.n, np.nan)


def _simulate_class(
    rng: np.random.Generator,
    label: str,
    n_wanted: int,
    config: SimulationConfig,
    schedule: Schedule,
    bar: Any,
) -> _ClassDraw:
    """Draw candidates in batches until ``n_wanted`` pass the detection cut; keeps them in draw order."""
    model = _CLASS_MODELS[label]
    draw = _ClassDraw()
    acceptance = model.first_acceptance
    tries_without_progress = 0
    while draw.n < n_wanted:
        remaining = n_wanted - draw.n
        size = int(min(_BATCH, max(_MIN_BATCH, np.ceil(_BATCH_MARGIN * remaining / acceptance))))
        ra, dec = model.positions(rng, size, config.min_dec_deg, config.min_abs_b_deg)
        obj, t, limit = expand_visits(schedule, field_index(schedule, ra, dec, config.min_dec_deg))
        mag, ref, truth = model.light_curves(rng, size, obj, t, config)
        detected, mag_obs, mag_err = observe(rng, config, mag, limit, ref[obj])
        n_det = np.bincount(obj[detected], minlength=size)
        eligible = truth.pop("eligible", np.ones(size, dtype=bool))
        passed = np.flatnonzero((n_det >= config.min_detections) & eligible)
        acceptance = max(_MIN_ACCEPTANCE, 0.5 * acceptance + 0.5 * len(passed) / size)
        tries_without_progress = 0 if len(passed) else tries_without_progress + 1
        if tries_without_progress >= _MAX_FRUITLESS_BATCHES:
            raise LcrnnError(
                f"no simulated {label} reached {config.min_detections} detections in {_MAX_FRUITLESS_BATCHES}"
                f" batches of {size}; lower min_detections, deepen depth_mag or shorten visit_interval_days."
            )
        passed = passed[:remaining]
        draw.keep(_Batch(ra, dec, truth, obj, t, detected, mag_obs, mag_err), passed)
        bar.update(len(passed))
    return draw


def _photometry(draws: dict[str, _ClassDraw], rank: np.ndarray, ids: np.ndarray) -> pd.DataFrame:
    """Every detection, sorted by object and time."""
    obj_parts, mjd_parts, mag_parts, err_parts = [], [], [], []
    first = 0
    for d in draws.values():
        obj_parts.append(rank[first + np.concatenate(d.obj)])
        mjd_parts += d.mjd
        mag_parts += d.mag
        err_parts += d.mag_err
        first += d.n
    obj_rank = np.concatenate(obj_parts)
    mjd = np.concatenate(mjd_parts)
    order = np.lexsort((mjd, obj_rank))
    return pd.DataFrame(
        {
            "object_id": pd.array(ids[obj_rank[order]], dtype="str"),
            "mjd": mjd[order],
            "mag": np.concatenate(mag_parts)[order].astype(np.float32),
            "mag_err": np.concatenate(err_parts)[order].astype(np.float32),
            "band": pd.array(np.full(len(order), "L"), dtype="str"),
        }
    )


def _truth(
    draws: dict[str, _ClassDraw],
    objects: pd.DataFrame,
    by_rank: np.ndarray,
    catalogued: np.ndarray,
    host_offset: np.ndarray,
) -> pd.DataFrame:
    """The truth table, one row per object in the order of ``objects``."""
    truth_columns: dict[str, Any] = {"object_id": objects["object_id"], "label": objects["label"]}
    for key in ("subtype", "base_mag", "redshift", "peak_mag"):
        column = np.concatenate([d.truth_column(key) for d in draws.values()])[by_rank]
        truth_columns[key] = pd.array(column.astype(str), dtype="str") if key == "subtype" else column
    truth_columns["host_catalogued"] = catalogued[by_rank]
    truth_columns["host_offset_arcsec"] = host_offset[by_rank]
    return pd.DataFrame(truth_columns)


def simulate_survey_with_truth(
    config: SimulationConfig | None = None, progress: bool = False
) -> tuple[Survey, pd.DataFrame]:
    """Simulate a survey and also return what the tables do not show (subtype, redshift, host).

    Parameters
    ----------
    config
        What to simulate; defaults to ``SimulationConfig()`` (the paper's 99,201 objects).
    progress
        Show a tqdm progress bar over the objects accepted.

    Returns
    -------
    survey : lcrnn.data.tables.Survey
        Validated photometry, objects (with ``label``) and galaxies tables.
    truth : pandas.DataFrame
        One row per object: ``object_id, label, subtype, base_mag, redshift, peak_mag, host_catalogued,
        host_offset_arcsec`` (NaN where a column does not apply).
    """
    config = SimulationConfig() if config is None else config
    rng = np.random.default_rng(config.seed)
    counts = class_counts(config.n_objects, config.class_fractions)
    schedule = make_schedule(rng, config)

    draws: dict[str, _ClassDraw] = {}
    with tqdm(total=sum(counts.values()), desc="simulating", unit="obj", disable=not progress) as bar:
        for label, n_wanted in counts.items():
            if n_wanted:
                draws[label] = _simulate_class(rng, label, n_wanted, config, schedule, bar)

    labels = np.concatenate([np.full(d.n, label) for label, d in draws.items()])
    ra = np.concatenate([np.concatenate(d.ra) for d in draws.values()])
    dec = np.concatenate([np.concatenate(d.dec) for d in draws.values()])
    n = len(labels)
    # Shuffle the classes together so that ids say nothing about the class.
    rank = np.empty(n, dtype=np.int64)
    rank[rng.permutation(n)] = np.arange(n)
    width = max(6, len(str(n)))
    ids = np.array([f"SIM{i:0{width}d}" for i in range(n)])
    photometry = _photometry(draws, rank, ids)

    redshift = np.concatenate([d.truth_column("redshift") for d in draws.values()])
    subtype = np.concatenate([d.truth_column("subtype") for d in draws.values()])
    galaxies, catalogued, host_offset = galaxy_catalogue(rng, config, ra, dec, labels, redshift, subtype)
    by_rank = np.argsort(rank)
    objects = pd.DataFrame(
        {
            "object_id": pd.array(ids, dtype="str"),
            "ra": ra[by_rank],
            "dec": dec[by_rank],
            "label": pd.array(labels[by_rank], dtype="str"),
        }
    )
    truth = _truth(draws, objects, by_rank, catalogued, host_offset)
    # Built in the schema already; validate_survey would only re-check it (slowly, at 10^6 rows).
    return Survey(photometry, objects, galaxies), truth


def simulate_survey(config: SimulationConfig | None = None, progress: bool = False) -> Survey:
    """Simulate a labelled GOTO-like survey (paper section 2).

    Parameters
    ----------
    config
        What to simulate; defaults to ``SimulationConfig()`` (the paper's 99,201 objects: 98,457 VS,
        201 SN, 543 AGN).
    progress
        Show a tqdm progress bar.

    Returns
    -------
    lcrnn.data.tables.Survey
        ``photometry`` (object_id, mjd, mag, mag_err, band="L"; sorted by object and time), ``objects``
        (object_id, ra, dec, label) and ``galaxies`` (ra, dec, name). Write it with
        :func:`lcrnn.data.io.write_survey`.

    Examples
    --------
    >>> survey = simulate_survey(SimulationConfig(n_objects=2_000, seed=1))  # doctest: +SKIP
    >>> survey.class_counts()  # doctest: +SKIP
    """
    return simulate_survey_with_truth(config, progress)[0]
