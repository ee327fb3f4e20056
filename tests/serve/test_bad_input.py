"""Every bad value is a 422 (or a 404 for a path) with a JSON body, never a 500 and never stored.

Each test runs on SQLite and on PostgreSQL (skipped when unreachable), since a NUL byte is stored by one and
refused with a driver error by the other.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from lcrnn.serve.app import ServeConfig, create_app

TOKEN = "bad-input-token"
AUTH = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
OBS = '{{"object_id": "a1", "mjd": {mjd}, "mag": {mag}, "mag_err": {err}{extra}}}'


@pytest.fixture
def client(backend_url, monkeypatch, incremental_factory):
    """The service on an empty store, one object ``a1`` registered (a model without context input)."""
    monkeypatch.setenv("LCRNN_API_TOKEN", TOKEN)
    url, prefix = backend_url
    inc, *_ = incremental_factory("gru", use_context=False)
    config = ServeConfig(db_url=url, db_prefix=prefix)
    with TestClient(create_app(config, model=inc), raise_server_exceptions=False) as c:
        assert (
            c.post("/objects", content='{"object_id": "a1", "ra": 10, "dec": 5}', headers=AUTH).status_code
            == 201
        )
        yield c


def _counts(client) -> dict:
    return {k: v for k, v in client.get("/healthz").json().items() if k in ("objects", "observations")}


def _observation(mjd="59000.5", mag="18.0", err="0.1", extra="") -> str:
    return "[" + OBS.format(mjd=mjd, mag=mag, err=err, extra=extra) + "]"


@pytest.mark.parametrize("literal", ["NaN", "-Infinity", "1e400", "true", '"59000"'])
@pytest.mark.parametrize("field", ["mjd", "mag_err"])
def test_nonfinite_overflowing_or_boolean_numbers_in_observations_are_422_with_json_body(
    client, field, literal
):
    before = _counts(client)
    resp = client.post(
        "/observations", content=_observation(**{{"mag_err": "err"}.get(field, field): literal}), headers=AUTH
    )
    assert resp.status_code == 422, resp.text
    assert [e["loc"] for e in resp.json()["detail"]] == [["body", 0, field]]
    assert _counts(client) == before


@pytest.mark.parametrize(
    ("field", "literal"),
    [
        ("ra", "NaN"),
        ("dec", "Infinity"),
        ("ra", "1e400"),
        ("dec", "true"),
        ("ra", "false"),
        ("ra", '"10"'),
        ("dec", "null"),
    ],
)
def test_nonfinite_or_boolean_positions_are_422_with_json_body(client, field, literal):
    values = {"ra": "10", "dec": "5", field: literal}
    body = f'{{"object_id": "b1", "ra": {values["ra"]}, "dec": {values["dec"]}}}'
    resp = client.post("/objects", content=body, headers=AUTH)
    assert resp.status_code == 422, resp.text
    assert resp.json()["detail"][0]["loc"] == ["body", field]
    assert client.get("/objects/b1").status_code == 404


@pytest.mark.parametrize("char", ["\\u0000", "\\u007f"])
@pytest.mark.parametrize("field", ["object_id", "band", "alert_id"])
def test_nul_and_control_characters_in_observation_text_are_422_and_not_stored(client, field, char):
    before = _counts(client)
    values = {"object_id": "a1", "band": "g", "alert_id": "x1", field: f"a{char}1"}
    extra = f', "band": "{values["band"]}", "alert_id": "{values["alert_id"]}"'
    body = "[" + OBS.format(mjd=59000.5, mag=18, err=0.1, extra=extra).replace(
        '"a1"', f'"{values["object_id"]}"', 1
    )
    resp = client.post("/observations", content=body + "]", headers=AUTH)
    assert resp.status_code == 422, resp.text
    assert _counts(client) == before


@pytest.mark.parametrize("object_id", ["a\\u00001", "..", ".", "a/b", "a b", "\\u00a0", "a\\tb", ".hidden"])
def test_ids_that_cannot_round_trip_through_a_url_cannot_be_registered(client, object_id):
    resp = client.post("/objects", content=f'{{"object_id": "{object_id}", "ra": 1, "dec": 2}}', headers=AUTH)
    assert resp.status_code == 422, resp.text
    assert resp.json()["detail"][0]["loc"] == ["body", "object_id"]


@pytest.mark.parametrize("object_id", ["ZTF21aaaaaaa", "a%b", "a?b#c", "SN-2011fe", "é", "a..b"])
def test_every_registrable_id_round_trips_through_the_url(client, object_id):
    from urllib.parse import quote

    assert (
        client.post("/objects", json={"object_id": object_id, "ra": 1, "dec": 2}, headers=AUTH).status_code
        == 201
    )
    resp = client.get(f"/objects/{quote(object_id, safe='')}")
    assert resp.status_code == 200 and resp.json()["object_id"] == object_id


@pytest.mark.parametrize(
    "path", ["/objects/a%001", "/objects/a%0a", "/objects/a%2Fb", "/objects/%20", "/objects/.x"]
)
def test_nul_or_illegal_id_in_the_path_is_404_not_500(client, path):
    for method in ("GET", "DELETE"):
        resp = client.request(method, path, headers=AUTH)
        assert resp.status_code in (404, 405), (method, resp.status_code, resp.text)
        assert "detail" in resp.json()
    resp = client.delete(path + "/observations/59000.5", headers=AUTH)
    assert resp.status_code == 404, resp.text


@pytest.mark.parametrize(
    ("mjd", "hint"),
    [
        ("2459000.5", "subtract 2400000.5"),
        ("12.5", "days since the first observation"),
        ("1e300", ""),
        ("0", "days since the first observation"),
        ("-59000", ""),
    ],
)
def test_implausible_mjd_is_422_with_a_hint_and_not_stored(client, mjd, hint):
    before = _counts(client)
    resp = client.post("/observations", content=_observation(mjd=mjd), headers=AUTH)
    assert resp.status_code == 422, resp.text
    [error] = resp.json()["detail"]
    assert error["loc"] == ["body", 0, "mjd"]
    assert "plausible range [15000, 100000]" in error["msg"] and hint in error["msg"]
    assert _counts(client) == before
    assert client.get("/candidates", params={"cls": "SN", "min_prob": 0}).json() == []


def test_mjd_range_is_configurable(tmp_path, monkeypatch, incremental_factory):
    from lcrnn.data.tables import MjdRange

    monkeypatch.setenv("LCRNN_API_TOKEN", TOKEN)
    inc, *_ = incremental_factory("gru", use_context=False)
    config = ServeConfig(db_url=f"sqlite:///{tmp_path / 's.db'}", mjd_range=MjdRange(0.0, 1000.0))
    with TestClient(create_app(config, model=inc)) as c:
        c.post("/objects", json={"object_id": "a1", "ra": 1, "dec": 2}, headers=AUTH)
        assert c.post("/observations", content=_observation(mjd="12.5"), headers=AUTH).status_code == 200
        resp = c.post("/observations", content=_observation(mjd="59000.5"), headers=AUTH)
        assert resp.status_code == 422 and "[0, 1000]" in resp.text


def test_openapi_lists_every_status_code_each_route_returns(client):
    paths = client.get("/openapi.json").json()["paths"]

    def codes(path, method):
        return set(paths[path][method]["responses"])

    assert codes("/objects", "post") == {"200", "201", "400", "401", "403", "409", "413", "422"}
    assert codes("/observations", "post") == {"200", "400", "401", "403", "404", "413", "422"}
    assert codes("/objects/{object_id}", "get") == {"200", "404", "422"}
    assert codes("/objects/{object_id}", "delete") == {"200", "401", "403", "404", "422"}
    assert codes("/objects/{object_id}/observations/{mjd}", "delete") == {"200", "401", "403", "404", "422"}
    assert codes("/candidates", "get") == {"200", "422"}
    [cls] = [p for p in paths["/candidates"]["get"]["parameters"] if p["name"] == "cls"]
    assert cls["schema"]["enum"] == ["VS", "SN", "AGN"]  # an unknown class is a schema violation
    error = paths["/observations"]["post"]["responses"]["413"]["content"]["application/json"]["schema"]
    assert error == {"$ref": "#/components/schemas/Error"}
