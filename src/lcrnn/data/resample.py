"""Survey resampling: what GOTO would have seen of a well-sampled light curve.

A real light curve from another survey (CRTS, the Open Supernova Catalog) is denser, longer and often
deeper than a GOTO one (paper section 2.2: one L band, a median of 6 points ~11 days apart, SN seen for
< 100 days). :func:`resample_light_curve` turns it into a GOTO-like one in five steps:

1. **band**: keep the bands of ``config.bands`` (a group near L; all by default) and call the result L;
2. **window**: a transient is cut around its event (``"peak"``: from ``before_peak_days`` before its
   brightest night to ``after_peak_days`` after), anything else to a random stretch as long as GOTO's
   prototype survey (``"random"``, 595 days), or kept whole (``"all"``);
3. **cadence**: visits a gap apart, gaps drawn from a log-normal of median ``median_gap_days`` (11 d, the
   paper's median; the simulator's cadence comes from a field schedule, not a gap law, so it is not reused
   here); each visit takes the source's first observation at or after its time. Where the source is denser
   than GOTO the gaps are GOTO's; where it is sparser (CRTS visits a field about every 30 days) they stay
   the source's own: resampling thins, it never invents an observation;
4. **noise**: GOTO's error at that magnitude (:func:`lcrnn.data.simulate.magnitude_error`: ``1.0857/SNR``
   with SNR = 5 at the depth, a floor of 0.015 mag) is reached by adding only the noise the source's own
   error lacks, ``sqrt(max(sigma_goto^2 - sigma_source^2, 0))``, so the noise is never counted twice; the
   error reported is the larger of the two (``reported_error="larger"``), or GOTO's own error at that
   magnitude (``"survey"``: what GOTO's pipeline would write, though a noisier source keeps its scatter);
5. **depth**: points measured fainter than ``depth_mag`` (20.5) are not detected and are dropped;
6. **difference imaging** (off unless ``difference_sigma`` is set): GOTO measures an object only where it
   differs from its reference image, so a point is kept only when its flux differs from the quiescent level
   by more than ``difference_sigma`` times its error. The quiescent level is the median flux of the source
   light curve; for an event window, the median of the source points outside the window (a host or a
   quiescent counterpart under a transient), or no flux at all when the source has no such points (a
   supernova catalogue's photometry is the supernova's alone).

:func:`augment_rare_classes` uses the same steps to make extra copies of minority-class light curves, a
data-level answer to class imbalance (paper section 3.3) beside the loss-level ones; it is never applied
unless called. Every draw is seeded per object (from the seed and the object id), so results do not depend
on the order or the company of the objects.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from lcrnn.data.simulate import magnitude_error
from lcrnn.data.tables import Survey
from lcrnn.errors import InvalidTableError

__all__ = [
    "ResampleConfig",
    "augment_rare_classes",
    "draw_gaps",
    "event_window",
    "resample_light_curve",
    "resample_photometry",
    "resample_survey",
]

Window = Literal["peak", "random", "all"]


@dataclass(frozen=True)
class ResampleConfig:
    """How a well-sampled light curve becomes a GOTO-like one.

    Parameters
    ----------
    bands : tuple of str or None
        Source bands kept (e.g. :data:`lcrnn.data.real.L_LIKE_BANDS`); None keeps all.
    out_band : str
        Band name of the result.
    window : {"auto", "peak", "random", "all"}
        ``"auto"``: ``"peak"`` for objects of ``event_classes``, ``"random"`` for the others and for
        unlabelled objects.
    """

    bands: tuple[str, ...] | None = None
    out_band: str = "L"  # GOTO's single wide band
    window: Literal["auto", "peak", "random", "all"] = "auto"
    event_classes: tuple[str, ...] = ("SN",)  # classes cut around their peak under window="auto"
    before_peak_days: float = 30.0  # window start before the brightest night (SN rise ~18 d)
    after_peak_days: float = 120.0  # window end after it (paper: SN mostly seen < 100 d)
    window_days: float = 595.0  # length of a random window: GOTO prototype data, 2019-03-20 to 2020-11-04
    median_gap_days: float = 11.0  # paper section 2.2: median time between successive points
    gap_sigma: float = 0.8  # log-normal width of the gaps (natural log): most gaps fall within 2-50 d
    min_gap_days: float = 0.5  # visits of one field on one night count once
    match_tolerance_days: float = 0.5  # a source point this much before a visit still serves it
    depth_mag: float = 20.5  # 5-sigma limit (paper section 2.1): fainter points are dropped
    error_floor_mag: float = 0.015  # calibration floor of GOTO errors (sigma ~ 0.01-0.02 for bright stars)
    min_points: int = 1  # light curves left with fewer points are dropped
    difference_sigma: float | None = None  # keep only points this many sigma off the quiescent level (GOTO: 5)
    reported_error: Literal["larger", "survey"] = "larger"  # error column: max(GOTO, source) or GOTO's own

    def __post_init__(self) -> None:
        if self.window not in ("auto", "peak", "random", "all"):
            raise ValueError(f"window must be 'auto', 'peak', 'random' or 'all', not {self.window!r}.")
        for name in ("median_gap_days", "window_days"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}.")
        for name in ("before_peak_days", "after_peak_days", "gap_sigma", "min_gap_days", "error_floor_mag",
                     "match_tolerance_days"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}.")
        if self.reported_error not in ("larger", "survey"):
            raise ValueError(f"reported_error must be 'larger' or 'survey', not {self.reported_error!r}.")
        if self.difference_sigma is not None and not self.difference_sigma > 0:
            raise ValueError(f"difference_sigma must be positive or None, got {self.difference_sigma!r}.")
        if int(self.min_points) != self.min_points or self.min_points < 1:
            raise ValueError(f"min_points must be a whole number >= 1, got {self.min_points!r}.")
        if self.bands is not None:
            object.__setattr__(self, "bands", tuple(str(b) for b in self.bands))
        object.__setattr__(self, "event_classes", tuple(str(c) for c in self.event_classes))


def _rng(seed: int, object_id: str, copy: int = 0) -> np.random.Generator:
    """A generator of its own per (seed, object, copy): results do not depend on which objects come along."""
    return np.random.default_rng([int(seed), zlib.crc32(str(object_id).encode("utf-8")), int(copy)])


def draw_gaps(n: int, rng: np.random.Generator, config: ResampleConfig | None = None) -> np.ndarray:
    """``n`` GOTO-like times between visits: log-normal of median ``median_gap_days``, at least ``min_gap_days``.

    Parameters
    ----------
    n : int
        Number of gaps.
    rng : numpy.random.Generator
    config : ResampleConfig, optional

    Returns
    -------
    ndarray of float64
        Gaps in days.
    """
    config = config or ResampleConfig()
    gaps = config.median_gap_days * np.exp(config.gap_sigma * rng.standard_normal(int(n)))
    return np.maximum(gaps, config.min_gap_days)


def _visit(t: np.ndarray, start: float, end: float, rng: np.random.Generator, config: ResampleConfig) -> np.ndarray:
    """Indices of the source points GOTO-like visits take, walking through ``[start, end]``.

    Each visit comes a drawn gap after the previous one and takes the first source point at or after it
    (one up to ``match_tolerance_days`` early also serves). Where the source is dense the gaps are GOTO's;
    where it is sparser, its own: the walk never invents an observation the source does not have.
    """
    n_max = int((end - start) / max(config.min_gap_days, 1e-3)) + 2
    chunk = max(16, int((end - start) / config.median_gap_days * 2) + 2)
    gaps = draw_gaps(chunk, rng, config)
    target = start + rng.uniform(0.0, 1.0) * gaps[0]
    chosen: list[int] = []
    k = 1
    while len(chosen) < n_max:
        i = int(np.searchsorted(t, target - config.match_tolerance_days, side="left"))
        if chosen and i <= chosen[-1]:
            i = chosen[-1] + 1
        if i >= t.size or t[i] > end:
            break
        chosen.append(i)
        if k >= gaps.size:
            gaps, k = draw_gaps(chunk, rng, config), 0
        target = max(t[i], target) + gaps[k]
        k += 1
    return np.asarray(chosen, dtype=np.int64)


def _peak_time(mjd: np.ndarray, mag: np.ndarray) -> float:
    """Time of the brightest night (median of each night's points, so one bad exposure cannot fake a peak)."""
    night = np.floor(mjd)
    order = np.lexsort((mag, night))  # by night, then magnitude within the night
    starts = np.flatnonzero(np.r_[True, np.diff(night[order]) != 0])
    counts = np.diff(np.r_[starts, order.size])
    middle = order[starts + (counts - 1) // 2]  # each night's (lower) median point
    best = middle[int(np.argmin(mag[middle]))]
    return float(mjd[best])


def event_window(mjd: np.ndarray, mag: np.ndarray, config: ResampleConfig | None = None) -> tuple[float, float]:
    """The stretch of a transient's light curve around its event: ``[peak - before, peak + after]``.

    Parameters
    ----------
    mjd, mag : array_like
        The light curve (any order).
    config : ResampleConfig, optional

    Returns
    -------
    (float, float)
        Window start and end in MJD; the peak (brightest night) lies inside.
    """
    config = config or ResampleConfig()
    peak = _peak_time(np.asarray(mjd, dtype=np.float64), np.asarray(mag, dtype=np.float64))
    return peak - config.before_peak_days, peak + config.after_peak_days


def _window(mjd: np.ndarray, mag: np.ndarray, kind: str, rng: np.random.Generator, config: ResampleConfig):
    if kind == "peak":
        return event_window(mjd, mag, config)
    if kind == "random":
        latest = max(mjd[0], mjd[-1] - config.window_days)
        start = rng.uniform(mjd[0], latest) if latest > mjd[0] else mjd[0]
        return start, start + config.window_days
    return mjd[0], mjd[-1]


def resample_light_curve(
    mjd: Sequence[float] | np.ndarray,
    mag: Sequence[float] | np.ndarray,
    mag_err: Sequence[float] | np.ndarray,
    rng: np.random.Generator | int = 0,
    config: ResampleConfig | None = None,
    window: Window = "random",
) -> pd.DataFrame:
    """Turn one well-sampled light curve into what GOTO would have seen (steps 2-5 of the module docstring).

    Parameters
    ----------
    mjd, mag, mag_err : array_like
        One object's observations in the band(s) to use; any order.
    rng : numpy.random.Generator or int
        Random generator, or a seed for one.
    config : ResampleConfig, optional
    window : {"peak", "random", "all"}
        How the light curve is cut (``config.window`` is not consulted here).

    Returns
    -------
    DataFrame
        ``mjd`` (float64), ``mag``, ``mag_err`` (float32) sorted in time; empty when nothing survives.

    Raises
    ------
    InvalidTableError
        If the arrays differ in length or hold non-finite values or non-positive errors.
    """
    config = config or ResampleConfig()
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    t = np.asarray(mjd, dtype=np.float64)
    m = np.asarray(mag, dtype=np.float64)
    e = np.asarray(mag_err, dtype=np.float64)
    if not t.shape == m.shape == e.shape or t.ndim != 1:
        raise InvalidTableError(
            f"mjd, mag and mag_err must be 1-d and of one length, got shapes {t.shape}, {m.shape}, {e.shape}."
        )
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(m)) and np.all(np.isfinite(e)) and np.all(e > 0)):
        raise InvalidTableError(
            "the light curve holds non-finite times/magnitudes/errors or errors <= 0; validate it first "
            "(lcrnn.data.tables.validate_photometry with on_invalid='drop')."
        )
    t_out, m_out, e_out = _resample_arrays(t, m, e, rng, config, window)
    return pd.DataFrame({"mjd": t_out, "mag": m_out, "mag_err": e_out})


