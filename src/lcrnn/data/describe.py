"""Per-class statistics of a survey: what the paper says of its data (section 2.2, Figs 1-3), for any data.

Use it to check a data set before training (are the light curves as long and as well sampled as the
paper's?) and to compare a simulated survey with a real one: :func:`describe_survey` gives one row per class
with the number of objects, the medians of points per light curve, of gaps between successive points, of
durations and of mean magnitudes, and the context numbers (share with a catalogued galaxy within 60 arcsec,
median galactic latitude).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lcrnn.errors import InvalidTableError

__all__ = [
    "ALL",
    "SUMMARY_COLUMNS",
    "class_order",
    "describe_survey",
    "format_summary",
    "light_curve_statistics",
    "object_labels",
    "successive_gaps",
    "write_summary",
]

#: Row label of the statistics over all objects together.
ALL = "all"
#: Columns of :func:`describe_survey`, in order.
SUMMARY_COLUMNS: tuple[str, ...] = (
    "n_objects",
    "median_points",
    "median_gap_days",
    "median_duration_days",
    "frac_duration_under_100d",
    "frac_duration_over_300d",
    "median_mean_mag",
    "frac_galaxy_within_60arcsec",
    "median_abs_b_deg",
)
_PAPER_ORDER = ("VS", "SN", "AGN")
_UNLABELLED = "unlabelled"


def _sorted_codes(photometry: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Object codes, unique ids, and the row order that sorts by (object, time)."""
    for column in ("object_id", "mjd", "mag"):
        if column not in photometry.columns:
            raise InvalidTableError(
                f"the photometry table has no {column!r} column; read it with lcrnn.data.io.read_survey."
            )
    codes, uniques = pd.factorize(photometry["object_id"], sort=False)
    mjd = photometry["mjd"].to_numpy(dtype=np.float64)
    order = np.lexsort((mjd, codes))
    return codes[order], np.asarray(uniques, dtype=object), mjd[order], order


