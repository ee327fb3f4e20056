"""The HTML report: every figure it names exists, metrics.json holds the numbers, and the CLI drives it."""

from __future__ import annotations

import json
import re
import sys
import zlib
from pathlib import Path
from types import ModuleType, SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score, roc_auc_score
from threadpoolctl import threadpool_limits
from typer.testing import CliRunner

from lcrnn.data.sequences import build_sequences
from lcrnn.data.splits import make_split
from lcrnn.errors import InvalidTableError
from lcrnn.evaluate.report import EvaluableModel, build_report, model_uses_context, summary_table

CLASSES = ("VS", "SN", "AGN")
MODEL_FIGURES = {"confusion", "roc", "confusion_by_n_obs", "tsne", "history",
                 "confusion_views", "precision_recall", "reliability"}  # the last three: issue 16
N_OBS = range(1, 13)


class FakeModel:
    """A hand-made classifier with the report's model protocol: scores by mean magnitude (and latitude).

    The toy survey's VS are bright (15 mag) at low latitude, SN start at 18 and fade, AGN sit at 19; the
    latitude separates VS from the rest, so the context helps, as it does for the paper's network.
    """

    classes_ = CLASSES
    centres = np.array([15.0, 18.5, 19.0])

    def __init__(self, name: str, use_context: bool = True, split=None, history=True):
        self.name = name
        self.network_config_ = SimpleNamespace(use_context=use_context)
        self.split_ = split
        epochs = np.arange(1, 21)
        self.history_ = (
            pd.DataFrame({"epoch": epochs, "train_loss": 1 / epochs, "val_loss": 1.2 / epochs + 0.01 * epochs,
                          "val_auc": 0.9 - 0.2 * np.exp(-epochs / 5), "seconds": epochs * 0.1})
            if history else None
        )  # fmt: skip

    def prepare(self, photometry, objects, galaxies=None, first_n=None):
        context = pd.DataFrame(
            {"object_id": objects["object_id"], "gal_l": objects["ra"], "gal_b": objects["dec"],
             "galaxy_dist_arcsec": 0.0}
        )  # fmt: skip
        labels = objects.set_index("object_id")["label"] if "label" in objects.columns else None
        classes = CLASSES if labels is not None else None
        return build_sequences(photometry, context=context, labels=labels, classes=classes, first_n=first_n)

    def _features(self, seqs):
        mag = np.where(seqs.mask, seqs.values[:, :, 1], 0.0)
        # A fixed per-object error of up to 2 mag blurs VS into SN: the latitude then has work to do.
        error = np.array([zlib.crc32(str(i).encode()) % 1000 / 250.0 - 2.0 for i in seqs.object_ids])
        mean = mag.sum(axis=1) / seqs.lengths + error
        return mean, np.abs(seqs.context[:, 1])

    def predict_proba_sequences(self, seqs):
        mean, lat = self._features(seqs)
        logits = -((mean[:, None] - self.centres[None, :]) ** 2) / 0.5
        if self.network_config_.use_context:
            logits[:, 0] += np.where(lat < 10, 2.0, -2.0)
        proba = np.exp(logits - logits.max(axis=1, keepdims=True))
        return proba / proba.sum(axis=1, keepdims=True)

    def embed_sequences(self, seqs):
        mean, lat = self._features(seqs)
        rnn = np.column_stack([mean, seqs.lengths, seqs.values[:, 0, 1]])
        dense = np.column_stack([rnn, lat]) if self.network_config_.use_context else rnn * 2
        return {"rnn": rnn, "dense": dense}


@pytest.fixture(scope="module")
def split(toy_survey):
    _, objects, _ = toy_survey
    return make_split(objects["object_id"].to_numpy(), objects["label"].to_numpy(), seed=0)


@pytest.fixture(scope="module")
def report(toy_survey, split, tmp_path_factory):
    photometry, objects, galaxies = toy_survey
    models = [FakeModel("gru focal", split=split), FakeModel("gru focal NC", use_context=False, split=split)]
    out = tmp_path_factory.mktemp("report")
    with threadpool_limits(1):  # t-SNE's OpenMP threads crawl on a busy 2-core machine
        results = build_report(
            models, photometry, objects, galaxies, out, split="test", thresholds=(0.5, 0.7),
            tsne_samples=60, n_obs_values=N_OBS, progress=False,
        )  # fmt: skip
    return out, results, models


def test_fake_model_satisfies_the_protocol():
    assert isinstance(FakeModel("x"), EvaluableModel)