def _resample_arrays(
    t: np.ndarray, m: np.ndarray, e: np.ndarray, rng: np.random.Generator, config: ResampleConfig, window: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The work of :func:`resample_light_curve` on checked float64 arrays; returns (mjd, mag, mag_err)."""
    empty = (np.empty(0), np.empty(0, np.float32), np.empty(0, np.float32))
    if t.size == 0:
        return empty
    if np.any(np.diff(t) < 0):
        order = np.argsort(t, kind="stable")
        t, m, e = t[order], m[order], e[order]

    start, end = _window(t, m, window, rng, config)
    chosen = _visit(t, start, end, rng, config)
    if chosen.size == 0:
        return empty
    src_mag, src_err = m[chosen], e[chosen]

    goto_err = magnitude_error(src_mag, config.depth_mag, config.error_floor_mag)
    extra = np.sqrt(np.maximum(goto_err**2 - src_err**2, 0.0))
    obs_mag = src_mag + extra * rng.standard_normal(chosen.size)
    survey_err = magnitude_error(obs_mag, config.depth_mag, config.error_floor_mag)
    obs_err = np.maximum(survey_err, src_err)  # the noise the point really carries
    seen = obs_mag <= config.depth_mag
    if config.difference_sigma is not None:
        seen &= _differs_from_reference(t, m, start, end, window, obs_mag, obs_err, config.difference_sigma)
    if config.reported_error == "survey":
        obs_err = survey_err
    return t[chosen][seen], obs_mag[seen].astype(np.float32), obs_err[seen].astype(np.float32)


def _differs_from_reference(
    t: np.ndarray, m: np.ndarray, start: float, end: float, window: str,
    obs_mag: np.ndarray, obs_err: np.ndarray, n_sigma: float,
) -> np.ndarray:
    """Which observed points a difference image would detect against the source's quiescent level."""
    if window == "peak":
        outside = m[(t < start) | (t > end)]
        reference = 10.0 ** (-0.4 * np.median(outside)) if outside.size >= 3 else 0.0
    else:
        reference = np.median(10.0 ** (-0.4 * m))
    flux = 10.0 ** (-0.4 * obs_mag)
    flux_err = flux * obs_err / (2.5 / np.log(10.0))
    return np.abs(flux - reference) > n_sigma * flux_err


def _windows_by_object(objects: pd.DataFrame | None, ids: np.ndarray, config: ResampleConfig) -> dict[str, str]:
    if config.window != "auto":
        return {i: config.window for i in ids}
    labels: dict[str, str] = {}
    if objects is not None and "label" in objects.columns:
        labels = dict(zip(objects["object_id"].astype("str"), objects["label"].astype("str")))
    return {i: "peak" if labels.get(i) in config.event_classes else "random" for i in ids}


def _select_bands(photometry: pd.DataFrame, config: ResampleConfig) -> pd.DataFrame:
    missing = [c for c in ("object_id", "mjd", "mag", "mag_err") if c not in photometry.columns]
    if missing:
        raise InvalidTableError(
            f"the photometry table has no {', '.join(missing)} column(s); validate it first "
            "(lcrnn.data.tables.validate_photometry)."
        )
    if config.bands is None or "band" not in photometry.columns:
        return photometry
    return photometry[photometry["band"].isin(list(config.bands))]


def _resample_groups(
    photometry: pd.DataFrame,
    windows: dict[str, str],
    seeds: list[tuple[str, str, int]],
    seed: int,
    config: ResampleConfig,
    progress: bool,
) -> pd.DataFrame:
    """Resample each (new id, source id, copy number) of ``seeds`` from the source curve."""
    ids = photometry["object_id"].astype("str").to_numpy(dtype=object)
    order = np.argsort(ids, kind="stable")  # group rows by object with plain numpy, once
    ids = ids[order]
    t = photometry["mjd"].to_numpy(np.float64)[order]
    m = photometry["mag"].to_numpy(np.float64)[order]
    e = photometry["mag_err"].to_numpy(np.float64)[order]
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]]) if ids.size else np.empty(0, np.int64)
    bounds = dict(zip(ids[starts], zip(starts, np.r_[starts[1:], ids.size])))
    if ids.size and not (np.all(np.isfinite(t)) and np.all(np.isfinite(m)) and np.all(e > 0)):
        raise InvalidTableError(
            "the photometry holds non-finite times/magnitudes or errors <= 0; validate it first "
            "(lcrnn.data.tables.validate_photometry with on_invalid='drop')."
        )
    out_ids, out_t, out_m, out_e = [], [], [], []
    for new_id, source_id, copy in tqdm(seeds, desc="resampling", disable=not progress):
        if source_id not in bounds:
            continue
        lo, hi = bounds[source_id]
        ct, cm, ce = _resample_arrays(t[lo:hi], m[lo:hi], e[lo:hi], _rng(seed, source_id, copy), config,
                                      windows[source_id])
        if ct.size >= config.min_points:
            out_ids.append(np.full(ct.size, new_id, dtype=object))
            out_t.append(ct)
            out_m.append(cm)
            out_e.append(ce)
    cat = (lambda parts, dtype: np.concatenate(parts) if parts else np.empty(0, dtype))
    object_ids = cat(out_ids, object)
    return pd.DataFrame({
        "object_id": pd.Series(object_ids, dtype="str"),
        "mjd": cat(out_t, np.float64),
        "mag": cat(out_m, np.float32),
        "mag_err": cat(out_e, np.float32),
        "band": pd.Series(np.full(object_ids.size, config.out_band, dtype=object), dtype="str"),
    })


