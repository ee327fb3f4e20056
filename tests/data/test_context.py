"""Context features agree with astropy computed directly, and the dummy distance behaves as documented."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord

from lcrnn.data.context import (
    CONTEXT_COLUMNS,
    ContextConfig,
    carried_context,
    compute_context,
    galaxy_catalogue,
    objects_context,
)
from lcrnn.data.features import feature_table
from lcrnn.errors import InvalidTableError


def random_sky(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Points uniform on the sphere (uniform in sin(dec), not in dec)."""
    return rng.uniform(0, 360, n), np.degrees(np.arcsin(rng.uniform(-1, 1, n)))


@pytest.fixture
def sky():
    """300 galaxies; 150 objects at known offsets of 0-110 arcsec from a galaxy, 50 anywhere."""
    rng = np.random.default_rng(42)
    g_ra, g_dec = random_sky(rng, 300)
    galaxies = pd.DataFrame({"ra": g_ra, "dec": g_dec, "name": [f"g{i}" for i in range(300)]})
    hosts = SkyCoord(g_ra[:150] * u.deg, g_dec[:150] * u.deg)
    near = hosts.directional_offset_by(rng.uniform(0, 360, 150) * u.deg, rng.uniform(0, 110, 150) * u.arcsec)
    f_ra, f_dec = random_sky(rng, 50)
    objects = pd.DataFrame(
        {
            "object_id": [f"obj{i:03d}" for i in range(200)],
            "ra": np.concatenate([near.ra.deg, f_ra]),
            "dec": np.concatenate([near.dec.deg, f_dec]),
        },
        index=np.arange(1000, 1200),  # a non-default index must be kept
    )
    return objects, galaxies


def brute_force_distance(objects: pd.DataFrame, galaxies: pd.DataFrame) -> np.ndarray:
    obj = SkyCoord(objects["ra"].to_numpy() * u.deg, objects["dec"].to_numpy() * u.deg)
    gal = SkyCoord(galaxies["ra"].to_numpy() * u.deg, galaxies["dec"].to_numpy() * u.deg)
    return np.array([o.separation(gal).arcsec.min() for o in obj])


def test_distance_matches_brute_force_separation(sky):
    objects, galaxies = sky
    ctx = compute_context(objects, galaxies)
    truth = brute_force_distance(objects, galaxies)
    within = truth <= 60.0
    assert 50 < within.sum() < 150  # the fixture really tests both sides of the limit
    got = ctx["galaxy_dist_arcsec"].to_numpy()
    np.testing.assert_allclose(got[within], truth[within], atol=1e-3)  # float32 arcsec
    assert np.all(got[~within] == np.float32(120.0))


def test_galactic_coordinates_match_astropy(sky):
    objects, galaxies = sky
    ctx = compute_context(objects, galaxies)
    gal = SkyCoord(objects["ra"].to_numpy() * u.deg, objects["dec"].to_numpy() * u.deg, frame="icrs").galactic
    np.testing.assert_allclose(ctx["gal_l"], gal.l.deg, atol=1e-4)
    np.testing.assert_allclose(ctx["gal_b"], gal.b.deg, atol=1e-4)


def test_known_directions_have_known_galactic_coordinates():
    objects = pd.DataFrame(
        {"object_id": ["centre", "north_pole"], "ra": [266.40499, 192.85948], "dec": [-28.93617, 27.12825]}
    )
    ctx = compute_context(objects)
    assert ctx.loc[0, "gal_b"] == pytest.approx(0.0, abs=0.01)
    assert min(ctx.loc[0, "gal_l"], 360 - ctx.loc[0, "gal_l"]) == pytest.approx(0.0, abs=0.01)
    assert ctx.loc[1, "gal_b"] == pytest.approx(90.0, abs=0.01)


def test_output_keeps_index_ids_and_dtypes(sky):
    objects, galaxies = sky
    ctx = compute_context(objects, galaxies)
    assert list(ctx.columns) == ["object_id", *CONTEXT_COLUMNS]
    assert ctx.index.equals(objects.index)
    assert ctx["object_id"].tolist() == objects["object_id"].tolist()
    assert all(ctx[c].dtype == np.float32 for c in CONTEXT_COLUMNS)
    assert ((ctx["gal_l"] >= 0) & (ctx["gal_l"] < 360)).all()


@pytest.mark.parametrize("galaxies", [None, pd.DataFrame({"ra": [], "dec": []}, dtype=float)])
def test_no_catalogue_gives_the_dummy_everywhere(sky, galaxies):
    objects, _ = sky
    ctx = compute_context(objects, galaxies, ContextConfig(dummy_distance_arcsec=200.0))
    assert (ctx["galaxy_dist_arcsec"] == 200.0).all()


