"""The audit's page: ``audit.json``, a bar chart ``audit.png`` and an offline ``audit.html``.

:func:`write_audit` writes the three files of an :class:`~lcrnn.evaluate.audit.AuditResult`;
:func:`add_audit_to_report` puts the same section, beside the RNN's test AUC, into the evaluation report
(:func:`lcrnn.evaluate.report.build_report`), its files in the report's ``audit/`` folder.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from lcrnn.evaluate.audit import AuditResult
from lcrnn.evaluate.figures import save_figure

__all__ = ["add_audit_to_report", "audit_figure", "audit_section", "gain_sentence", "write_audit"]

#: How each feature set is named on the page.
SET_TITLES = {
    "context": "context (l, b, d_G)",
    "sampling": "sampling",
    "shape": "shape",
    "context_sampling": "context + sampling",
    "all": "all",
}

_CSS = """
body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.8em 0;font-size:.9em}
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:right}th{background:#f2f2f2}
td:first-child,th:first-child{text-align:left}img{max-width:100%}.note{color:#8a4b00;font-size:.9em}
"""


def audit_figure(result: AuditResult, rnn_auc: float | None = None, rnn_name: str = "RNN") -> Figure:
    """Bar chart of each feature set's AUC with its fold spread; the RNN's AUC as a line when given."""
    names = list(result.scores)
    auc = np.array([result.scores[n].auc for n in names])
    std = np.array([result.scores[n].auc_std for n in names])
    fig = Figure(figsize=(6.4, 3.8), layout="constrained")
    ax = fig.add_subplot()
    ax.bar(range(len(names)), auc, yerr=std, capsize=4, color="#7a9cc6", edgecolor="#333")
    for i, value in enumerate(auc):
        ax.text(i, value + std[i] + 0.005, f"{value:.3f}", ha="center", va="bottom", fontsize=8)
    ax.axhline(0.5, color="grey", lw=0.8, ls=":", label="chance")
    if rnn_auc is not None:
        ax.axhline(rnn_auc, color="crimson", lw=1.5, ls="--", label=f"{rnn_name} (test) {rnn_auc:.3f}")
    ax.set_xticks(range(len(names)), [SET_TITLES.get(n, n) for n in names], rotation=15)
    ax.set_ylim(0.45, 1.04)
    ax.set_ylabel("Hand & Till AUC")
    ax.set_title(f"Balanced gradient-boosted trees, {result.folds}-fold CV, {result.n_objects:,} objects",
                 fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    return fig


def gain_sentence(result: AuditResult, rnn_auc: float | None = None, rnn_name: str = "the RNN") -> str:
    """How much of the AUC the light curves' shapes earn beyond context and sampling (plain text)."""
    base, full = result.scores["context_sampling"], result.scores["all"]
    text = (f"Trees on context and sampling alone reach AUC {base.auc:.3f} ± {base.auc_std:.3f}; adding the "
            f"light curves' shape features gives {full.auc:.3f} ± {full.auc_std:.3f}, so the shapes earn "
            f"{result.shape_gain:+.3f} beyond context and sampling.")
    if rnn_auc is not None:
        text += (f" The test AUC of {rnn_name}, {rnn_auc:.3f}, is {rnn_auc - base.auc:+.3f} from the trees "
                 f"on context and sampling and {rnn_auc - full.auc:+.3f} from the trees on everything.")
    return text


def _score_table(result: AuditResult) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(SET_TITLES.get(name, name))}</td><td>{s.auc:.3f}</td><td>{s.auc_std:.3f}</td>"
        f"<td>{html.escape(', '.join(s.features))}</td></tr>"
        for name, s in result.scores.items())
    return ("<table><thead><tr><th>features</th><th>AUC</th><th>fold std</th><th>columns</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>")


