"""A run and a store remember the galaxy catalogue (and the model) they were made with (issue 13, item 1).

Before, a context model served or used without ``--galaxies`` silently gave every object the dummy galaxy
distance, and a store kept contexts of whatever catalogue it was first filled with.
"""

from __future__ import annotations

import json
import logging
import shutil
import warnings

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from lcrnn.classifier import Classifier
from lcrnn.cli import app as cli
from lcrnn.data.context import (
    CARRIED,
    NOT_RECORDED,
    MissingCatalogueError,
    catalogue_fingerprint,
    check_catalogue,
    compute_context,
    describe_catalogue,
)
from lcrnn.data.io import read_survey, read_table, write_survey
from lcrnn.data.tables import Survey
from lcrnn.errors import InvalidTableError, LcrnnWarning
from lcrnn.serve.app import ClassificationService, ServeConfig, create_app
from lcrnn.serve.incremental import ModelMismatchError
from lcrnn.serve.store import StateStore
from lcrnn.train.run_dir import load_run


@pytest.fixture
def catalogues(toy_survey, tmp_path):
    """The catalogue saved_run was trained with, as a file, and another one (every galaxy moved 0.5 deg)."""
    galaxies = toy_survey[2]
    trained, other = tmp_path / "galaxies.parquet", tmp_path / "other.csv"
    galaxies.to_parquet(trained, index=False)
    galaxies.assign(dec=galaxies["dec"].clip(-89, 89) + 0.5).to_csv(other, index=False)
    return trained, other


def test_a_run_records_its_galaxy_catalogue_and_old_runs_still_load(saved_run, toy_survey, tmp_path):
    recorded = json.loads((saved_run / "config.json").read_text())["galaxies"]
    expected = catalogue_fingerprint(toy_survey[2])
    assert recorded["rows"] == len(toy_survey[2]) and recorded["sha256"] == expected["sha256"]
    assert load_run(saved_run).galaxies == recorded
    old = shutil.copytree(saved_run, tmp_path / "old-run")
    config = json.loads((old / "config.json").read_text())
    del config["galaxies"]
    (old / "config.json").write_text(json.dumps(config))
    assert load_run(old).galaxies == NOT_RECORDED


def test_read_survey_lets_the_fingerprint_name_the_catalogue_file(toy_survey, tmp_path):
    photometry, objects, galaxies = toy_survey
    write_survey(Survey(photometry, objects, galaxies), tmp_path / "s")
    fingerprint = catalogue_fingerprint(read_survey(tmp_path / "s").galaxies)
    assert fingerprint["source"] == str(tmp_path / "s" / "galaxies.parquet")
    assert fingerprint["rows"] == len(galaxies)


def test_serve_and_ingest_without_the_catalogue_are_refused_naming_it(saved_run, toy_survey, tmp_path,
                                                                       plain_output):
    db = tmp_path / "cli.db"
    for command in (["serve"], ["ingest", str(tmp_path)]):
        result = CliRunner().invoke(cli, [*command, "--model", str(saved_run), "--db", f"sqlite:///{db}"])
        text = plain_output(result)
        assert result.exit_code == 2, text
        assert "Traceback" not in result.output
        assert f"{len(toy_survey[2])} rows" in text and "--galaxies FILE" in text and "--no-galaxies" in text
    assert not db.exists()  # refused before the store was opened


def test_the_service_constructor_refuses_a_context_model_without_catalogue(incremental_factory, tmp_path):
    inc = incremental_factory("gru")[0]
    store = StateStore(f"sqlite:///{tmp_path / 's.db'}")
    trained = {"source": "survey/galaxies.parquet", "rows": 1234, "sha256": "ab" * 32}
    with pytest.raises(MissingCatalogueError, match=r"'survey/galaxies.parquet' \(1234 rows"):
        ClassificationService(inc, store, trained_catalogue=trained)
    with pytest.raises(MissingCatalogueError, match="does not record"):
        ClassificationService(inc, store)  # a bare model: which catalogue it needs is unknown
    store.close()


