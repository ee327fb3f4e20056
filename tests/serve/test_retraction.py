"""Retraction: an authorised DELETE takes back a detection (or an object), rebuilds the object, keeps the record.

After a retraction the served probabilities and history equal ``Classifier.predict_proba`` on the remaining
detections (a real tiny Classifier, saved and served through the one run loader), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient

from lcrnn.classifier import Classifier
from lcrnn.data.features import SHAPE_FEATURES
from lcrnn.serve.app import ServeConfig, create_app

TOKEN = "retraction-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ATOL = 1e-5


@pytest.fixture(scope="module", params=[False, True], ids=["plain", "features"])
def tiny(request, tmp_path_factory, toy_survey):
    """A saved tiny Classifier without context input (and with the features branch, re-reading its light
    curves: lcrnn.serve.prefixes), and four objects with 6+ detections each."""
    photometry, objects, galaxies = toy_survey
    train = objects.groupby("label").head(12).reset_index(drop=True)
    torch.manual_seed(0)
    clf = Classifier(
        use_context=False,
        max_len=20,
        hidden=8,
        dense=8,
        epochs=1,
        batch_size=16,
        device="cpu",
        progress=False,
        summary=SHAPE_FEATURES if request.param else (),
    ).fit(photometry[photometry.object_id.isin(train.object_id)], train, galaxies)
    path = clf.save(tmp_path_factory.mktemp("retract") / "run")
    counts = photometry.groupby("object_id").size()
    chosen = objects[objects.object_id.isin(counts[counts >= 6].index)].groupby("label").head(2).head(4)
    return (
        path,
        Classifier.load(path, device="cpu"),
        photometry[photometry.object_id.isin(chosen.object_id)],
        chosen,
    )


@pytest.fixture
def served(tiny, backend_url, monkeypatch):
    monkeypatch.setenv("LCRNN_API_TOKEN", TOKEN)
    path, clf, photometry, objects = tiny
    url, prefix = backend_url
    with TestClient(create_app(ServeConfig(model_dir=path, db_url=url, db_prefix=prefix))) as client:
        for r in objects.itertuples():
            body = {"object_id": r.object_id, "ra": r.ra, "dec": r.dec}
            assert client.post("/objects", json=body, headers=AUTH).status_code == 201
        rows = [
            {
                "object_id": r.object_id,
                "mjd": float(r.mjd),
                "mag": float(r.mag),
                "mag_err": float(r.mag_err),
                "alert_id": f"{r.object_id}-{i}",
            }
            for i, r in enumerate(photometry.itertuples())
        ]
        assert client.post("/observations", json=rows, headers=AUTH).status_code == 200
        yield client, clf, photometry, objects


def _batch(clf, photometry, objects):
    """The batch route's probabilities, columns named by class."""
    proba = clf.predict_proba(photometry, objects).set_index("object_id")
    return proba[[f"p_{c}" for c in clf.classes_]].set_axis(list(clf.classes_), axis=1)


def test_retracting_detections_rebuilds_the_object_equal_to_the_batch_model(served):
    client, clf, photometry, objects = served
    oid = objects.object_id.iloc[0]
    mine = photometry[photometry.object_id == oid].sort_values("mjd")
    gone = [float(mine.mjd.iloc[0]), float(mine.mjd.iloc[3])]  # the first one shifts every later time
    for mjd in gone:
        resp = client.delete(f"/objects/{oid}/observations/{mjd!r}", headers=AUTH)
        assert resp.status_code == 200, resp.text
        assert resp.json()["retracted"] == 1
    remaining = photometry[~((photometry.object_id == oid) & photometry.mjd.isin(gone))]
    expected = _batch(clf, remaining, objects)
    got = client.get(f"/objects/{oid}").json()
    assert got["n_obs"] == len(mine) - 2
    np.testing.assert_allclose(
        [got["probabilities"][c] for c in clf.classes_], expected.loc[oid, list(clf.classes_)], atol=ATOL
    )
    assert [h["mjd"] for h in got["history"]] == sorted(set(mine.mjd.astype(float)) - set(gone))
    assert [r["mjd"] for r in got["retracted"]] == gone  # the record, in the order they were taken back
    assert all(r["retracted_at"] > 0 and r["alert_id"] for r in got["retracted"])
    other = objects.object_id.iloc[1]  # untouched objects stay as they were
    np.testing.assert_allclose(
        list(client.get(f"/objects/{other}").json()["probabilities"].values()),
        expected.loc[other, list(clf.classes_)],
        atol=ATOL,
    )