def resample_photometry(
    photometry: pd.DataFrame,
    objects: pd.DataFrame | None = None,
    config: ResampleConfig | None = None,
    seed: int = 0,
    progress: bool = False,
) -> pd.DataFrame:
    """Resample every light curve of a photometry table into a GOTO-like one.

    Parameters
    ----------
    photometry : DataFrame
        ``object_id, mjd, mag, mag_err`` and ``band`` (validated).
    objects : DataFrame, optional
        ``object_id`` and ``label``: under ``window="auto"`` objects of ``config.event_classes`` are cut
        around their peak, the rest (and all objects when this is None) get a random window.
    config : ResampleConfig, optional
    seed : int
        Seed; each object draws from its own generator made from the seed and its id.
    progress : bool
        Show a progress bar.

    Returns
    -------
    DataFrame
        Photometry ``object_id, mjd, mag, mag_err, band`` (band = ``config.out_band``); objects left with
        fewer than ``config.min_points`` points are absent (drop them from the objects table with
        ``objects[objects.object_id.isin(result.object_id)]``).
    """
    config = config or ResampleConfig()
    photometry = _select_bands(photometry, config)
    ids = pd.unique(photometry["object_id"].astype("str"))
    windows = _windows_by_object(objects, ids, config)
    return _resample_groups(photometry, windows, [(i, i, 0) for i in ids], seed, config, progress)


