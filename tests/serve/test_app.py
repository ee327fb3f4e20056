"""The HTTP service through FastAPI's TestClient: the routes, validation, auth and size limits.

That the service's probabilities are the batch Classifier's is pinned in test_served_equals_batch.py.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from lcrnn.data.tables import validate_objects, validate_photometry
from lcrnn.errors import InvalidTableError
from lcrnn.serve.app import ServeConfig, create_app

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def served(tmp_path, monkeypatch, incremental_factory):
    monkeypatch.setenv("LCRNN_API_TOKEN", TOKEN)
    inc, scaler, photometry, objects = incremental_factory("gru")
    config = ServeConfig(db_url=f"sqlite:///{tmp_path / 'serve.db'}", max_body_bytes=20_000, max_batch=100,
                         allow_missing_catalogue=True)  # the toy model was fitted without a catalogue
    with TestClient(create_app(config, model=inc)) as client:
        yield client, inc, scaler, photometry, objects


def post(client, path, body):
    """POST JSON as Python writes it, NaN and Infinity too (httpx's json= refuses them; parsers take them)."""
    return client.post(path, content=json.dumps(body), headers={**AUTH, "Content-Type": "application/json"})


def register_all(client, objects):
    for r in objects.itertuples():
        resp = client.post(
            "/objects", json={"object_id": r.object_id, "ra": r.ra, "dec": r.dec}, headers=AUTH
        )
        assert resp.status_code == 201, resp.text


def test_candidates_are_filtered_by_class_and_threshold_newest_first(served):
    client, _inc, *_ = served
    for i, mjd in enumerate([59001.0, 59003.0, 59002.0]):
        client.post("/objects", json={"object_id": f"c{i}", "ra": 10.0 * i, "dec": 5.0}, headers=AUTH)
        client.post(
            "/observations",
            json=[{"object_id": f"c{i}", "mjd": mjd, "mag": 18.0, "mag_err": 0.1}],
            headers=AUTH,
        )
    got = client.get("/candidates", params={"cls": "AGN", "min_prob": 0.0}).json()
    assert [c["object_id"] for c in got] == ["c1", "c2", "c0"]
    p = sorted(c["prob"] for c in got)
    got = client.get("/candidates", params={"cls": "AGN", "min_prob": p[1]}).json()
    assert len(got) == 2 and all(c["prob"] >= p[1] for c in got)
    listed = client.get("/objects", params={"cls": got[0]["leading_class"]}).json()
    assert all(o["leading_class"] == got[0]["leading_class"] for o in listed) and listed


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([{"object_id": "x", "mjd": 59000.0, "mag": 18.0, "mag_err": -0.1}], "mag_err"),
        ([{"object_id": "x", "mjd": 59000.0, "mag_err": 0.1}], "mag"),
        ([{"object_id": "x", "mjd": "soon", "mag": 18.0, "mag_err": 0.1}], "mjd"),
        ([{"object_id": "x", "mjd": 59000.0, "mag": 18.0, "mag_err": 0.1, "flux": 3}], "flux"),
        ([{"object_id": "x", "mjd": float("nan"), "mag": 18.0, "mag_err": 0.1}], "mjd"),
        ([{"object_id": "x", "mjd": 59000.0, "mag": 18.0, "mag_err": 0.1, "band": " "}], "band"),
    ],
)
def test_invalid_observation_gets_422_naming_the_field(served, body, field):
    client, *_ = served
    resp = post(client, "/observations", body)
    assert resp.status_code == 422
    assert any(err["loc"][-1] == field for err in resp.json()["detail"]), resp.json()


# Edge values of each rule: the service must accept exactly what the batch route accepts.
EDGES = [
    {"mag_err": 0.0},
    {"mag_err": -0.1},
    {"mag_err": 25.0},
    {"mag": float("inf")},
    {"mag": 60.0},
    {"mag": -50.0},
    {"mag_err": 12.0},
    {"mjd": -5.0},
    {"mjd": 0.0},
    {"mjd": float("-inf")},
    {"band": ""},
    {"object_id": " "},
]


@pytest.mark.parametrize("edge", EDGES, ids=[str(e) for e in EDGES])
def test_the_service_refuses_exactly_the_observations_the_data_layer_refuses(served, edge):
    client, *_ = served
    register_all(client, pd.DataFrame({"object_id": ["e"], "ra": [10.0], "dec": [5.0]}))
    row = {"object_id": "e", "mjd": 59000.0, "mag": 18.0, "mag_err": 0.1, "band": "g", **edge}
    try:
        validate_photometry(pd.DataFrame([row]))
        batch_refuses = None
    except InvalidTableError as exc:
        batch_refuses = exc.problems  # the message without the on_invalid advice a client cannot follow
        assert str(exc).startswith(exc.problems) and 'on_invalid="drop"' in str(exc)
    resp = post(client, "/observations", [row])
    if batch_refuses is None:
        assert resp.status_code == 200, resp.text
    else:
        assert resp.status_code == 422, resp.text
        assert [err["msg"] for err in resp.json()["detail"]] == [batch_refuses]  # the data layer's words
        assert resp.json()["detail"][0]["loc"] == ["body", 0, next(iter(edge))]
        assert "on_invalid" not in resp.text


