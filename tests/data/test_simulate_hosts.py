"""Hosts and the catalogue: SN offsets in kpc, nuclear AGN with astrometric scatter, chance neighbours."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.cosmology import Planck18

from lcrnn.data.catalog_depth import GLADE_LIKE, GWGC_LIKE
from lcrnn.data.context import compute_context
from lcrnn.data.simulate import SimulationConfig
from lcrnn.data.simulate.galaxies import galaxy_catalogue


def _catalogue(labels, redshift, subtype, ra=None, dec=None, seed=0, **config):
    n = len(labels)
    rng = np.random.default_rng(seed)
    ra = rng.uniform(0, 360, n) if ra is None else ra
    dec = np.degrees(np.arcsin(rng.uniform(0.2, 1.0, n))) if dec is None else dec
    galaxies, catalogued, offset = galaxy_catalogue(
        rng, SimulationConfig(**config), ra, dec, np.asarray(labels), np.asarray(redshift, dtype=float),
        np.asarray(subtype, dtype=object),
    )
    return ra, dec, galaxies, catalogued, offset


def test_sn_offsets_are_a_physical_distance_turned_into_arcsec_by_the_hosts_distance():
    n = 4000
    offsets = {}
    for z in (0.01, 0.03):
        _, _, _, _, offset = _catalogue(["SN"] * n, [z] * n, ["Ia"] * n)
        offsets[z] = np.median(offset)
    kpc_per_arcsec = {z: 1.0 / Planck18.arcsec_per_kpc_proper(z).value for z in offsets}
    # A few kpc: the Open Supernova Catalog's SN Ia at z < 0.06 sit a median 4.5 kpc from their hosts.
    assert 3.5 < offsets[0.03] * kpc_per_arcsec[0.03] < 5.5
    # The same kpc at three times the distance: about a third of the arcsec (SURVEY_FACTS: ~20" vs ~6").
    ratio = offsets[0.01] / offsets[0.03]
    assert ratio == pytest.approx(kpc_per_arcsec[0.03] / kpc_per_arcsec[0.01], rel=0.1)


def test_core_collapse_sne_sit_closer_in_than_type_ia():
    n = 4000
    _, _, _, _, ia = _catalogue(["SN"] * n, [0.02] * n, ["Ia"] * n)
    _, _, _, _, cc = _catalogue(["SN"] * n, [0.02] * n, ["II-P"] * n, seed=1)
    # Median offsets ~1 r_e against ~0.7 r_e (SURVEY_FACTS; Kelly & Kirshner 2012).
    assert np.median(cc) / np.median(ia) == pytest.approx(0.7, abs=0.07)
    # Some SNe look nuclear (within 1"), as an AGN does.
    assert 0.01 < np.mean(cc < 1.0) < 0.2


def test_agn_are_nuclear_up_to_the_astrometric_scatter():
    n = 4000
    _, _, _, _, seyfert = _catalogue(["AGN"] * n, [0.03] * n, ["Seyfert"] * n)
    _, _, _, _, quasar = _catalogue(["AGN"] * n, [1.0] * n, ["QSO"] * n, seed=2)
    # Rayleigh offsets: median 1.1774 sigma; a quasar's sigma is sqrt(0.3^2 + 0.1^2) = 0.316".
    assert np.median(quasar) == pytest.approx(1.1774 * np.hypot(0.3, 0.1), rel=0.05)
    # A galaxy's centroid is less certain (0.2-1"): larger offsets, still mostly under ~1" (SURVEY_FACTS).
    assert 0.45 < np.median(seyfert) < 0.9 and np.mean(seyfert < 1.5) > 0.85


def test_hosts_are_catalogued_by_the_catalogues_depth_and_quasars_by_sdss():
    n = 4000
    z = np.full(n, 0.05)
    _, _, _, catalogued, _ = _catalogue(["SN"] * n, z, ["Ia"] * n)
    distance = Planck18.luminosity_distance(0.05).value
    assert catalogued.mean() == pytest.approx(float(GLADE_LIKE.completeness(distance)), abs=0.03)
    _, _, _, quasar_in_glade, _ = _catalogue(["AGN"] * n, [1.5] * n, ["QSO"] * n)
    _, _, _, quasar_in_gwgc, _ = _catalogue(["AGN"] * n, [1.5] * n, ["QSO"] * n, galaxy_catalog="gwgc")
    assert quasar_in_glade.mean() == pytest.approx(0.30, abs=0.03)  # DR12Q's share of the northern sky
    assert quasar_in_gwgc.mean() == 0.0  # GWGC holds galaxies within 100 Mpc only


def test_chance_neighbours_of_stars_come_at_the_catalogues_density():
    n = 6000
    rng = np.random.default_rng(5)
    # Stars at high galactic latitude: around the north galactic pole (RA 192.86, dec 27.13).
    ra = (192.86 + rng.uniform(-15, 15, n)) % 360
    dec = 27.13 + rng.uniform(-15, 15, n)
    _, _, galaxies, catalogued, _ = _catalogue(["VS"] * n, [np.nan] * n, ["EW"] * n, ra=ra, dec=dec)
    assert not catalogued.any()
    objects = pd.DataFrame({"object_id": np.arange(n).astype(str), "ra": ra, "dec": dec})
    within = (compute_context(objects, galaxies)["galaxy_dist_arcsec"] < 60).mean()
    # 1 - exp(-density pi r^2) = 6.7 % at 80 per deg^2 (SURVEY_FACTS)
    expected = 1.0 - np.exp(-GLADE_LIKE.density_per_sq_deg * np.pi * (60 / 3600) ** 2)
    assert within == pytest.approx(expected, abs=3 * np.sqrt(expected * (1 - expected) / n))
    # In the plane the catalogue thins (dust), so fewer chance neighbours.
    l_deg, b_deg = rng.uniform(20, 220, n), rng.uniform(-1, 1, n)
    plane = SkyCoord(l=l_deg * u.deg, b=b_deg * u.deg, frame="galactic").icrs
    ra_plane, dec_plane = plane.ra.deg, plane.dec.deg
    _, _, galaxies, _, _ = _catalogue(["VS"] * n, [np.nan] * n, ["EW"] * n, ra=ra_plane, dec=dec_plane)
    objects = pd.DataFrame({"object_id": np.arange(n).astype(str), "ra": ra_plane, "dec": dec_plane})
    assert (compute_context(objects, galaxies)["galaxy_dist_arcsec"] < 60).mean() < 0.4 * expected


def test_two_catalogues_cover_the_sky_in_patches_each_with_its_own_depth_and_density():
    """galaxy_catalog="glade,gwgc": each object's patch gets one catalogue, so hosts are catalogued at the
    average of the two completenesses and stars meet chance neighbours at half GLADE's density."""
    n = 6000
    distance = Planck18.luminosity_distance(0.02).value  # inside GWGC's 100 Mpc
    both = {"galaxy_catalog": "glade,gwgc"}
    assert SimulationConfig(**both).galaxy_catalogs == (GLADE_LIKE, GWGC_LIKE)
    _, _, _, catalogued, _ = _catalogue(["SN"] * n, np.full(n, 0.02), ["Ia"] * n, **both)
    expected = (GLADE_LIKE.completeness(distance) + GWGC_LIKE.completeness(distance)) / 2
    assert catalogued.mean() == pytest.approx(float(expected), abs=0.03)
    _, _, _, quasars, _ = _catalogue(["AGN"] * n, [1.5] * n, ["QSO"] * n, **both)
    assert quasars.mean() == pytest.approx(0.30 / 2, abs=0.02)  # DR12Q quasars only where GLADE covers
    rng = np.random.default_rng(6)
    ra, dec = (192.86 + rng.uniform(-15, 15, n)) % 360, 27.13 + rng.uniform(-15, 15, n)
    _, _, galaxies, _, _ = _catalogue(["VS"] * n, [np.nan] * n, ["EW"] * n, ra=ra, dec=dec, **both)
    objects = pd.DataFrame({"object_id": np.arange(n).astype(str), "ra": ra, "dec": dec})
    within = (compute_context(objects, galaxies)["galaxy_dist_arcsec"] < 60).mean()
    chance = [1.0 - np.exp(-m.density_per_sq_deg * np.pi * (60 / 3600) ** 2) for m in (GLADE_LIKE, GWGC_LIKE)]
    assert within == pytest.approx(np.mean(chance), abs=3 * np.sqrt(np.mean(chance) / n))
    # A tuple of one is that catalogue (its surveys draw no patches); names are checked one by one.
    assert SimulationConfig(galaxy_catalog=(GLADE_LIKE,)).galaxy_catalog is GLADE_LIKE
    assert SimulationConfig(galaxy_catalog=" gwgc , glade").galaxy_catalogs == (GWGC_LIKE, GLADE_LIKE)
    with pytest.raises(TypeError, match="glade,gwgc"):
        SimulationConfig(galaxy_catalog=3)
    for bad, said in (("glade,sdss", "unknown galaxy catalogue 'sdss'"), ("glade,", "empty name"),
                      ("glade,glade", "twice")):
        with pytest.raises(ValueError, match=said):
            SimulationConfig(galaxy_catalog=bad)