def test_html_references_only_files_that_exist(report):
    out, results, _ = report
    page = (out / "report.html").read_text(encoding="utf-8")
    sources = re.findall(r'<img src="([^"]+)"', page)
    assert "auc_vs_n_obs.png" in sources
    assert len(sources) == 1 + 2 * len(MODEL_FIGURES)
    for src in sources:
        assert not src.startswith(("/", "http")), "figures must be relative for an offline page"
        path = out / src
        assert path.is_file(), src
        data = path.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 8_000
    for m in results.values():
        assert set(m["figures"]) == MODEL_FIGURES
        assert all(f in sources for f in m["figures"].values())
    assert "<script" not in page and "http://" not in page and "https://" not in page


def test_metrics_json_matches_scikit_learn_on_the_test_split(report, toy_survey, split):
    out, results, models = report
    saved = json.loads((out / "metrics.json").read_text())
    assert saved == results
    assert set(saved) == {"gru focal", "gru focal NC"}

    photometry, objects, galaxies = toy_survey
    for model in models:
        m = saved[model.name]
        for key in ("auc_hand_till", "f1_macro", "confusion", "roc", "thresholds", "auc_vs_n_obs"):
            assert key in m
        # Independently: the model on the test objects only.
        seqs = model.prepare(photometry, objects, galaxies)
        test = seqs.subset(np.isin(seqs.object_ids, split.test))
        proba = model.predict_proba_sequences(test)
        assert m["n_objects"] == len(split.test) == len(test)
        assert m["auc_hand_till"] == pytest.approx(roc_auc_score(test.labels, proba, multi_class="ovo"))
        assert m["f1_macro"] == pytest.approx(f1_score(test.labels, proba.argmax(1), average="macro"))
        assert [r["n_obs"] for r in m["auc_vs_n_obs"]] == list(N_OBS)
        assert set(m["confusion_by_n_obs"]) == {"1", "6", "20"}
        assert np.sum(m["confusion_by_n_obs"]["1"]["counts"]) == len(test)
        assert len(m["thresholds"]) == 2 * len(CLASSES)
    # Context helps the fake model, as in the paper, so the ablation has something to show.
    assert saved["gru focal"]["auc_hand_till"] > saved["gru focal NC"]["auc_hand_till"]
    assert (saved["gru focal"]["use_context"], saved["gru focal NC"]["use_context"]) == (True, False)


def test_tsne_maps_a_stratified_sample_of_the_training_set(report, toy_survey, split):
    _, results, _ = report
    _, objects, _ = toy_survey
    train_counts = objects[objects["object_id"].isin(split.train)]["label"].value_counts()
    for m in results.values():
        assert m["tsne"]["split"] == "train"
        assert m["tsne"]["n_objects"] == 60 == sum(m["tsne"]["support"])
        for cls, kept in zip(CLASSES, m["tsne"]["support"]):
            assert kept == min(int(train_counts[cls]), 20)


def test_html_has_the_comparison_threshold_and_ablation_tables(report):
    out, results, _ = report
    page = (out / "report.html").read_text(encoding="utf-8")
    for heading in ("cf. Table 2", "cf. Table 3", "cf. Fig. 8", "Context ablation"):
        assert heading in page
    vs = next(r for r in results["gru focal"]["thresholds"] if r["class"] == "VS" and r["threshold"] == 0.7)
    assert f"({vs['tp']:,} of {vs['p']:,})" in page
    assert "Best model with context (gru focal) minus best without (gru focal NC)" in page
    table = summary_table(results)
    assert list(table["model"]) == ["gru focal", "gru focal NC"]
    assert {"AUC", "F1 macro", "accuracy", "recall VS", "recall SN", "recall AGN"} <= set(table.columns)


def test_use_context_is_read_from_the_config_the_model_exposes():
    assert model_uses_context(SimpleNamespace(config_={"use_context": False})) is False
    assert model_uses_context(SimpleNamespace(network_config=SimpleNamespace(use_context=False))) is False
    # Classifier.network_config is a method: it is skipped, the fitted network_config_ decides.
    model = SimpleNamespace(network_config=lambda: None, network_config_=SimpleNamespace(use_context=False))
    assert model_uses_context(model) is False
    assert model_uses_context(SimpleNamespace()) is True


