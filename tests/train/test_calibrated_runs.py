"""Calibrated probabilities by default on every route (issue 16, item 1), raw ones and other priors on request."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from lcrnn.classifier import Classifier
from lcrnn.cli import app as cli
from lcrnn.data.io import write_survey
from lcrnn.data.tables import validate_survey
from lcrnn.evaluate.metrics import auc_vs_n_obs
from lcrnn.model.inference import SequenceTensors, predict_logits
from lcrnn.serve.app import ClassificationService, ServeConfig, create_app
from lcrnn.serve.incremental import ModelMismatchError
from lcrnn.train.run_dir import load_run
from lcrnn.workflows.predict_stream import predict_parquet

SMALL = dict(hidden=8, dense=8, epochs=3, lr=1e-2, batch_size=32, device="cpu", progress=False)


@pytest.fixture(scope="module")
def fitted(toy_survey):
    return Classifier(**SMALL).fit(*toy_survey)


def _validation(clf, survey):
    seqs = clf.prepare(*survey)
    return seqs.subset(np.flatnonzero(clf.split_.part_of(seqs.object_ids) == "val"))


def test_fit_calibrates_on_validation_and_never_raises_its_loss(fitted, toy_survey):
    calibration = fitted.model_.calibration
    val = _validation(fitted, toy_survey)
    assert calibration is not None and calibration.n_fit == len(val)
    labels = torch.as_tensor(val.labels)
    fitted.raw = True
    raw = torch.as_tensor(fitted.predict_proba_sequences(val))
    fitted.raw = False
    calibrated = torch.as_tensor(fitted.predict_proba_sequences(val))
    nll = lambda p: float(torch.nn.functional.nll_loss(torch.log(p.clamp_min(1e-12)), labels))  # noqa: E731
    assert nll(calibrated) <= nll(raw) + 1e-6
    assert np.bincount(val.labels, minlength=3) / len(val) == pytest.approx(calibration.priors)


def test_predict_proba_is_calibrated_by_default_raw_on_request(fitted, toy_survey):
    fitted.raw, fitted.priors = False, None
    val = _validation(fitted, toy_survey)
    logits = predict_logits(fitted.network_, SequenceTensors.from_set(fitted.scaler_.transform(val),
                                                                      torch.device("cpu")))
    calibration = fitted.model_.calibration
    np.testing.assert_allclose(fitted.predict_proba_sequences(val), calibration.probabilities(logits).numpy(),
                               atol=1e-6)
    fitted.raw = True
    np.testing.assert_allclose(fitted.predict_proba_sequences(val), torch.softmax(logits, 1).numpy(), atol=1e-6)
    assert fitted.output_ == "raw softmax"
    fitted.raw, fitted.priors = False, "VS=0.98,SN=0.01,AGN=0.01"
    shifted = fitted.predict_proba_sequences(val)
    assert fitted.output_.startswith("calibrated, priors VS=0.98")
    assert shifted[:, 0].mean() > calibration.probabilities(logits)[:, 0].mean().item()  # more VS expected
    fitted.raw = True
    with pytest.raises(ValueError, match="drop --raw"):
        fitted.predict_proba_sequences(val)
    fitted.raw, fitted.priors = False, None


def test_the_run_records_its_calibration_and_old_runs_give_the_raw_softmax(fitted, tmp_path):
    path = fitted.save(tmp_path / "run")
    recorded = json.loads((path / "config.json").read_text())["calibration"]
    assert recorded["temperature"] == pytest.approx(fitted.model_.calibration.temperature)
    assert load_run(path).calibration == fitted.model_.calibration
    config = json.loads((path / "config.json").read_text())
    config["calibration"] = None
    (path / "config.json").write_text(json.dumps(config))
    assert Classifier.load(path).output_ == "raw softmax (run saved without calibration)"


def test_cli_predict_says_which_probabilities_and_refuses_bad_priors(fitted, toy_survey, tmp_path, plain_output):
    survey, _ = validate_survey(*toy_survey)
    data = write_survey(survey, tmp_path / "s")["photometry"].parent
    run = fitted.save(tmp_path / "run")
    base = ["predict", "--model", str(run), "--data", str(data)]
    ok = CliRunner().invoke(cli, [*base, "--out", str(tmp_path / "p.csv")])
    assert ok.exit_code == 0 and "(calibrated probabilities)" in ok.output, ok.output
    raw = CliRunner().invoke(cli, [*base, "--out", str(tmp_path / "r.csv"), "--raw"])
    assert raw.exit_code == 0 and "(raw softmax probabilities)" in raw.output
    bad = CliRunner().invoke(cli, [*base, "--out", str(tmp_path / "b.csv"), "--priors", "VS=1,SN=1"])
    assert bad.exit_code == 2 and "missing ['AGN']" in plain_output(bad) and not (tmp_path / "b.csv").exists()


def test_auto_priors_are_the_batchs_own_mix_applied_by_bayes_rule(fitted, toy_survey, tmp_path, plain_output):
    """``priors="auto"``: the estimated mix, passed back as explicit priors, gives the same probabilities."""
    fitted.raw, fitted.priors = False, "auto"
    try:
        auto = fitted.predict_proba(*toy_survey)
        estimated = fitted.estimated_priors_
        assert set(estimated) == {"VS", "SN", "AGN"} and sum(estimated.values()) == pytest.approx(1.0)
        assert fitted.output_.startswith("calibrated, priors estimated from the objects classified: VS=")
        fitted.priors = estimated
        explicit = fitted.predict_proba(*toy_survey)
        np.testing.assert_allclose(auto.iloc[:, 1:].to_numpy(), explicit.iloc[:, 1:].to_numpy(), atol=1e-6)
    finally:
        fitted.priors = None
    survey, _ = validate_survey(*toy_survey)
    data = write_survey(survey, tmp_path / "s")["photometry"].parent
    run = fitted.save(tmp_path / "run")
    base = ["predict", "--model", str(run), "--data", str(data), "--priors", "auto"]
    ok = CliRunner().invoke(cli, [*base, "--out", str(tmp_path / "p.csv")])
    assert ok.exit_code == 0 and "priors estimated from the objects classified: VS=" in ok.output, ok.output
    chunked = CliRunner().invoke(cli, [*base, "--out", str(tmp_path / "c.csv"), "--chunk-rows", "100"])
    assert chunked.exit_code == 2 and "--chunk-rows classifies the catalogue piece by piece" in plain_output(chunked)
    raw = CliRunner().invoke(cli, [*base, "--out", str(tmp_path / "r.csv"), "--raw"])
    assert raw.exit_code == 2 and "drop --raw" in plain_output(raw)
    with pytest.raises(ValueError, match="one object at a time"):
        ClassificationService.from_run(run, f"sqlite:///{tmp_path / 'a.db'}", toy_survey[2], priors="auto")
    served = CliRunner().invoke(cli, ["serve", "--model", str(run), "--db", f"sqlite:///{tmp_path / 'b.db'}",
                                      "--priors", "auto"])
    assert served.exit_code == 2 and "one object at a time" in plain_output(served)
    assert not (tmp_path / "b.db").exists()  # refused before any store was made
    ingested = CliRunner().invoke(cli, ["ingest", str(data / "photometry.parquet"), "--model", str(run),
                                        "--db", f"sqlite:///{tmp_path / 'c.db'}", "--priors", "auto"])
    assert ingested.exit_code == 2 and "one object at a time" in plain_output(ingested)
    assert not (tmp_path / "c.db").exists()


def test_auto_priors_over_time_are_estimated_once_and_a_piecewise_route_refuses_them(fitted, toy_survey, tmp_path):
    fitted.raw, fitted.priors = False, "auto"
    try:
        over_time = fitted.predict_proba_over_time(*toy_survey)
        estimated = fitted.estimated_priors_
        fitted.priors = estimated  # the same probabilities at every k with the whole curves' estimate fixed
        fixed = fitted.predict_proba_over_time(*toy_survey)
        np.testing.assert_allclose(over_time.iloc[:, 3:].to_numpy(), fixed.iloc[:, 3:].to_numpy(), atol=1e-6)
        fitted.priors = "auto"
        rows = auc_vs_n_obs(fitted, fitted.prepare(*toy_survey), (1, 2))
        assert fitted.priors == "auto" and fitted.estimated_priors_ == pytest.approx(estimated)  # one estimate
        fitted.priors = estimated
        assert auc_vs_n_obs(fitted, fitted.prepare(*toy_survey), (1, 2)) == rows
        fitted.priors = "auto"
        assert fitted.predict_proba_sequences(fitted.prepare(*toy_survey).subset(np.arange(0))).shape[0] == 0
        assert fitted.estimated_priors_ is None  # an empty batch estimates nothing, and keeps no stale mix
        survey, _ = validate_survey(*toy_survey)
        paths = write_survey(survey, tmp_path / "s")
        with pytest.raises(ValueError, match="streamed prediction classifies the catalogue piece by piece"):
            predict_parquet(fitted, paths["photometry"], paths["objects"], tmp_path / "p.csv", toy_survey[2])
    finally:
        fitted.priors = None


def test_the_service_serves_calibrated_probabilities_and_a_store_keeps_to_one_kind(fitted, toy_survey, tmp_path,
                                                                                 monkeypatch):
    run = fitted.save(tmp_path / "run")
    toy_survey[2].to_parquet(tmp_path / "galaxies.parquet")
    url = f"sqlite:///{tmp_path / 's.db'}"
    config = ServeConfig(model_dir=run, db_url=url, galaxies_path=tmp_path / "galaxies.parquet")
    with TestClient(create_app(config)) as client:
        assert client.get("/healthz").json()["probabilities"] == "calibrated"
    with pytest.raises(ModelMismatchError, match="calibrated probabilities, not raw softmax"):
        ClassificationService.from_run(run, url, toy_survey[2], raw=True)


def test_reports_give_the_raw_scores_auc_beside_the_calibrated_one(fitted, toy_survey):
    """Calibration's class offsets change how objects rank by p_i, so the Hand & Till AUC of the calibrated
    probabilities differs from the raw network's; both are reported, and the model is left as it was."""
    from lcrnn.evaluate.report import raw_score_auc
    from lcrnn.train.scores import hand_till_auc

    fitted.raw, fitted.priors = False, None
    val = _validation(fitted, toy_survey)
    fitted.raw = True
    expected = hand_till_auc(val.labels, fitted.predict_proba_sequences(val))
    assert raw_score_auc(fitted, val) is None  # a model already reporting raw scores
    fitted.raw = False
    assert raw_score_auc(fitted, val) == pytest.approx(expected) and fitted.raw is False