def test_the_opt_out_is_logged_and_reported_by_healthz(saved_run, tmp_path, caplog):
    config = ServeConfig(model_dir=saved_run, db_url=f"sqlite:///{tmp_path / 's.db'}", allow_missing_catalogue=True)
    with caplog.at_level(logging.WARNING, "lcrnn.serve"), TestClient(create_app(config)) as client:
        health = client.get("/healthz").json()
    assert health["catalogue"]["missing_allowed"] is True and health["catalogue"]["status"] == "missing-allowed"
    assert health["catalogue"]["given"] is None and health["catalogue"]["trained"]["rows"] > 0
    assert "no galaxy catalogue (--no-galaxies)" in caplog.text


def test_another_catalogue_is_said_once_naming_both(saved_run, catalogues, tmp_path, caplog):
    trained, other = catalogues
    config = ServeConfig(model_dir=saved_run, db_url=f"sqlite:///{tmp_path / 's.db'}", galaxies_path=other)
    with caplog.at_level(logging.WARNING, "lcrnn.serve"), TestClient(create_app(config)) as client:
        health = client.get("/healthz").json()
    assert health["catalogue"]["status"] == "different"
    warned = [r.getMessage() for r in caplog.records if "not the one the model was trained with" in r.getMessage()]
    assert len(warned) == 1 and str(other) in warned[0]
    assert load_run(saved_run).galaxies["sha256"][:12] in warned[0]
    config = ServeConfig(model_dir=saved_run, db_url=f"sqlite:///{tmp_path / 't.db'}", galaxies_path=trained)
    with TestClient(create_app(config)) as client:
        assert client.get("/healthz").json()["catalogue"]["status"] == "same"


def test_a_store_filled_with_one_catalogue_refuses_another(saved_run, catalogues, tmp_path):
    trained, other = catalogues
    url = f"sqlite:///{tmp_path / 's.db'}"
    ClassificationService.from_run(saved_run, url, read_table(trained, "galaxies")).store.close()
    for gal in (read_table(other, "galaxies"), None):
        with pytest.raises(ModelMismatchError, match="start a fresh database") as refused:
            ClassificationService.from_run(saved_run, url, gal, allow_missing_catalogue=gal is None)
        assert str(trained) in str(refused.value)  # names the catalogue it holds ...
        assert (str(other) if gal is not None else "not with no galaxy catalogue") in str(refused.value)  # ... and this
    ClassificationService.from_run(saved_run, url, read_table(trained, "galaxies")).store.close()  # same: fine


def test_a_store_filled_by_one_model_refuses_another_of_the_same_shape(incremental_factory, tmp_path):
    first, second = incremental_factory("gru", seed=0)[0], incremental_factory("gru", seed=1)[0]
    assert first.describe() == second.describe()  # same classes, state size, max_len: only the weights differ
    url = f"sqlite:///{tmp_path / 's.db'}"
    ClassificationService(first, StateStore(url), allow_missing_catalogue=True, run_name="first").store.close()
    with pytest.raises(ModelMismatchError, match="'first'.*not by 'second'"):
        ClassificationService(second, StateStore(url), allow_missing_catalogue=True, run_name="second")


def test_a_store_without_records_records_them_on_first_bind(incremental_factory, tmp_path):
    inc = incremental_factory("gru")[0]
    store = StateStore(f"sqlite:///{tmp_path / 's.db'}")
    store.bind_model(inc.describe())  # what a store written before these records holds
    assert set(store.bound()) == {"model"}
    ClassificationService(inc, store, allow_missing_catalogue=True, run_name="r")
    assert store.bound()["catalogue"] is None and store.bound()["run"]["name"] == "r"
    store.close()


