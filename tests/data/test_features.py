"""Light-curve summary features: exact sampling numbers, a planted amplitude recovered, short curves pass."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lcrnn.data.context import CONTEXT_COLUMNS
from lcrnn.data.features import (
    SAMPLING_FEATURES,
    SHAPE_FEATURES,
    feature_table,
    first_points,
    light_curve_features,
)


def _curve(object_id: str, t: np.ndarray, mag: np.ndarray, err: float | np.ndarray = 0.02) -> pd.DataFrame:
    return pd.DataFrame({"object_id": object_id, "mjd": 59000.0 + t, "mag": mag, "mag_err": err, "band": "L"})


def test_sampling_features_are_the_numbers_of_the_first_max_len_points():
    t = np.array([0.0, 1.0, 3.0, 10.0, 30.0, 31.0, 50.0])
    err = np.array([0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07])
    # shuffled rows: the features read points in time order
    photometry = _curve("a", t, np.full(t.size, 18.0), err).sample(frac=1.0, random_state=1)

    all_points = light_curve_features(photometry, max_len=30).loc["a"]
    assert all_points["n_points"] == 7
    assert all_points["duration_days"] == pytest.approx(50.0)
    assert all_points["median_gap_days"] == pytest.approx(np.median(np.diff(t)))  # gaps 1,2,7,20,1,19 -> 4.5
    assert all_points["median_err_mag"] == pytest.approx(0.04)

    first_four = light_curve_features(photometry, max_len=4).loc["a"]
    assert first_four["n_points"] == 4
    assert first_four["duration_days"] == pytest.approx(10.0)
    assert first_four["median_gap_days"] == pytest.approx(2.0)  # gaps 1, 2, 7
    assert first_four["median_err_mag"] == pytest.approx(0.025)


def test_shape_features_recover_a_planted_amplitude_and_ignore_points_after_max_len():
    rng = np.random.default_rng(0)
    t = np.arange(30.0)  # daily: the 4-day sine is sampled at its mean, crest, mean and trough
    frames = []
    for amplitude in (0.1, 0.5, 1.5):
        mag = 17.0 + amplitude * np.sin(2 * np.pi * t / 4.0) + rng.normal(0, 0.002, t.size)
        late = np.full(10, 25.0)  # ten points after the 30th, far off: the RNN never reads them
        frames.append(_curve(f"amp{amplitude}", np.r_[t, 400 + np.arange(10.0)], np.r_[mag, late]))
    features = light_curve_features(pd.concat(frames), max_len=30)

    for amplitude in (0.1, 0.5, 1.5):
        row = features.loc[f"amp{amplitude}"]
        assert row["amplitude"] == pytest.approx(amplitude, rel=0.05)  # light-curve's: half the range
        assert row["standard_deviation"] == pytest.approx(amplitude / np.sqrt(2), rel=0.1)
        assert row["weighted_mean"] == pytest.approx(17.0, abs=0.05 * amplitude)
        assert row["n_points"] == 30
    assert features["amplitude"].is_monotonic_increasing


def test_one_and_two_point_curves_give_nan_where_a_feature_needs_more():
    photometry = pd.concat([_curve("one", np.array([0.0]), np.array([18.0])),
                            _curve("two", np.array([0.0, 5.0]), np.array([18.0, 19.0]))])
    features = light_curve_features(photometry)

    assert list(features.index) == ["one", "two"]
    assert list(features.columns) == list(SAMPLING_FEATURES + SHAPE_FEATURES)
    one, two = features.loc["one"], features.loc["two"]
    assert one["n_points"] == 1 and one["duration_days"] == 0 and np.isnan(one["median_gap_days"])
    assert one["amplitude"] == 0 and np.isnan(one["skew"]) and np.isnan(one["standard_deviation"])
    assert two["median_gap_days"] == 5.0 and two["amplitude"] == pytest.approx(0.5)
    assert np.isnan(two["skew"]) and np.isnan(two["linear_fit_slope"])  # three points needed


def test_empty_photometry_gives_an_empty_table_with_every_column():
    empty = _curve("x", np.array([0.0]), np.array([18.0])).iloc[:0]
    features = light_curve_features(empty)
    assert features.empty and list(features.columns) == list(SAMPLING_FEATURES + SHAPE_FEATURES)


def test_first_points_refuses_a_table_without_magnitudes():
    with pytest.raises(ValueError, match="missing column"):
        first_points(pd.DataFrame({"object_id": ["a"], "mjd": [59000.0]}))


def test_feature_table_joins_the_context_of_each_object():
    photometry = pd.concat([_curve("near", np.arange(5.0), np.full(5, 18.0)),
                            _curve("far", np.arange(5.0), np.full(5, 18.0))])
    objects = pd.DataFrame({"object_id": ["near", "far"], "ra": [10.0, 200.0], "dec": [20.0, -30.0]})
    galaxies = pd.DataFrame({"ra": [10.0 + 3 / 3600], "dec": [20.0]})

    table = feature_table(photometry, objects, galaxies)

    assert set(CONTEXT_COLUMNS) <= set(table.columns)
    assert table.loc["near", "galaxy_dist_arcsec"] == pytest.approx(3 * np.cos(np.radians(20)), rel=1e-3)
    assert table.loc["far", "galaxy_dist_arcsec"] == 120.0  # the dummy distance
