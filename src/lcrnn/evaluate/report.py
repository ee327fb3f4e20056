"""One HTML page that evaluates trained models the way the paper does (section 5).

:func:`build_report` runs every model on the chosen part of a labelled survey and writes, into one folder,

- ``report.html``: a self-contained page (inline CSS, no scripts, figures as PNG files beside it referenced
  by relative paths, so the folder can be copied and opened offline);
- ``metrics.json``: every number, keyed by model name;
- the figures: per model a confusion matrix (Fig. 6), ROC curves (Figs 7, 11), confusion after 1, 6 and
  20 observations (Figs 9, 10), t-SNE maps (Fig. 12) and the training history (Fig. A1); for all models
  together the AUC against the number of observations (Fig. 8).

Models are anything that satisfies :class:`EvaluableModel` (``lcrnn.Classifier`` does). The page itself and
the tables it shows are drawn by :mod:`lcrnn.evaluate.page`.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
from tqdm.auto import tqdm

from lcrnn.errors import InvalidTableError, LcrnnWarning
from lcrnn.evaluate import figures
from lcrnn.evaluate.metrics import (
    auc_vs_n_obs,
    classification_metrics,
    hand_till_auc,
    stratified_subsample,
    tsne_embedding,
)
from lcrnn.evaluate.page import render_html, slug, summary_table, threshold_table
from lcrnn.evaluate.purity import objects_left, purity_metrics
from lcrnn.evaluate.purity_figures import add_objects_left, save_purity_figures
from lcrnn.evaluate.purity_page import describe_links
from lcrnn.evaluate.run_info import run_information

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


def _prepare(
    model: Any, name: str, photometry: Any, objects: Any, galaxies: Any, split: str
) -> tuple[Any, Any]:
    """The model's labelled sequences of the survey, and those of them in its ``split``."""
    classes = tuple(str(c) for c in model.classes_)
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
    return seqs, _select(model, name, seqs, split)


def _by_n_obs(model: Any, evaluated: Any, n_obs_values: list[int]) -> dict[str, Any]:
    """The AUC against the number of observations, and the confusion after 1, 6 and 20 of them."""
    n_all = sorted(set(n_obs_values) | set(CONFUSION_N_OBS))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LcrnnWarning)  # already said once by the full evaluation
        by_n = auc_vs_n_obs(model, evaluated, n_all)
    return {
        "auc_vs_n_obs": [r for r in by_n if r["n_obs"] in set(n_obs_values)],
        "confusion_by_n_obs": {
            str(r["n_obs"]): r["confusion"] for r in by_n if r["n_obs"] in CONFUSION_N_OBS
        },
    }


def _tsne_maps(
    model: Any,
    name: str,
    seqs: Any,
    evaluated: Any,
    split: str,
    tsne_split: str,
    tsne_samples: int,
    seed: int,
    result: dict[str, Any],
) -> tuple[dict[str, np.ndarray], Any]:
    """t-SNE maps of the RNN and dense activations, and the objects mapped; ``result`` gets ``tsne``."""
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
        "support": np.bincount(np.asarray(embed_set.labels), minlength=len(result["classes"])).tolist(),
    }
    return maps, embed_set


def _save_figures(
    model: Any,
    name: str,
    result: Mapping[str, Any],
    maps: Mapping[str, np.ndarray],
    embed_set: Any,
    out_dir: Path,
) -> dict[str, str]:
    """Draw one model's figures into ``out_dir/<slug>/``; their paths relative to ``out_dir``."""
    classes = tuple(result["classes"])
    folder = slug(name)
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
        title = f"{name} ({result['tsne']['split']} set)"
        save(figures.plot_tsne(maps, embed_set.labels, classes, title=title), "tsne")
    history = getattr(model, "history_", None)
    if history is not None and len(history):
        save(figures.plot_history(history, title=name, kept_epoch=result["run"]["best_epoch"]), "history")
    files.update(save_purity_figures(result, folder, out_dir, title=name))
    return files


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
    data: str | Path | None = None,
) -> dict[str, Any]:
    classes = tuple(str(c) for c in model.classes_)
    bar.set_description(f"{name}: preparing")
    seqs, evaluated = _prepare(model, name, photometry, objects, galaxies, split)
    bar.update()

    bar.set_description(f"{name}: metrics")
    proba = model.predict_proba_sequences(evaluated)
    result = classification_metrics(evaluated.labels, proba, classes, thresholds)
    result["auc_hand_till_raw"] = raw_score_auc(model, evaluated)
    result.update(purity_metrics(evaluated.labels, proba, classes))
    result["run"] = run_information(model, name, objects, data, dict(zip(classes, result["support"])))
    result["use_context"] = model_uses_context(model)
    result["split"] = split
    bar.update()

    bar.set_description(f"{name}: AUC vs observations")
    result.update(_by_n_obs(model, evaluated, n_obs_values))
    result["objects_by_n_obs"] = objects_left(evaluated.lengths, n_obs_values)
    bar.update()

    bar.set_description(f"{name}: t-SNE")
    maps, embed_set = _tsne_maps(model, name, seqs, evaluated, split, tsne_split, tsne_samples, seed, result)
    bar.update()

    bar.set_description(f"{name}: figures")
    result["figures"] = _save_figures(model, name, result, maps, embed_set, out_dir)
    bar.update()
    return result


