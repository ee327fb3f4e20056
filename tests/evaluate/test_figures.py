"""Every evaluation figure is drawn from real metrics, carries the numbers it should, and saves as a PNG."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex
from matplotlib.image import imread

from lcrnn.evaluate import figures
from lcrnn.evaluate.metrics import classification_metrics

CLASSES = ("VS", "SN", "AGN")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def metrics():
    rng = np.random.default_rng(3)
    y = rng.choice(3, size=300, p=[0.7, 0.1, 0.2])
    logits = rng.normal(size=(300, 3))
    logits[np.arange(300), y] += 2.0
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return classification_metrics(y, proba, CLASSES)


def assert_real_png(path, min_bytes=8_000):
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    assert len(data) > min_bytes, f"{path.name} is only {len(data)} bytes: an empty plot?"
    image = imread(path)
    assert image.shape[0] > 200 and image.shape[1] > 200
    # Not a blank canvas: a drawn figure inks a fair share of its pixels, in more than one colour.
    ink = image[..., :3].min(axis=-1) < 0.9
    assert ink.mean() > 0.02
    assert image[..., :3][ink].std(axis=0).max() > 0.05


def test_paper_colours_and_a_palette_for_other_classes():
    colours = figures.class_colours(["VS", "SN", "AGN", "CV", "TDE"])
    assert (to_hex(colours["VS"]), to_hex(colours["SN"]), to_hex(colours["AGN"])) == (
        to_hex("grey"), to_hex("red"), to_hex("blue"),
    )  # fmt: skip
    others = {to_hex(colours["CV"]), to_hex(colours["TDE"])}
    assert len(others) == 2 and not others & {to_hex("grey"), to_hex("red"), to_hex("blue")}


def test_confusion_matrix_shows_fractions_and_counts(metrics, tmp_path):
    counts = metrics["confusion"]["counts"]
    fig = figures.plot_confusion(counts, CLASSES, title="GRU focal")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert len(texts) == 9
    row0 = np.array(counts[0])
    expected = f"{row0[0] / row0.sum():.2f}\n({row0[0]:,})"
    assert texts[0] == expected
    assert_real_png(figures.save_figure(fig, tmp_path / "confusion.png"))


def test_confusion_grid_has_one_panel_per_observation_count(metrics, tmp_path):
    counts = metrics["confusion"]["counts"]
    empty_row = [[5, 1, 0], [0, 0, 0], [2, 1, 9]]  # no SN at all: the row shows dashes, not zeros
    fig = figures.plot_confusion_grid([("1 obs", empty_row), ("6 obs", counts), ("20 obs", counts)], CLASSES)
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in panels] == ["1 obs", "6 obs", "20 obs"]
    assert panels[0].texts[3].get_text() == "–\n(0)"
    assert_real_png(figures.save_figure(fig, tmp_path / "grid.png"))
    with pytest.raises(ValueError, match="at least one"):
        figures.plot_confusion_grid([], CLASSES)


def test_roc_has_one_curve_per_class_with_auc_in_legend(metrics, tmp_path):
    fig = figures.plot_roc(metrics["roc"], title="ROC")
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    for name in CLASSES:
        assert f"{name} (AUC = {metrics['roc'][name]['auc']:.3f})" in labels
    lines = {line.get_label(): line for line in fig.axes[0].get_lines()}
    assert to_hex(lines[f"SN (AUC = {metrics['roc']['SN']['auc']:.3f})"].get_color()) == to_hex("red")
    assert_real_png(figures.save_figure(fig, tmp_path / "roc.png"))


def test_auc_vs_n_draws_every_model_and_marks_the_no_context_one(tmp_path):
    n = list(range(1, 31))
    curves = {
        "gru-focal": [{"n_obs": i, "auc_hand_till": 0.84 + 0.1 * (1 - np.exp(-i / 4))} for i in n],
        "lstm-wce": [{"n_obs": i, "auc_hand_till": 0.82 + 0.1 * (1 - np.exp(-i / 4))} for i in n],
        "gru-focal-nc": [{"n_obs": i, "auc_hand_till": 0.72 + 0.18 * (1 - np.exp(-i / 3))} for i in n],
    }
    fig = figures.plot_auc_vs_n_obs(curves, highlight=["gru-focal-nc"])
    lines = {line.get_label(): line for line in fig.axes[0].get_lines()}
    assert set(lines) == set(curves)
    assert lines["gru-focal-nc"].get_linestyle() == ":" and lines["gru-focal-nc"].get_marker() == "^"
    np.testing.assert_allclose(
        lines["lstm-wce"].get_ydata(), [r["auc_hand_till"] for r in curves["lstm-wce"]]
    )
    assert_real_png(figures.save_figure(fig, tmp_path / "auc_vs_n.png"))


def test_tsne_panels_colour_points_by_class(tmp_path):
    rng = np.random.default_rng(0)
    labels = rng.choice(3, size=200, p=[0.8, 0.1, 0.1])
    maps = {"rnn": rng.normal(size=(200, 2)), "dense": rng.normal(size=(200, 2)) + labels[:, None]}
    fig = figures.plot_tsne(maps, labels, CLASSES, title="t-SNE")
    assert len(fig.axes) == 2
    ax = fig.axes[1]
    by_label = {c.get_label().split()[0]: c for c in ax.collections}
    assert set(by_label) == set(CLASSES)
    assert to_hex(by_label["AGN"].get_facecolor()[0], keep_alpha=False) == to_hex("blue")
    assert by_label["SN"].get_offsets().shape[0] == int((labels == 1).sum())
    assert_real_png(figures.save_figure(fig, tmp_path / "tsne.png"))
    with pytest.raises(ValueError, match="shape"):
        figures.plot_tsne({"rnn": np.zeros((5, 2))}, labels, CLASSES)


def test_history_has_both_losses_and_auc_on_a_second_axis(tmp_path):
    epochs = np.arange(1, 51)
    history = pd.DataFrame(
        {
            "epoch": epochs,
            "train_loss": 1.0 / np.sqrt(epochs),
            "val_loss": 1.1 / np.sqrt(epochs) + 0.002 * epochs,
            "val_auc": 0.95 - 0.3 * np.exp(-epochs / 10),
        }
    )
    fig = figures.plot_history(history, title="history")
    assert len(fig.axes) == 2
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["Training loss", "Validation loss", "Validation AUC"]
    assert_real_png(figures.save_figure(fig, tmp_path / "history.png"))

    no_auc = figures.plot_history(history.assign(val_auc=None))
    assert len(no_auc.axes) == 1
    with pytest.raises(ValueError, match="val_loss"):
        figures.plot_history(history.drop(columns="val_loss"))


def test_importing_figures_leaves_pyplot_and_rcparams_alone():
    # dict.items reads rcParams raw: asking for the backend would itself import pyplot.
    code = (
        "import sys, matplotlib; before = sorted(map(repr, dict.items(matplotlib.rcParams))); "
        "import lcrnn.evaluate.figures, lcrnn.evaluate.report; "
        "after = sorted(map(repr, dict.items(matplotlib.rcParams))); "
        "print('matplotlib.pyplot' in sys.modules, after == before)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]
