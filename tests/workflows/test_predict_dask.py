"""Batch prediction on a dask.distributed cluster equals in-memory prediction, partition by partition."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("distributed", reason="dask[distributed] is not installed (pip install -e '.[test]')")


@pytest.fixture(scope="module")
def fitted(toy_survey):
    import torch

    from lcrnn.classifier import Classifier

    photometry, objects, galaxies = toy_survey
    keep = objects.groupby("label").head(12)
    torch.set_num_threads(1)
    clf = Classifier(hidden=8, dense=8, epochs=1, batch_size=16, device="cpu", progress=False).fit(
        photometry[photometry.object_id.isin(keep.object_id)], keep, galaxies)
    return clf, photometry, objects, galaxies


def test_dask_prediction_on_partitions_equals_in_memory_prediction(fitted, tmp_path):
    from lcrnn.workflows.predict_dask import predict_dask, write_partitions

    clf, photometry, objects, galaxies = fitted
    parts = write_partitions(photometry, objects.sample(frac=1, random_state=0), tmp_path / "cat", 7, galaxies)
    assert len(parts) == 7 and sum(len(pd.read_parquet(p)) for p in parts) == len(photometry)
    n = predict_dask(clf, tmp_path / "cat", tmp_path / "pred.parquet", galaxies, workers=2, processes=False)
    got = pd.read_parquet(tmp_path / "pred.parquet")
    assert n == len(got) == len(objects) and got.object_id.is_unique
    expected = clf.predict(photometry, objects, galaxies).set_index("object_id").loc[got.object_id]
    columns = [f"p_{c}" for c in clf.classes_]
    np.testing.assert_allclose(got[columns].to_numpy(), expected[columns].to_numpy(), atol=1e-6)
    assert (got.predicted.to_numpy() == expected.predicted.to_numpy()).all()
    part_of = {oid: k for k, p in enumerate(parts) for oid in pd.read_parquet(p).object_id}
    assert list(np.diff([part_of[o] for o in got.object_id]) >= 0) == [True] * (n - 1)  # in partition order


def test_an_object_split_over_two_partitions_is_refused(fitted, tmp_path):
    from lcrnn.errors import InvalidTableError
    from lcrnn.workflows.predict_dask import predict_dask, write_partitions

    clf, photometry, objects, galaxies = fitted
    write_partitions(photometry, objects, tmp_path / "cat", 2, galaxies)
    one = photometry[photometry.object_id == "SN-0001"]
    one.iloc[:1].to_parquet(tmp_path / "cat" / "photometry" / "part-00009.parquet")  # a stray piece of SN-0001
    with pytest.raises(InvalidTableError, match="SN-0001 in .*part-0000[01].parquet and .*part-00009.parquet"):
        predict_dask(clf, tmp_path / "cat", tmp_path / "pred.csv", galaxies, workers=1, processes=False)