def raw_score_auc(model: Any, seqs: Any) -> float | None:
    """Hand & Till AUC of the network's raw softmax, for a model that reports calibrated probabilities.

    The calibration's class offsets (and other priors) re-weight each probability's denominator, so in the
    multi-class case they change how objects rank by ``p_i``, and with it this pairwise AUC; the raw scores
    are the ones the paper's AUC and the model selection read. None for a model already reporting raw ones.
    """
    if getattr(model, "raw", True) or getattr(getattr(model, "model_", None), "calibration", None) is None:
        return None
    asked, estimated = getattr(model, "priors", None), getattr(model, "estimated_priors_", None)
    model.raw, model.priors = True, None  # raw softmax takes no priors
    try:
        auc = hand_till_auc(seqs.labels, model.predict_proba_sequences(seqs))
    finally:
        model.raw, model.priors, model.estimated_priors_ = False, asked, estimated
    return None if np.isnan(auc) else float(auc)


def _check_arguments(models: Sequence[Any], split: str, tsne_split: str, tsne_samples: int) -> None:
    if not models:
        raise ValueError("build_report needs at least one model.")
    if split not in ("test", "val", "all"):
        raise ValueError(f"split must be 'test', 'val' or 'all', got {split!r}.")
    if tsne_split not in ("train", "val", "test", "all"):
        raise ValueError(f"tsne_split must be 'train', 'val', 'test' or 'all', got {tsne_split!r}.")
    if tsne_samples < 4:
        raise ValueError(f"tsne_samples must be at least 4 for a t-SNE map, got {tsne_samples}.")


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
    audit: Any = None,
    data: str | Path | None = None,
    describe: str | Path | None = None,
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
    audit : AuditResult, optional
        The survey's audit (:func:`lcrnn.evaluate.audit.audit_survey`): shown beside the models' AUC, its
        files in ``out_dir/audit/``.
    data : str or Path, optional
        Where the survey was read from, for the page's run information.
    describe : str or Path, optional
        A folder with the survey's figures (``lcrnn describe``, paper Figs 1-3), linked from the page.

    Returns
    -------
    dict
        Model name -> metrics, as written to ``metrics.json``: ``auc_hand_till, f1_macro, accuracy,
        precision, recall, confusion, roc, thresholds, auc_vs_n_obs, confusion_by_n_obs, use_context,
        tsne, figures`` (figure paths relative to ``out_dir``), ``notes``; and for issue 16
        (:func:`lcrnn.evaluate.purity.purity_metrics`) ``classification_report, confusion_by_predicted,
        precision_recall, reliability, calibration, operating_points, purity_at_recall, objects_by_n_obs``
        and ``run`` (:func:`lcrnn.evaluate.run_info.run_information`).
    """
    _check_arguments(models, split, tsne_split, tsne_samples)
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
                tsne_samples, tsne_split, n_obs_values, seed, bar, data,
            )  # fmt: skip
        bar.set_description("writing report")
        _write_report(results, out_dir, split, audit, describe)
        bar.update()
    return results


def _write_report(results: dict[str, dict[str, Any]], out_dir: Path, split: str, audit: Any,
                  describe: str | Path | None) -> None:
    """The figure that compares the models, ``metrics.json`` and ``report.html`` (with the audit, if any)."""
    names = list(results)
    no_context = [n for n in names if not results[n]["use_context"]]
    curves = {n: results[n]["auc_vs_n_obs"] for n in names}
    left = {n: results[n]["objects_by_n_obs"] for n in names}
    figures.save_figure(
        add_objects_left(figures.plot_auc_vs_n_obs(curves, highlight=no_context), left),
        out_dir / "auc_vs_n_obs.png",
    )
    with open(out_dir / "metrics.json", "w", encoding="utf-8") as fh:
        json.dump(results, fh, indent=1, allow_nan=False)
    page = render_html(results, split, describe_links(describe, out_dir))
    if audit is not None:
        from lcrnn.evaluate.audit_page import add_audit_to_report

        page = add_audit_to_report(page, audit, results, out_dir)
    (out_dir / "report.html").write_text(page, encoding="utf-8")
