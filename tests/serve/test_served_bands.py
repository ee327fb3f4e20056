"""One band a light curve on the served route too (issue 13, item 5): ZTF g and r were mixed into one sequence.

The batch route refuses photometry in several bands unless one is chosen; a run now records the band it was
trained in, the service reads that band (or the one given with ``--band``) and refuses the others, and
``lcrnn ingest`` refuses a multi-band file unless a band is chosen, then skips and counts the rest.
"""

from __future__ import annotations

import json
import logging
import shutil

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from lcrnn.cli import app as cli
from lcrnn.errors import InvalidConfigError, InvalidLightCurveError
from lcrnn.serve.app import ClassificationService, ServeConfig, create_app
from lcrnn.serve.ingest import ingest_files
from lcrnn.serve.service import served_bands
from lcrnn.train.run_dir import load_run

AUTH = {"Authorization": "Bearer t"}
OBJECT = {"object_id": "obj-1", "ra": 150.0, "dec": 2.0}


def observation(band: str, mjd: float = 59000.0) -> dict:
    return {"object_id": "obj-1", "mjd": mjd, "mag": 18.5, "mag_err": 0.05, "band": band}


def test_a_run_records_its_band_and_a_bad_record_is_refused_naming_the_field(saved_run, tmp_path):
    assert json.loads((saved_run / "config.json").read_text())["band"] == "L"  # the toy survey is GOTO's L
    assert load_run(saved_run).band == "L"
    old = shutil.copytree(saved_run, tmp_path / "old-run")
    config = json.loads((old / "config.json").read_text())
    del config["band"]
    (old / "config.json").write_text(json.dumps(config))
    assert load_run(old).band is None  # runs saved before the record still load
    config["band"] = 3
    (old / "config.json").write_text(json.dumps(config))
    with pytest.raises(InvalidConfigError, match="band"):
        load_run(old)


@pytest.mark.parametrize(
    ("asked", "trained", "bands", "said"),
    [(None, "L", ("L",), None), ("L", "L", ("L",), None), ("r", "L", ("r",), "trained on band 'L'"),
     ("r,R", "r+R", ("r", "R"), None), (None, "r+R", ("r", "R"), None), (None, None, None, "does not record")],
)
def test_the_service_reads_the_model_band_or_the_one_asked_for(asked, trained, bands, said):
    got, message = served_bands(asked, trained)
    assert got == bands
    assert (message is None) if said is None else (said in message)


def test_an_observation_in_another_band_is_a_422_naming_band_and_option(saved_run, toy_survey, tmp_path,
                                                                          monkeypatch):
    monkeypatch.setenv("LCRNN_API_TOKEN", "t")
    toy_survey[2].to_parquet(tmp_path / "galaxies.parquet")
    config = ServeConfig(model_dir=saved_run, db_url=f"sqlite:///{tmp_path / 's.db'}",
                         galaxies_path=tmp_path / "galaxies.parquet")
    with TestClient(create_app(config)) as client:
        assert client.get("/healthz").json()["band"]["read"] == ["L"]
        assert client.post("/objects", json=OBJECT, headers=AUTH).status_code == 201
        refused = client.post("/observations", json=[observation("L"), observation("g", 59001.0)], headers=AUTH)
        assert refused.status_code == 422
        detail = json.dumps(refused.json())
        assert "band(s) 'g'" in detail and "reads band 'L'" in detail and "--band g" in detail
        assert client.get("/objects/obj-1").json()["n_obs"] == 0  # nothing of the batch was stored
        assert client.post("/observations", json=[observation("L")], headers=AUTH).status_code == 200


def test_serving_another_band_is_said_once_and_reported_by_healthz(saved_run, toy_survey, tmp_path, monkeypatch,
                                                                    caplog):
    monkeypatch.setenv("LCRNN_API_TOKEN", "t")
    toy_survey[2].to_parquet(tmp_path / "galaxies.parquet")
    config = ServeConfig(model_dir=saved_run, db_url=f"sqlite:///{tmp_path / 's.db'}",
                         galaxies_path=tmp_path / "galaxies.parquet", band="r")
    with caplog.at_level(logging.WARNING, "lcrnn.serve"), TestClient(create_app(config)) as client:
        band = client.get("/healthz").json()["band"]
        assert band["read"] == ["r"] and band["trained"] == "L" and band["asked"] is True
        client.post("/objects", json=OBJECT, headers=AUTH)
        assert client.post("/observations", json=[observation("r")], headers=AUTH).status_code == 200
        assert client.post("/observations", json=[observation("L", 59002.0)], headers=AUTH).status_code == 422
    assert sum("trained on band 'L'" in r.getMessage() for r in caplog.records) == 1


