"""Figures of purity and calibration (issue 16), drawn with matplotlib's object API like :mod:`.figures`.

- :func:`plot_confusion_views`: raw counts, fractions of the true class (completeness) and fractions of the
  predicted class (purity), side by side;
- :func:`plot_precision_recall`: one-vs-rest precision-recall curves with each class's base rate;
- :func:`plot_reliability`: reliability diagrams per class and top-label, with the objects per bin;
- :func:`add_objects_left`: the number of objects left at each n on the AUC-against-observations plot.

Inputs are what :mod:`lcrnn.evaluate.purity` computed; nothing here computes a metric.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

from lcrnn.evaluate.figures import class_colours, save_figure

__all__ = [
    "add_objects_left",
    "plot_confusion_views",
    "plot_precision_recall",
    "plot_reliability",
    "save_purity_figures",
]


def _matrix_panel(ax: Any, shown: np.ndarray, text: list[list[str]], classes: Sequence[str], title: str,
                  norm: Any = None) -> Any:
    """One k x k panel: ``shown`` as colour (NaN blank), ``text`` in each cell."""
    image = ax.imshow(np.ma.masked_invalid(shown), cmap="Blues", norm=norm,
                      vmin=None if norm is not None else 0.0, vmax=None if norm is not None else 1.0)
    # Where the colour is dark, white text: above 55 % of the colour scale (of its logarithm for counts).
    scaled = np.ma.filled(image.norm(np.where(np.isfinite(shown), shown, 0.0)), 0.0)
    k = len(classes)
    for i in range(k):
        for j in range(k):
            dark = np.isfinite(shown[i, j]) and scaled[i, j] > 0.55
            colour = "white" if dark else "black"
            ax.text(j, i, text[i][j], ha="center", va="center", fontsize=9, color=colour)
    ax.set_xticks(range(k), labels=list(classes))
    ax.set_yticks(range(k), labels=list(classes))
    ax.set_xlabel("Predicted class")
    ax.set_ylabel("True class")
    ax.set_title(title, fontsize=10)
    return image


def _fractions(values: Sequence[Sequence[float | None]]) -> np.ndarray:
    return np.array([[np.nan if v is None else v for v in row] for row in values], dtype=np.float64)


def plot_confusion_views(counts: Any, by_true: Any, by_predicted: Any, classes: Sequence[str],
                         title: str = "") -> Figure:
    """Counts, completeness (rows sum to one) and purity (columns sum to one) of one confusion matrix.

    Parameters
    ----------
    counts : array of int, shape (k, k)
        ``metrics["confusion"]["counts"]``, rows true classes.
    by_true, by_predicted : nested lists, shape (k, k)
        ``metrics["confusion"]["fractions"]`` and ``metrics["confusion_by_predicted"]`` (null where
        undefined).
    classes : sequence of str
        Class names in row/column order.
    title : str
        Title over the panels.
    """
    counts = np.asarray(counts, dtype=np.int64)
    rows, cols = _fractions(by_true), _fractions(by_predicted)

    def cells(fractions: np.ndarray) -> list[list[str]]:
        return [["–" if np.isnan(f) else f"{f:.2f}\n({c:,})" for f, c in zip(fr, cr)]
                for fr, cr in zip(fractions, counts)]

    fig = Figure(figsize=(12.6, 4.2), layout="constrained")
    axes = fig.subplots(1, 3)
    image = _matrix_panel(axes[0], counts.astype(np.float64), [[f"{c:,}" for c in row] for row in counts],
                          classes, "Counts", norm=LogNorm(vmin=1, vmax=max(int(counts.max()), 2)))
    fig.colorbar(image, ax=axes[0], label="Objects", shrink=0.8)
    _matrix_panel(axes[1], rows, cells(rows), classes, "Fraction of the true class (completeness)")
    image = _matrix_panel(axes[2], cols, cells(cols), classes, "Fraction of the predicted class (purity)")
    fig.colorbar(image, ax=list(axes[1:]), label="Fraction", shrink=0.8)
    if title:
        fig.suptitle(title)
    return fig


def plot_precision_recall(curves: Mapping[str, Mapping[str, Any]], title: str = "") -> Figure:
    """One-vs-rest precision (purity) against recall (completeness) per class, the base rate dotted.

    Parameters
    ----------
    curves : mapping
        ``metrics["precision_recall"]``: class -> ``{precision, recall, average_precision, base_rate}``.
    title : str
        Axes title.
    """
    colours = class_colours(list(curves))
    fig = Figure(figsize=(5.6, 4.6), layout="constrained")
    ax = fig.add_subplot()
    for name, curve in curves.items():
        if not curve.get("recall"):
            continue
        ap, rate = curve["average_precision"], curve["base_rate"]
        ax.plot(curve["recall"], curve["precision"], color=colours[name], lw=1.8, drawstyle="steps-post",
                label=f"{name} (AP = {ap:.3f})")
        ax.axhline(rate, color=colours[name], lw=1.0, ls=":", label=f"{name} base rate {100 * rate:.2g} %")
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.set_xlabel("Recall (completeness)")
    ax.set_ylabel("Precision (purity)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    if title:
        ax.set_title(title)
    return fig


def _reliability_panel(ax: Any, table: Mapping[str, Sequence[float]], colour: str, title: str,
                       bins: int) -> None:
    """Observed frequency against mean probability per bin; grey bars (right axis, log) count the objects."""
    ax.plot([0, 1], [0, 1], color="black", lw=0.8, ls=":")
    if table["prob_pred"]:
        ax.plot(table["prob_pred"], table["prob_true"], color=colour or "black", marker="o", ms=4, lw=1.5)
        # Each bar at the centre of its (lo, hi] bin; the log axis leaves the bars the lower half or so.
        centres = (np.ceil(np.asarray(table["prob_pred"]) * bins).clip(1, bins) - 0.5) / bins
        counts = ax.twinx()
        counts.bar(centres, table["count"], width=0.9 / bins, color="grey", alpha=0.25, zorder=0)
        counts.set_yscale("log")
        top = max(max(table["count"]), 10)
        counts.set_ylim(0.8, top**2.2)
        counts.set_yticks([10**k for k in range(int(np.log10(top)) + 1)])  # no ticks above the data
        counts.yaxis.set_minor_locator(NullLocator())
        counts.set_ylabel("Objects per bin", fontsize=8, color="grey")
        counts.tick_params(labelsize=7, colors="grey")
        counts.set_box_aspect(1)
        ax.set_zorder(counts.get_zorder() + 1)
        ax.patch.set_visible(False)
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.02, 1.02)
    ax.set_box_aspect(1)
    ax.set_xlabel("Mean predicted probability", fontsize=9)
    ax.set_ylabel("Observed fraction", fontsize=9)
    ax.set_title(title, fontsize=10)


def plot_reliability(
    reliability: Mapping[str, Any], calibration: Mapping[str, Any], title: str = ""
) -> Figure:
    """Reliability diagrams: each class one-vs-rest, then the top label with its expected calibration error.

    Parameters
    ----------
    reliability : mapping
        ``metrics["reliability"]``: ``per_class`` {class: {prob_pred, prob_true, count}} and ``top_label``.
    calibration : mapping
        ``metrics["calibration"]``: ``ece_top_label, bins, mean_confidence, accuracy``.
    title : str
        Title over the panels.
    """
    per_class = reliability["per_class"]
    colours = class_colours(list(per_class))
    bins = int(calibration["bins"])
    panels = len(per_class) + 1
    fig = Figure(figsize=(3.9 * panels, 4.0), layout="constrained")
    axes = fig.subplots(1, panels)
    for ax, (name, table) in zip(axes, per_class.items()):
        _reliability_panel(ax, table, colours[name], f"{name} (one vs rest)", bins)
    top = (f"Top label: ECE {calibration['ece_top_label']:.3f}\n"
           f"confidence {calibration['mean_confidence']:.2f}, accuracy {calibration['accuracy']:.2f}")
    _reliability_panel(axes[-1], reliability["top_label"], "", top, bins)
    axes[-1].set_xlabel("Highest probability", fontsize=9)
    axes[-1].set_ylabel("Fraction correct", fontsize=9)
    if title:
        fig.suptitle(title)
    return fig


def add_objects_left(fig: Figure, left: Mapping[str, Sequence[Mapping[str, int]]]) -> Figure:
    """Draw on the AUC-against-n figure, on a right-hand log axis, the objects with at least n observations.

    ``left`` maps a model name to :func:`lcrnn.evaluate.purity.objects_left`; models scored on the same
    objects share one line. The first, middle and last counts are written on the line.
    """
    ax = fig.axes[0]
    distinct: dict[tuple[tuple[int, int], ...], list[str]] = {}
    for name, rows in left.items():
        if rows:
            distinct.setdefault(tuple((r["n_obs"], r["n_objects"]) for r in rows), []).append(name)
    if not distinct:
        return fig
    right = ax.twinx()
    styles = ["--", "-.", ":"]
    for i, (series, names) in enumerate(distinct.items()):
        n = [s[0] for s in series]
        count = [max(s[1], 0.8) for s in series]  # an empty n stays on the log axis, just under 1
        label = "objects with ≥ n observations" + ("" if len(distinct) == 1 else f" ({', '.join(names)})")
        right.plot(n, count, color="grey", ls=styles[i % 3], lw=1.2, drawstyle="steps-mid", label=label)
        if i == 0:
            for j in sorted({0, len(series) // 2, len(series) - 1}):
                right.annotate(f"{series[j][1]:,}", (n[j], count[j]), textcoords="offset points",
                               xytext=(0, 4), ha="center", fontsize=7, color="dimgrey")
    right.set_yscale("log")
    right.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    right.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    right.yaxis.set_minor_locator(NullLocator())
    right.set_ylabel("Objects with at least n observations", color="dimgrey")
    right.tick_params(colors="dimgrey")
    # One legend under the axes, where neither the rising AUC nor the falling counts can run into it.
    handles, labels = ax.get_legend_handles_labels()
    h2, l2 = right.get_legend_handles_labels()
    if ax.get_legend() is not None:
        ax.get_legend().remove()
    fig.legend(handles + h2, labels + l2, fontsize=8, loc="outside lower center",
               ncols=min(len(labels) + 1, 3))
    return fig


def save_purity_figures(
    result: Mapping[str, Any], folder: str, out_dir: str | Path, title: str = ""
) -> dict[str, str]:
    """Draw one model's purity figures into ``out_dir/folder/``; their paths relative to ``out_dir``."""
    classes = list(result["classes"])
    confusion = result["confusion"]
    drawn = {
        "confusion_views": plot_confusion_views(confusion["counts"], confusion["fractions"],
                                                result["confusion_by_predicted"], classes, title=title),
        "precision_recall": plot_precision_recall(result["precision_recall"], title=title),
        "reliability": plot_reliability(result["reliability"], result["calibration"], title=title),
    }
    files = {}
    for key, fig in drawn.items():
        files[key] = f"{folder}/{key}.png"
        save_figure(fig, Path(out_dir) / files[key])
    return files
