"""The `lcrnn ingest` and `lcrnn serve` sub-commands, through Typer's CliRunner."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from lcrnn.cli import app
from lcrnn.serve.store import StateStore

ZTF = Path(__file__).resolve().parents[1] / "data" / "ztf"


def test_ingest_alerts_with_a_saved_run_then_again(saved_run, toy_survey, tmp_path):
    """The run reads band L; ZTF alerts are g and r: --band r classifies r, the g points are counted apart."""
    from lcrnn.serve.ztf_alerts import read_ztf_alerts

    alerts = read_ztf_alerts(sorted(ZTF.glob("*.avro")))
    in_r = alerts.detections[alerts.detections.band == "r"].drop_duplicates(["object_id", "mjd"])
    n_r, n_g = len(in_r), int((alerts.detections.band == "g").sum())
    n_ul_r, n_ul_g = (int((alerts.upper_limits.band == b).sum()) for b in ("r", "g"))
    assert n_r and n_g and n_ul_r and n_ul_g  # the fixture alerts really hold both bands
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    toy_survey[2].to_parquet(tmp_path / "galaxies.parquet")  # the catalogue saved_run was trained with
    args = ["ingest", "--db", url, "--model", str(saved_run), "--galaxies", str(tmp_path / "galaxies.parquet"),
            "--no-progress", "--band", "r", str(ZTF)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (f"2 new object(s), {n_r} detection(s) classified, 0 repeat(s) ignored, {n_ul_r} upper limit(s)"
            in result.output)
    assert f"skipped {n_g} detections.other_band, {n_ul_g} upper_limits.other_band" in result.output
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0 and f"0 detection(s) classified, {n_r} repeat(s)" in result.output
    store = StateStore(url)
    obj = store.get_object("ZTF17aaacxxf")
    assert obj["n_obs"] == int((in_r.object_id == "ZTF17aaacxxf").sum())
    assert {o["band"] for o in obj["observations"]} == {"r"}
    assert abs(sum(obj["probabilities"].values()) - 1) < 1e-5
    assert set(obj["probabilities"]) == {"VS", "SN", "AGN"}
    store.close()


def test_ingest_and_serve_refuse_a_wrong_model_path(tmp_path, plain_output):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    result = CliRunner().invoke(app, ["ingest", "--db", url, "--model", str(tmp_path / "nope"), str(ZTF)])
    assert result.exit_code == 2 and "nope does not exist" in plain_output(result)
    result = CliRunner().invoke(app, ["serve", "--db", url, "--model", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "nope does not exist" in plain_output(result)
    result = CliRunner().invoke(app, ["serve", "--db", url, "--model", str(tmp_path)])
    assert result.exit_code == 2
    assert "is not an lcrnn run directory (no model.safetensors or config.json" in plain_output(result)


def test_ingest_registers_the_context_an_objects_file_carries(saved_run, toy_survey, tmp_path):
    """`lcrnn ingest --objects FILE`: positions, and the context when the file carries it (as batch prediction
    takes it), so no catalogue is read for those objects."""
    import pytest

    from lcrnn.data.context import compute_context

    photometry, objects, galaxies = toy_survey
    some = objects.iloc[:4]
    carrying = some.merge(compute_context(some, galaxies), on="object_id").assign(galaxy_dist_arcsec=3.0)
    carrying.to_csv(tmp_path / "objects.csv", index=False)
    photometry[photometry["object_id"].isin(some["object_id"])].to_csv(tmp_path / "photometry.csv", index=False)
    url = f"sqlite:///{tmp_path / 'carried.db'}"
    result = CliRunner().invoke(app, ["ingest", "--db", url, "--model", str(saved_run), "--no-galaxies",
                                      "--objects", str(tmp_path / "objects.csv"), "--no-progress",
                                      str(tmp_path / "photometry.csv")])
    assert result.exit_code == 0, result.output
    store = StateStore(url)
    for oid in some["object_id"]:
        assert store.get_object(str(oid), with_photometry=False)["context"]["galaxy_dist_arcsec"] == pytest.approx(3.0)
    store.close()
