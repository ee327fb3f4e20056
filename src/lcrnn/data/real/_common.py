"""What the real-data readers share: folding source types into classes, and validating the result."""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from lcrnn.data.label_map import LabelMap, TypeMatch, load_label_map
from lcrnn.data.tables import OnInvalid, Survey, validate_galaxies, validate_survey
from lcrnn.errors import LcrnnWarning

__all__ = ["data_file", "finish_survey", "fold_types"]


def data_file(directory: str | Path, name: str, what: str, example: str) -> Path:
    """The path of one file of a data folder, or an error that says which folder layout is expected."""
    path = Path(directory) / name
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} does not exist; point the {what} reader at the folder holding {name} (e.g. {example})."
        )
    return path


def fold_types(
    types: pd.Series,
    mapping: LabelMap | None,
    include_uncertain: bool,
    source: str,
    classify: Callable[[LabelMap, Any], TypeMatch] | None = None,
) -> pd.Series:
    """Super-class of each source type, NA where it is left out; warns with what was left out and why.

    ``classify`` lets a reader read its types in its own context (OSC's ``"I"`` is a Type I supernova,
    not GCVS's irregular variable).
    """
    mapping = mapping or load_label_map()
    classify = classify or (lambda m, t: m.classify(t))
    labels: list[str | None] = []
    left_out: Counter[str] = Counter()
    for raw in types:
        match = classify(mapping, raw)
        if match.label is None or (match.uncertain and not include_uncertain):
            reason = "uncertain" if match.label is not None else match.reason
            left_out[f"{'<no type>' if pd.isna(raw) or str(raw).strip() == '' else raw} ({reason})"] += 1
            labels.append(None)
        else:
            labels.append(match.label)
    if left_out:
        listed = ", ".join(f"{k}: {n}" for k, n in left_out.most_common())
        warnings.warn(
            f"left out {sum(left_out.values())} {source} objects whose type folds into none of "
            f"{', '.join(mapping.classes)}: {listed}. Edit the label mapping (or include_uncertain) to keep them.",
            LcrnnWarning,
            stacklevel=3,
        )
    return pd.Series(labels, index=types.index, dtype="str")


def finish_survey(
    photometry: pd.DataFrame,
    objects: pd.DataFrame,
    galaxies: pd.DataFrame | None,
    on_invalid: OnInvalid,
    mapping: LabelMap | None,
) -> Survey:
    """Validate the three tables as any survey's (so a reader cannot emit what lcrnn would refuse)."""
    classes = (mapping or load_label_map()).classes
    if galaxies is not None:
        galaxies, _ = validate_galaxies(galaxies, on_invalid=on_invalid)
    survey, _ = validate_survey(photometry, objects, galaxies, on_invalid=on_invalid, classes=classes)
    return survey
