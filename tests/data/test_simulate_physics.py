"""Each population's calibrated distribution recovered from what the simulator draws, against its source."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.cosmology import Planck18

from lcrnn.data.simulate import SimulationConfig, get_population
from lcrnn.data.simulate.agn import blazar_flares
from lcrnn.data.simulate.mixes import SN_MIX
from lcrnn.data.simulate.processes import damped_random_walk
from lcrnn.data.simulate.supernovae import _peak_abs_mag, supernovae
from lcrnn.data.simulate.variables import LogNormal, Visits, bailey_amplitude


@pytest.fixture(scope="module")
def sn_candidates():
    """Truth of 4,000 SN candidates as a magnitude-limited survey finds them (before the detection cut)."""
    rng = np.random.default_rng(0)
    empty = np.empty(0, dtype=np.int64)
    _, _, truth = supernovae(rng, 4000, empty, np.empty(0), SimulationConfig())
    truth["abs_mag"] = truth["peak_mag"] - Planck18.distmod(truth["redshift"]).value
    return truth


def test_sn_ia_luminosity_function_is_minus_19p3_with_0p35_mag_scatter():
    # As drawn (volume-limited): SURVEY_FACTS, -19.3 with a raw scatter of ~0.3-0.4 mag.
    peaks = _peak_abs_mag(np.random.default_rng(1), np.full(20_000, "Ia"))
    assert np.median(peaks) == pytest.approx(-19.3, abs=0.01)
    assert np.std(peaks) == pytest.approx(0.35, abs=0.02)


def test_a_magnitude_limited_survey_sees_brighter_ia_by_the_malmquist_shift(sn_candidates):
    # Weighting by the visible volume, 10^(-0.6 M), shifts a Gaussian's mean by -0.6 ln(10) sigma^2 (-0.17).
    ia = sn_candidates["abs_mag"][sn_candidates["subtype"] == "Ia"]
    assert np.mean(ia) == pytest.approx(-19.3 - 0.6 * np.log(10) * 0.35**2, abs=0.04)


def test_sn_types_follow_their_rates_through_the_volume_each_is_seen_in(sn_candidates):
    # Volumetric rates (Li et al. 2011): Ia 24 %; in a magnitude-limited survey Ia ~70 % (ZTF BTS ~72 %).
    shares = {name: float(np.mean(sn_candidates["subtype"] == name)) for name in SN_MIX}
    assert SN_MIX["Ia"] == pytest.approx(0.24)
    assert 0.6 < shares["Ia"] < 0.8
    assert 0.02 < shares["IIn"] < 0.12 and 0.03 < shares["II-P"] < 0.15 and shares["II-L"] > 0.005
    # Peak apparent magnitudes 15-19.5 (SURVEY_FACTS) for the SNe that get a spectrum.
    labelled = sn_candidates["peak_mag"][sn_candidates["eligible"]]
    assert np.mean((labelled > 14.5) & (labelled < 19.5)) > 0.95


def test_a_damped_random_walk_recovers_its_structure_function():
    # SF(dt) = SF_inf sqrt(1 - exp(-dt / tau)) (MacLeod et al. 2010), with the walk's rms = SF_inf / sqrt(2).
    rng = np.random.default_rng(3)
    n_obj, n_t, tau, sf_inf = 300, 400, 50.0, 0.2
    t = np.tile(np.arange(n_t, dtype=float) * 5.0, n_obj)
    obj = np.repeat(np.arange(n_obj), n_t)
    sigma = np.full(t.size, sf_inf / np.sqrt(2))
    x = damped_random_walk(rng, obj, t, np.full(t.size, tau), sigma).reshape(n_obj, n_t)
    for lag_days in (50.0, 1000.0):
        lag = int(lag_days / 5)
        sf = np.sqrt(np.mean((x[:, lag:] - x[:, :-lag]) ** 2))
        assert sf == pytest.approx(sf_inf * np.sqrt(1 - np.exp(-lag_days / tau)), rel=0.05)


@pytest.mark.parametrize("name", ["Seyfert", "QSO"])
def test_agn_timescales_and_amplitudes_are_macleods(name):
    source = get_population("AGN", name)
    _, tau, sf_inf = source.generate(np.random.default_rng(0), 5000, source.params)
    # MacLeod et al. (2010): rest-frame tau ~100-1000 d, median ~200 d; SF_inf ~0.1-0.3 mag (SURVEY_FACTS).
    assert np.median(tau) == pytest.approx(200, rel=0.05)
    assert np.median(sf_inf) == pytest.approx(0.2, rel=0.05)
    assert 0.6 < np.mean((tau > 100) & (tau < 1000)) and 0.6 < np.mean((sf_inf > 0.1) & (sf_inf < 0.3))


def test_blazars_flare_and_other_nuclei_do_not():
    rng = np.random.default_rng(4)
    n, per = 400, 600
    obj = np.repeat(np.arange(n), per)
    t = np.tile(58562.0 + np.arange(per), n)
    flaring = np.arange(n) < n // 2
    extra = blazar_flares(rng, flaring, obj, t, (58562.0, 58562.0 + per)).reshape(n, per)
    assert (extra[~flaring] == 0).all()
    brightest = 2.5 * np.log10(1 + extra[flaring].max(axis=1))
    # Flares up to ~2 mag at peak, stacking now and then; most blazars flare within 600 days.
    assert np.mean(brightest > 0.3) > 0.8 and np.percentile(brightest, 90) < 3.0


def test_rrab_amplitudes_follow_the_bailey_relation():
    assert bailey_amplitude(np.array([0.55]))[0] == pytest.approx(1.0, abs=0.05)  # Cacciari et al. 2005
    assert bailey_amplitude(np.array([0.65]))[0] == pytest.approx(0.4, abs=0.05)
    rng = np.random.default_rng(5)
    n, per = 2000, 400
    t = np.tile(np.sort(rng.uniform(0, 300, per)), n)
    visits = Visits(rng, n, np.repeat(np.arange(n), per), t, rng.random(n))
    source = get_population("VS", "RRab")
    dm = source.generate(visits, source.params).reshape(n, per)
    # Peak-to-peak amplitude of a star at the typical 0.57-day period: ~0.9 mag (0.3-1.3, SURVEY_FACTS).
    amplitude = dm.max(axis=1) - dm.min(axis=1)
    assert np.median(amplitude) == pytest.approx(float(bailey_amplitude(np.array([0.57]))[0]), abs=0.08)
    assert amplitude.min() > 0.25 and amplitude.max() < 1.31


@pytest.mark.parametrize(
    ("name", "median", "bounds"),
    [("RRab", 0.57, (0.45, 0.9)), ("RRc", 0.32, (0.25, 0.45)), ("EW", 0.37, (0.2, 1.0)),
     ("CEP", 5.0, (1.0, 100.0)), ("M", 300.0, (100.0, 500.0))],
)
def test_periods_cluster_where_each_class_is_found(name, median, bounds):
    spec = get_population("VS", name).params.period_days
    assert isinstance(spec, LogNormal) and spec.bounds == bounds
    rng = np.random.default_rng(6)
    period = Visits(rng, 20_000, np.arange(20_000), np.zeros(20_000), rng.random(20_000)).period(spec)
    assert np.median(period) == pytest.approx(median, rel=0.03)
    assert period.min() >= bounds[0] and period.max() <= bounds[1]


def test_slow_agn_drift_away_from_an_early_reference_and_are_seen_more_as_the_survey_goes_on():
    # The reference image is a stack of the first visits, so a damped random walk with tau ~200 d wanders off
    # it: detections are rarer just after the reference epochs than a year later.
    from lcrnn.data.simulate.agn import agn
    from lcrnn.data.simulate.photometry import observe

    config = SimulationConfig(agn_mix={"Seyfert": 1.0})
    rng = np.random.default_rng(8)
    n, step = 600, 5.0
    t_one = config.start_mjd + np.arange(0.0, 595.0, step)
    obj, t = np.repeat(np.arange(n), t_one.size), np.tile(t_one, n)
    mag, reference, _ = agn(rng, n, obj, t, config)
    detected, _, _ = observe(rng, config, mag, np.full(t.size, config.depth_mag), reference[obj])
    days = t - config.start_mjd
    early = detected[(days >= 60) & (days < 160)].mean()  # just after the 12 reference visits
    late = detected[days >= 400].mean()
    assert late > 1.5 * early
