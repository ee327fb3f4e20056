"""The paper's data figures (Figs 1-3) for any survey, drawn with matplotlib's object API.

* Fig. 1: mean magnitude against the standard deviation of the magnitudes of each light curve, by class, with
  normalised marginal histograms (top: mean magnitude, left: standard deviation).
* Fig. 2: normalised histograms of light-curve duration, points per light curve and gaps between successive
  points, by class.
* Fig. 3: normalised histograms of the distance to the nearest catalogued galaxy and of galactic latitude.

Every function returns a :class:`matplotlib.figure.Figure` made with ``Figure()``: no pyplot, no global state.
Inputs are the tables of :mod:`lcrnn.data.describe` and :func:`lcrnn.data.context.objects_context`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from lcrnn.evaluate.figures import class_colours, save_figure

__all__ = [
    "context_figure",
    "light_curve_properties_figure",
    "magnitude_figure",
    "save_data_figures",
]

_FILES = ("fig1_magnitudes.png", "fig2_light_curves.png", "fig3_context.png")


def _weights(n: int) -> np.ndarray | None:
    """Each class's histogram sums to one ("normalised counts", as in the paper)."""
    return np.full(n, 1.0 / n) if n else None


def _classes(labels: pd.Series, classes: Sequence[str] | None) -> list[str]:
    from lcrnn.data.describe import class_order

    return list(classes) if classes is not None else class_order(labels)


def magnitude_figure(stats: pd.DataFrame, classes: Sequence[str] | None = None) -> Figure:
    """Mean magnitude against standard deviation of magnitude per light curve (paper Fig. 1).

    Parameters
    ----------
    stats
        :func:`lcrnn.data.describe.light_curve_statistics` with a ``label`` column added.
    classes
        Classes to draw, in drawing order (the first is drawn underneath); default VS, SN, AGN, others.

    Returns
    -------
    matplotlib.figure.Figure
    """
    classes = _classes(stats["label"], classes)
    colours = class_colours(classes)
    fig = Figure(figsize=(7.5, 6.5), layout="constrained")
    grid = fig.add_gridspec(2, 2, width_ratios=(1, 3.5), height_ratios=(1, 3.5))
    ax = fig.add_subplot(grid[1, 1])
    top = fig.add_subplot(grid[0, 1], sharex=ax)
    left = fig.add_subplot(grid[1, 0], sharey=ax)
    mean_all = stats["mean_mag"].to_numpy(dtype=float)
    std_all = stats["std_mag"].to_numpy(dtype=float)
    finite = np.isfinite(mean_all) & np.isfinite(std_all)
    lo, hi = np.nanpercentile(mean_all[finite], [0.2, 99.8]) if finite.any() else (10.0, 21.0)
    mag_bins = np.linspace(np.floor(lo * 2) / 2, np.ceil(hi * 2) / 2, 41)
    std_top = np.nanpercentile(std_all[finite], 99.5) if finite.any() else 1.0
    std_bins = np.linspace(0.0, max(std_top, 0.05), 41)
    for name in classes:
        sel = (stats["label"].to_numpy() == name) & finite
        m, s = mean_all[sel], std_all[sel]
        big = sel.sum() > 5000  # tens of thousands of VS: small points so the minority classes stay visible
        ax.scatter(
            m,
            s,
            s=2 if big else 9,
            alpha=0.25 if big else 0.8,
            color=colours[name],
            lw=0,
            label=f"{name} ({sel.sum():,})",
            rasterized=True,
        )
        top.hist(m, bins=mag_bins, weights=_weights(len(m)), histtype="step", color=colours[name], lw=1.5)
        left.hist(
            s,
            bins=std_bins,
            weights=_weights(len(s)),
            histtype="step",
            color=colours[name],
            lw=1.5,
            orientation="horizontal",
        )
    ax.set_xlabel("Mean magnitude (L)")
    ax.set_ylabel("Standard deviation of magnitude")
    ax.set_ylim(0.0, std_bins[-1])
    ax.legend(loc="upper left", markerscale=3, fontsize=8)
    top.set_ylabel("Normalised\ncount")
    top.tick_params(labelbottom=False)
    left.set_xlabel("Normalised\ncount")
    left.invert_xaxis()
    left.tick_params(labelleft=False)
    fig.suptitle("Mean magnitude and scatter of the light curves")
    return fig


