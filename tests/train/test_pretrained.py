"""The shipped model goto-sim (issue 15, item 4): it loads by name everywhere and still gives its recorded
probabilities on the fixture scripts/make_pretrained.py wrote when it made the model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from lcrnn.classifier import Classifier
from lcrnn.cli import app
from lcrnn.data.context import CONTEXT_COLUMNS
from lcrnn.train.pretrained import PRETRAINED_DIR, model_card, shipped_model, shipped_models
from lcrnn.train.run_dir import NotARunError, load_run, require_run_dir, weights_sha256

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "pretrained_fixture.parquet"
OBJECT_COLUMNS = ["object_id", "ra", "dec", "label", *CONTEXT_COLUMNS]
runner = CliRunner()


@pytest.fixture(scope="module")
def fixture() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Photometry, objects (carrying their context) and the probabilities recorded when the model was made."""
    table = pd.read_parquet(FIXTURE)
    objects = table[OBJECT_COLUMNS].drop_duplicates("object_id").reset_index(drop=True)
    photometry = table[["object_id", "mjd", "mag", "mag_err", "band"]]
    recorded = table[["object_id", *[c for c in table.columns if c.startswith("p_")]]].drop_duplicates("object_id")
    return photometry, objects, recorded.reset_index(drop=True)


def test_goto_sim_is_shipped_inside_the_package_and_small():
    assert shipped_models() == {"goto-sim": PRETRAINED_DIR / "goto-sim"}
    card = model_card("goto-sim")
    assert 100_000 < card["size_bytes"] < 5_000_000  # a few MB at most
    assert card["metrics"]["auc"] > 0.85 and 0.0 <= card["metrics"]["ece"] < 0.2
    assert card["recipe"]["augment"]["prefix"] > 0 and card["recipe"]["network"]["hidden"] == 150


def test_the_shipped_model_reproduces_its_recorded_probabilities(fixture):
    photometry, objects, recorded = fixture
    assert len(objects) >= 20 and set(objects["label"]) == {"VS", "SN", "AGN"}
    clf = Classifier.load("goto-sim", device="cpu")
    assert clf.model_.name == "goto-sim" and clf.model_.calibration is not None
    proba = clf.predict_proba(photometry, objects)
    assert proba["object_id"].tolist() == recorded["object_id"].tolist()
    np.testing.assert_allclose(proba.iloc[:, 1:].to_numpy(), recorded.iloc[:, 1:].to_numpy(), atol=1e-5)
    # Not a constant answer: the model tells the fixture's classes apart.
    predicted = np.asarray(clf.classes_)[proba.iloc[:, 1:].to_numpy().argmax(axis=1)]
    assert (predicted == objects["label"].to_numpy()).mean() > 0.5


def test_a_path_wins_over_a_name_and_a_wrong_name_lists_the_shipped_models(tmp_path, monkeypatch):
    assert require_run_dir("goto-sim") == PRETRAINED_DIR / "goto-sim"
    assert shipped_model("./goto-sim") is None and shipped_model("runs/goto-sim") is None
    with pytest.raises(NotARunError, match=r"goto-simm does not exist\. .*shipped model \(goto-sim; `lcrnn models`"):
        load_run("goto-simm")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "goto-sim").mkdir()  # a directory of that name here is what the user means
    with pytest.raises(NotARunError, match="is not an lcrnn run directory"):
        load_run("goto-sim")


def test_lcrnn_models_lists_the_shipped_model_with_its_card(plain_output):
    result = runner.invoke(app, ["models"])
    assert result.exit_code == 0, result.output
    text = plain_output(result)
    card = model_card("goto-sim")
    assert text.startswith("goto-sim ") and "lcrnn simulate --seed 0" in text and "--robust" in text
    assert f"AUC (Hand & Till) {card['metrics']['auc']:.3f}" in text and "ECE" in text
    real = card["real_data"]  # zero-shot on real light curves, measured for these very weights
    assert real["weights_sha256"] == weights_sha256(Classifier.load("goto-sim", device="cpu").network_)
    assert 0.5 < real["auc"] <= 1.0 and "zero-shot" in real["on"]
    assert f"real data: AUC (Hand & Till) {real['auc']:.3f} ± {real['auc_std']:.3f}" in text
    listed = json.loads(runner.invoke(app, ["models", "--json"]).output)
    assert [c["name"] for c in listed] == ["goto-sim"] and listed[0]["metrics"] == card["metrics"]


@pytest.mark.filterwarnings("ignore:the galaxy catalogue given")  # the few nearest galaxies, not the whole one
def test_predict_and_fine_tune_take_the_name(fixture, tmp_path, plain_output):
    photometry, objects, recorded = fixture
    data = tmp_path / "survey"
    data.mkdir()
    photometry.to_parquet(data / "photometry.parquet")
    objects[["object_id", "ra", "dec", "label"]].to_parquet(data / "objects.parquet")
    # Each object's nearest galaxy within 60 arcsec: the same distances as the training catalogue gives.
    hosts = pd.read_parquet(FIXTURE)[["object_id", "host_ra", "host_dec"]].drop_duplicates("object_id").dropna()
    hosts.rename(columns={"host_ra": "ra", "host_dec": "dec"})[["ra", "dec"]].to_parquet(data / "galaxies.parquet")
    out = tmp_path / "p.csv"
    result = runner.invoke(app, ["predict", "--model", "goto-sim", "--data", str(data), "--out", str(out)])
    assert result.exit_code == 0, result.output
    written = pd.read_csv(out)
    np.testing.assert_allclose(written[recorded.columns[1:]].to_numpy(), recorded.iloc[:, 1:].to_numpy(), atol=1e-5)
    wrong = runner.invoke(app, ["predict", "--model", "goto-simm", "--data", str(data), "--out", str(out)])
    assert wrong.exit_code == 2 and "goto-sim;" in plain_output(wrong)
    tuned = tmp_path / "tuned"
    result = runner.invoke(app, ["train", "--init", "goto-sim", "--data", str(data), "--out", str(tuned),
                                 "--epochs", "1", "--batch-size", "8", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    config = json.loads((tuned / "config.json").read_text())
    assert config["finetune"]["init"] == "goto-sim" and config["network"]["hidden"] == 150
