"""One HTML page that evaluates trained models the way the paper does (section 5).

:func:`build_report` runs every model on the chosen part of a labelled survey and writes, into one folder,

- ``report.html``: a self-contained page (inline CSS, no scripts, figures as PNG files beside it referenced
  by relative paths, so the folder can be copied and opened offline);
- ``metrics.json``: every number, keyed by model name;
- the figures: per model a confusion matrix (Fig. 6), ROC curves (Figs 7, 11), confusion after 1, 6 and
  20 observations (Figs 9, 10), t-SNE maps (Fig. 12) and the training history (Fig. A1); for all models
  together the AUC against the number of observations (Fig. 8).

Models are anything that satisfies :class:`EvaluableModel` (``lcrnn.Classifier`` does).
"""

from __future__ import annotations

import html
import json
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable
from urllib.parse import quote

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from lcrnn.errors import InvalidTableError, LcrnnWarning
from lcrnn.evaluate import figures
from lcrnn.evaluate.metrics import (
    auc_vs_n_obs,
    classification_metrics,
    stratified_subsample,
    tsne_embedding,
)

__all__ = ["EvaluableModel", "build_report", "model_uses_context", "summary_table", "threshold_table"]

#: Observation counts of the paper's time-dependent confusion matrices (Figs 9, 10).
CONFUSION_N_OBS = (1, 6, 20)


@runtime_checkable
class EvaluableModel(Protocol):
    """What the report needs from a trained model; :class:`lcrnn.Classifier` provides it.

    ``split_`` has ``part_of(object_ids) -> array of "train"/"val"/"test"/""``; ``history_`` is a DataFrame
    with ``epoch, train_loss, val_loss, val_auc`` or ``None``. Whether the model saw context is read from
    ``config_.use_context``, ``network_config.use_context`` or ``network_config_.use_context`` (attribute
    or mapping key), in that order, and taken as ``True`` when none exists.
    """

    classes_: tuple[str, ...]
    name: str
    split_: Any
    history_: Any

    def prepare(self, photometry: Any, objects: Any, galaxies: Any = None, first_n: int | None = None) -> Any:
        """Unscaled, labelled :class:`~lcrnn.data.sequences.SequenceSet` of the given tables."""
        ...

    def predict_proba_sequences(self, seqs: Any) -> np.ndarray:
        """Class probabilities, shape (n, n_classes)."""
        ...

    def embed_sequences(self, seqs: Any) -> dict[str, np.ndarray]:
        """Activations ``{"rnn": (n, hidden), "dense": (n, dense)}``."""
        ...


def model_uses_context(model: Any) -> bool:
    """Whether ``model`` was trained with the context inputs (see :class:`EvaluableModel`).

    Looks at ``config_``, ``network_config_`` and ``network_config`` (an object with ``use_context`` or a
    mapping with that key; methods are skipped), then a plain ``use_context`` attribute; ``True`` otherwise.
    """
    for attr in ("config_", "network_config_", "network_config"):
        config = getattr(model, attr, None)
        if config is None or callable(config):
            continue
        value = (
            config.get("use_context") if isinstance(config, Mapping) else getattr(config, "use_context", None)
        )
        if value is not None:
            return bool(value)
    value = getattr(model, "use_context", None)
    return True if value is None else bool(value)


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "model"


def _unique_names(models: Sequence[Any]) -> list[str]:
    """Model names as report keys; a repeated name gets ``-2``, ``-3``, ... so nothing is overwritten."""
    names: list[str] = []
    for model in models:
        base = str(getattr(model, "name", "") or "model")
        name, i = base, 2
        while name in names:
            name, i = f"{base}-{i}", i + 1
        names.append(name)
    return names


