"""Said out loud: bands, labels and damaged files are named in errors, never mixed, renamed or read silently."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from lcrnn.data.io import read_table, write_survey
from lcrnn.data.sequences import build_sequences, select_band
from lcrnn.data.splits import make_split
from lcrnn.data.tables import validate_photometry, validate_survey
from lcrnn.errors import InvalidLightCurveError, InvalidTableError


def _two_bands(photometry: pd.DataFrame) -> pd.DataFrame:
    """Each observation also taken in g at the same time, the original rows being r."""
    r = photometry.assign(band="r")
    g = photometry.assign(band="g", mag=photometry["mag"] + 0.5)
    return pd.concat([r, g], ignore_index=True)


def test_zeroed_bytes_in_a_checksummed_parquet_file_are_an_error_naming_the_file(toy_survey, tmp_path):
    photometry, objects, galaxies = toy_survey
    survey, _ = validate_survey(photometry, objects, galaxies)
    path = write_survey(survey, tmp_path / "s")["photometry"]
    chunk = pq.ParquetFile(path).metadata.row_group(0).column(2)  # mag: its pages hold the magnitudes
    assert chunk.path_in_schema == "mag"
    start = (chunk.dictionary_page_offset or chunk.data_page_offset) + 100
    damaged = bytearray(path.read_bytes())
    damaged[start:start + 200] = bytes(200)
    path.write_bytes(bytes(damaged))
    # Read without verification, the damage is silent: magnitudes of 0.0 that pass every range check.
    assert (pd.read_parquet(path)["mag"] == 0).sum() > 0
    with pytest.raises(InvalidTableError, match=rf"could not read '{path}' as parquet: .*checksum"):
        read_table(path, kind="photometry")


def test_observations_in_two_bands_at_the_same_time_are_both_kept(toy_survey):
    photometry, _, _ = toy_survey
    both, report = validate_photometry(_two_bands(photometry))
    assert len(both) == 2 * len(photometry) and report.total == 0
    repeated = pd.concat([both, both.iloc[:3]], ignore_index=True)
    with pytest.raises(InvalidLightCurveError, match=r"3 photometry rows repeating an \(object_id, band, mjd\)"):
        validate_photometry(repeated)


def test_photometry_in_several_bands_is_refused_naming_the_bands(toy_survey):
    photometry, _, _ = toy_survey
    with pytest.raises(InvalidLightCurveError, match=r"2 bands: 'g' \(\d+ observations\), 'r' .*--band g"):
        build_sequences(_two_bands(photometry))


def test_a_chosen_band_makes_the_same_sequences_as_one_band_photometry(toy_survey):
    photometry, _, _ = toy_survey
    chosen = build_sequences(select_band(_two_bands(photometry), "r"))
    alone = build_sequences(photometry)
    np.testing.assert_array_equal(chosen.values, alone.values)
    joint = select_band(_two_bands(photometry), "r,g")
    assert set(joint["band"]) == {"r+g"} and len(joint) == 2 * len(photometry)
    with pytest.raises(InvalidLightCurveError, match=r"no observation in band\(s\) \['i'\].*'g'.*'r'"):
        select_band(photometry.assign(band="r").pipe(_two_bands), "i")


def test_the_stratification_error_names_classes_by_label_not_index():
    ids = [f"o{i}" for i in range(40)]
    codes = np.array([0] * 20 + [1] * 18 + [2] * 2)
    with pytest.raises(InvalidTableError, match=r"Too few objects to stratify: 'AGN' has 2;"):
        make_split(ids, codes, classes=("VS", "SN", "AGN"))