def two_band_table(tmp_path) -> tuple:
    rows = pd.DataFrame({"object_id": ["a", "a", "a", "b"], "mjd": [59000.0, 59000.0, 59003.0, 59001.0],
                         "mag": [18.0, 18.4, 18.1, 19.0], "mag_err": [0.05] * 4, "band": ["L", "g", "L", "g"],
                         "ra": [10.0, 10.0, 10.0, 20.0], "dec": [5.0, 5.0, 5.0, 6.0]})
    rows.to_csv(tmp_path / "two-bands.csv", index=False)
    return tmp_path / "two-bands.csv", rows


def test_ingest_refuses_other_bands_naming_them_unless_one_is_chosen(saved_run, toy_survey, tmp_path):
    path, rows = two_band_table(tmp_path)
    url = f"sqlite:///{tmp_path / 'i.db'}"
    service = ClassificationService.from_run(saved_run, url, toy_survey[2])
    with pytest.raises(InvalidLightCurveError, match=r"2 detections in band 'g'.*reads band 'L'.*--band L"):
        ingest_files([path], service)
    assert service.store.counts()["observations"] == 0  # refused before anything was written
    summary = ingest_files([path], service, on_invalid="drop")
    assert summary.accepted == 2 and summary.dropped == {"detections.other_band": 2}
    service.store.close()
    chosen = ClassificationService.from_run(saved_run, url, toy_survey[2], band="L")
    summary = ingest_files([path], chosen)  # a chosen band: the rest skipped and counted, no error
    assert summary.duplicates == 2 and summary.dropped == {"detections.other_band": 2}
    assert {o["band"] for o in chosen.store.get_object("a")["observations"]} == {"L"}
    chosen.store.close()


def test_cli_ingest_band_mjd_range_and_position_tolerance(saved_run, toy_survey, tmp_path, plain_output):
    path, rows = two_band_table(tmp_path)
    toy_survey[2].to_parquet(tmp_path / "galaxies.parquet")
    base = ["ingest", "--db", f"sqlite:///{tmp_path / 'c.db'}", "--model", str(saved_run), "--no-progress",
            "--galaxies", str(tmp_path / "galaxies.parquet")]
    refused = CliRunner().invoke(cli, [*base, str(path)])
    assert refused.exit_code == 2 and "--band" in plain_output(refused) and "Traceback" not in refused.output
    narrow = CliRunner().invoke(cli, [*base, "--band", "L", "--mjd-range", "59000.5", "60000", str(path)])
    assert narrow.exit_code == 2 and "mjd" in plain_output(narrow)  # MJD 59000.0 is outside the range given
    ok = CliRunner().invoke(cli, [*base, "--band", "L", str(path)])
    assert ok.exit_code == 0 and "2 detection(s) classified" in ok.output and "2 detections.other_band" in ok.output
    moved = rows.assign(mjd=rows.mjd + 10, dec=rows.dec + 5 / 3600)  # 5 arcsec from where the objects were
    moved.to_csv(tmp_path / "moved.csv", index=False)
    far = CliRunner().invoke(cli, [*base, "--band", "L", str(tmp_path / "moved.csv")])
    assert far.exit_code == 2 and "5.00 arcsec" in plain_output(far)
    tolerant = CliRunner().invoke(cli, [*base, "--band", "L", "--position-tolerance-arcsec", "10",
                                        str(tmp_path / "moved.csv")])
    assert tolerant.exit_code == 0 and "2 detection(s) classified" in tolerant.output, tolerant.output
    bad = CliRunner().invoke(cli, [*base, "--position-tolerance-arcsec", "-1", str(path)])
    assert bad.exit_code == 2 and "position_tolerance_arcsec" in plain_output(bad)


def test_the_served_schema_lists_the_bands_read(saved_run, toy_survey, tmp_path):
    """Schema and service agree (schemathesis' positive-data check): ``band`` is one of the bands read."""
    toy_survey[2].to_parquet(tmp_path / "galaxies.parquet")
    for asked, required in ((None, False), ("r", True)):
        config = ServeConfig(model_dir=saved_run, db_url=f"sqlite:///{tmp_path / f'{asked}.db'}",
                             galaxies_path=tmp_path / "galaxies.parquet", band=asked)
        with TestClient(create_app(config)) as client:
            observation = client.get("/openapi.json").json()["components"]["schemas"]["ObservationIn"]
        assert observation["properties"]["band"]["enum"] == [asked or "L"]
        assert ("band" in observation["required"]) is required  # the default band L is not read with --band r
