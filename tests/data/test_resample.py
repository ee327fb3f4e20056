"""Survey resampling: well-sampled light curves turned into GOTO-like ones, and rare-class augmentation."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lcrnn.data.real import read_mantra
from lcrnn.data.resample import (
    ResampleConfig,
    augment_rare_classes,
    draw_gaps,
    event_window,
    resample_light_curve,
    resample_photometry,
    resample_survey,
)
from lcrnn.data.simulate import magnitude_error
from lcrnn.errors import InvalidTableError, LcrnnWarning

REAL = Path(__file__).parent / "real"


def _dense(days: float = 2000.0, step: float = 0.1, mag: float | np.ndarray = 17.0, err: float = 0.001):
    t = np.arange(0.0, days, step) + 58000.0
    m = np.broadcast_to(np.asarray(mag, dtype=np.float64), t.shape).copy()
    return t, m, np.full_like(t, err)


def _supernova(peak_mjd: float = 59000.0, peak_mag: float = 17.0, baseline: float = 3000.0):
    """A host at 21 mag (below the depth) for years, then a Bazin-shaped supernova: a CRTS-like record."""
    t = np.arange(peak_mjd - baseline / 2, peak_mjd + baseline / 2, 0.2)
    x = t - peak_mjd
    flux = np.exp(-np.clip(x, 0, None) / 40.0) / (1 + np.exp(-x / 3.0)) * 2
    mag = -2.5 * np.log10(flux * 10 ** (-0.4 * peak_mag) + 10 ** (-0.4 * 21.0))
    return t, mag, np.full_like(t, 0.005)


@pytest.fixture(scope="module")
def mantra():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LcrnnWarning)
        return read_mantra(REAL / "mantra")


def test_same_seed_same_light_curve_other_seed_another(mantra):
    a = resample_photometry(mantra.photometry, mantra.objects, seed=3)
    b = resample_photometry(mantra.photometry, mantra.objects, seed=3)
    c = resample_photometry(mantra.photometry, mantra.objects, seed=4)
    pd.testing.assert_frame_equal(a, b)
    assert not (len(a) == len(c) and np.allclose(a["mjd"], c["mjd"]))


def test_an_object_resamples_the_same_whatever_company_it_keeps(mantra):
    whole = resample_photometry(mantra.photometry, mantra.objects, seed=7)
    one_id = mantra.objects["object_id"].iloc[5]
    alone = resample_photometry(mantra.photometry[mantra.photometry["object_id"] == one_id], mantra.objects, seed=7)
    pd.testing.assert_frame_equal(alone, whole[whole["object_id"] == one_id].reset_index(drop=True))


def test_median_gap_is_gotos_eleven_days_on_a_dense_source():
    t, m, e = _dense(days=6000.0)
    gaps = np.concatenate([
        np.diff(resample_light_curve(t, m, e, rng=seed, window="all")["mjd"]) for seed in range(5)
    ])
    assert len(gaps) > 1500
    assert 10.0 <= np.median(gaps) <= 12.0
    assert gaps.min() >= 0.4  # no two visits on one night
    drawn = draw_gaps(20000, np.random.default_rng(0))
    assert np.median(drawn) == pytest.approx(11.0, rel=0.03)
    assert np.median(draw_gaps(20000, np.random.default_rng(0), ResampleConfig(median_gap_days=3.0))) < 3.2


def test_a_sparse_source_keeps_its_own_gaps_and_no_point_is_invented():
    t = np.arange(0.0, 3000.0, 30.0) + 58000.0  # CRTS-like: one night a month
    m, e = np.full_like(t, 17.0), np.full_like(t, 0.05)
    out = resample_light_curve(t, m, e, rng=0, window="all")
    assert np.isin(out["mjd"], t).all()
    assert np.median(np.diff(out["mjd"])) == pytest.approx(30.0)


def test_depth_cut_drops_fainter_points():
    t, _, e = _dense(days=4000.0)
    m = 19.5 + 1.5 * np.sin(2 * np.pi * (t - t[0]) / 97.0)  # swings between 18 and 21 mag
    out = resample_light_curve(t, m, e, rng=1, window="all")
    assert (out["mag"] <= 20.5).all()
    assert out["mag"].max() > 20.0  # faint points near the limit are kept ...
    deep = resample_light_curve(t, m, e, rng=1, window="all", config=ResampleConfig(depth_mag=22.0))
    assert len(deep) > len(out) * 1.2  # ... and a deeper survey would have seen the rest
    assert deep["mag"].max() > 20.8


def test_errors_grow_with_magnitude_and_follow_the_snr_curve():
    t, _, e = _dense(days=3000.0)
    m = np.linspace(14.0, 20.4, t.size)
    out = resample_light_curve(t, m, e, rng=2, window="all").sort_values("mag")
    assert np.all(np.diff(out["mag_err"].to_numpy()) >= 0)
    np.testing.assert_allclose(out["mag_err"], magnitude_error(out["mag"].to_numpy()), rtol=1e-5)
    assert 0.015 <= out["mag_err"].min() < 0.03
    assert magnitude_error(20.5) == pytest.approx(0.217, abs=0.01)  # 1.0857 / 5 at the depth


def test_noise_is_added_once_to_reach_gotos_errors():
    t, m, e = _dense(days=20000.0, mag=19.5)
    out = resample_light_curve(t, m, e, rng=3, window="all")
    resid = out["mag"].to_numpy(np.float64) - 19.5
    goto = float(magnitude_error(19.5))
    assert len(out) > 1000
    assert resid.std() == pytest.approx(goto, rel=0.08)  # source error 0.001: GOTO's noise, added once
    assert abs(resid.mean()) < 0.1 * goto
    assert out["mag_err"].median() == pytest.approx(goto, rel=0.05)
    # A source noisier than GOTO gets no extra noise and keeps its own error ...
    t2, m2, e2 = _dense(days=500.0, mag=16.0, err=0.2)
    noisy = resample_light_curve(t2, m2, e2, rng=3, window="all")
    np.testing.assert_allclose(noisy["mag"], 16.0)
    np.testing.assert_allclose(noisy["mag_err"], 0.2, rtol=1e-6)
    # ... unless GOTO's own error is asked for: the same points, reported as GOTO would.
    as_goto = resample_light_curve(t2, m2, e2, rng=3, window="all", config=ResampleConfig(reported_error="survey"))
    np.testing.assert_allclose(as_goto["mag"], noisy["mag"])
    np.testing.assert_allclose(as_goto["mag_err"], magnitude_error(16.0), rtol=1e-5)
    with pytest.raises(ValueError, match="reported_error"):
        ResampleConfig(reported_error="source")


def test_peak_window_keeps_the_event_not_the_quiet_years():
    t, m, e = _supernova()
    peak = t[np.argmin(m)]  # ~7.5 d after the Bazin t0 for these rise and fall times
    start, end = event_window(t, m)
    assert start < peak < end
    assert (start, end) == pytest.approx((peak - 30.0, peak + 120.0), abs=1.0)
    for seed in range(10):
        out = resample_light_curve(t, m, e, rng=seed, window="peak")
        assert out["mjd"].between(start, end).all()
        assert len(out) >= 3
        assert out["mag"].min() < 18.0  # the bright part of the event is seen
    # Kept whole, the same record spans the years around it (the quiet host scatters above the depth).
    whole = resample_light_curve(t, m, e, rng=0, window="all")
    assert whole["mjd"].max() - whole["mjd"].min() > 2000


def test_auto_window_cuts_supernovae_around_the_peak_on_real_crts_data(mantra):
    out = resample_photometry(mantra.photometry, mantra.objects, seed=0)
    label = mantra.objects.set_index("object_id")["label"]
    span = out.groupby("object_id")["mjd"].agg(lambda x: x.max() - x.min())
    cfg = ResampleConfig()
    assert (span[label.loc[span.index] == "SN"] <= cfg.before_peak_days + cfg.after_peak_days).all()
    assert (span <= cfg.window_days).all()
    assert span[label.loc[span.index] != "SN"].max() > 300  # VS and AGN keep long windows
    assert set(out["band"]) == {"L"}
    assert out["mag"].dtype == np.float32 and (out["mag"] <= 20.5).all()
    # CRTS visits a field about once a month: the gaps stay CRTS's, longer than GOTO's 11 days.
    assert np.median(out.sort_values(["object_id", "mjd"]).groupby("object_id")["mjd"].diff().dropna()) > 11


def test_band_selection_uses_only_the_chosen_bands():
    t, _, e = _dense(days=1000.0)
    phot = pd.DataFrame({"object_id": "x", "mjd": t, "mag": np.where(np.arange(t.size) % 2, 15.0, 18.0),
                         "mag_err": e, "band": np.where(np.arange(t.size) % 2, "g", "r")})
    out = resample_photometry(phot, config=ResampleConfig(bands=("r",), window="all"), seed=0)
    assert len(out) > 20
    assert (out["mag"] > 17.5).all()  # only the 18-mag r points
    assert set(out["band"]) == {"L"}


def test_bad_input_and_config_say_what_to_fix():
    with pytest.raises(InvalidTableError, match="one length"):
        resample_light_curve([1.0, 2.0], [17.0], [0.1])
    with pytest.raises(InvalidTableError, match="errors <= 0"):
        resample_light_curve([1.0, 2.0], [17.0, 17.0], [0.1, 0.0])
    with pytest.raises(ValueError, match="window"):
        ResampleConfig(window="season")
    with pytest.raises(ValueError, match="median_gap_days"):
        ResampleConfig(median_gap_days=0)
    with pytest.raises(InvalidTableError, match="mag_err"):
        resample_photometry(pd.DataFrame({"object_id": ["a"], "mjd": [1.0], "mag": [17.0]}))


def test_augmentation_copies_only_minority_classes_with_new_ids(mantra):
    phot, objs = augment_rare_classes(mantra.photometry, mantra.objects, factor=3, seed=1)
    counts = mantra.objects["label"].value_counts()
    assert counts.idxmax() == "VS"
    minority = mantra.objects[mantra.objects["label"] != "VS"]
    # Every minority object gets 3 copies unless a copy ends up with no detection at all.
    per_parent = objs.groupby("parent_id").size()
    assert set(per_parent.index) <= set(minority["object_id"])
    assert per_parent.max() == 3 and per_parent.sum() >= 0.8 * 3 * len(minority)
    assert "VS" not in set(objs["label"])
    parent_label = mantra.objects.set_index("object_id")["label"]
    assert (objs["label"].to_numpy() == parent_label.loc[objs["parent_id"]].to_numpy()).all()
    assert objs["object_id"].str.contains("~aug").all() and objs["object_id"].is_unique
    assert not set(objs["object_id"]) & set(mantra.objects["object_id"])
    assert set(phot["object_id"]) == set(objs["object_id"])
    parent_pos = mantra.objects.set_index("object_id").loc[objs["parent_id"], ["ra", "dec"]].to_numpy()
    np.testing.assert_allclose(objs[["ra", "dec"]].to_numpy(), parent_pos)
    # Copies of one parent differ from each other and from the resampled original.
    first = minority["object_id"].iloc[0]
    curves = [phot.loc[phot["object_id"] == f"{first}~aug{k}", "mjd"].to_numpy() for k in (1, 2)]
    original = resample_photometry(mantra.photometry, mantra.objects, seed=1)
    original = original.loc[original["object_id"] == first, "mjd"].to_numpy()
    assert not np.array_equal(curves[0], curves[1]) and not np.array_equal(curves[0], original)
    # Deterministic, and off by default.
    again, _ = augment_rare_classes(mantra.photometry, mantra.objects, factor=3, seed=1)
    pd.testing.assert_frame_equal(phot, again)
    none_phot, none_objs = augment_rare_classes(mantra.photometry, mantra.objects)
    assert len(none_phot) == 0 and len(none_objs) == 0


def test_augmentation_of_named_classes(mantra):
    _, objs = augment_rare_classes(mantra.photometry, mantra.objects, factor=2, seed=0, classes=["SN"])
    assert set(objs["label"]) == {"SN"}
    with pytest.raises(InvalidTableError, match="label"):
        augment_rare_classes(mantra.photometry, mantra.objects.drop(columns="label"), factor=1)
    with pytest.raises(InvalidTableError, match="factor"):
        augment_rare_classes(mantra.photometry, mantra.objects, factor=-1)


def _outbursting(days: float = 4000.0):
    """A dense 18-mag star with a 2-mag outburst of 20 days every 200 days."""
    t, m, e = _dense(days=days, step=0.5, mag=18.0, err=0.01)
    m[((t - t[0]) % 200.0) < 20.0] -= 2.0
    return t, m, e


def test_difference_imaging_keeps_only_what_differs_from_quiescence():
    t, m, e = _outbursting()
    plain = resample_light_curve(t, m, e, rng=4, window="all")
    cut = resample_light_curve(t, m, e, rng=4, window="all", config=ResampleConfig(difference_sigma=5.0))
    # Without the cut most points are quiescent; with it, only the outbursts are left, all of them.
    assert (plain["mag"] > 17.0).mean() > 0.7
    assert len(cut) > 0 and (cut["mag"] < 16.5).all()
    assert set(cut["mjd"]) == set(plain.loc[plain["mag"] < 16.5, "mjd"])
    # A constant star is never detected.
    flat = resample_light_curve(*_dense(days=2000.0, mag=18.0, err=0.01), rng=4, window="all",
                                config=ResampleConfig(difference_sigma=5.0))
    assert len(flat) == 0


def test_difference_imaging_measures_a_transient_against_its_host_or_against_nothing():
    config = ResampleConfig(difference_sigma=5.0)
    # A supernova record with no points outside its window (a supernova catalogue): nothing is lost.
    t, m, e = _supernova(baseline=200.0)
    start, end = event_window(t, m)
    inside = (t >= start) & (t <= end)
    plain = resample_light_curve(t[inside], m[inside], e[inside], rng=5, window="peak")
    cut = resample_light_curve(t[inside], m[inside], e[inside], rng=5, window="peak", config=config)
    pd.testing.assert_frame_equal(cut, plain)
    # A CRTS-like record: a bright host (17 mag) under the supernova. Its quiet years set the reference, so
    # the window's host-only points go, and the supernova's bright points stay.
    t, _, e = _supernova()
    x = t - 59000.0
    sn_flux = np.exp(-np.clip(x, 0, None) / 40.0) / (1 + np.exp(-x / 3.0)) * 2 * 10 ** (-0.4 * 17.0)
    m = -2.5 * np.log10(sn_flux + 10 ** (-0.4 * 17.0))
    plain = resample_light_curve(t, m, e, rng=6, window="peak")
    cut = resample_light_curve(t, m, e, rng=6, window="peak", config=config)
    assert (plain["mag"] > 16.95).any() and not (cut["mag"] > 16.95).any()
    assert cut["mag"].min() == plain["mag"].min()
    with pytest.raises(ValueError, match="difference_sigma"):
        ResampleConfig(difference_sigma=0.0)


def test_resample_survey_drops_the_objects_left_too_short_and_keeps_the_catalogue():
    from lcrnn.data.tables import Survey

    t = 58000.0 + np.arange(0.0, 300.0, 1.0)
    photometry = pd.DataFrame({"object_id": ["long"] * t.size + ["single"],
                               "mjd": np.r_[t, 58000.0], "mag": 17.0, "mag_err": 0.02, "band": "L"})
    objects = pd.DataFrame({"object_id": ["long", "single"], "ra": [1.0, 2.0], "dec": [3.0, 4.0],
                            "label": ["VS", "VS"]})
    galaxies = pd.DataFrame({"ra": [1.0], "dec": [3.0]})

    out = resample_survey(Survey(photometry, objects, galaxies), ResampleConfig(min_points=2), seed=0)

    assert list(out.objects["object_id"]) == ["long"]
    assert set(out.photometry["object_id"]) == {"long"}
    assert 2 <= len(out.photometry) < t.size  # thinned to GOTO's ~11-day gaps
    assert out.galaxies is galaxies
