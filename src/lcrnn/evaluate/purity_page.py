"""The report's sections on purity, calibration and provenance (issue 16), as HTML fragments.

:func:`run_section` says what the page was made from, :func:`describe_section` links the survey's figures,
:func:`model_section` adds to each model the classification report, the operating points, the calibration,
the purity figures and one sentence on why its AUC and macro F1 disagree (:func:`auc_f1_sentence`).
:func:`lcrnn.evaluate.page.render_html` places them.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd

from lcrnn.evaluate.page import _fmt, _img, _table

__all__ = ["auc_f1_sentence", "describe_links", "describe_section", "model_section", "run_section"]

#: The figures ``lcrnn describe`` writes (:mod:`lcrnn.evaluate.data_figures`), in page order.
DESCRIBE_FILES = ("fig1_magnitudes.png", "fig2_light_curves.png", "fig3_context.png")

#: Captions of the figures this module shows, by key in ``metrics["figures"]``.
CAPTIONS = {
    "confusion_views": (
        "Confusion matrix three ways: counts; fractions of each true class (completeness, rows sum to one); "
        "fractions of each predicted class (purity, columns sum to one): of the objects called a class, how "
        "many are that class."
    ),
    "precision_recall": (
        "One-vs-rest precision (purity) against recall (completeness) per class, average precision in the "
        "legend; the dotted line is the class's base rate, the precision of a random guess."
    ),
    "reliability": (
        "Reliability diagrams: observed fraction against mean predicted probability in 10 equal-width bins, "
        "per class one-vs-rest and for the most probable class (top label); a calibrated model lies on the "
        "dotted diagonal. Grey bars count the objects per bin (right axis, log)."
    ),
}


def _counts(counts: Mapping[str, int] | None) -> str:
    if not counts:
        return "not recorded"
    listed = ", ".join(f"{html.escape(str(k))} {v:,}" for k, v in counts.items())
    return f"{listed} (total {sum(counts.values()):,})"


def _settings(values: Any) -> str:
    """A config block as ``key=value`` pairs, nested values as JSON."""
    if not isinstance(values, Mapping):
        return html.escape(values if isinstance(values, str) else json.dumps(values))
    return ", ".join(
        f"{html.escape(str(k))}={html.escape(v if isinstance(v, str) else json.dumps(v))}"
        for k, v in values.items()
    )


def run_section(results: Mapping[str, Mapping[str, Any]]) -> str:
    """One table per model: the data, the run, its configuration and seed, the versions and the date."""
    parts = ["<h2 id='run'>Run information</h2>"]
    for name, m in results.items():
        run = m.get("run")
        if not run:
            continue
        kept = "not recorded" if run["best_epoch"] is None else (
            f"{run['best_epoch']} (validation AUC {_fmt(run['best_val_auc'])})")
        rows = [
            ("model", html.escape(name)),
            ("data", html.escape(run["data"] or "not given")),
            ("survey objects per class", _counts(run["survey_objects"])),
            (f"evaluated ({html.escape(m.get('split', ''))}) per class", _counts(run["evaluated_objects"])),
            ("training objects per class", _counts(run["training_objects"])),
            ("seed", _fmt(run["seed"]) if run["seed"] is not None else "not recorded"),
            ("kept epoch", kept),
        ]
        rows += [(html.escape(key), _settings(value)) for key, value in run["configuration"].items()]
        rows += [
            ("trained with lcrnn", html.escape(str(run["trained_with_lcrnn"] or "not recorded"))),
            ("report made with lcrnn", html.escape(run["lcrnn_version"])),
            ("date (UTC)", html.escape(run["date"])),
        ]
        body = "".join(f"<tr><th>{k}</th><td style='text-align:left'>{v}</td></tr>" for k, v in rows)
        parts.append(f"<table>{body}</table>")
    return "\n".join(parts)


def describe_links(describe: str | Path | None, out_dir: str | Path) -> list[str]:
    """Paths, relative to the report folder, of the describe figures found in ``describe`` (none if None)."""
    if describe is None:
        return []
    found = [Path(describe) / name for name in DESCRIBE_FILES if (Path(describe) / name).is_file()]
    return [Path(os.path.relpath(path, out_dir)).as_posix() for path in found]


def describe_section(links: Sequence[str]) -> str:
    """The survey's figures (paper Figs 1-3, ``lcrnn describe``), each a link to the full-size image."""
    if not links:
        return ""
    titles = ("Mean magnitude against its scatter per light curve (Fig. 1)",
              "Duration, points per light curve and gaps (Fig. 2)",
              "Distance to the nearest galaxy and galactic latitude (Fig. 3)")
    figures = "".join(
        f'<a href="{quote(link)}">{_img(link, titles[i] if i < len(titles) else link)}</a>'
        for i, link in enumerate(links)
    )
    return "<h2 id='data'>The data (lcrnn describe)</h2>" + figures


