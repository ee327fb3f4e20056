"""Ingestion of real ZTF alert packets and of photometry tables, through the service's own code."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lcrnn.errors import InvalidTableError
from lcrnn.serve.app import ClassificationService
from lcrnn.serve.ingest import ingest_files, read_ztf_alerts
from lcrnn.serve.store import StateStore, UnknownObjectError

ZTF = Path(__file__).resolve().parents[1] / "data" / "ztf"
ALERT_DETECTIONS = ZTF / "2019_01_10_739260766315010006.avro"  # ZTF17aaacxxf: 1 + 22 detections, 6 limits
ALERT_LIMITS = ZTF / "472263571115115000.avro"  # ZTF17aaajnnn: 1 detection, 11 upper limits


@pytest.fixture
def service(tmp_path, incremental_factory):
    inc = incremental_factory("gru")[0]
    store = StateStore(f"sqlite:///{tmp_path / 'ingest.db'}")
    svc = ClassificationService(inc, store, allow_missing_catalogue=True)  # the toy model has no catalogue
    yield svc
    svc.store.close()


def test_ztf_packets_split_into_detections_and_upper_limits():
    batch = read_ztf_alerts([ALERT_DETECTIONS, ALERT_LIMITS])
    assert sorted(batch.objects.object_id) == ["ZTF17aaacxxf", "ZTF17aaajnnn"]
    det = batch.detections.groupby("object_id").size().to_dict()
    ul = batch.upper_limits.groupby("object_id").size().to_dict()
    assert det == {"ZTF17aaacxxf": 23, "ZTF17aaajnnn": 1} and ul == {"ZTF17aaacxxf": 6, "ZTF17aaajnnn": 11}
    first = batch.detections[batch.detections.object_id == "ZTF17aaacxxf"].sort_values("mjd").iloc[0]
    # The earliest prv_candidate: jd 2458464.7433681, magpsf 19.1225, fid 1 (g), candid 710243366315015036.
    assert first.mjd == pytest.approx(2458464.7433681 - 2400000.5)
    assert first.mag == pytest.approx(19.1225, abs=1e-4) and first.band == "g"
    assert first.alert_id == "710243366315015036"
    assert batch.detections.mag_err.gt(0).all() and batch.upper_limits.limit_mag.between(17, 22).all()


def test_ingesting_alerts_twice_stores_each_detection_once(service):
    first = ingest_files([ZTF], service)  # a directory of .avro files
    assert (first.files, first.registered, first.accepted, first.upper_limits) == (2, 2, 24, 17)
    again = ingest_files([ALERT_DETECTIONS], service)
    assert again.accepted == 0 and again.duplicates == 23 and again.upper_limits == 0
    obj = service.store.get_object("ZTF17aaacxxf")
    assert obj["n_obs"] == 23 and len(obj["upper_limits"]) == 6 and len(obj["history"]) == 23
    assert {o["band"] for o in obj["observations"]} == {"g", "r"}
    # Probabilities after all 23 detections equal a fresh pass over the same light curve.
    mjd = [o["mjd"] for o in obj["observations"]]
    from lcrnn.serve.incremental import Photometry

    fresh = service.model.probabilities_of(
        Photometry.of(
            mjd, [o["mag"] for o in obj["observations"]], [o["mag_err"] for o in obj["observations"]]
        ),
        np.array(list(obj["context"].values()), np.float32),
    )
    np.testing.assert_allclose(list(obj["probabilities"].values()), fresh[-1], atol=1e-5)


def test_photometry_tables_with_or_without_positions(service, tmp_path, survey_factory):
    photometry, objects = survey_factory(n_objects=3, n_obs=8)
    with_pos = photometry.merge(objects)
    with_pos.to_csv(tmp_path / "with.csv", index=False)
    summary = ingest_files([tmp_path / "with.csv"], service, batch_size=5)
    assert (summary.registered, summary.accepted) == (3, 24)
    more, more_objects = survey_factory(n_objects=2, n_obs=4, seed=5)
    more["object_id"] = more["object_id"].str.replace("obj", "new")
    more_objects["object_id"] = more_objects["object_id"].str.replace("obj", "new")
    more.to_parquet(tmp_path / "more.parquet")
    with pytest.raises(UnknownObjectError, match="new000"):
        ingest_files([tmp_path / "more.parquet"], service)
    summary = ingest_files([tmp_path / "more.parquet"], service, objects=more_objects)
    assert (summary.registered, summary.accepted) == (2, 8)
    assert service.store.counts()["observations"] == 32


def test_files_of_other_formats_are_refused_naming_the_ones_ingested(service, tmp_path):
    (tmp_path / "photometry.txt").write_text("object_id\tmjd\n")
    with pytest.raises(InvalidTableError, match=r"cannot tell the format of .*\.txt.*\.csv.*\.avro"):
        ingest_files([tmp_path / "photometry.txt"], service)