def augment_rare_classes(
    photometry: pd.DataFrame,
    objects: pd.DataFrame,
    factor: int = 0,
    seed: int = 0,
    config: ResampleConfig | None = None,
    classes: Sequence[str] | None = None,
    progress: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Extra resampled copies of minority-class light curves, for training-time augmentation (off by default).

    Each copy is the source light curve resampled with its own draws (another window, cadence and noise),
    under a new id ``"<object_id>~aug<k>"``. Use it on the training part only, after splitting, and keep a
    copy in its parent's fold (``parent_id``): a copy in the test set would leak its parent's light curve.

    Parameters
    ----------
    photometry : DataFrame
        Well-sampled source photometry (``object_id, mjd, mag, mag_err, band``).
    objects : DataFrame
        ``object_id, ra, dec, label``.
    factor : int
        Copies per minority light curve; 0 (the default) returns empty tables.
    seed : int
        Seed; the copies draw from generators of their own, distinct from :func:`resample_photometry`'s.
    config : ResampleConfig, optional
    classes : sequence of str, optional
        Classes to augment; by default every labelled class but the most common.
    progress : bool
        Show a progress bar.

    Returns
    -------
    photometry : DataFrame
        The copies' photometry, as from :func:`resample_photometry`.
    objects : DataFrame
        The copies' objects: the parent's columns with the new ``object_id``, plus ``parent_id``. Copies
        left with fewer than ``config.min_points`` points are absent from both tables.

    Raises
    ------
    InvalidTableError
        If ``objects`` has no ``label`` column, or ``factor`` is negative.
    """
    config = config or ResampleConfig()
    if int(factor) != factor or factor < 0:
        raise InvalidTableError(f"factor must be a whole number >= 0 of copies per light curve, not {factor!r}.")
    if "label" not in objects.columns:
        raise InvalidTableError("augment_rare_classes needs the objects' labels; the objects table has no 'label'.")
    labelled = objects[objects["label"].notna()]
    if classes is None:
        counts = labelled["label"].value_counts()
        classes = [c for c in counts.index if c != counts.idxmax()] if len(counts) else []
    chosen = objects[objects["label"].isin(list(classes))].copy()
    chosen["object_id"] = chosen["object_id"].astype("str")
    seeds = [(f"{oid}~aug{k}", oid, k) for oid in chosen["object_id"] for k in range(1, int(factor) + 1)]
    photometry = _select_bands(photometry, config)
    windows = _windows_by_object(objects, chosen["object_id"].to_numpy(), config)
    new_phot = _resample_groups(photometry, windows, seeds, seed, config, progress)
    parents = {new: parent for new, parent, _ in seeds}
    kept = pd.unique(new_phot["object_id"])
    new_objects = chosen.set_index("object_id").loc[[parents[i] for i in kept]].reset_index()
    new_objects.insert(0, "parent_id", new_objects.pop("object_id"))
    new_objects.insert(0, "object_id", pd.Series(kept, dtype="str"))
    return new_phot, new_objects.reset_index(drop=True)


def resample_survey(survey: Survey, config: ResampleConfig | None = None, seed: int = 0) -> Survey:
    """A survey's light curves resampled to GOTO-like (:func:`resample_photometry`), with its objects and galaxies.

    Objects left with fewer than ``config.min_points`` points are dropped from the objects table too.
    """
    photometry = resample_photometry(survey.photometry, survey.objects, config, seed=seed)
    kept = survey.objects["object_id"].astype(str).isin(photometry["object_id"].astype(str))
    return Survey(photometry, survey.objects[kept].reset_index(drop=True), survey.galaxies)
