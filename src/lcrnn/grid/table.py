"""The grid's results: one row per point, the paper's Table 2 (Markdown and CSV), and the joint report.

    OUT/table2.md, OUT/table2.csv    the best-validation-AUC point of each of Table 2's seven rows
    OUT/report/                      those models evaluated together (:mod:`lcrnn.evaluate.report`)
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict
from pathlib import Path

import pandas as pd
from optuna.trial import TrialState

from lcrnn.errors import LcrnnWarning
from lcrnn.grid.claims import STUDY_ATTR, STUDY_NAME, config_trials, default_storage_url, open_study
from lcrnn.grid.spec import TrialSpec

__all__ = ["TABLE2_COLUMNS", "TABLE2_GROUPS", "grid_results", "summarise_grid"]

#: Columns of the paper's Table 2, in its order.
TABLE2_COLUMNS = ("RNN type", "Loss", "Dense layer neurons", "RNN output dimension", "gamma",
                  "Validation AUC", "Validation F1", "Test AUC", "Test F1")

_LOSS_NAMES = {"focal": "Weighted focal loss", "wce": "Weighted cross entropy", "ce": "Unweighted cross entropy"}

#: The seven rows of Table 2: (rnn, loss, use_context), in the paper's order.
TABLE2_GROUPS: tuple[tuple[str, str, bool], ...] = (
    ("lstm", "focal", True), ("gru", "focal", True),
    ("lstm", "wce", True), ("gru", "wce", True),
    ("lstm", "ce", True), ("gru", "ce", True),
    ("gru", "focal", False),
)

_METRICS = ("val_auc", "val_f1", "test_auc", "test_f1", "run_dir", "worker")


def grid_results(storage: str, study_name: str = STUDY_NAME) -> pd.DataFrame:
    """One row per grid point of the study: its finished trial's metrics, or its latest state.

    Columns: ``config, rnn, loss, gamma, hidden, dense, use_context, state, trial, n_complete, n_trials,
    val_auc, val_f1, test_auc, test_f1, run_dir, worker``; ``n_trials`` counts every trial the point had
    (duplicates skipped by the claim guard and retries included).
    """
    study = open_study(storage, study_name)
    by_config = config_trials(study)
    names = (study.user_attrs.get(STUDY_ATTR) or {}).get("specs") or sorted(by_config)
    rows = []
    for name in names:
        trials = by_config.get(name, [])
        complete = [t for t in trials if t.state == TrialState.COMPLETE]
        chosen = complete[0] if complete else (trials[-1] if trials else None)
        attrs = chosen.user_attrs if chosen is not None else {}
        rows.append({"config": name, **asdict(TrialSpec.from_name(name)),
                     "state": chosen.state.name if chosen is not None else "NOT_STARTED",
                     "trial": chosen.number if chosen is not None else None,
                     "n_complete": len(complete), "n_trials": len(trials),
                     **{k: attrs.get(k) for k in _METRICS}})
    return pd.DataFrame(rows)


def _fmt(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def summarise_grid(out: str | Path, storage: str | None = None, study_name: str = STUDY_NAME,
                   data: str | Path | None = None, report: bool = True, progress: bool = True) -> pd.DataFrame:
    """Pick the best-validation-AUC point of each Table 2 configuration; write ``table2.md`` and ``table2.csv``.

    Parameters
    ----------
    out : path
        Grid output directory; the tables (and ``report/``) are written here.
    storage, study_name
        The grid's study (default storage ``sqlite:///OUT/grid.db``).
    data : path, optional
        Survey directory; with `report`, the chosen models are evaluated together by
        :func:`lcrnn.evaluate.report.build_report` into ``OUT/report/`` on their test split.
    report : bool
        Build the evaluation report (needs `data` and the chosen run directories on this machine).
    progress : bool
        Progress bars in the report.

    Returns
    -------
    pandas.DataFrame
        The Table 2 columns plus ``config`` and ``run_dir`` of each chosen point, one row per configuration
        present in the grid, in the paper's order.
    """
    out = Path(out)
    results = grid_results(storage or default_storage_url(out), study_name)
    finished = results[results["n_complete"] > 0]
    rows = []
    for rnn, loss, use_context in TABLE2_GROUPS:
        group = finished[(finished["rnn"] == rnn) & (finished["loss"] == loss)
                         & (finished["use_context"] == use_context)]
        group = group[group["val_auc"].notna()]
        if not group.empty:
            rows.append(_table2_row(group.loc[group["val_auc"].astype(float).idxmax()]))
    table = pd.DataFrame(rows, columns=[*TABLE2_COLUMNS, "config", "run_dir"])
    out.mkdir(parents=True, exist_ok=True)
    table[list(TABLE2_COLUMNS)].to_csv(out / "table2.csv", index=False, float_format="%.4f")
    (out / "table2.md").write_text(_markdown(table))
    if report and data is not None and not table.empty:
        _report(table, Path(data), out / "report", progress)
    return table


def _table2_row(best: pd.Series) -> dict:
    """The Table 2 row of one chosen grid point (a row of :func:`grid_results`)."""
    gamma = "-"
    if best["loss"] == "focal":
        gamma = _fmt(float(best["gamma"]), 0 if float(best["gamma"]).is_integer() else 2)
    return {
        "RNN type": best["rnn"].upper() + ("" if best["use_context"] else " NC"),
        "Loss": _LOSS_NAMES[best["loss"]],
        "Dense layer neurons": int(best["dense"]),
        "RNN output dimension": int(best["hidden"]),
        "gamma": gamma,
        "Validation AUC": best["val_auc"], "Validation F1": best["val_f1"],
        "Test AUC": best["test_auc"], "Test F1": best["test_f1"],
        "config": best["config"], "run_dir": best["run_dir"],
    }


def _markdown(table: pd.DataFrame) -> str:
    columns = list(TABLE2_COLUMNS)
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    for _, row in table.iterrows():
        lines.append("| " + " | ".join(_fmt(row[c]) for c in columns) + " |")
    return "\n".join(lines) + "\n"


def _report(table: pd.DataFrame, data: Path, out: Path, progress: bool) -> None:
    from lcrnn.classifier import Classifier
    from lcrnn.data.io import read_survey
    from lcrnn.evaluate.report import build_report

    missing = [row["config"] for _, row in table.iterrows()
               if row["run_dir"] is None or not Path(row["run_dir"]).is_dir()]
    if missing:
        warnings.warn(f"the chosen runs {', '.join(missing)} are not on this machine (trained by a worker "
                      "elsewhere): the evaluation report was skipped; copy OUT/trials there and summarise again",
                      LcrnnWarning, stacklevel=3)
        return
    models = []
    for _, row in table.iterrows():
        model = Classifier.load(row["run_dir"])
        # The report names each model by its Table 2 row, not by its trial directory.
        model.model_.name = f"{row['RNN type']} {row['Loss']}"
        models.append(model)
    survey = read_survey(data)
    build_report(models, survey.photometry, survey.objects, survey.galaxies, out, split="test",
                 progress=progress, data=data)
