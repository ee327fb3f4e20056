"""The offline HTML page of the evaluation report, and the tables it shows.

:func:`render_html` turns what :func:`lcrnn.evaluate.report.build_report` computed into one self-contained
page: inline CSS, no scripts, figures referenced by relative paths. :func:`summary_table` (the paper's
Table 2) and :func:`threshold_table` (Table 3) are also what the ``lcrnn evaluate`` command prints.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

import numpy as np
import pandas as pd

__all__ = ["render_html", "slug", "summary_table", "threshold_table"]


def slug(name: str) -> str:
    """A model name made safe as a folder name and an HTML anchor."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "model"


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
        What :func:`lcrnn.evaluate.report.build_report` returns (or ``metrics.json`` holds).
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


def render_html(results: Mapping[str, Mapping[str, Any]], split: str, describe: Sequence[str] = ()) -> str:
    """The report page of ``results`` (model name -> metrics and figure paths) scored on ``split``.

    ``describe`` lists the survey's figures (paths relative to the page) to link; the purity sections come
    from :mod:`lcrnn.evaluate.purity_page`.
    """
    from lcrnn.evaluate import purity_page  # it draws its tables with this module's helpers

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
        purity_page.run_section(results),
        purity_page.describe_section(describe),
        "<h2>Comparison (cf. Table 2)</h2>",
        _table(summary_table(results)),
        "<h2>Probability thresholds (cf. Table 3)</h2>",
        (
            "<p>For each class, objects with that class's probability at or above the threshold count as "
            "positive; all other classes are negative.</p>"
        ),
        _threshold_html(results),
        "<h2>AUC against the number of observations (cf. Fig. 8)</h2>",
        (
            "<p>Each light curve is cut to its first <i>n</i> observations before it reaches the model. The "
            "grey line (right axis) counts the objects with at least <i>n</i> observations: beyond a light "
            "curve's length the model sees nothing new, so the curve's right end rests on these few.</p>"
        ),
        _img("auc_vs_n_obs.png", "Hand & Till AUC against the maximum number of observations, all models."),
        "<h2>Context ablation (cf. section 5.4)</h2>",
        _ablation_html(results),
    ]
    for name, m in results.items():
        files = m["figures"]
        parts.append(f"<h2 id='{html.escape(slug(name))}'>{html.escape(name)}</h2>")
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
            "history": (
                "Training and validation loss per epoch, validation AUC dashed, the kept epoch dotted "
                "(cf. Fig. A1)."
            ),
        }
        for key, caption in captions.items():
            if key in files:
                parts.append(_img(files[key], caption))
        parts.append(purity_page.model_section(name, m))
    parts.append("</body></html>")
    return "\n".join(parts)