def auc_f1_sentence(m: Mapping[str, Any]) -> str:
    """Why this model's AUC and macro F1 disagree, in its own numbers (plain text).

    The majority class is the most common one in the evaluated set. When more of the majority are called a
    rare class than true members are found, that class's precision holds the F1 down (probabilities tilted
    towards the rare classes, as the weighted losses leave them): the class with the most such calls is
    quoted. Otherwise the rare class with the lowest F1 is seldom the most probable one, and its recall
    holds the F1 down (calibrated probabilities).
    """
    classes, support = list(m["classes"]), list(m["support"])
    counts, report = m["confusion"]["counts"], m["classification_report"]
    major = max(range(len(classes)), key=support.__getitem__)
    share = 100.0 * support[major] / max(sum(support), 1)
    text = (f"The AUC ({_fmt(m['auc_hand_till'])}) asks only whether each class's objects are ranked above "
            "the others, whatever their numbers; macro F1 ({}) is taken at the most probable class and "
            "averages the classes equally.").format(_fmt(m["f1_macro"]))
    others = [c for c in range(len(classes)) if c != major and support[c] > 0]
    if not others:
        return text
    polluted = [c for c in others if counts[major][c] > counts[c][c]]
    if polluted:  # the precision story, the usual one under the weighted losses
        rare = max(polluted, key=lambda c: counts[major][c])
    else:
        rare = min(others, key=lambda c: report[classes[c]]["f1-score"] or 0.0)
    name, big = classes[rare], classes[major]
    found, polluting = counts[rare][rare], counts[major][rare]
    called = sum(row[rare] for row in counts)
    row = report[name]
    scores = (f"precision {_fmt(row['precision'], 2)}, recall {_fmt(row['recall'], 2)}, "
              f"F1 {_fmt(row['f1-score'], 2)}")
    setting = f": with {big} {share:.1f} % of the objects here, "
    if polluting > found:
        return text[:-1] + setting + (
            f"{polluting:,} {big} are called {name} beside the {found:,} true {name} found (of "
            f"{support[rare]:,}; {scores}): the rare classes' precision, not the ranking, sets the macro F1.")
    auc = (m.get("roc", {}).get(name) or {}).get("auc")
    ranked = f" although its one-vs-rest AUC is {_fmt(auc)}" if auc is not None else ""
    return text[:-1] + setting + (
        f"{name} is seldom the most probable class: {called:,} objects are called {name}, {found:,} of the "
        f"{support[rare]:,} true ones ({scores}){ranked}: at the most probable class the rare classes' "
        "recall, not the ranking, sets the macro F1.")


def _report_table(report: Mapping[str, Any], classes: Sequence[str]) -> str:
    rows = []
    for key in [*classes, "macro avg", "weighted avg"]:
        entry = report.get(key)
        if entry is None:
            continue
        rows.append({"class": key, "precision (purity)": entry["precision"], "recall (completeness)":
                     entry["recall"], "F1": entry["f1-score"], "objects": int(entry["support"])})
    return _table(pd.DataFrame(rows))


def _operating_table(rows: Sequence[Mapping[str, Any]]) -> str:
    shown = []
    for r in rows:
        reached = r["threshold"] is not None
        shown.append({
            "class": r["class"],
            "purity wanted": f"{100 * r['target']:.0f} %",
            "lowest threshold": f"{r['threshold']:.3g}" if reached else "not reached",
            "purity there": f"{100 * r['purity']:.1f} %" if reached else "–",
            "completeness there": f"{100 * r['completeness']:.1f} %" if reached else "–",
            "objects kept (true)": f"{r['n_selected']:,} ({r['n_true']:,})" if reached else "–",
        })  # fmt: skip
    return _table(pd.DataFrame(shown))


def model_section(name: str, m: Mapping[str, Any]) -> str:
    """One model's purity part of the page, or "" for results made before it existed."""
    if "classification_report" not in m:
        return ""
    cal = m["calibration"]
    at_recall = m["purity_at_recall"]
    quoted = ", ".join(f"{html.escape(c)} {_fmt(v, 2)}" for c, v in at_recall["purity"].items())
    parts = [
        "<h3>Purity and completeness per class (scikit-learn classification report)</h3>",
        _report_table(m["classification_report"], m["classes"]),
        f"<p>{html.escape(auc_f1_sentence(m))}</p>",
        "<h3>Operating points</h3>",
        ("<p>For each class, the lowest probability threshold at which the calls reach the wanted purity "
         "(precision), and the completeness (recall) kept there; \"not reached\" when no threshold does. "
         f"Best purity with completeness at least {at_recall['recall']:.0%}: {quoted}.</p>"),
        _operating_table(m["operating_points"]),
        (f"<p>Top-label expected calibration error ({cal['bins']} equal-width bins): "
         f"<b>{_fmt(cal['ece_top_label'])}</b>; mean highest probability {_fmt(cal['mean_confidence'])} "
         f"against accuracy {_fmt(cal['accuracy'])}.</p>"),
    ]
    files = m.get("figures", {})
    parts += [_img(files[key], caption) for key, caption in CAPTIONS.items() if key in files]
    return "\n".join(parts)
