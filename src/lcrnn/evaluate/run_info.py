"""What a report was made from: data, model, configuration, seed, versions and date (issue 16).

A number on a page is only worth quoting when the page says which survey, which run and which code made it;
:func:`run_information` gathers that for one model into plain JSON (``metrics.json``'s ``run`` entry).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lcrnn.version import __version__

__all__ = ["run_information", "survey_counts"]

#: Parts of a run's ``config.json`` too long for a page (the fitted scaler, every object's split).
_LEFT_OUT = ("scaler", "split", "classes", "name", "lcrnn_version", "class_counts", "best_epoch",
             "best_val_auc")


def survey_counts(objects: Any) -> dict[str, int]:
    """Labelled objects per class in the survey as read (before any split); empty without labels."""
    if objects is None or "label" not in getattr(objects, "columns", ()):
        return {}
    counts = objects["label"].value_counts()
    return {str(k): int(v) for k, v in counts.items()}


def _in_order(counts: dict[str, int], classes: list[str]) -> dict[str, int]:
    """``counts`` with the model's classes first, in its order, then any other label."""
    return {k: counts[k] for k in [*classes, *counts] if k in counts}


def _config_of(model: Any) -> dict[str, Any]:
    """The run's configuration as ``config.json`` holds it, or {} for a model that cannot say."""
    config_dict = getattr(type(model), "config_dict", None)
    if not callable(config_dict):
        return {}
    try:
        config = model.config_dict()
    except Exception:  # an unfitted or foreign model: the page says "not recorded"
        return {}
    return dict(config) if isinstance(config, Mapping) else {}


def run_information(
    model: Any, name: str, objects: Any, data: str | Path | None, support: Mapping[str, int]
) -> dict[str, Any]:
    """The report's record of one model's run.

    Parameters
    ----------
    model : EvaluableModel
        A model with ``config_dict()`` (``lcrnn.Classifier``) gives its configuration, seed, training
        counts, kept epoch and the lcrnn version it was trained with; others give ``None`` there.
    name : str
        The model's name in the report.
    objects : pandas.DataFrame
        The survey's objects table (its ``label`` column is counted).
    data : str or Path, optional
        Where the survey was read from.
    support : mapping
        Objects per class in the evaluated set.
    """
    config = _config_of(model)
    train = config.get("train") or {}
    return {
        "model": name,
        "data": None if data is None else str(data),
        "survey_objects": _in_order(survey_counts(objects), list(support)),
        "evaluated_objects": {str(k): int(v) for k, v in support.items()},
        "training_objects": config.get("class_counts"),
        "seed": train.get("seed"),
        "best_epoch": config.get("best_epoch"),
        "best_val_auc": config.get("best_val_auc"),
        "trained_with_lcrnn": config.get("lcrnn_version"),
        "lcrnn_version": __version__,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "configuration": {k: v for k, v in config.items() if k not in _LEFT_OUT},
    }