def test_a_retracted_alert_sent_again_stays_retracted(served):
    client, _clf, photometry, objects = served
    oid = objects.object_id.iloc[0]
    first = photometry[photometry.object_id == oid].sort_values("mjd").iloc[0]
    alert = next(
        r["alert_id"]
        for r in client.get(f"/objects/{oid}").json()["observations"]
        if r["mjd"] == float(first.mjd)
    )
    client.delete(f"/objects/{oid}/observations/{float(first.mjd)!r}", headers=AUTH)
    again = {
        "object_id": oid,
        "mjd": float(first.mjd),
        "mag": float(first.mag),
        "mag_err": 0.05,
        "alert_id": alert,
    }
    resp = client.post("/observations", json=[again], headers=AUTH)
    assert resp.json()["duplicates"] == 1 and resp.json()["accepted"] == 0
    corrected = {**again, "alert_id": f"{alert}-corrected"}  # a new alert at that time is a new detection
    assert client.post("/observations", json=[corrected], headers=AUTH).json()["accepted"] == 1


def test_retracting_the_last_detection_leaves_an_unclassified_object(served):
    client, _clf, photometry, objects = served
    oid = objects.object_id.iloc[2]
    for mjd in photometry[photometry.object_id == oid].mjd:
        assert client.delete(f"/objects/{oid}/observations/{float(mjd)!r}", headers=AUTH).status_code == 200
    got = client.get(f"/objects/{oid}").json()
    assert (
        got["n_obs"] == 0
        and got["probabilities"] == {}
        and got["history"] == []
        and got["leading_class"] is None
    )
    assert oid not in [
        c["object_id"] for c in client.get("/candidates", params={"cls": "SN", "min_prob": 0}).json()
    ]


def test_deleting_an_object_removes_it_and_records_its_detections(served):
    client, _clf, photometry, objects = served
    oid = objects.object_id.iloc[1]
    before = client.get("/healthz").json()
    resp = client.delete(f"/objects/{oid}", headers=AUTH)
    n = int((photometry.object_id == oid).sum())
    assert resp.status_code == 200 and resp.json()["retracted"] == n
    assert client.get(f"/objects/{oid}").status_code == 404
    after = client.get("/healthz").json()
    assert after["objects"] == before["objects"] - 1 and after["retracted"] == before["retracted"] + n
    assert after["observations"] == before["observations"] - n
    assert client.delete(f"/objects/{oid}", headers=AUTH).status_code == 404


def test_retraction_needs_the_token_and_an_existing_detection(served):
    client, _clf, photometry, objects = served
    oid = objects.object_id.iloc[0]
    mjd = float(photometry[photometry.object_id == oid].mjd.iloc[0])
    assert client.delete(f"/objects/{oid}/observations/{mjd!r}").status_code == 401
    assert client.delete(f"/objects/{oid}", headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert client.delete(f"/objects/{oid}/observations/{mjd + 0.001!r}", headers=AUTH).status_code == 404
    assert client.delete(f"/objects/nobody/observations/{mjd!r}", headers=AUTH).status_code == 404
    assert client.delete(f"/objects/{oid}/observations/nan", headers=AUTH).status_code == 422
    assert client.get(f"/objects/{oid}").json()["n_obs"] == int((photometry.object_id == oid).sum())
