"""One observing schedule for every class, and an error model that knows only magnitude and conditions."""

from __future__ import annotations

import numpy as np
import pytest

from lcrnn.data.simulate import SimulationConfig, magnitude_error, simulate_survey_with_truth
from lcrnn.data.simulate.cadence import _O3_RUNS_MJD, _dark_hours, expand_visits, field_index, make_schedule
from lcrnn.data.simulate.photometry import POGSON

FRACTIONS = {"VS": 0.6, "SN": 0.2, "AGN": 0.2}


@pytest.fixture(scope="module")
def survey_and_schedule():
    """A small survey, and its schedule rebuilt from the same seed (the simulator draws it first)."""
    config = SimulationConfig(n_objects=600, seed=7, class_fractions=FRACTIONS)
    survey, truth = simulate_survey_with_truth(config)
    schedule = make_schedule(np.random.default_rng(config.seed), config)
    return config, survey, truth, schedule


def _visit_limits(config, survey, schedule):
    """For every detection, the 5-sigma limit of the visit it was made at (NaN if no visit of its field)."""
    objects = survey.objects.set_index("object_id")
    phot = survey.photometry
    ra = objects.loc[phot["object_id"], "ra"].to_numpy()
    dec = objects.loc[phot["object_id"], "dec"].to_numpy()
    fields = field_index(schedule, ra, dec, config.min_dec_deg)
    obj, t, limit = expand_visits(schedule, fields)
    # Visits of detection i are the rows with obj == i; match the detection's time exactly.
    match = np.full(len(phot), np.nan)
    mjd = phot["mjd"].to_numpy()
    same = np.isclose(t, mjd[obj], rtol=0.0, atol=1e-9)
    match[obj[same]] = limit[same]
    return match


def test_every_class_is_seen_only_at_its_fields_visits(survey_and_schedule):
    # No class has a cadence of its own: each detection of every object falls on a visit of its field.
    config, survey, _, schedule = survey_and_schedule
    limits = _visit_limits(config, survey, schedule)
    labels = survey.objects.set_index("object_id").loc[survey.photometry["object_id"], "label"].to_numpy()
    for label in ("VS", "SN", "AGN"):
        assert np.isfinite(limits[labels == label]).all(), label


def test_errors_follow_magnitude_and_the_nights_limit_alike_for_every_class(survey_and_schedule):
    config, survey, _, schedule = survey_and_schedule
    limits = _visit_limits(config, survey, schedule)
    phot = survey.photometry
    labels = survey.objects.set_index("object_id").loc[phot["object_id"], "label"].to_numpy()
    expected = magnitude_error(phot["mag"].to_numpy(np.float64), limits, config.error_floor_mag)
    ratio = phot["mag_err"].to_numpy() / expected
    # The reported error is the noise of the true flux over the measured flux: ~1 whatever the class.
    medians = {label: float(np.median(ratio[labels == label])) for label in ("VS", "SN", "AGN")}
    assert all(0.95 < m < 1.05 for m in medians.values()), medians


def test_the_error_is_0p22_mag_at_the_limit_and_the_floor_for_bright_stars():
    # sigma_m = 1.0857 / SNR with SNR = 5 at the limit, plus the floor in quadrature (SURVEY_FACTS).
    assert float(magnitude_error(20.5, 20.5, 0.015)) == pytest.approx(np.hypot(POGSON / 5, 0.015), rel=1e-9)
    assert float(magnitude_error(19.0, 19.0, 0.015)) == pytest.approx(0.2177, abs=1e-3)  # any night's limit
    assert float(magnitude_error(11.0, 20.5, 0.015)) == pytest.approx(0.015, rel=0.05)
    assert float(magnitude_error(11.0, 20.5, 0.02)) == pytest.approx(0.02, rel=0.05)


def test_nights_are_longest_in_december_and_shortest_in_june():
    # La Palma (28.76 N): ~11.4 h between twilights in December, ~7.5 h in June (Sun 15 deg down).
    december, june = _dark_hours(np.array([58838.0, 58656.0]))  # 2019-12-21, 2019-06-21
    assert 11.0 < december < 11.8 and 7.0 < june < 8.0


def test_campaigns_come_only_during_o3_and_add_visits():
    config = SimulationConfig(campaign_fraction=0.5)
    schedule = make_schedule(np.random.default_rng(0), config)
    nights = np.floor(schedule.times)
    in_o3 = np.zeros(len(nights), dtype=bool)
    for first, last in _O3_RUNS_MJD:
        in_o3 |= (nights >= first) & (nights <= last + 1)
    quiet = make_schedule(np.random.default_rng(0), SimulationConfig(campaign_fraction=0.0))
    quiet_in_o3 = np.zeros(len(quiet.times), dtype=bool)
    for first, last in _O3_RUNS_MJD:
        quiet_in_o3 |= (np.floor(quiet.times) >= first) & (np.floor(quiet.times) <= last + 1)
    # Campaigns add visits inside O3 (many more) but barely change the rest (the rotation's random phases).
    assert in_o3.sum() > 1.3 * quiet_in_o3.sum()
    assert (~in_o3).sum() == pytest.approx((~quiet_in_o3).sum(), rel=0.05)


def test_a_field_is_revisited_at_the_rotation_interval_in_clear_weather():
    config = SimulationConfig(campaign_fraction=0.0, clear_fraction=1.0, visit_interval_spread=0.0)
    schedule = make_schedule(np.random.default_rng(1), config)
    gaps = np.concatenate([np.diff(schedule.times[a:b]) for a, b in zip(schedule.ptr[:-1], schedule.ptr[1:])])
    gaps = gaps[gaps < 60]  # within a season, not across the Sun's gap
    # Night lengths and the number of fields up change the rate through the year, about the 8-night mean.
    assert 5.0 < np.median(gaps) < 11.0