def test_predict_without_catalogue_is_refused_unless_opted_out(saved_run, toy_survey, tmp_path, plain_output):
    photometry, objects, galaxies = toy_survey
    clf = Classifier.load(saved_run, device="cpu")
    with pytest.raises(MissingCatalogueError, match="allow_missing_catalogue=True"):
        clf.predict_proba(photometry, objects)
    with pytest.warns(LcrnnWarning, match="no galaxy catalogue"):
        dummy = clf.predict_proba(photometry, objects, allow_missing_catalogue=True)
    with_context = objects.merge(compute_context(objects, galaxies, clf.context_config_), on="object_id")
    carried = clf.predict_proba(photometry, with_context)  # objects carry their context: no catalogue needed
    matched = clf.predict_proba(photometry, objects, galaxies)
    assert carried.shape == dummy.shape
    assert np.allclose(carried.iloc[:, 1:], matched.iloc[:, 1:], atol=1e-6)

    write_survey(Survey(photometry, objects, None), tmp_path / "nogal")
    args = ["predict", "--model", str(saved_run), "--data", str(tmp_path / "nogal"), "--out", str(tmp_path / "p.csv")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "--no-galaxies" in plain_output(result) and not (tmp_path / "p.csv").exists()
    result = CliRunner().invoke(cli, [*args, "--no-galaxies"])
    assert result.exit_code == 0, result.output
    assert "no galaxy catalogue" in plain_output(result)  # the output says the opt-out was taken


def test_batch_prediction_with_another_catalogue_warns_once_naming_both(saved_run, toy_survey, catalogues):
    photometry, objects, _ = toy_survey
    trained, other = catalogues
    clf = Classifier.load(saved_run, device="cpu")
    with pytest.warns(LcrnnWarning) as caught:
        for _ in range(3):  # e.g. chunks of one prediction: said once
            clf.predict_proba(photometry, objects, read_table(other, "galaxies"))
    said = [str(w.message) for w in caught if "not the one the model was trained with" in str(w.message)]
    assert len(said) == 1 and str(other) in said[0] and load_run(saved_run).galaxies["sha256"][:12] in said[0]
    assert clf.catalogue_note == said[0]


def test_evaluate_without_catalogue_is_refused_unless_opted_out(saved_run, toy_survey, tmp_path, plain_output):
    photometry, objects, _ = toy_survey
    write_survey(Survey(photometry, objects, None), tmp_path / "nogal")
    args = ["evaluate", "--model", str(saved_run), "--data", str(tmp_path / "nogal"), "--out", str(tmp_path / "rep"),
            "--split", "all", "--tsne-samples", "30", "--max-obs", "2", "--no-progress"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "--no-galaxies" in plain_output(result) and not (tmp_path / "rep" / "report.html").exists()
    result = CliRunner().invoke(cli, [*args, "--no-galaxies"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "rep" / "report.html").is_file() and "dummy galaxy distance" in plain_output(result)


def test_fit_reads_context_the_objects_carry_as_predict_does_and_records_it(toy_survey, tmp_path):
    """Objects carrying their context (e.g. surveys simulated against different catalogues, pooled) train on
    those values, not on a dummy distance; the run says so, and asks for a catalogue when it predicts."""
    photometry, objects, galaxies = toy_survey
    settings = dict(hidden=8, dense=8, epochs=2, lr=1e-2, batch_size=32, device="cpu", progress=False, seed=3)
    matched = Classifier(**settings).fit(photometry, objects, galaxies)
    with_context = objects.merge(compute_context(objects, galaxies), on="object_id")
    carried = Classifier(**settings).fit(photometry, with_context)
    np.testing.assert_allclose(carried.history_["val_loss"], matched.history_["val_loss"], rtol=1e-5)
    assert carried.model_.galaxies == CARRIED and "carried by the objects table" in describe_catalogue(CARRIED)
    carried.save(tmp_path / "run")
    again = Classifier.load(tmp_path / "run", device="cpu")
    assert again.model_.galaxies == CARRIED
    with pytest.raises(MissingCatalogueError, match="carried by the objects table"):
        again.predict_proba(photometry, objects)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a catalogue given to such a run is taken without a warning
        from_catalogue = again.predict_proba(photometry, objects, galaxies)
    np.testing.assert_allclose(from_catalogue.iloc[:, 1:], again.predict_proba(photometry, with_context).iloc[:, 1:],
                               atol=1e-6)
    # Served, it asks for a catalogue too, before any store exists, and takes one without a warning.
    with pytest.raises(MissingCatalogueError, match="carried by the objects table"):
        ClassificationService.from_run(tmp_path / "run", f"sqlite:///{tmp_path / 'no.db'}")
    assert not (tmp_path / "no.db").exists()
    assert check_catalogue(CARRIED, catalogue_fingerprint(galaxies), uses_context=True).status == "carried"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ClassificationService.from_run(tmp_path / "run", f"sqlite:///{tmp_path / 's.db'}", galaxies).store.close()
    # The carried columns are checked: a missing value is named, a repeated id keeps its first row.
    holed = with_context.assign(gal_b=with_context["gal_b"].mask(with_context.index == 3))
    with pytest.raises(InvalidTableError, match="1 object with gal_l, gal_b or galaxy_dist_arcsec missing"):
        Classifier(**settings).fit(photometry, holed)
    with pytest.raises(InvalidTableError, match="carries gal_l, gal_b but not galaxy_dist_arcsec"):
        Classifier(**settings).fit(photometry, with_context.drop(columns="galaxy_dist_arcsec"))
    doubled = pd.concat([with_context, with_context.iloc[:2].assign(gal_l=0.0)], ignore_index=True)
    with pytest.warns(LcrnnWarning, match="dropped"):  # validation drops the repeats; their context goes too
        kept = again.predict_proba(photometry, doubled, on_invalid="drop")
    np.testing.assert_allclose(kept.iloc[:, 1:], again.predict_proba(photometry, with_context).iloc[:, 1:],
                               atol=1e-6)
    # On the command line too: a survey directory whose objects carry their context needs no catalogue.
    write_survey(Survey(photometry, with_context, None), tmp_path / "carrying")
    result = CliRunner().invoke(cli, ["predict", "--model", str(tmp_path / "run"), "--data",
                                      str(tmp_path / "carrying"), "--out", str(tmp_path / "p.csv")])
    assert result.exit_code == 0, result.output
    written = pd.read_csv(tmp_path / "p.csv").set_index("object_id").loc[from_catalogue["object_id"]]
    np.testing.assert_allclose(written[from_catalogue.columns[1:4]], from_catalogue.iloc[:, 1:4], atol=1e-5)
    # The service registers carried context as it is, so served probabilities equal batch ones here too.
    service = ClassificationService.from_run(tmp_path / "run", f"sqlite:///{tmp_path / 'c.db'}", galaxies)
    service.register(with_context.assign(galaxy_dist_arcsec=3.0).iloc[:5])
    stored = service.store.get_object(str(with_context["object_id"].iloc[0]))
    assert stored["context"]["galaxy_dist_arcsec"] == pytest.approx(3.0)
    service.store.close()
    # Out-of-range carried values are refused by name, like any bad row.
    with pytest.raises(InvalidTableError, match="gal_l outside"):
        Classifier(**settings).fit(photometry, with_context.assign(gal_l=with_context["gal_l"] - 360.0))
    # A catalogue given beside carried context is not used, and that is said.
    with pytest.warns(LcrnnWarning, match="galaxy catalogue given is not used"):
        both = again.predict_proba(photometry, with_context.assign(galaxy_dist_arcsec=3.0), galaxies)
    assert not np.allclose(both.iloc[:, 1:], from_catalogue.iloc[:, 1:], atol=1e-6)
    # Without the carried columns the same data trains on the dummy distance: other losses.
    dummy = Classifier(**settings).fit(photometry, objects)
    assert not np.allclose(dummy.history_["val_loss"], matched.history_["val_loss"])