def light_curve_properties_figure(
    stats: pd.DataFrame, gaps: pd.DataFrame, classes: Sequence[str] | None = None
) -> Figure:
    """Normalised histograms of duration, points per light curve and gaps, by class (paper Fig. 2).

    Parameters
    ----------
    stats
        :func:`lcrnn.data.describe.light_curve_statistics` with a ``label`` column.
    gaps
        :func:`lcrnn.data.describe.successive_gaps` with a ``label`` column.
    classes
        Classes to draw; default VS, SN, AGN, others.

    Returns
    -------
    matplotlib.figure.Figure
    """
    classes = _classes(stats["label"], classes)
    colours = class_colours(classes)
    fig = Figure(figsize=(7.0, 9.0), layout="constrained")
    axes = fig.subplots(3, 1)
    duration = stats["duration_days"].to_numpy(dtype=float)
    points = stats["n_points"].to_numpy()
    gap = gaps["gap_days"].to_numpy(dtype=float)
    dur_bins = np.linspace(0.0, max(np.nanmax(duration) if len(duration) else 1.0, 1.0) * 1.001, 41)
    pts_top = int(np.nanpercentile(points, 99)) if len(points) else 10
    pts_bins = np.arange(0.5, max(pts_top, 10) + 1.5, 1.0)
    positive = gap[gap > 0]
    gap_lo = max(np.nanmin(positive), 0.01) if len(positive) else 0.1
    gap_hi = np.nanmax(positive) if len(positive) else 100.0
    gap_bins = np.geomspace(gap_lo, max(gap_hi, gap_lo * 10) * 1.001, 41)
    for name in classes:
        sel = stats["label"].to_numpy() == name
        g = gap[gaps["label"].to_numpy() == name]
        style = {"histtype": "step", "color": colours[name], "lw": 1.5}
        axes[0].hist(duration[sel], bins=dur_bins, weights=_weights(int(sel.sum())), label=name, **style)
        axes[1].hist(
            np.minimum(points[sel], pts_bins[-1] - 0.5),
            bins=pts_bins,
            weights=_weights(int(sel.sum())),
            **style,
        )
        axes[2].hist(np.clip(g, gap_bins[0], gap_bins[-1]), bins=gap_bins, weights=_weights(len(g)), **style)
    axes[0].set_xlabel("Time between first and last observation (days)")
    axes[1].set_xlabel(f"Number of observations (last bin: {pts_bins[-1] - 0.5:.0f} or more)")
    axes[2].set_xlabel("Time between successive observations (days)")
    axes[2].set_xscale("log")
    for ax in axes:
        ax.set_ylabel("Normalised count")
    axes[0].legend()
    fig.suptitle("Light-curve properties by class")
    return fig


def context_figure(
    context: pd.DataFrame,
    labels: pd.Series,
    classes: Sequence[str] | None = None,
    max_distance_arcsec: float = 60.0,
) -> Figure:
    """Normalised histograms of nearest-galaxy distance and galactic latitude by class (paper Fig. 3).

    Parameters
    ----------
    context
        :func:`lcrnn.data.context.compute_context` output (``galaxy_dist_arcsec``, ``gal_b``).
    labels
        Class of each row of ``context`` (same order).
    classes
        Classes to draw; default VS, SN, AGN, others.
    max_distance_arcsec
        Distances beyond this are the dummy value; they are gathered in one bar past the limit.

    Returns
    -------
    matplotlib.figure.Figure
    """
    labels = pd.Series(np.asarray(labels, dtype=str))
    classes = _classes(labels, classes)
    colours = class_colours(classes)
    fig = Figure(figsize=(7.0, 6.5), layout="constrained")
    axes = fig.subplots(2, 1)
    dist = context["galaxy_dist_arcsec"].to_numpy(dtype=float)
    b = context["gal_b"].to_numpy(dtype=float)
    width = max_distance_arcsec / 20.0
    dist_bins = np.append(np.linspace(0.0, max_distance_arcsec, 21), max_distance_arcsec + 2 * width)
    b_bins = np.linspace(-90.0, 90.0, 37)
    for name in classes:
        sel = labels.to_numpy() == name
        d = np.where(dist[sel] > max_distance_arcsec, max_distance_arcsec + width, dist[sel])
        style = {"histtype": "step", "color": colours[name], "lw": 1.5}
        axes[0].hist(d, bins=dist_bins, weights=_weights(int(sel.sum())), label=name, **style)
        axes[1].hist(b[sel], bins=b_bins, weights=_weights(int(sel.sum())), **style)
    axes[0].axvline(max_distance_arcsec, color="black", lw=0.8, ls=":")
    ticks = list(np.linspace(0.0, max_distance_arcsec, 7))
    axes[0].set_xticks(
        [*ticks, max_distance_arcsec + width], [*(f"{t:.0f}" for t in ticks), f">{max_distance_arcsec:.0f}"]
    )
    axes[0].set_xlabel("Distance to nearest catalogued galaxy (arcsec)")
    axes[1].set_xlabel("Galactic latitude b (deg)")
    for ax in axes:
        ax.set_ylabel("Normalised count")
    axes[0].legend()
    fig.suptitle("Context: nearby galaxies and galactic latitude")
    return fig


def save_data_figures(
    survey: Any,
    out_dir: str | Path,
    context: pd.DataFrame | None = None,
    dpi: int = 110,
    statistics: tuple[pd.DataFrame, pd.DataFrame] | None = None,
) -> list[Path]:
    """Draw Figs 1-3 for a survey and write them as PNGs into ``out_dir``.

    Parameters
    ----------
    survey
        A :class:`lcrnn.data.tables.Survey`.
    out_dir
        Created if needed; gets ``fig1_magnitudes.png``, ``fig2_light_curves.png``, ``fig3_context.png``.
    context
        :func:`lcrnn.data.context.objects_context` output for ``survey.objects``; computed when omitted.
    dpi
        Resolution of the PNGs.
    statistics
        :func:`lcrnn.data.describe.labelled_statistics` of the same survey, when the caller already has it.

    Returns
    -------
    list of Path
        The three files written.
    """
    from lcrnn.data.context import ContextConfig, objects_context
    from lcrnn.data.describe import labelled_statistics, object_labels

    config = ContextConfig()
    if context is None:
        context = objects_context(survey.objects, survey.galaxies, config)
    labels = object_labels(survey.objects)
    stats, gaps = labelled_statistics(survey) if statistics is None else statistics
    ctx_labels = labels.reindex(context["object_id"].astype(str).to_numpy()).to_numpy()
    out_dir = Path(out_dir)
    figures = (
        magnitude_figure(stats),
        light_curve_properties_figure(stats, gaps),
        context_figure(context, ctx_labels, max_distance_arcsec=config.max_distance_arcsec),
    )
    return [save_figure(fig, out_dir / name, dpi=dpi) for fig, name in zip(figures, _FILES, strict=True)]