def test_422_points_at_the_bad_row_of_a_batch_and_names_its_object(served):
    client, *_ = served
    register_all(client, pd.DataFrame({"object_id": ["a", "b"], "ra": [10.0, 20.0], "dec": [5.0, 6.0]}))
    rows = [{"object_id": o, "mjd": 59000.0 + i, "mag": 18.0, "mag_err": 0.1} for i, o in enumerate("abab")]
    rows[2]["mag_err"] = 0.0
    resp = post(client, "/observations", rows)
    assert resp.status_code == 422
    [err] = resp.json()["detail"]
    assert err["loc"] == ["body", 2, "mag_err"] and "mag_err <= 0 (objects 'a')" in err["msg"]
    assert client.get("/objects/b").json()["n_obs"] == 0  # nothing of a refused batch is stored


@pytest.mark.parametrize("position", [(360.0, 0.0), (-0.5, 0.0), (10.0, 90.5), (float("nan"), 0.0)])
def test_the_service_refuses_exactly_the_positions_the_data_layer_refuses(served, position):
    client, *_ = served
    ra, dec = position
    with pytest.raises(InvalidTableError) as refused:
        validate_objects(pd.DataFrame({"object_id": ["p"], "ra": [ra], "dec": [dec]}))
    resp = post(client, "/objects", {"object_id": "p", "ra": ra, "dec": dec})
    assert resp.status_code == 422, resp.text
    [column] = refused.value.invalid_rows  # the data layer names the column at fault
    want = {"loc": ["body", column], "msg": refused.value.problems, "type": "value_error"}
    assert resp.json()["detail"] == [want]


def test_invalid_object_and_unknown_class_get_422(served):
    client, *_ = served
    resp = client.post("/objects", json={"object_id": "a", "ra": 10.0, "dec": 95.0}, headers=AUTH)
    assert resp.status_code == 422 and resp.json()["detail"][0]["loc"] == ["body", "dec"]
    resp = client.get("/candidates", params={"cls": "QSO"})
    assert resp.status_code == 422 and resp.json()["detail"][0]["loc"] == ["query", "cls"]
    assert "VS" in resp.json()["detail"][0]["msg"]


def test_writes_need_the_bearer_token_reads_do_not(served, monkeypatch):
    client, *_ = served
    obj = {"object_id": "a", "ra": 10.0, "dec": 5.0}
    assert client.post("/objects", json=obj).status_code == 401
    assert client.post("/objects", json=obj).headers["www-authenticate"] == "Bearer"
    assert client.post("/objects", json=obj, headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert client.post("/observations", json=[], headers={"Authorization": "Basic abc"}).status_code == 401
    assert client.post("/objects", json=obj, headers=AUTH).status_code == 201
    assert client.get("/objects/a").status_code == 200
    client.app.state.token = None  # a server started without LCRNN_API_TOKEN refuses every write
    resp = client.post("/objects", json=obj, headers=AUTH)
    assert resp.status_code == 403 and "LCRNN_API_TOKEN" in resp.json()["detail"]


def test_oversized_requests_get_413(served):
    client, *_ = served
    big = [{"object_id": "x", "mjd": 59000.0 + i, "mag": 18.0, "mag_err": 0.1} for i in range(400)]
    resp = client.post(
        "/observations", content=json.dumps(big), headers={**AUTH, "Content-Type": "application/json"}
    )
    assert resp.status_code == 413 and "bytes" in resp.json()["detail"]

    def stream():  # no Content-Length: the limit counts the streamed bytes
        body = json.dumps(big).encode()
        for i in range(0, len(body), 4096):
            yield body[i : i + 4096]

    resp = client.post(
        "/observations", content=stream(), headers={**AUTH, "Content-Type": "application/json"}
    )
    assert resp.status_code == 413
    resp = client.post("/observations", json=big[:101], headers=AUTH)  # small enough in bytes, too many rows
    assert resp.status_code in (413,) and "at most 100" in resp.json()["detail"]


def test_unknown_objects_404_and_conflicting_registration_409(served):
    client, *_ = served
    resp = client.post(
        "/observations",
        json=[{"object_id": "ghost", "mjd": 59000.0, "mag": 18.0, "mag_err": 0.1}],
        headers=AUTH,
    )
    assert resp.status_code == 404 and "ghost" in resp.json()["detail"]
    assert client.get("/objects/ghost").status_code == 404
    assert (
        client.post("/objects", json={"object_id": "a", "ra": 1.0, "dec": 2.0}, headers=AUTH).status_code
        == 201
    )
    again = client.post("/objects", json={"object_id": "a", "ra": 1.0, "dec": 2.0}, headers=AUTH)
    assert again.status_code == 200 and again.json()["created"] is False
    assert (
        client.post("/objects", json={"object_id": "a", "ra": 3.0, "dec": 2.0}, headers=AUTH).status_code
        == 409
    )


def test_health_openapi_and_web_page(served):
    client, *_ = served
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["classes"] == ["VS", "SN", "AGN"] and health["objects"] == 0
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/objects", "/observations", "/objects/{object_id}", "/candidates", "/healthz"):
        assert path in paths
    assert "security" in paths["/observations"]["post"]
    page = client.get("/")
    assert page.status_code == 200 and "<table" in page.text and "lcrnn" in page.text