def test_refuses_what_it_cannot_evaluate(toy_survey, tmp_path):
    photometry, objects, galaxies = toy_survey
    with pytest.raises(InvalidTableError, match="split='all'"):
        build_report([FakeModel("no split")], photometry, objects, galaxies, tmp_path, progress=False)
    with pytest.raises(InvalidTableError, match="label"):
        build_report([FakeModel("m")], photometry, objects.drop(columns="label"), galaxies, tmp_path,
                     split="all", progress=False)  # fmt: skip
    with pytest.raises(ValueError, match="split"):
        build_report([FakeModel("m")], photometry, objects, galaxies, tmp_path, split="train", progress=False)
    with pytest.raises(ValueError, match="tsne_split"):
        build_report([FakeModel("m")], photometry, objects, galaxies, tmp_path, tsne_split="everything")


def test_cli_evaluate_writes_the_report_and_prints_table2(toy_survey, tmp_path, monkeypatch, plain_output):
    from lcrnn.cli import app
    from lcrnn.data.io import write_survey
    from lcrnn.data.tables import validate_survey

    survey, _ = validate_survey(*toy_survey)
    write_survey(survey, tmp_path / "survey")
    loaded = []

    def fake_load(cls, path, device="auto"):
        loaded.append(Path(path))
        return FakeModel(Path(path).name, use_context=Path(path).name != "nc")

    # A stand-in module keeps torch out of this test; the slow test below loads a real Classifier.
    fake_module = ModuleType("lcrnn.classifier")
    fake_module.Classifier = type("Classifier", (), {"load": classmethod(fake_load)})
    monkeypatch.setitem(sys.modules, "lcrnn.classifier", fake_module)
    with threadpool_limits(1):
        result = CliRunner().invoke(
            app,
            ["evaluate", "--model", str(tmp_path / "nc"),
             "--data", str(tmp_path / "survey"), "--out", str(tmp_path / "rep"), "--split", "all",
             "--threshold", "0.6", "--threshold", "0.9", "--tsne-samples", "30", "--max-obs", "3",
             "--no-progress"],
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert loaded == [tmp_path / "nc"]
    saved = json.loads((tmp_path / "rep" / "metrics.json").read_text())
    assert set(saved) == {"nc"}
    assert saved["nc"]["n_objects"] == len(toy_survey[1])
    assert {r["threshold"] for r in saved["nc"]["thresholds"]} == {0.6, 0.9}
    assert [r["n_obs"] for r in saved["nc"]["auc_vs_n_obs"]] == [1, 2, 3]
    lines = result.output.splitlines()
    assert lines[0].split()[:4] == ["model", "context", "objects", "AUC"]
    row = next(line.split() for line in lines if line.split()[0] == "nc")
    assert row[1:4] == ["no", str(len(toy_survey[1])), f"{saved['nc']['auc_hand_till']:.3f}"]
    assert (tmp_path / "rep" / "report.html").is_file()

    bad = CliRunner().invoke(app, ["evaluate", "--model", "x", "--data", str(tmp_path / "survey"), "--out",
                                   str(tmp_path / "r2"), "--split", "everything"])  # fmt: skip
    assert bad.exit_code == 2 and "'everything' is not one of 'test', 'val', 'all'" in plain_output(bad)


@pytest.mark.slow
def test_cli_evaluates_a_real_trained_classifier(toy_survey, tmp_path):
    from lcrnn.classifier import Classifier
    from lcrnn.cli import app
    from lcrnn.data.io import write_survey
    from lcrnn.data.tables import validate_survey

    survey, _ = validate_survey(*toy_survey)
    write_survey(survey, tmp_path / "survey")
    clf = Classifier(hidden=8, dense=8, epochs=3, lr=1e-2, batch_size=32, progress=False)
    clf.fit(survey.photometry, survey.objects, survey.galaxies).save(tmp_path / "gru-tiny")
    with threadpool_limits(1):
        args = [
            "evaluate",
            "--model",
            str(tmp_path / "gru-tiny"),
            "--data",
            str(tmp_path / "survey"),
            "--out",
            str(tmp_path / "rep"),
            "--tsne-samples",
            "50",
            "--max-obs",
            "6",
            "--no-progress",
        ]
        result = CliRunner().invoke(app, args)  # fmt: skip
    assert result.exit_code == 0, result.output
    saved = json.loads((tmp_path / "rep" / "metrics.json").read_text())["gru-tiny"]
    assert saved["n_objects"] == len(clf.split_.test)
    assert saved["use_context"] is True
    assert 0.0 <= saved["auc_hand_till"] <= 1.0
    assert set(saved["figures"]) == MODEL_FIGURES
    assert all((tmp_path / "rep" / f).is_file() for f in saved["figures"].values())
