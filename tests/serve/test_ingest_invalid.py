"""Bad ZTF alerts and files in ``lcrnn ingest``, and one rule for an object whose position moves.

Damaged alerts are written in tmp_path from the real packets in tests/data/ztf with fastavro (the schema made
nullable where a field is set to null, the field removed from schema and record where it goes missing).
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path

import fastavro
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from lcrnn.errors import InvalidTableError
from lcrnn.serve.app import ClassificationService, ServeConfig, create_app
from lcrnn.serve.ingest import InvalidAlertError, ingest_files, read_ztf_alerts
from lcrnn.serve.store import ObjectConflictError, StateStore

ZTF = Path(__file__).resolve().parents[1] / "data" / "ztf"
ALERT = ZTF / "2019_01_10_739260766315010006.avro"  # ZTF17aaacxxf, candid 739260766315010006
OTHER = ZTF / "472263571115115000.avro"  # ZTF17aaajnnn
CANDID = 739260766315010006
MISSING = object()


def read(path: Path) -> tuple[dict, list[dict]]:
    with path.open("rb") as handle:
        reader = fastavro.reader(handle)
        return copy.deepcopy(reader.writer_schema), list(reader)


def candidate_fields(schema: dict) -> list[dict]:
    return next(f for f in schema["fields"] if f["name"] == "candidate")["type"]["fields"]


def damaged(path: Path, field: str, value=MISSING, **changes) -> Path:
    """A copy of ALERT with ``candidate[field]`` removed (MISSING) or set (null allowed), and ``changes``."""
    schema, alerts = read(ALERT)
    fields = candidate_fields(schema)
    spec = next(f for f in fields if f["name"] == field)
    cand = alerts[0]["candidate"]
    if value is MISSING:
        fields.remove(spec)
        del cand[field]
    else:
        if not isinstance(spec["type"], list):
            spec["type"] = ["null", spec["type"]]
        cand[field] = value
    cand.update(changes)
    with path.open("wb") as handle:
        fastavro.writer(handle, fastavro.parse_schema(schema), alerts)
    return path


def moved(path: Path, arcsec: float, candid: int = 1) -> Path:
    """A later alert of ZTF17aaacxxf (another candid) whose position is ``arcsec`` north of the real one."""
    schema, alerts = read(ALERT)
    cand = alerts[0]["candidate"]
    cand["dec"] += arcsec / 3600.0
    cand["candid"] = alerts[0]["candid"] = candid
    with path.open("wb") as handle:
        fastavro.writer(handle, fastavro.parse_schema(schema), alerts)
    return path


def make_service(tmp_path: Path, inc, name: str = "ingest.db", **store_options) -> ClassificationService:
    return ClassificationService(inc, StateStore(f"sqlite:///{tmp_path / name}", **store_options))


@pytest.fixture
def inc(incremental_factory):
    """A model without context: these tests are about alerts and positions, not the galaxy catalogue."""
    return incremental_factory("gru", use_context=False)[0]


@pytest.fixture
def service(tmp_path, inc):
    svc = make_service(tmp_path, inc)
    yield svc
    svc.store.close()


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [("sigmapsf", MISSING, "is missing"), ("ra", None, "is null"), ("magpsf", float("nan"), "is not finite")],
)
def test_bad_alert_field_is_named_by_file_candid_and_field_in_strict_mode(
    service, tmp_path, field, value, words
):
    bad = damaged(tmp_path / "bad.avro", field, value)
    with pytest.raises(InvalidAlertError) as err:
        ingest_files([OTHER, bad], service)
    text = str(err.value)
    assert str(bad) in text and str(CANDID) in text and f"candidate.{field} {words}" in text
    assert 'on_invalid="drop"' in text
    assert service.store.counts()["objects"] == 0  # nothing written in strict mode


@pytest.mark.parametrize(("field", "value"), [("sigmapsf", MISSING), ("ra", None)])
def test_bad_alert_is_skipped_counted_and_logged_in_lenient_mode(service, tmp_path, caplog, field, value):
    bad = damaged(tmp_path / "bad.avro", field, value)
    with caplog.at_level(logging.WARNING):
        summary = ingest_files([OTHER, bad], service, on_invalid="drop")
    assert summary.dropped == {"alerts.invalid_field": 1}
    assert (summary.registered, summary.accepted, summary.upper_limits) == (1, 1, 11)  # OTHER's alert
    assert service.store.get_object("ZTF17aaacxxf") is None
    logged = [r.message for r in caplog.records if r.name.startswith("lcrnn.serve")]
    assert any(str(bad) in m and str(CANDID) in m and f"candidate.{field}" in m for m in logged), logged


def test_implausible_alert_value_is_named_by_the_data_layer_rule(service, tmp_path):
    bad = damaged(tmp_path / "bad.avro", "sigmapsf", 50.0)  # an error of 50 mag: the data layer refuses it
    with pytest.raises(InvalidAlertError) as err:
        ingest_files([bad], service)
    assert (
        f"bad.avro, alert {CANDID} (ZTF17aaacxxf): candidate.sigmapsf = 50.0 breaks the data layer's rule "
        "for mag_err (mag_err >= 10 mag" in str(err.value)
    )
    far = damaged(tmp_path / "far.avro", "dec", 95.0)
    with pytest.raises(InvalidAlertError, match=r"candidate\.dec = 95\.0 breaks .* \(dec outside"):
        ingest_files([far], service)
    assert ingest_files([bad], service, on_invalid="drop").dropped == {"alerts.invalid_value": 1}


@pytest.mark.parametrize(
    "content",
    [ALERT.read_bytes()[:40_000], b"not an avro file at all", b""],
    ids=["truncated", "garbage", "empty"],
)
def test_unreadable_alert_file_strict_names_it_lenient_skips_it_and_ingests_the_rest(
    service, tmp_path, content
):
    broken = tmp_path / "broken.avro"
    broken.write_bytes(content)
    with pytest.raises(InvalidAlertError, match=r"broken\.avro: cannot be read as Avro alerts"):
        ingest_files([ALERT, broken, OTHER], service)
    summary = ingest_files([ALERT, broken, OTHER], service, on_invalid="drop")
    assert summary.dropped == {"files.unreadable": 1}
    assert (summary.registered, summary.accepted, summary.upper_limits) == (2, 24, 17)


def test_file_of_another_format_is_skipped_in_lenient_mode(service, tmp_path):
    (tmp_path / "notes.txt").write_text("hello\n")
    summary = ingest_files([tmp_path / "notes.txt", ALERT], service, on_invalid="drop")
    assert summary.dropped == {"files.unreadable": 1} and summary.accepted == 23


# --- a moving position: the same decision within a run and across runs -----------------------------------


def run_both_ways(tmp_path, inc, later: Path, on_invalid: str):
    """ALERT then ``later``, in one run and in two (fresh stores): (outcome, stored ra/dec) for each way."""
    outcomes = []
    for way, runs in (("within", [[ALERT, later]]), ("across", [[ALERT], [later]])):
        svc = make_service(tmp_path, inc, f"{way}.db")
        try:
            dropped: dict = {}
            for files in runs:
                dropped.update(ingest_files(files, svc, on_invalid=on_invalid).dropped)
            outcome = dropped
        except ObjectConflictError as exc:
            outcome = exc
        obj = svc.store.get_object("ZTF17aaacxxf", with_photometry=False)
        outcomes.append((outcome, (obj["ra"], obj["dec"]) if obj else None))
        svc.store.close()
    return outcomes


def test_position_within_tolerance_is_the_same_object_within_and_across_runs(tmp_path, inc):
    later = moved(tmp_path / "later.avro", arcsec=0.5)
    within, across = run_both_ways(tmp_path, inc, later, "raise")
    first = (75.2007803, 35.3613954)  # the first alert's position is kept
    assert within == across == ({}, pytest.approx(first))


def test_position_beyond_tolerance_is_refused_within_and_across_runs(tmp_path, inc):
    later = moved(tmp_path / "later.avro", arcsec=5.0, candid=42)
    (within, pos_w), (across, pos_a) = run_both_ways(tmp_path, inc, later, "raise")
    for err in (within, across):
        assert isinstance(err, ObjectConflictError)
        assert "later.avro" in str(err) and "42 (ZTF17aaacxxf)" in str(err) and "5.00 arcsec" in str(err)
        assert "tolerance of 1 arcsec" in str(err)
    # Strict mode checks before writing: within one run the object is not registered at all.
    assert pos_w is None and pos_a == pytest.approx((75.2007803, 35.3613954))


def test_position_beyond_tolerance_is_skipped_and_counted_within_and_across_runs(tmp_path, inc):
    later = moved(tmp_path / "later.avro", arcsec=5.0)
    within, across = run_both_ways(tmp_path, inc, later, "drop")
    assert within == across == ({"alerts.moved_position": 1}, pytest.approx((75.2007803, 35.3613954)))


def test_position_tolerance_is_configurable_on_the_store(tmp_path, inc):
    svc = make_service(tmp_path, inc, position_tolerance_arcsec=10.0)
    ingest_files([ALERT], svc)
    assert ingest_files([moved(tmp_path / "later.avro", arcsec=5.0)], svc).dropped == {}
    with pytest.raises(ValueError, match="position_tolerance_arcsec must be a positive"):
        StateStore(f"sqlite:///{tmp_path / 'x.db'}", position_tolerance_arcsec=float("nan"))


def test_moved_position_is_409_through_the_http_service_as_in_ingest(tmp_path, inc, monkeypatch):
    svc = make_service(tmp_path, inc, "shared.db")
    ingest_files([ALERT], svc)
    svc.store.close()
    monkeypatch.setenv("LCRNN_API_TOKEN", "t")
    config = ServeConfig(db_url=f"sqlite:///{tmp_path / 'shared.db'}")
    auth = {"Authorization": "Bearer t"}
    with TestClient(create_app(config, model=inc)) as client:
        near = {"object_id": "ZTF17aaacxxf", "ra": 75.2007803, "dec": 35.3613954 + 0.5 / 3600}
        far = {**near, "dec": 35.3613954 + 5.0 / 3600}
        same = client.post("/objects", json=near, headers=auth)
        assert same.status_code == 200 and same.json()["created"] is False
        refused = client.post("/objects", json=far, headers=auth)
        assert refused.status_code == 409 and "ZTF17aaacxxf 5.00 arcsec away" in refused.json()["detail"]
        assert client.get("/objects/ZTF17aaacxxf").json()["dec"] == pytest.approx(35.3613954)


def test_table_row_at_another_position_follows_the_same_rule(service, tmp_path):
    ingest_files([ALERT], service)
    rows = "object_id,mjd,mag,mag_err,ra,dec\n"
    rows += f"ZTF17aaacxxf,58600.0,19.0,0.1,75.2007803,{35.3613954 + 5 / 3600}\n"
    rows += "ZTF17aaacxxf,58601.0,19.0,0.1,75.2007803,35.3613954\n"
    (tmp_path / "t.csv").write_text(rows)
    with pytest.raises(ObjectConflictError, match=r"t\.csv: row 0 \(ZTF17aaacxxf\) is 5\.00 arcsec"):
        ingest_files([tmp_path / "t.csv"], service)
    summary = ingest_files([tmp_path / "t.csv"], service, on_invalid="drop")
    assert summary.dropped == {"photometry.moved_position": 1} and summary.accepted == 1


def test_cli_ingest_names_a_bad_alert_with_exit_2_and_counts_skips_in_its_summary(
    saved_run, toy_survey, tmp_path, plain_output
):
    from typer.testing import CliRunner

    from lcrnn.cli import app

    toy_survey[2].to_parquet(tmp_path / "galaxies.parquet")  # the catalogue the run was trained with
    bad = damaged(tmp_path / "bad.avro", "sigmapsf")
    band = read_ztf_alerts([OTHER]).detections.band.iloc[0]  # the run reads band L: classify the alert's band
    args = ["ingest", "--db", f"sqlite:///{tmp_path / 'cli.db'}", "--model", str(saved_run), "--no-progress",
            "--galaxies", str(tmp_path / "galaxies.parquet"), "--band", band, str(OTHER), str(bad)]
    strict = CliRunner().invoke(app, args)
    text = plain_output(strict)
    assert strict.exit_code == 2 and "Traceback" not in text, text
    assert f"alert {CANDID} (ZTF17aaacxxf): candidate.sigmapsf is missing" in text
    lenient = CliRunner().invoke(app, [*args, "--on-invalid", "drop"])
    assert lenient.exit_code == 0, lenient.output
    assert "1 new object(s), 1 detection(s) classified" in lenient.output
    assert "skipped 1 alerts.invalid_field" in lenient.output


def test_many_bad_alerts_are_logged_one_line_each_then_one_summary_line(service, tmp_path, caplog):
    schema, alerts = read(ALERT)
    for k in range(25):
        packet = copy.deepcopy(alerts[0])
        packet["candid"] = packet["candidate"]["candid"] = k
        packet["candidate"]["sigmapsf"] = None
        alerts.append(packet)
    spec = next(f for f in candidate_fields(schema) if f["name"] == "sigmapsf")
    spec["type"] = ["null", spec["type"]]
    with (tmp_path / "many.avro").open("wb") as handle:
        fastavro.writer(handle, fastavro.parse_schema(schema), alerts)
    with caplog.at_level(logging.WARNING, logger="lcrnn.serve"):
        summary = ingest_files([tmp_path / "many.avro"], service, on_invalid="drop")
    assert summary.dropped == {"alerts.invalid_field": 25} and summary.accepted == 23  # the real alert
    lines = [r.message for r in caplog.records if r.name.startswith("lcrnn.serve")]
    assert len(lines) == 21 and "candidate.sigmapsf is null" in lines[0]
    assert "skipped 5 more bad alert(s)" in lines[-1]


def test_unreadable_table_strict_names_it_lenient_skips_it(service, tmp_path):
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really parquet")
    with pytest.raises(InvalidTableError, match=r"broken\.parquet"):
        ingest_files([tmp_path / "broken.parquet", ALERT], service)
    assert service.store.counts()["objects"] == 0
    summary = ingest_files([tmp_path / "broken.parquet", ALERT], service, on_invalid="drop")
    assert summary.dropped == {"files.unreadable": 1} and summary.accepted == 23


def test_objects_table_at_another_position_follows_the_same_rule(service, tmp_path):
    ingest_files([ALERT], service)
    objects = pd.DataFrame({"object_id": ["ZTF17aaacxxf"], "ra": [75.2007803], "dec": [35.3613954 + 5 / 3600]})
    pd.DataFrame({"object_id": ["ZTF17aaacxxf"], "mjd": [58600.0], "mag": [19.0], "mag_err": [0.1]}).to_csv(
        tmp_path / "p.csv", index=False
    )
    with pytest.raises(ObjectConflictError, match=r"objects row 0 \(ZTF17aaacxxf\) is 5\.00 arcsec"):
        ingest_files([tmp_path / "p.csv"], service, objects=objects)
    summary = ingest_files([tmp_path / "p.csv"], service, objects=objects, on_invalid="drop")
    assert summary.dropped == {"objects.moved_position": 1} and summary.accepted == 1
