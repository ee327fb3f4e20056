"""The train -> predict -> reproduce path through the `lcrnn` command, as a user would run it."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from lcrnn.cli import app
from lcrnn.data.io import write_survey
from lcrnn.data.tables import Survey

runner = CliRunner()


@pytest.fixture(scope="module")
def survey_dir(tmp_path_factory, toy_survey_factory):
    photometry, objects, galaxies = toy_survey_factory(seed=3)
    directory = tmp_path_factory.mktemp("toy")
    write_survey(Survey(photometry, objects, galaxies), directory)
    return directory


@pytest.fixture(scope="module")
def run_dir(survey_dir, tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "gru-focal"
    result = runner.invoke(app, ["train", "--data", str(survey_dir), "--out", str(run), "--hidden", "16",
                                 "--dense", "16", "--epochs", "4", "--lr", "0.01", "--batch-size", "32"])
    assert result.exit_code == 0, result.output
    assert "validation AUC" in result.output
    return run


def test_train_writes_a_complete_run(run_dir):
    names = {p.name for p in run_dir.iterdir()}
    assert {"model.safetensors", "config.json", "history.csv", "metrics.json", "loss_curve.png"} <= names
    assert "checkpoint" not in names  # removed once the run is saved
    config = json.loads((run_dir / "config.json").read_text())
    assert config["classes"] == ["VS", "SN", "AGN"]
    assert config["context"]["dummy_distance_arcsec"] == 120.0
    assert set(config["split"]) == {"train", "val", "test"}
    history = pd.read_csv(run_dir / "history.csv")
    assert list(history["epoch"]) == [1, 2, 3, 4]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert 0.5 < metrics["validation"]["auc_hand_till"] <= 1.0
    assert metrics["test"]["n"] == len(config["split"]["test"])


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--select-by", "val_f1", "select_by must be 'val_auc' or 'val_loss'"),
    ("--loss", "hinge", "loss must be 'ce', 'wce' or 'focal'"),
    ("--rnn", "transformer", "transformer"),
])
def test_train_refuses_a_bad_option_value_by_name(survey_dir, tmp_path, option, value, message):
    result = runner.invoke(app, ["train", "--data", str(survey_dir), "--out", str(tmp_path / "run"), option, value])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "run" / "model.safetensors").exists()


def test_predict_writes_probabilities_for_the_test_split(run_dir, survey_dir, tmp_path):
    out = tmp_path / "pred.csv"
    result = runner.invoke(app, ["predict", "--model", str(run_dir), "--data", str(survey_dir), "--out", str(out),
                                 "--split", "test"])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["object_id", "p_VS", "p_SN", "p_AGN", "predicted"]
    config = json.loads((run_dir / "config.json").read_text())
    assert sorted(frame["object_id"]) == sorted(config["split"]["test"])
    assert (frame[["p_VS", "p_SN", "p_AGN"]].sum(axis=1) - 1).abs().max() < 1e-5
    assert "Hand & Till AUC" in result.output


def test_predict_with_a_wrong_model_path_says_what_to_do(survey_dir, tmp_path, plain_output):
    result = runner.invoke(app, ["predict", "--model", str(tmp_path), "--data", str(survey_dir),
                                 "--out", str(tmp_path / "p.csv")])
    assert result.exit_code == 2
    assert "is not an lcrnn run directory" in plain_output(result)


@pytest.mark.slow
def test_reproduce_runs_the_main_job_end_to_end(survey_dir, tmp_path):
    result = runner.invoke(app, ["reproduce", "--data", str(survey_dir), "--out", str(tmp_path / "main"),
                                 "--epochs", "2"])
    assert result.exit_code == 0, result.output
    assert "Hand & Till AUC" in result.output
    assert (tmp_path / "main" / "report" / "report.html").is_file()
    assert (tmp_path / "main" / "describe" / "summary.json").is_file()
    page = (tmp_path / "main" / "report" / "report.html").read_text(encoding="utf-8")
    assert 'href="../describe/fig1_magnitudes.png"' in page  # the describe figures linked (issue 16)
    run = json.loads((tmp_path / "main" / "report" / "metrics.json").read_text())["gru-focal"]["run"]
    assert run["data"] == str(survey_dir) and run["seed"] == 0