def test_limit_and_dummy_follow_the_config(sky):
    objects, galaxies = sky
    truth = brute_force_distance(objects, galaxies)
    ctx = compute_context(
        objects, galaxies, ContextConfig(max_distance_arcsec=30.0, dummy_distance_arcsec=45.0)
    )
    got = ctx["galaxy_dist_arcsec"].to_numpy()
    np.testing.assert_allclose(got[truth <= 30], truth[truth <= 30], atol=1e-3)
    assert np.all(got[truth > 30] == 45.0)
    # The dummy sits beyond every real distance: the feature is monotone in the true distance.
    order = np.argsort(truth)
    assert np.all(np.diff(got[order]) >= -1e-3)


def test_reused_catalogue_gives_the_same_answer(sky):
    objects, galaxies = sky
    catalogue = galaxy_catalogue(galaxies)
    first = compute_context(objects, catalogue)
    second = compute_context(objects.iloc[::-1], catalogue)
    pd.testing.assert_frame_equal(first, second.iloc[::-1])
    pd.testing.assert_frame_equal(first, compute_context(objects, galaxies))


def test_single_galaxy_catalogue():
    objects = pd.DataFrame({"object_id": ["a", "b"], "ra": [10.0, 50.0], "dec": [20.0, 20.0]})
    galaxies = pd.DataFrame({"ra": [10.0 + 10 / 3600 / np.cos(np.radians(20.0))], "dec": [20.0]})
    ctx = compute_context(objects, galaxies)
    assert ctx["galaxy_dist_arcsec"].tolist() == pytest.approx([10.0, 120.0], abs=1e-3)


def test_empty_objects_table():
    objects = pd.DataFrame({"object_id": pd.Series([], dtype=str), "ra": [], "dec": []})
    ctx = compute_context(objects, pd.DataFrame({"ra": [1.0], "dec": [2.0]}))
    assert len(ctx) == 0 and list(ctx.columns) == ["object_id", *CONTEXT_COLUMNS]


def test_bad_tables_raise_errors_that_say_what_is_wrong():
    with pytest.raises(InvalidTableError, match="missing column.*dec"):
        compute_context(pd.DataFrame({"object_id": ["a"], "ra": [1.0]}))
    with pytest.raises(InvalidTableError, match="ra/dec"):
        compute_context(pd.DataFrame({"object_id": ["a", "b"], "ra": [1.0, 2.0], "dec": [95.0, 0.0]}))
    objects = pd.DataFrame({"object_id": ["a"], "ra": [1.0], "dec": [0.0]})
    with pytest.raises(InvalidTableError, match="galaxies"):
        compute_context(objects, pd.DataFrame({"ra": [np.nan], "dec": [0.0]}))


def test_config_round_trips_through_json_and_rejects_bad_values():
    config = ContextConfig(max_distance_arcsec=30.0, dummy_distance_arcsec=90.0)
    assert ContextConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert ContextConfig.from_dict({}) == ContextConfig()
    with pytest.raises(ValueError, match="Unknown ContextConfig"):
        ContextConfig.from_dict({"max_distance": 60})
    with pytest.raises(ValueError, match="larger than"):
        ContextConfig(dummy_distance_arcsec=-1.0)
    with pytest.raises(ValueError, match="positive"):
        ContextConfig(max_distance_arcsec=0.0)


def test_context_carried_by_the_objects_wins_over_a_catalogue_everywhere(sky, tmp_path):
    """objects_context: carried columns are taken as they are (no catalogue needed); without them the context
    is computed. The survey descriptions and the features table follow the same rule as the classifier."""
    objects, galaxies = sky
    computed = compute_context(objects, galaxies)
    carrying = objects.reset_index(drop=True).merge(computed, on="object_id")
    carrying["galaxy_dist_arcsec"] = 7.0  # as another catalogue would have it
    taken = objects_context(carrying, galaxies)
    np.testing.assert_array_equal(taken["galaxy_dist_arcsec"], 7.0)
    np.testing.assert_allclose(taken["gal_b"], computed["gal_b"].to_numpy())
    pd.testing.assert_frame_equal(objects_context(objects, galaxies), computed)
    assert carried_context(objects) is None
    photometry = pd.DataFrame({"object_id": np.repeat(carrying["object_id"], 3),
                               "mjd": np.tile([1.0, 5.0, 9.0], 200), "mag": np.tile([18.0, 18.5, 18.2], 200),
                               "mag_err": 0.05})
    table = feature_table(photometry, carrying)
    np.testing.assert_array_equal(table["galaxy_dist_arcsec"], 7.0)