def _select(model: Any, name: str, seqs: Any, part: str) -> Any:
    """The objects of ``seqs`` that lie in the model's ``part`` ("train"/"val"/"test"; "all" keeps all)."""
    if part == "all":
        return seqs
    split = getattr(model, "split_", None)
    if split is None:
        raise InvalidTableError(
            f"model {name!r} carries no train/val/test split; evaluate it with split='all'."
        )
    parts = np.asarray(split.part_of(seqs.object_ids))
    index = np.flatnonzero(parts == part)
    if index.size == 0:
        raise InvalidTableError(
            f"none of the {len(seqs)} objects belongs to model {name!r}'s {part!r} set; is this the survey "
            "it was trained on? For a new survey use split='all'."
        )
    return seqs.subset(index)


def _auc_at(rows: Sequence[Mapping[str, Any]], n: int) -> float | None:
    for row in rows:
        if row["n_obs"] == n:
            return row["auc_hand_till"]
    return None


def summary_table(results: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """Table-2-like comparison: one row per model, AUC, F1 macro, accuracy and recall of every class.

    Parameters
    ----------
    results : mapping
        What :func:`build_report` returns (or ``metrics.json`` holds).
    """
    rows = []
    for name, m in results.items():
        row = {
            "model": name,
            "context": "yes" if m.get("use_context", True) else "no",
            "objects": m["n_objects"],
            "AUC": m["auc_hand_till"],
            "F1 macro": m["f1_macro"],
            "accuracy": m["accuracy"],
        }
        for cls, value in m["recall"].items():
            row[f"recall {cls}"] = value
        rows.append(row)
    return pd.DataFrame(rows)


def threshold_table(results: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """The paper's Table 3 for every model: TPR (TP of P) and FPR (FP of N) per class and threshold."""
    rows = []
    for name, m in results.items():
        for t in m["thresholds"]:
            rows.append(
                {
                    "model": name,
                    "class": t["class"],
                    "threshold": t["threshold"],
                    "TPR": t["tpr"],
                    "TP": t["tp"],
                    "P": t["p"],
                    "FPR": t["fpr"],
                    "FP": t["fp"],
                    "N": t["n"],
                }
            )
    return pd.DataFrame(rows)


def _evaluate_one(
    model: Any,
    name: str,
    photometry: Any,
    objects: Any,
    galaxies: Any,
    out_dir: Path,
    split: str,
    thresholds: tuple[float, ...],
    tsne_samples: int,
    tsne_split: str,
    n_obs_values: list[int],
    seed: int,
    bar: Any,
) -> dict[str, Any]:
    classes = tuple(str(c) for c in model.classes_)
    bar.set_description(f"{name}: preparing")
    seqs = model.prepare(photometry, objects, galaxies)
    if seqs.labels is None:
        raise InvalidTableError(
            f"model {name!r} found no labels to evaluate against: the objects table needs a 'label' for "
            "every "
            f"object, each one of the model's classes {list(classes)}; drop the other objects first."
        )
    if seqs.classes is not None and tuple(seqs.classes) != classes:
        raise InvalidTableError(
            f"model {name!r} prepared sequences with classes {list(seqs.classes)} "
            f"but predicts {list(classes)}."
        )
    evaluated = _select(model, name, seqs, split)
    bar.update()

    bar.set_description(f"{name}: metrics")
    proba = model.predict_proba_sequences(evaluated)
    result = classification_metrics(evaluated.labels, proba, classes, thresholds)
    result["use_context"] = model_uses_context(model)
    result["split"] = split
    bar.update()

    bar.set_description(f"{name}: AUC vs observations")
    n_all = sorted(set(n_obs_values) | set(CONFUSION_N_OBS))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LcrnnWarning)  # already said once by the full evaluation
        by_n = auc_vs_n_obs(model, evaluated, n_all)
    result["auc_vs_n_obs"] = [r for r in by_n if r["n_obs"] in set(n_obs_values)]
    result["confusion_by_n_obs"] = {
        str(r["n_obs"]): r["confusion"] for r in by_n if r["n_obs"] in CONFUSION_N_OBS
    }
    bar.update()

    bar.set_description(f"{name}: t-SNE")
    tsne_part = tsne_split
    try:
        embed_set = _select(model, name, seqs, tsne_split)
    except InvalidTableError:
        embed_set, tsne_part = evaluated, split
    keep = stratified_subsample(embed_set.labels, tsne_samples, seed=seed)
    embed_set = embed_set.subset(keep)
    activations = model.embed_sequences(embed_set) if len(keep) >= 4 else {}
    if len(keep) < 4:
        result["notes"].append(f"only {len(keep)} objects in the {tsne_part} set: too few for a t-SNE map.")
    maps = {
        key: tsne_embedding(activations[key], seed=seed) for key in ("rnn", "dense") if key in activations
    }
    result["tsne"] = {
        "split": tsne_part,
        "n_objects": len(keep),
        "support": np.bincount(np.asarray(embed_set.labels), minlength=len(classes)).tolist(),
    }
    bar.update()

    bar.set_description(f"{name}: figures")
    folder = _slug(name)
    files: dict[str, str] = {}

    def save(fig: Any, key: str) -> None:
        relative = f"{folder}/{key}.png"
        figures.save_figure(fig, out_dir / relative)
        files[key] = relative

    save(figures.plot_confusion(result["confusion"]["counts"], classes, title=name), "confusion")
    save(figures.plot_roc(result["roc"], title=name), "roc")
    panels = [
        (f"{n} observation{'s' if n > 1 else ''}", result["confusion_by_n_obs"][str(n)]["counts"])
        for n in CONFUSION_N_OBS
    ]
    save(figures.plot_confusion_grid(panels, classes, suptitle=name), "confusion_by_n_obs")
    if maps:
        save(figures.plot_tsne(maps, embed_set.labels, classes, title=f"{name} ({tsne_part} set)"), "tsne")
    history = getattr(model, "history_", None)
    if history is not None and len(history):
        save(figures.plot_history(history, title=name), "history")
    result["figures"] = files
    bar.update()
    return result


def build_report(
    models: Sequence[EvaluableModel],
    photometry: Any,
    objects: Any,
    galaxies: Any,
    out_dir: str | Path,
    split: Literal["test", "val", "all"] = "test",
    thresholds: Iterable[float] = (0.7,),
    tsne_samples: int = 2000,
    n_obs_values: Iterable[int] = range(1, 31),
    progress: bool = True,
    *,
    tsne_split: Literal["train", "val", "test", "all"] = "train",
    seed: int = 0,
) -> dict[str, dict[str, Any]]:
    """Evaluate models as in the paper's section 5 and write ``report.html`` and ``metrics.json``.

    Parameters
    ----------
    models : sequence of EvaluableModel
        Trained models, e.g. ``[Classifier.load("runs/gru-focal"), ...]``.
    photometry, objects, galaxies : pandas.DataFrame
        The labelled survey (galaxies may be ``None``); each model prepares its own sequences from it.
    out_dir : str or Path
        Folder for the report, created if needed.
    split : {"test", "val", "all"}
        Which objects to score, by each model's own recorded split; ``"all"`` for a survey the models
        never saw.
    thresholds : iterable of float
        Probability cuts for the TPR/FPR table (the paper's Table 3 uses 0.7).
    tsne_samples : int
        Most objects in the t-SNE maps: a stratified subsample that keeps rare classes whole.
    n_obs_values : iterable of int
        Maximum numbers of observations for the AUC-vs-observations curve (paper: 1 to 30).
    progress : bool
        Show a progress bar over the long steps.
    tsne_split : {"train", "val", "test", "all"}
        Objects for the t-SNE maps; the paper maps the training set. Falls back to ``split`` when the
        model has no such set for these objects.
    seed : int
        Seed of the t-SNE subsample and map.

    Returns
    -------
    dict
        Model name -> metrics, as written to ``metrics.json``: ``auc_hand_till, f1_macro, accuracy,
        precision, recall, confusion, roc, thresholds, auc_vs_n_obs, confusion_by_n_obs, use_context,
        tsne, figures`` (figure paths relative to ``out_dir``), ``notes``.
    """
    if not models:
        raise ValueError("build_report needs at least one model.")
    if split not in ("test", "val", "all"):
        raise ValueError(f"split must be 'test', 'val' or 'all', got {split!r}.")
    if tsne_split not in ("train", "val", "test", "all"):
        raise ValueError(f"tsne_split must be 'train', 'val', 'test' or 'all', got {tsne_split!r}.")
    if tsne_samples < 4:
        raise ValueError(f"tsne_samples must be at least 4 for a t-SNE map, got {tsne_samples}.")
    thresholds = tuple(float(t) for t in thresholds)
    n_obs_values = sorted({int(n) for n in n_obs_values})
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = _unique_names(models)

    results: dict[str, dict[str, Any]] = {}
    with tqdm(total=5 * len(models) + 1, disable=not progress, desc="report") as bar:
        for model, name in zip(models, names):
            results[name] = _evaluate_one(
                model, name, photometry, objects, galaxies, out_dir, split, thresholds,
                tsne_samples, tsne_split, n_obs_values, seed, bar,
            )  # fmt: skip
        bar.set_description("writing report")
        no_context = [n for n in names if not results[n]["use_context"]]
        curves = {n: results[n]["auc_vs_n_obs"] for n in names}
        figures.save_figure(
            figures.plot_auc_vs_n_obs(curves, highlight=no_context), out_dir / "auc_vs_n_obs.png"
        )
        with open(out_dir / "metrics.json", "w", encoding="utf-8") as fh:
            json.dump(results, fh, indent=1, allow_nan=False)
        (out_dir / "report.html").write_text(_render_html(results, split), encoding="utf-8")
        bar.update()
    return results


# --- HTML ----------------------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.8em 0;font-size:.9em}
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:right}th{background:#f2f2f2}
td:first-child,th:first-child{text-align:left}
figure{display:inline-block;margin:.5em;vertical-align:top}img{max-width:100%}
figcaption{font-size:.85em;color:#555;max-width:36em}.note{color:#8a4b00;font-size:.9em}
"""


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return html.escape(str(value))


def _table(df: pd.DataFrame, digits: int = 3) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_fmt(v, digits)}</td>" for v in row) + "</tr>"
        for row in df.astype(object).itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _img(relative: str, caption: str) -> str:
    return (
        f'<figure><img src="{quote(relative)}" alt="{html.escape(caption)}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _threshold_html(results: Mapping[str, Mapping[str, Any]]) -> str:
    table = threshold_table(results)
    if table.empty:
        return "<p>No thresholds were asked for.</p>"
    shown = pd.DataFrame(
        {
            "model": table["model"],
            "class": table["class"],
            "threshold": table["threshold"].map(lambda t: f"{t:g}"),
            "TPR (TP of P)": [
                f"{_fmt(100 * r.TPR if r.TPR is not None else None, 1)}% ({r.TP:,} of {r.P:,})"
                for r in table.itertuples()
            ],
            "FPR (FP of N)": [
                f"{_fmt(100 * r.FPR if r.FPR is not None else None, 1)}% ({r.FP:,} of {r.N:,})"
                for r in table.itertuples()
            ],
        }
    )
    return _table(shown)


def _ablation_html(results: Mapping[str, Mapping[str, Any]]) -> str:
    with_ctx = [n for n, m in results.items() if m["use_context"]]
    without = [n for n, m in results.items() if not m["use_context"]]
    if not with_ctx or not without:
        have = "with" if with_ctx else "without"
        return (
            f"<p>All models here were trained {have} context (galactic l, b and distance to the nearest "
            "galaxy), so there is nothing to compare. Add a model trained with "
            "<code>use_context=False</code> "
            "to see what the context is worth (paper section 5.4).</p>"
        )
    rows = []
    for n in with_ctx + without:
        curve = results[n]["auc_vs_n_obs"]
        first = curve[0]["n_obs"] if curve else None
        last = curve[-1]["n_obs"] if curve else None
        rows.append(
            {
                "model": n,
                "context": "yes" if results[n]["use_context"] else "no",
                "AUC (all observations)": results[n]["auc_hand_till"],
                f"AUC at {first} obs": _auc_at(curve, first) if curve else None,
                f"AUC at {last} obs": _auc_at(curve, last) if curve else None,
                "F1 macro": results[n]["f1_macro"],
            }
        )
    best_with = max(with_ctx, key=lambda n: results[n]["auc_hand_till"] or -1.0)
    best_without = max(without, key=lambda n: results[n]["auc_hand_till"] or -1.0)
    a, b = results[best_with]["auc_hand_till"], results[best_without]["auc_hand_till"]
    gain = f"{a - b:+.3f}" if a is not None and b is not None else "–"
    return (
        _table(pd.DataFrame(rows))
        + f"<p>Best model with context ({html.escape(best_with)}) minus best without "
        f"({html.escape(best_without)}): AUC {gain}. In the AUC-vs-observations figure the models without "
        "context are drawn black and dotted, as in the paper's Fig. 8.</p>"
    )


def _render_html(results: Mapping[str, Mapping[str, Any]], split: str) -> str:
    split_text = {"all": "all objects", "test": "the test set", "val": "the validation set"}[split]
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<title>lcrnn evaluation report</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>lcrnn evaluation report</h1>",
        (
            f"<p>{len(results)} model(s) evaluated on {split_text} with every available observation. AUC is "
            "the Hand &amp; Till (2001) multi-class AUC, insensitive to class imbalance; "
            "F1 is the unweighted mean over classes (Burhanudin et al. 2021, section 4.1).</p>"
        ),
        "<h2>Comparison (cf. Table 2)</h2>",
        _table(summary_table(results)),
        "<h2>Probability thresholds (cf. Table 3)</h2>",
        (
            "<p>For each class, objects with that class's probability at or above the threshold count as "
            "positive; all other classes are negative.</p>"
        ),
        _threshold_html(results),
        "<h2>AUC against the number of observations (cf. Fig. 8)</h2>",
        "<p>Each light curve is cut to its first <i>n</i> observations before it reaches the model.</p>",
        _img("auc_vs_n_obs.png", "Hand & Till AUC against the maximum number of observations, all models."),
        "<h2>Context ablation (cf. section 5.4)</h2>",
        _ablation_html(results),
    ]
    for name, m in results.items():
        files = m["figures"]
        parts.append(f"<h2 id='{html.escape(_slug(name))}'>{html.escape(name)}</h2>")
        parts.append(
            f"<p>{m['n_objects']:,} objects; context {'used' if m['use_context'] else 'not used'}; "
            f"AUC {_fmt(m['auc_hand_till'])}, F1 macro {_fmt(m['f1_macro'])}, "
            f"accuracy {_fmt(m['accuracy'])}.</p>"
        )
        for note in m["notes"]:
            parts.append(f"<p class='note'>{html.escape(note)}</p>")
        captions = {
            "confusion": "Confusion matrix: row fractions, counts in parentheses (cf. Fig. 6).",
            "roc": "One-vs-rest ROC curve per class (cf. Figs 7, 11).",
            "confusion_by_n_obs": (
                "Confusion matrices after the first 1, 6 and 20 observations (cf. Figs 9, 10)."
            ),
            "tsne": (
                f"t-SNE of the activations after the last RNN layer and the last dense layer, "
                f"{m['tsne']['n_objects']:,} objects of the {m['tsne']['split']} set (cf. Fig. 12)."
            ),
            "history": "Training and validation loss per epoch, validation AUC dashed (cf. Fig. A1).",
        }
        for key, caption in captions.items():
            if key in files:
                parts.append(_img(files[key], caption))
    parts.append("</body></html>")
    return "\n".join(parts)
