"""Reading and writing survey tables: Parquet and CSV round trips, file discovery and its errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lcrnn.data.io import read_survey, read_table, write_survey
from lcrnn.data.tables import Survey, validate_survey
from lcrnn.errors import InvalidLightCurveError, InvalidTableError, LcrnnWarning


@pytest.fixture
def survey() -> Survey:
    """Ids with leading zeros and MJDs with many digits: the details a careless reader loses."""
    rng = np.random.default_rng(3)
    ids = ["007", "010", "1e5", "NGC-4"]
    n = [5, 3, 4, 2]
    phot = pd.DataFrame(
        {
            "object_id": np.repeat(ids, n),
            "mjd": 58000.0 + np.sort(rng.uniform(0, 500, sum(n))) + 1e-7 * np.pi,
            "mag": rng.normal(18.0, 1.0, sum(n)),
            "mag_err": rng.uniform(0.01, 0.2, sum(n)),
            "band": ["L"] * (sum(n) - 1) + ["g"],
        }
    )
    objs = pd.DataFrame(
        {
            "object_id": ids,
            "ra": rng.uniform(0, 360, 4),
            "dec": rng.uniform(-20, 80, 4),
            "label": ["VS", "SN", None, "AGN"],
        }
    )
    gals = pd.DataFrame(
        {"ra": [1.5, 300.25], "dec": [2.5, -10.0], "name": ["G1", "G2"], "dist_mpc": [12.5, 99.0]}
    )
    validated, _ = validate_survey(phot, objs, gals)
    return validated


def assert_same_survey(a: Survey, b: Survey) -> None:
    pd.testing.assert_frame_equal(a.photometry, b.photometry)
    pd.testing.assert_frame_equal(a.objects, b.objects)
    if a.galaxies is None:
        assert b.galaxies is None
    else:
        pd.testing.assert_frame_equal(a.galaxies, b.galaxies)


def test_parquet_round_trip(survey, tmp_path):
    written = write_survey(survey, tmp_path / "new" / "survey")  # parents are created
    assert sorted(written) == ["galaxies", "objects", "photometry"]
    assert all(path.suffix == ".parquet" and path.is_file() for path in written.values())
    back = read_survey(tmp_path / "new" / "survey")
    assert_same_survey(survey, back)
    assert back.photometry["mag"].dtype == np.float32
    assert back.objects["object_id"].tolist() == ["007", "010", "1e5", "NGC-4"]


def test_csv_round_trip(survey, tmp_path):
    survey.photometry.to_csv(tmp_path / "photometry.csv", index=False)
    survey.objects.to_csv(tmp_path / "objects.csv", index=False)
    survey.galaxies.to_csv(tmp_path / "galaxies.csv", index=False)
    back = read_survey(tmp_path)
    # ids keep their zeros, MJDs every digit, float32 magnitudes come back bit for bit
    assert_same_survey(survey, back)


def test_round_trip_without_galaxies(survey, tmp_path):
    bare = Survey(survey.photometry, survey.objects, None)
    write_survey(bare, tmp_path)
    assert not (tmp_path / "galaxies.parquet").exists()
    assert_same_survey(bare, read_survey(tmp_path))


def test_csv_with_aliased_headers(tmp_path):
    (tmp_path / "photometry.csv").write_text(
        "ID,MJD,Mag,MagErr\n001,58000.5,18.2,0.05\n001,58001.5,18.4,0.06\n002,58000.5,19.0,0.1\n"
    )
    (tmp_path / "objects.csv").write_text("Name,RAJ2000,DEJ2000,Class\n001,10.5,-3.25,VS\n002,20.0,4.0,SN\n")
    survey = read_survey(tmp_path, classes=("VS", "SN", "AGN"))
    assert survey.objects["object_id"].tolist() == ["001", "002"]
    assert survey.photometry["object_id"].tolist() == ["001", "001", "002"]
    assert survey.photometry["mag_err"].tolist() == pytest.approx([0.05, 0.06, 0.1])
    assert survey.class_counts().to_dict() == {"SN": 1, "VS": 1}


def test_read_survey_validates(survey, tmp_path):
    phot = survey.photometry.copy()
    phot.loc[0, "mag_err"] = -1.0
    write_survey(Survey(phot, survey.objects, survey.galaxies), tmp_path)
    with pytest.raises(InvalidLightCurveError, match=r"1 photometry row with mag_err <= 0 \(objects '007'\)"):
        read_survey(tmp_path)
    with pytest.warns(LcrnnWarning, match="1 with mag_err <= 0"):
        back = read_survey(tmp_path, on_invalid="drop")
    assert len(back.photometry) == len(phot) - 1


def test_read_survey_checks_classes(survey, tmp_path):
    write_survey(survey, tmp_path)
    with pytest.raises(InvalidTableError, match=r"outside the allowed classes \(VS, SN\)"):
        read_survey(tmp_path, classes=("VS", "SN"))


def test_read_survey_names_what_it_looked_for(survey, tmp_path):
    survey.photometry.to_parquet(tmp_path / "photometry.parquet")
    with pytest.raises(
        FileNotFoundError, match=r"no objects table in .*: looked for objects\.parquet, objects\.csv"
    ):
        read_survey(tmp_path)
    with pytest.raises(FileNotFoundError, match="no survey directory at .*nowhere"):
        read_survey(tmp_path / "nowhere")


def test_read_survey_refuses_two_versions_of_a_table(survey, tmp_path):
    write_survey(survey, tmp_path)
    survey.objects.to_csv(tmp_path / "objects.csv", index=False)
    with pytest.raises(InvalidTableError, match="both objects.parquet and objects.csv"):
        read_survey(tmp_path)


def test_write_survey_does_not_overwrite_by_accident(survey, tmp_path):
    write_survey(survey, tmp_path)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_survey(survey, tmp_path)
    (tmp_path / "objects.csv").write_text("stale")
    bare = Survey(survey.photometry, survey.objects, None)
    write_survey(bare, tmp_path, overwrite=True)
    # the stale galaxies and CSV files are gone: the directory reads back as written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["objects.parquet", "photometry.parquet"]
    assert_same_survey(bare, read_survey(tmp_path))


def test_read_table_formats_and_kind(survey, tmp_path):
    path = tmp_path / "phot.pq"
    survey.photometry.rename(columns={"mag_err": "sigma_mag"}).to_parquet(path)
    raw = read_table(path)
    assert "sigma_mag" in raw.columns  # without a kind the file comes back as it is
    standard = read_table(path, "photometry")
    pd.testing.assert_frame_equal(standard, survey.photometry)
    gz = tmp_path / "objects.csv.gz"
    survey.objects.to_csv(gz, index=False)
    pd.testing.assert_frame_equal(read_table(gz, "objects"), survey.objects)


def test_read_table_takes_a_frame_without_changing_it():
    frame = pd.DataFrame({"RA": [1, 2], "DEC": [3, 4], "note": ["x", "y"]})
    out = read_table(frame, "galaxies")
    assert list(out.columns) == ["ra", "dec", "note"] and out["ra"].dtype == np.float64
    assert list(frame.columns) == ["RA", "DEC", "note"]


def test_read_table_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.parquet"):
        read_table(tmp_path / "missing.parquet")
    odd = tmp_path / "table.xlsx"
    odd.write_text("x")
    with pytest.raises(InvalidTableError, match=r"cannot tell the format of .*table\.xlsx.*\.parquet"):
        read_table(odd)
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not a parquet file")
    with pytest.raises(InvalidTableError, match=r"could not read .*broken\.parquet' as parquet"):
        read_table(broken)
    with pytest.raises(InvalidTableError, match="no 'ra' column"):
        read_table(pd.DataFrame({"x": [1.0]}), "galaxies")


@pytest.mark.parametrize("name", ["cat.tsv", "cat.txt", "cat.fits", "cat.vot", "cat.ecsv"])
def test_read_table_reads_every_catalogue_format_when_asked(tmp_path, name):
    from astropy.table import Table

    from lcrnn.data.io import READABLE_FORMATS

    frame = pd.DataFrame({"name": ["007", "V2"], "ra": [1.5, 300.25], "dec": [2.5, -10.0], "type": ["EA", "SN"]})
    path = tmp_path / name
    if path.suffix in (".tsv", ".txt"):
        frame.to_csv(path, sep="\t", index=False)
    else:
        Table.from_pandas(frame).write(path, format={".fits": "fits", ".vot": "votable"}.get(path.suffix,
                                                                                         "ascii.ecsv"))
    out = read_table(path, formats=READABLE_FORMATS)
    np.testing.assert_allclose(out["ra"], frame["ra"])
    assert [str(v) for v in out["name"]] == ["007", "V2"]  # an id column read as text keeps its zeros
    with pytest.raises(InvalidTableError, match=r"cannot tell the format .*\.parquet, \.pq, \.csv, \.csv\.gz\."):
        read_table(path)  # survey tables stay Parquet or CSV