def light_curve_statistics(photometry: pd.DataFrame) -> pd.DataFrame:
    """Numbers that describe each light curve (the inputs of paper Figs 1 and 2).

    Parameters
    ----------
    photometry
        ``object_id, mjd, mag`` (any row order).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``object_id`` (order of first appearance): ``n_points``, ``duration_days`` (last minus
        first time), ``mean_mag``, ``std_mag`` (population std, 0 for a single point) and
        ``median_gap_days`` (NaN for a single point).
    """
    codes, uniques, mjd, order = _sorted_codes(photometry)
    mag = photometry["mag"].to_numpy(dtype=np.float64)[order]
    n = len(uniques)
    counts = np.bincount(codes, minlength=n)
    start = np.cumsum(counts) - counts
    has = counts > 0
    first = np.full(n, np.nan)
    last = np.full(n, np.nan)
    first[has] = mjd[start[has]]
    last[has] = mjd[start[has] + counts[has] - 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(codes, weights=mag, minlength=n) / counts
        var = np.bincount(codes, weights=(mag - mean[codes]) ** 2, minlength=n) / counts
    same = codes[1:] == codes[:-1]
    median_gap = pd.Series(np.diff(mjd)[same]).groupby(codes[1:][same]).median().reindex(np.arange(n))
    out = pd.DataFrame(
        {
            "n_points": counts.astype(np.int64),
            "duration_days": last - first,
            "mean_mag": mean,
            "std_mag": np.sqrt(np.maximum(var, 0.0)),
        },
        index=pd.Index(uniques.astype(str), name="object_id"),
    )
    out["median_gap_days"] = median_gap.to_numpy(dtype=np.float64)
    return out


def successive_gaps(photometry: pd.DataFrame) -> pd.DataFrame:
    """Every time between successive observations of the same object (paper Fig. 2, bottom).

    Parameters
    ----------
    photometry
        ``object_id, mjd`` (any row order).

    Returns
    -------
    pandas.DataFrame
        Columns ``object_id``, ``gap_days``; one row per pair of successive points, so an object with
        ``n`` points has ``n - 1`` rows.
    """
    codes, uniques, mjd, _ = _sorted_codes(photometry)
    same = codes[1:] == codes[:-1]
    return pd.DataFrame(
        {
            "object_id": pd.array(uniques[codes[1:][same]].astype(str), dtype="str"),
            "gap_days": np.diff(mjd)[same],
        }
    )


def class_order(labels: Any) -> list[str]:
    """The classes present, the paper's VS, SN, AGN first, others alphabetically, unlabelled last."""
    present = set(pd.Series(labels).astype(str))
    named = [c for c in _PAPER_ORDER if c in present]
    rest = sorted(present - set(named) - {_UNLABELLED})
    return named + rest + ([_UNLABELLED] if _UNLABELLED in present else [])


def object_labels(objects: pd.DataFrame) -> pd.Series:
    """Label of each object indexed by object_id; "unlabelled" where the label is missing or absent."""
    if "label" in objects.columns:
        labels = objects["label"].astype(object).where(objects["label"].notna(), _UNLABELLED)
    else:
        labels = pd.Series(_UNLABELLED, index=objects.index)
    return pd.Series(labels.astype(str).to_numpy(), index=objects["object_id"].astype(str).to_numpy())


def labelled_statistics(survey: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-object statistics and pooled successive gaps, each with the object's ``label`` column.

    Computed once and shared by :func:`describe_survey` and the data figures, which both need them.
    """
    labels = object_labels(survey.objects)
    stats = light_curve_statistics(survey.photometry)
    stats["label"] = labels.reindex(stats.index).to_numpy()
    gaps = successive_gaps(survey.photometry)
    gaps["label"] = labels.reindex(gaps["object_id"].to_numpy()).to_numpy()
    return stats, gaps


def describe_survey(
    survey: Any,
    context: pd.DataFrame | None = None,
    context_config: Any = None,
    statistics: tuple[pd.DataFrame, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """Per-class statistics of a survey, as in paper section 2.2 and Figs 1-3.

    Parameters
    ----------
    survey
        A :class:`lcrnn.data.tables.Survey` (``photometry``, ``objects`` with optional ``label``,
        ``galaxies`` or None).
    context
        Output of :func:`lcrnn.data.context.objects_context` for ``survey.objects``; computed when omitted.
    context_config
        :class:`lcrnn.data.context.ContextConfig` for the nearest-galaxy limit (default 60 arcsec).
    statistics
        :func:`labelled_statistics` of the same survey, when the caller already has it.

    Returns
    -------
    pandas.DataFrame
        One row per class (VS, SN, AGN first) and a last row ``"all"``; columns :data:`SUMMARY_COLUMNS`.
        Gaps are pooled over every pair of successive points of the class's light curves, as in the
        paper's Fig. 2 ("the time between successive observations over all light curves").
    """
    from lcrnn.data.context import ContextConfig, objects_context

    config = ContextConfig() if context_config is None else context_config
    if context is None:
        context = objects_context(survey.objects, survey.galaxies, config)
    labels = object_labels(survey.objects)
    stats, gaps = labelled_statistics(survey) if statistics is None else statistics
    gap_label = gaps["label"].to_numpy()
    ctx = context.set_index(context["object_id"].astype(str))
    near = ctx["galaxy_dist_arcsec"].to_numpy(dtype=np.float64) <= config.max_distance_arcsec
    ctx_label = labels.reindex(ctx.index).to_numpy()
    abs_b = np.abs(ctx["gal_b"].to_numpy(dtype=np.float64))

    def row(stat_mask: np.ndarray, gap_mask: np.ndarray, ctx_mask: np.ndarray) -> dict[str, float]:
        s = stats.loc[stat_mask]
        duration = s["duration_days"].to_numpy()
        g = gaps["gap_days"].to_numpy()[gap_mask]
        return {
            "n_objects": int(ctx_mask.sum()),
            "median_points": float(np.median(s["n_points"])) if len(s) else np.nan,
            "median_gap_days": float(np.median(g)) if len(g) else np.nan,
            "median_duration_days": float(np.median(duration)) if len(s) else np.nan,
            "frac_duration_under_100d": float(np.mean(duration < 100.0)) if len(s) else np.nan,
            "frac_duration_over_300d": float(np.mean(duration > 300.0)) if len(s) else np.nan,
            "median_mean_mag": float(np.median(s["mean_mag"])) if len(s) else np.nan,
            "frac_galaxy_within_60arcsec": float(np.mean(near[ctx_mask])) if ctx_mask.any() else np.nan,
            "median_abs_b_deg": float(np.median(abs_b[ctx_mask])) if ctx_mask.any() else np.nan,
        }

    rows = {
        name: row(stats["label"].to_numpy() == name, gap_label == name, ctx_label == name)
        for name in class_order(labels)
    }
    rows[ALL] = row(np.ones(len(stats), bool), np.ones(len(gaps), bool), np.ones(len(ctx), bool))
    table = pd.DataFrame.from_dict(rows, orient="index")[list(SUMMARY_COLUMNS)]
    table.index.name = "class"
    return table


def format_summary(table: pd.DataFrame) -> str:
    """The statistics as a fixed-width text table, for the terminal."""
    short = {
        "n_objects": "objects",
        "median_points": "med pts",
        "median_gap_days": "med gap d",
        "median_duration_days": "med dur d",
        "frac_duration_under_100d": "dur<100d",
        "frac_duration_over_300d": "dur>300d",
        "median_mean_mag": "med <mag>",
        "frac_galaxy_within_60arcsec": 'gal<60"',
        "median_abs_b_deg": "med |b|",
    }
    shown = table.rename(columns=short)
    formats = {
        "objects": "{:d}".format,
        "dur<100d": "{:.2f}".format,
        "dur>300d": "{:.2f}".format,
        'gal<60"': "{:.3f}".format,
    }
    return shown.to_string(formatters=formats, float_format=lambda v: f"{v:.2f}")


def write_summary(table: pd.DataFrame, path: str | Path) -> Path:
    """Write the statistics as JSON: ``{class: {column: value}}``, NaN as null."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        str(name): {
            k: (None if pd.isna(v) else (int(v) if k == "n_objects" else float(v))) for k, v in r.items()
        }
        for name, r in table.to_dict(orient="index").items()
    }
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path
