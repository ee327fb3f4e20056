"""The paper's evaluation figures (Figs 6-12, A1), drawn with matplotlib's object API.

Each function returns a :class:`matplotlib.figure.Figure` built with ``Figure()`` (no pyplot, no global
state), so library users and the report can save it where they like with :func:`save_figure`.
Inputs are the plain structures that :mod:`lcrnn.evaluate.metrics` returns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

__all__ = [
    "class_colours",
    "plot_auc_vs_n_obs",
    "plot_confusion",
    "plot_confusion_grid",
    "plot_history",
    "plot_roc",
    "plot_tsne",
    "save_figure",
]

#: The paper's colours: variable stars grey, supernovae red, AGN blue.
PAPER_COLOURS = {"VS": "grey", "SN": "red", "AGN": "blue"}


def class_colours(classes: Sequence[str]) -> dict[str, str]:
    """Colour per class: the paper's for VS/SN/AGN, then the tab10 palette for any other class."""
    # tab10 without its grey, red and blue, which would read as VS, SN or AGN.
    palette = [colormaps["tab10"](i) for i in (1, 2, 4, 5, 6, 8, 9)]
    out: dict[str, str] = {}
    spare = 0
    for name in classes:
        if name in PAPER_COLOURS:
            out[name] = PAPER_COLOURS[name]
        else:
            rgba = palette[spare % len(palette)]
            spare += 1
            out[name] = "#{:02x}{:02x}{:02x}".format(*(round(255 * v) for v in rgba[:3]))
    return out


def _draw_confusion(ax: Any, counts: np.ndarray, classes: Sequence[str], title: str) -> Any:
    """Row fractions as colour and text, with the counts in parentheses below (paper Fig. 6)."""
    counts = np.asarray(counts, dtype=np.int64)
    totals = counts.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        fractions = np.where(totals > 0, counts / np.maximum(totals, 1), np.nan)
    image = ax.imshow(fractions, cmap="Blues", vmin=0.0, vmax=1.0)
    k = len(classes)
    for i in range(k):
        for j in range(k):
            frac = fractions[i, j]
            text = "–" if np.isnan(frac) else f"{frac:.2f}"
            dark = not np.isnan(frac) and frac > 0.55
            ax.text(
                j,
                i,
                f"{text}\n({counts[i, j]:,})",
                ha="center",
                va="center",
                fontsize=9,
                color="white" if dark else "black",
            )
    ax.set_xticks(range(k), labels=list(classes))
    ax.set_yticks(range(k), labels=list(classes))
    ax.set_xlabel("Predicted class")
    ax.set_ylabel("True class")
    if title:
        ax.set_title(title)
    return image


def plot_confusion(counts: Any, classes: Sequence[str], title: str = "") -> Figure:
    """Confusion matrix with row fractions and, in parentheses, counts (paper Fig. 6).

    Parameters
    ----------
    counts : array of int, shape (k, k)
        Rows are true classes, columns predicted classes (``metrics["confusion"]["counts"]``).
    classes : sequence of str
        Class names in row/column order.
    title : str
        Panel title, e.g. the model name.
    """
    fig = Figure(figsize=(4.6, 4.0), layout="constrained")
    ax = fig.add_subplot()
    image = _draw_confusion(ax, counts, classes, title)
    fig.colorbar(image, ax=ax, label="Fraction of true class", shrink=0.85)
    return fig


def plot_confusion_grid(
    panels: Sequence[tuple[str, Any]], classes: Sequence[str], suptitle: str = ""
) -> Figure:
    """Several confusion matrices side by side, e.g. after 1, 6 and 20 observations (paper Figs 9, 10).

    Parameters
    ----------
    panels : sequence of (title, counts)
        One panel per entry, left to right.
    classes : sequence of str
        Class names in row/column order.
    suptitle : str
        Title over all panels.
    """
    if not panels:
        raise ValueError("plot_confusion_grid needs at least one (title, counts) panel.")
    fig = Figure(figsize=(3.9 * len(panels), 3.9), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    image = None
    for ax, (title, counts) in zip(axes, panels):
        image = _draw_confusion(ax, counts, classes, title)
    fig.colorbar(image, ax=list(axes), label="Fraction of true class", shrink=0.85)
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def plot_roc(roc: Mapping[str, Mapping[str, Any]], title: str = "") -> Figure:
    """One-vs-rest ROC curve per class, AUC in the legend (paper Figs 7, 11).

    Parameters
    ----------
    roc : mapping
        ``metrics["roc"]``: class name -> ``{"fpr": [...], "tpr": [...], "auc": float | None}``.
    title : str
        Axes title.
    """
    colours = class_colours(list(roc))
    fig = Figure(figsize=(4.6, 4.4), layout="constrained")
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], color="black", lw=0.8, ls=":", label="Chance")
    for name, curve in roc.items():
        if not curve.get("fpr"):
            continue  # class absent from the data: no curve to draw
        auc = curve.get("auc")
        label = f"{name} (AUC = {auc:.3f})" if auc is not None else name
        ax.plot(curve["fpr"], curve["tpr"], color=colours[name], lw=1.8, label=label)
    # A small margin keeps curves that run along the axes (a perfect class) visible over the spines.
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.set_xlabel("False positive rate")
    ax.set_ylabel("True positive rate")
    ax.set_aspect("equal")
    ax.legend(loc="lower right", fontsize=9)
    if title:
        ax.set_title(title)
    return fig


