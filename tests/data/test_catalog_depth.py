"""Galaxy-catalogue depth: which hosts a catalogue holds falls with their distance."""

from __future__ import annotations

import numpy as np
import pytest

from lcrnn.data.catalog_depth import GLADE_LIKE, GWGC_LIKE, GalaxyCatalogModel, catalog_model


def test_completeness_falls_with_distance_and_is_half_at_the_half_distance():
    model = GalaxyCatalogModel("test", density_per_sq_deg=10.0, half_complete_mpc=200.0, sharpness=3.0)
    d = np.array([0.0, 50.0, 200.0, 400.0, 2000.0])
    share = model.completeness(d)
    assert np.all(np.diff(share) < 0)
    assert share[0] == pytest.approx(1.0)
    assert share[2] == pytest.approx(0.5)
    assert share[4] < 0.01


def test_gwgc_holds_nothing_beyond_100_mpc_and_is_much_sparser_than_glade():
    assert GWGC_LIKE.completeness(np.array([99.0, 101.0, 500.0])).tolist()[1:] == [0.0, 0.0]
    assert GWGC_LIKE.completeness(np.array([40.0]))[0] > 0.95  # complete nearby
    assert 0.5 < GWGC_LIKE.completeness(np.array([100.0]))[0] < 0.7  # ~60 % at its edge
    assert GLADE_LIKE.density_per_sq_deg / GWGC_LIKE.density_per_sq_deg > 50
    assert GWGC_LIKE.density_per_sq_deg == pytest.approx(47_177 / 41_253)


def test_presets_by_name_and_bad_values_are_refused():
    assert catalog_model("GWGC") is GWGC_LIKE and catalog_model("glade") is GLADE_LIKE
    with pytest.raises(ValueError, match="unknown galaxy catalogue 'sdss'"):
        catalog_model("sdss")
    with pytest.raises(ValueError, match="half_complete_mpc"):
        GalaxyCatalogModel("bad", density_per_sq_deg=1.0, half_complete_mpc=0.0)
    with pytest.raises(ValueError, match="density"):
        GalaxyCatalogModel("bad", density_per_sq_deg=-1.0, half_complete_mpc=10.0)