def _adversarial_table(result: AuditResult) -> str:
    if result.adversarial is None:
        return ""
    rows = "".join(
        f"<tr><td>{html.escape(cls)}</td><td>{s.auc:.3f}</td><td>{s.n_sim:,} / {s.n_real:,}</td>"
        f"<td>{html.escape(', '.join(f'{f} ({v:.3f})' for f, v in s.top_features))}</td></tr>"
        for cls, s in result.adversarial.items())
    notes = "".join(f"<p class='note'>{html.escape(n)}</p>" for n in result.adversarial_notes)
    return ("<h3>Survey against real light curves (adversarial validation)</h3><p>Per class, trees learn to "
            "tell the survey's light curves from real ones (resampled to the survey) from their sampling and "
            "shape features; 0.5 means they cannot. The features named are those whose shuffling costs the "
            "most AUC on the held-out folds.</p><table><thead><tr><th>class</th><th>AUC survey vs real</th>"
            "<th>n survey / real</th><th>most telling features (AUC lost when shuffled)</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>{notes}")


def audit_section(result: AuditResult, figure: str, rnn_auc: float | None = None,
                  rnn_name: str = "the RNN") -> str:
    """The audit as an HTML fragment: sentence, chart (``figure``: its relative path), tables, notes."""
    counts = ", ".join(f"{c} {n:,}" for c, n in result.class_counts.items())
    notes = "".join(f"<p class='note'>{html.escape(n)}</p>" for n in result.notes)
    return (
        f"<p><b>{html.escape(gain_sentence(result, rnn_auc, rnn_name))}</b></p>"
        f"<p>What a classifier can lean on besides the shape of a light curve: class-balanced "
        f"gradient-boosted trees under stratified {result.folds}-fold cross-validation (seed {result.seed}) "
        f"on {result.n_objects:,} objects ({html.escape(counts)}), features of the first {result.max_len} "
        f"points of each light curve (what the RNN reads). Hand &amp; Till AUC, mean ± standard deviation "
        f"over the folds.</p>"
        f"<img src='{html.escape(figure)}' alt='AUC of each feature set'>{_score_table(result)}{notes}"
        f"{_adversarial_table(result)}"
    )


def write_audit(result: AuditResult, out: str | Path, rnn_auc: float | None = None,
                rnn_name: str = "the RNN") -> dict[str, Path]:
    """Write ``audit.json``, ``audit.png`` and ``audit.html`` into ``out`` (created); their paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    payload: dict[str, Any] = result.to_dict()
    if rnn_auc is not None:
        payload["rnn"] = {"name": rnn_name, "auc": rnn_auc}
    payload["summary"] = gain_sentence(result, rnn_auc, rnn_name)
    paths = {"json": out / "audit.json", "png": out / "audit.png", "html": out / "audit.html"}
    paths["json"].write_text(json.dumps(payload, indent=1, allow_nan=False), encoding="utf-8")
    save_figure(audit_figure(result, rnn_auc, rnn_name), paths["png"])
    paths["html"].write_text(
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>lcrnn audit</title>"
        f"<style>{_CSS}</style></head><body><h1>lcrnn audit</h1>"
        f"{audit_section(result, 'audit.png', rnn_auc, rnn_name)}</body></html>", encoding="utf-8")
    return paths


def add_audit_to_report(page: str, result: AuditResult, metrics: Mapping[str, Mapping[str, Any]],
                        out_dir: str | Path) -> str:
    """The report ``page`` with the audit's section before its end, beside the best model's test AUC.

    ``metrics`` is what :func:`lcrnn.evaluate.report.build_report` computed (model name -> metrics); the
    audit's own files go to ``out_dir/audit/``.
    """
    scored = {n: m["auc_hand_till"] for n, m in metrics.items() if m.get("auc_hand_till") is not None}
    best = max(scored, key=scored.__getitem__) if scored else None
    rnn_auc = scored[best] if best is not None else None
    write_audit(result, Path(out_dir) / "audit", rnn_auc, best or "the RNN")
    section = ("<h2 id='audit'>What the light curves earn: the audit (issue 14)</h2>"
               + audit_section(result, "audit/audit.png", rnn_auc, best or "the RNN"))
    return page.replace("</body>", section + "\n</body>", 1)
