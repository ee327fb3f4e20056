"""Readers of real survey data: MANTRA (CRTS), the Open Supernova Catalog and GWGC.

Slices in tests/data/real (see its README) are always tested; the full folders in ../shared/data only when
present, against the class counts their SOURCE.md states.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from lcrnn.cli import app
from lcrnn.data.io import read_survey, write_survey
from lcrnn.data.real import L_LIKE_BANDS, mantra_catalog, osc_catalog, read_gwgc, read_mantra, read_osc
from lcrnn.errors import InvalidTableError, LcrnnWarning

REAL = Path(__file__).parent / "real"
# The full folders: ../shared/data beside the checkout, or where LCRNN_SHARED_DATA points.
SHARED = Path(os.environ.get("LCRNN_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))


def _quiet(reader, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LcrnnWarning)
        return reader(*args, **kwargs)


def _full(name: str) -> Path:
    path = SHARED / name
    if not path.is_dir():
        pytest.skip(f"{path} is absent: the full real-data folders live outside the repository")
    return path


# ----------------------------------------------------------------------------------------------------------
# MANTRA


def test_mantra_slice_folds_labels_as_documented():
    with pytest.warns(LcrnnWarning, match=r"HPM \(untyped\): 1.*AGN/CV \(ambiguous\): 1"):
        survey = read_mantra(REAL / "mantra")
    # slice: SN 6 + SN? 1; AGN 2 + Blazar 2 + Blazar? 1; VS: CV 4, Flare 2, Var, LPV, Mira
    assert survey.class_counts().to_dict() == {"AGN": 5, "SN": 7, "VS": 9}
    strict = _quiet(read_mantra, REAL / "mantra", include_uncertain=False)
    assert strict.class_counts().to_dict() == {"AGN": 4, "SN": 6, "VS": 9}


def test_mantra_photometry_is_every_crts_point_of_the_kept_objects():
    survey = _quiet(read_mantra, REAL / "mantra")
    raw = pd.read_parquet(REAL / "mantra" / "lightcurves.parquet")
    kept = raw[raw["ID"].astype(str).isin(survey.objects["object_id"])]
    phot = survey.photometry
    assert len(phot) == len(kept)
    assert set(phot["band"]) == {"C"}
    assert phot["mag"].dtype == np.float32 and phot["mjd"].dtype == np.float64
    one = phot[phot["object_id"] == str(kept["ID"].iloc[0])].sort_values("mjd")
    src = kept[kept["ID"] == kept["ID"].iloc[0]].sort_values("MJD")
    np.testing.assert_allclose(one["mag"], src["Mag"], rtol=1e-6)
    np.testing.assert_allclose(one["mjd"], src["MJD"])


def test_mantra_survey_round_trips_through_parquet(tmp_path):
    survey = _quiet(read_mantra, REAL / "mantra", galaxies=read_gwgc(REAL / "gwgc"))
    write_survey(survey, tmp_path)
    back = read_survey(tmp_path)
    pd.testing.assert_frame_equal(back.objects, survey.objects)
    pd.testing.assert_frame_equal(back.photometry, survey.photometry)
    assert len(back.galaxies) == 300


def test_mantra_catalogue_of_all_transients_joins_positions_and_labels():
    cat = mantra_catalog(REAL / "mantra", all_transients=True)
    labels = pd.read_csv(REAL / "mantra" / "transient_labels_all5539.csv")
    assert len(cat) == len(labels) == 84
    assert cat["type"].value_counts().to_dict() == labels["Classification"].value_counts().to_dict()
    with pytest.raises(FileNotFoundError, match="mantra_crts_subset"):
        read_mantra(REAL / "osc")


@pytest.mark.slow
def test_full_mantra_folder_matches_source_counts():
    folder = _full("mantra_crts_subset")
    raw = mantra_catalog(folder)["type"].value_counts()
    assert len(raw.index) and raw.sum() == 395
    source_md = {"CV": 130, "Flare": 59, "Blazar": 55, "AGN": 53, "SN": 49, "Var": 11, "HPM": 6, "LPV": 5,
                 "Blazar?": 4, "Mira": 3}
    assert {k: int(raw[k]) for k in source_md} == source_md
    survey = _quiet(read_mantra, folder)
    # SOURCE.md's suggested mapping: SN={SN,SN?}; AGN={AGN,AGN?,Blazar,Blazar?,AGN/Blazar}; VS={CV,CV?,...}
    assert survey.class_counts().to_dict() == {"AGN": 116, "SN": 50, "VS": 218}
    assert len(survey.photometry) == pd.read_parquet(folder / "lightcurves.parquet")["ID"].astype(str).isin(
        survey.objects["object_id"]).sum()


# ----------------------------------------------------------------------------------------------------------
# Open Supernova Catalog


def test_osc_slice_keeps_typed_supernovae_with_enough_detections():
    with pytest.warns(LcrnnWarning, match=r"Candidate \(untyped\): 2"):
        survey = read_osc(REAL / "osc")
    assert survey.class_counts().to_dict() == {"SN": 16}
    ids = set(survey.objects["object_id"])
    assert "OGLE-2013-SN-079" in ids  # OSC type "I": a Type I supernova, not a GCVS irregular variable
    types = osc_catalog(REAL / "osc").set_index("object_id")["type"]
    assert not ids & set(types.index[types.isna() | (types == "Candidate")])


def test_osc_photometry_drops_upper_limits_and_bands_far_from_L():
    survey = _quiet(read_osc, REAL / "osc")
    raw = pd.read_parquet(REAL / "osc" / "photometry.parquet")
    detections = raw[~raw["upperlimit"] & raw["band"].isin(L_LIKE_BANDS) & raw["name"].isin(survey.objects["object_id"])]
    assert len(survey.photometry) == len(detections.drop_duplicates(["name", "mjd"]))
    assert set(survey.photometry["band"]) <= set(L_LIKE_BANDS)
    assert "g" not in set(survey.photometry["band"])
    # no upper limit slipped in: every kept (object, time, mag) is a detection of the raw table
    merged = survey.photometry.merge(raw, left_on=["object_id", "mjd"], right_on=["name", "mjd"])
    assert not merged["upperlimit"].any()
    # missing errors get the documented 0.1 mag, or drop the point
    no_err = detections[~(detections["mag_err"] > 0)]
    assert len(no_err) > 0
    assert (survey.photometry["mag_err"] == np.float32(0.1)).sum() >= len(no_err.drop_duplicates(["name", "mjd"])) - 1
    strict = _quiet(read_osc, REAL / "osc", bands=None, missing_error=None)
    assert (strict.photometry["mag_err"] > 0).all()
    assert strict.n_objects == 15
    with pytest.raises(InvalidTableError, match="min_detections"):
        read_osc(REAL / "osc", min_detections=0)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:left out .* whose type folds:lcrnn.errors.LcrnnWarning")
def test_full_osc_folder_matches_source_counts():
    folder = _full("osc_sne_2010_2014")
    with pytest.warns(LcrnnWarning, match="left out 22 OSC events with enough detections but no position"):
        survey = read_osc(folder, bands=None)
    types = osc_catalog(folder).set_index("object_id")["type"]
    counts = types.loc[survey.objects["object_id"]].value_counts()
    source_md = {"Ia": 1476, "II": 93, "II P": 38, "IIn": 31, "SLSN-I": 19, "Ic": 15, "Ia Pec": 9, "IIb": 8}
    no_position = {"Ia": 1, "II P": 3}  # PS1-13bit, PS1-13abg, PS1-13baf, PS1-13bni have no coordinates
    assert {k: int(counts[k]) + no_position.get(k, 0) for k in source_md} == source_md
    assert set(survey.objects["label"]) == {"SN"}
    assert not survey.photometry.duplicated(["object_id", "mjd"]).any()


# ----------------------------------------------------------------------------------------------------------
# GWGC


def test_gwgc_slice_reads_as_a_galaxy_table():
    galaxies = read_gwgc(REAL / "gwgc" / "gwgc_good.csv")
    raw = pd.read_csv(REAL / "gwgc" / "gwgc_good.csv")
    assert len(galaxies) == len(raw) == 300
    assert list(galaxies.columns[:3]) == ["ra", "dec", "name"]
    np.testing.assert_allclose(galaxies["dist_mpc"], raw["Dist"])
    assert galaxies["ra"].between(0, 360).all() and galaxies["dec"].between(-90, 90).all()
    with pytest.raises(FileNotFoundError, match="gwgc_good.csv"):
        read_gwgc(REAL / "osc")


@pytest.mark.slow
def test_full_gwgc_folder_has_every_galaxy():
    assert len(read_gwgc(_full("gwgc_galaxies"))) == 47_177


# ----------------------------------------------------------------------------------------------------------
# CLI


@pytest.mark.filterwarnings("ignore::lcrnn.errors.LcrnnWarning")
def test_import_command_writes_a_survey_directory(tmp_path, plain_output):
    runner = CliRunner()
    result = runner.invoke(app, ["import", "mantra", str(REAL / "mantra"), "--out", str(tmp_path / "m"),
                                 "--exclude-uncertain"])
    assert result.exit_code == 0, result.output
    assert "AGN 4, SN 6, VS 9" in result.output
    assert read_survey(tmp_path / "m").class_counts().to_dict() == {"AGN": 4, "SN": 6, "VS": 9}

    result = runner.invoke(app, ["import", "gwgc", str(REAL / "gwgc"), "--out", str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    assert len(read_survey(tmp_path / "m").galaxies) == 300

    result = runner.invoke(app, ["import", "osc", str(REAL / "osc"), "--out", str(tmp_path / "o"),
                                 "--bands", "all", "--resample"])
    assert result.exit_code == 0, result.output
    resampled = read_survey(tmp_path / "o")
    assert set(resampled.photometry["band"]) == {"L"}
    assert (resampled.photometry["mag"] <= 20.5).all()

    result = runner.invoke(app, ["import", "ztf", str(REAL), "--out", str(tmp_path / "z")])
    assert result.exit_code == 2 and "'ztf' is not one of 'mantra', 'osc', 'gwgc'" in plain_output(result)