def plot_auc_vs_n_obs(
    curves: Mapping[str, Sequence[Mapping[str, Any]]],
    title: str = "AUC vs maximum number of observations",
    highlight: Sequence[str] = (),
) -> Figure:
    """Hand & Till AUC against the number of observations used, one line per model (paper Fig. 8).

    Parameters
    ----------
    curves : mapping
        Model name -> the list that :func:`lcrnn.evaluate.metrics.auc_vs_n_obs` returns.
    title : str
        Axes title.
    highlight : sequence of str
        Model names drawn black and dotted with triangles, as the paper draws its no-context model.
    """
    fig = Figure(figsize=(6.4, 4.2), layout="constrained")
    ax = fig.add_subplot()
    palette = [colormaps["tab10"](i) for i in range(10)]
    markers = ["o", "s", "D", "v", "P", "X", "*", "h"]
    for i, (name, rows) in enumerate(curves.items()):
        n = [r["n_obs"] for r in rows]
        auc = [np.nan if r["auc_hand_till"] is None else r["auc_hand_till"] for r in rows]
        if name in highlight:
            style = {"color": "black", "ls": ":", "marker": "^"}
        else:
            style = {"color": palette[i % 10], "ls": "-", "marker": markers[i % len(markers)]}
        ax.plot(n, auc, ms=4, lw=1.4, label=name, **style)
    ax.set_xlabel("Maximum number of observations")
    ax.set_ylabel("AUC (Hand & Till)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    return fig


def plot_tsne(
    embeddings: Mapping[str, Any],
    labels: Any,
    classes: Sequence[str],
    title: str = "",
) -> Figure:
    """t-SNE maps of network activations coloured by true class (paper Fig. 12).

    Parameters
    ----------
    embeddings : mapping
        Panel name (e.g. ``"rnn"``, ``"dense"``) -> array of shape (n, 2).
    labels : array of int, shape (n,)
        True class index of each point.
    classes : sequence of str
        Class names.
    title : str
        Title over all panels.
    """
    if not embeddings:
        raise ValueError("plot_tsne needs at least one embedding.")
    labels = np.asarray(labels)
    colours = class_colours(classes)
    panel_titles = {"rnn": "After the final RNN layer", "dense": "After the final dense layer"}
    fig = Figure(figsize=(4.6 * len(embeddings), 4.6), layout="constrained")
    axes = fig.subplots(1, len(embeddings), squeeze=False)[0]
    counts = np.bincount(labels, minlength=len(classes))
    # Draw the largest class first so the rare classes stay visible on top.
    order = np.argsort(-counts, kind="stable")
    for ax, (key, xy) in zip(axes, embeddings.items()):
        xy = np.asarray(xy)
        if xy.shape != (labels.size, 2):
            raise ValueError(f"embedding {key!r} has shape {xy.shape}, expected ({labels.size}, 2).")
        for c in order:
            sel = labels == c
            if not sel.any():
                continue
            ax.scatter(
                xy[sel, 0],
                xy[sel, 1],
                s=6 if counts[c] > 500 else 10,
                alpha=0.5 if counts[c] > 500 else 0.85,
                color=colours[classes[c]],
                label=f"{classes[c]} ({counts[c]})",
                linewidths=0,
            )
        ax.set_title(panel_titles.get(key, key))
        ax.set_xticks([])
        ax.set_yticks([])
        ax.legend(fontsize=8, markerscale=2)
    if title:
        fig.suptitle(title)
    return fig


def plot_history(history: Any, title: str = "", kept_epoch: int | None = None) -> Figure:
    """Training and validation loss per epoch, validation AUC on a second axis (paper Fig. A1).

    Parameters
    ----------
    history : pandas.DataFrame
        Columns ``epoch, train_loss, val_loss`` and optionally ``val_auc`` and ``kept`` (the run's epoch).
    title : str
        Axes title.
    kept_epoch : int, optional
        The epoch whose weights the run kept, marked by a vertical line; read from ``kept`` when not given.
    """
    missing = {"epoch", "train_loss", "val_loss"} - set(history.columns)
    if missing:
        raise ValueError(
            f"training history lacks columns {sorted(missing)}; "
            "expected epoch, train_loss, val_loss[, val_auc]."
        )
    fig = Figure(figsize=(6.0, 3.8), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(history["epoch"], history["train_loss"], color="tab:blue", label="Training loss")
    ax.plot(history["epoch"], history["val_loss"], color="tab:orange", label="Validation loss")
    ax.set_xlabel("Epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("Loss")
    handles, names = ax.get_legend_handles_labels()
    if "val_auc" in history.columns and history["val_auc"].notna().any():
        ax2 = ax.twinx()
        ax2.plot(history["epoch"], history["val_auc"], color="tab:green", ls="--", label="Validation AUC")
        ax2.set_ylabel("Validation AUC")
        h2, n2 = ax2.get_legend_handles_labels()
        handles, names = handles + h2, names + n2
    if kept_epoch is None and "kept" in history.columns and history["kept"].astype(bool).any():
        kept_epoch = int(history.loc[history["kept"].astype(bool), "epoch"].iloc[0])
    if kept_epoch:
        handles.append(ax.axvline(kept_epoch, color="black", lw=1.0, ls=":"))
        names.append(f"Kept epoch ({kept_epoch})")
    ax.legend(handles, names, fontsize=8, loc="center right")
    if title:
        ax.set_title(title)
    return fig


def save_figure(fig: Figure, path: str | Path, dpi: int = 110) -> Path:
    """Write ``fig`` as PNG (or the format the suffix names), creating the folder; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    return path
