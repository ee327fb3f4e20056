"""Padded sequences hold exactly the right observations, and the scaler ignores padding."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from lcrnn.data.scaling import FeatureScaler
from lcrnn.data.sequences import SequenceSet, build_sequences
from lcrnn.errors import InvalidLightCurveError, InvalidTableError, NotFittedError


def photometry_frame(rows: list[tuple[str, float, float, float]]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["object_id", "mjd", "mag", "mag_err"])
    df["mag"] = df["mag"].astype(np.float32)
    df["mag_err"] = df["mag_err"].astype(np.float32)
    df["band"] = "L"
    return df


@pytest.fixture
def small():
    """Three objects in scrambled row order: b has 4 points, a has 2, c has 1."""
    return photometry_frame(
        [
            ("b", 59010.0, 18.2, 0.05),
            ("a", 58002.5, 17.0, 0.02),
            ("b", 59000.0, 18.0, 0.04),
            ("c", 58500.0, 19.5, 0.15),
            ("b", 59030.0, 18.6, 0.07),
            ("a", 58000.0, 16.5, 0.01),
            ("b", 59020.0, 18.4, 0.06),
        ]
    )


def context_frame(ids: list[str]) -> pd.DataFrame:
    k = np.arange(len(ids), dtype=np.float32)
    return pd.DataFrame({"object_id": ids, "gal_l": 10 * k, "gal_b": k - 1, "galaxy_dist_arcsec": 120 - k})


def random_photometry(rng: np.random.Generator, n_objects: int, max_points: int = 12) -> pd.DataFrame:
    counts = rng.integers(1, max_points + 1, n_objects)
    ids = np.repeat([f"obj{i:06d}" for i in range(n_objects)], counts)
    m = len(ids)
    df = pd.DataFrame(
        {
            "object_id": pd.array(ids, dtype="str"),
            "mjd": rng.uniform(58000, 59000, m),
            "mag": rng.normal(18, 1, m).astype(np.float32),
            "mag_err": rng.uniform(0.01, 0.2, m).astype(np.float32),
            "band": "L",
        }
    )
    return df.sample(frac=1.0, random_state=1).reset_index(drop=True)


def reference_sequences(
    photometry: pd.DataFrame, ids: np.ndarray, max_len: int
) -> tuple[np.ndarray, np.ndarray]:
    """The obvious per-object loop, to check the vectorised version against."""
    values = np.zeros((len(ids), max_len, 3), dtype=np.float32)
    lengths = np.zeros(len(ids), dtype=np.int64)
    groups = dict(list(photometry.groupby("object_id")))
    for i, object_id in enumerate(ids):
        lc = groups[object_id].sort_values("mjd", kind="stable").head(max_len)
        n = len(lc)
        values[i, :n, 0] = lc["mjd"].to_numpy() - lc["mjd"].iloc[0]
        values[i, :n, 1] = lc["mag"].to_numpy()
        values[i, :n, 2] = lc["mag_err"].to_numpy()
        lengths[i] = n
    return values, lengths


def test_values_are_time_sorted_relative_and_zero_padded(small):
    seqs = build_sequences(small, max_len=5)
    assert seqs.object_ids.tolist() == ["a", "b", "c"]
    assert seqs.lengths.tolist() == [2, 4, 1]
    assert seqs.values.dtype == np.float32 and seqs.values.shape == (3, 5, 3)
    np.testing.assert_allclose(seqs.values[0, :2], [[0.0, 16.5, 0.01], [2.5, 17.0, 0.02]], rtol=1e-6)
    np.testing.assert_allclose(seqs.values[1, :4, 0], [0, 10, 20, 30])
    np.testing.assert_allclose(seqs.values[1, :4, 1], [18.0, 18.2, 18.4, 18.6], rtol=1e-6)
    np.testing.assert_allclose(seqs.values[2, 0], [0.0, 19.5, 0.15], rtol=1e-6)
    assert np.all(seqs.values[~seqs.mask] == 0.0)
    assert seqs.context is None and seqs.labels is None


def test_max_len_keeps_the_earliest_observations(small):
    seqs = build_sequences(small, max_len=2)
    assert seqs.lengths.tolist() == [2, 2, 1]
    np.testing.assert_allclose(seqs.values[1, :, 1], [18.0, 18.2], rtol=1e-6)


def test_vectorised_build_matches_a_per_object_loop():
    rng = np.random.default_rng(3)
    photometry = random_photometry(rng, 200, max_points=40)
    seqs = build_sequences(photometry, max_len=30)
    values, lengths = reference_sequences(photometry, seqs.object_ids, 30)
    assert (seqs.object_ids == np.sort(photometry["object_id"].unique())).all()
    np.testing.assert_array_equal(seqs.lengths, lengths)
    np.testing.assert_allclose(seqs.values, values, rtol=1e-6, atol=1e-4)


def test_first_n_equals_building_then_truncating(small):
    rng = np.random.default_rng(4)
    photometry = random_photometry(rng, 100)
    for n in (1, 3, 30):
        direct = build_sequences(photometry, first_n=n)
        truncated = build_sequences(photometry).truncate(n)
        assert direct.values.shape == (100, 30, 3)
        np.testing.assert_array_equal(direct.values, truncated.values)
        np.testing.assert_array_equal(direct.lengths, truncated.lengths)
        assert direct.lengths.max() == min(n, 12)
    with pytest.raises(ValueError, match="cannot exceed max_len"):
        build_sequences(small, max_len=5, first_n=6)


def test_truncate_zeroes_the_dropped_steps_and_leaves_the_original_alone(small):
    seqs = build_sequences(small, max_len=5)
    short = seqs.truncate(1)
    assert short.lengths.tolist() == [1, 1, 1]
    assert np.all(short.values[:, 1:] == 0.0)
    np.testing.assert_array_equal(short.values[:, 0], seqs.values[:, 0])
    assert seqs.lengths.tolist() == [2, 4, 1]  # a new set, not a view
    with pytest.raises(ValueError, match="first_n"):
        seqs.truncate(0)


def test_context_table_sets_the_order_and_rides_along(small):
    context = context_frame(["c", "a", "b"])
    seqs = build_sequences(small, context=context, max_len=5)
    assert seqs.object_ids.tolist() == ["c", "a", "b"]
    assert seqs.lengths.tolist() == [1, 2, 4]
    np.testing.assert_array_equal(seqs.context, context[["gal_l", "gal_b", "galaxy_dist_arcsec"]].to_numpy())
    assert seqs.context.dtype == np.float32


def test_objects_without_photometry_raise(small):
    with pytest.raises(InvalidTableError, match="no photometry.*zz"):
        build_sequences(small, context=context_frame(["a", "zz", "b"]))


def test_photometry_of_objects_outside_the_context_is_ignored(small):
    seqs = build_sequences(small, context=context_frame(["b"]))
    assert seqs.object_ids.tolist() == ["b"] and seqs.lengths.tolist() == [4]


def test_string_labels_default_to_sorted_classes(small):
    seqs = build_sequences(small, labels=pd.Series({"c": "VS", "a": "SN", "b": "AGN"}))
    assert seqs.classes == ("AGN", "SN", "VS")
    assert seqs.labels.tolist() == [1, 0, 2]  # a=SN, b=AGN, c=VS
    assert seqs.labels.dtype == np.int64


def test_labels_follow_given_classes_and_positional_order(small):
    context = context_frame(["b", "c", "a"])
    seqs = build_sequences(small, context=context, labels=["SN", "VS", "SN"], classes=("VS", "SN", "AGN"))
    assert seqs.classes == ("VS", "SN", "AGN")
    assert seqs.labels.tolist() == [1, 0, 1]
    # A label column from the objects table (default integer index) is taken row by row.
    seqs = build_sequences(
        small, context=context, labels=pd.Series(["AGN", "VS", "SN"]), classes=("VS", "SN", "AGN")
    )
    assert seqs.labels.tolist() == [2, 0, 1]


def test_bad_labels_raise(small):
    with pytest.raises(InvalidTableError, match="not among the classes"):
        build_sequences(small, labels={"a": "SN", "b": "KN", "c": "VS"}, classes=("VS", "SN", "AGN"))
    with pytest.raises(InvalidTableError, match="no label"):
        build_sequences(small, labels={"a": "SN", "b": None, "c": "VS"})
    with pytest.raises(InvalidTableError, match="2 labels for 3 objects"):
        build_sequences(small, labels=["SN", "VS"])


def test_non_finite_photometry_raises(small):
    small.loc[0, "mag"] = np.nan
    with pytest.raises(InvalidLightCurveError, match="non-finite.*b"):
        build_sequences(small)


def test_subset_by_mask_and_positions(small):
    seqs = build_sequences(small, labels={"a": "SN", "b": "AGN", "c": "VS"})
    picked = seqs.subset(np.array([False, True, True]))
    assert picked.object_ids.tolist() == ["b", "c"] and picked.labels.tolist() == [0, 2]
    assert picked.classes == seqs.classes and len(picked) == 2
    again = seqs.subset([2, 0])
    assert again.object_ids.tolist() == ["c", "a"]
    np.testing.assert_array_equal(again.values[1], seqs.values[0])
    with pytest.raises(IndexError):
        seqs.subset(np.array([True, False]))


def test_sequence_set_rejects_inconsistent_arrays():
    with pytest.raises(ValueError, match="lengths"):
        SequenceSet(np.array(["a"]), np.zeros((1, 4, 3), np.float32), np.array([5]))


def test_scaler_statistics_come_from_real_observations_only():
    rng = np.random.default_rng(5)
    photometry = random_photometry(rng, 400, max_points=8)  # mostly short: heavy padding in 30 steps
    ids = np.sort(photometry["object_id"].unique())
    seqs = build_sequences(photometry, context=context_frame(list(ids)))
    scaler = FeatureScaler().fit(seqs)
    t = photometry["mjd"] - photometry.groupby("object_id")["mjd"].transform("min")
    np.testing.assert_allclose(
        scaler.mean_, [t.mean(), photometry["mag"].mean(), photometry["mag_err"].mean()], rtol=1e-5
    )
    expected_std = [t.std(ddof=0), photometry["mag"].std(ddof=0), photometry["mag_err"].std(ddof=0)]
    np.testing.assert_allclose(scaler.std_, expected_std, rtol=1e-4)
    scaled = scaler.transform(seqs)
    real = scaled.values[scaled.mask]
    np.testing.assert_allclose(real.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(real.std(axis=0), 1.0, atol=1e-4)
    assert np.all(scaled.values[~scaled.mask] == 0.0)  # exactly zero, not -mean/std
    np.testing.assert_allclose(scaled.context.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(scaled.context.std(axis=0), 1.0, atol=1e-5)
    assert scaled.values.dtype == np.float32 and scaled.context.dtype == np.float32
    np.testing.assert_array_equal(seqs.lengths, scaled.lengths)


def test_constant_feature_does_not_divide_by_zero(small):
    seqs = build_sequences(small.assign(mag_err=np.float32(0.1)))
    scaled = FeatureScaler().fit_transform(seqs)
    assert np.isfinite(scaled.values).all()
    assert np.all(scaled.values[..., 2] == 0.0)


def test_scaler_round_trips_through_json(small):
    seqs = build_sequences(small, context=context_frame(["a", "b", "c"]), max_len=5)
    scaler = FeatureScaler().fit(seqs)
    loaded = FeatureScaler.from_dict(json.loads(json.dumps(scaler.to_dict())))
    np.testing.assert_array_equal(loaded.transform(seqs).values, scaler.transform(seqs).values)
    np.testing.assert_array_equal(loaded.transform(seqs).context, scaler.transform(seqs).context)
    no_context = FeatureScaler().fit(build_sequences(small))
    assert FeatureScaler.from_dict(json.loads(json.dumps(no_context.to_dict()))).context_mean_ is None


def test_scaler_misuse_raises(small):
    seqs = build_sequences(small)
    with pytest.raises(NotFittedError):
        FeatureScaler().transform(seqs)
    fitted = FeatureScaler().fit(seqs)
    with pytest.raises(ValueError, match="without context"):
        fitted.transform(build_sequences(small, context=context_frame(["a", "b", "c"])))
    with pytest.raises(ValueError, match="missing key"):
        FeatureScaler.from_dict({"mean": [0, 0, 0]})


def test_empty_photometry_gives_an_empty_set():
    empty = pd.DataFrame({"object_id": pd.Series([], dtype=str), "mjd": [], "mag": [], "mag_err": []})
    seqs = build_sequences(empty, max_len=7)
    assert len(seqs) == 0 and seqs.values.shape == (0, 7, 3)
