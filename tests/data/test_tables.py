"""Schema, aliases, dtype coercion and validation of the survey tables, on small hand-made frames."""

from __future__ import annotations

import warnings
from contextlib import contextmanager

import numpy as np
import pandas as pd
import pytest

from lcrnn.data.tables import (
    DropReport,
    Survey,
    resolve_columns,
    standardize_table,
    validate_galaxies,
    validate_objects,
    validate_photometry,
    validate_survey,
)
from lcrnn.errors import InvalidLightCurveError, InvalidTableError, LcrnnWarning


def make_photometry() -> pd.DataFrame:
    """Three objects a, b, c with 4, 3 and 3 observations."""
    return pd.DataFrame(
        {
            "object_id": ["a"] * 4 + ["b"] * 3 + ["c"] * 3,
            "mjd": [
                58000.0,
                58010.5,
                58021.25,
                58030.125,
                58001.0,
                58002.0,
                58003.0,
                58100.0,
                58111.0,
                58122.0,
            ],
            "mag": [18.1, 18.3, 18.0, 18.2, 19.5, 19.1, 19.9, 17.0, 17.2, 17.1],
            "mag_err": [0.05, 0.06, 0.05, 0.05, 0.12, 0.10, 0.15, 0.02, 0.02, 0.02],
        }
    )


def make_objects() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "object_id": ["a", "b", "c"],
            "ra": [10.0, 200.5, 359.9],
            "dec": [-5.0, 45.0, 89.0],
            "label": ["VS", "SN", "AGN"],
        }
    )


def make_galaxies() -> pd.DataFrame:
    return pd.DataFrame(
        {"ra": [10.001, 200.0], "dec": [-5.0, 44.9], "name": ["NGC 1", "NGC 2"], "dist_mpc": [40.0, 80.0]}
    )


@contextmanager
def no_warnings():
    """Any warning fails the test: a clean table must pass silently."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# ---------------------------------------------------------------------------------------------- aliases


def test_aliases_are_renamed_case_insensitively():
    phot = make_photometry().rename(
        columns={"object_id": "ID", "mjd": "Time", "mag": "MAG", "mag_err": "SIGMA_MAG"}
    )
    objs = make_objects().rename(
        columns={"object_id": "Name", "ra": "RAJ2000", "dec": "DEJ2000", "label": "Class"}
    )
    gals = make_galaxies().rename(columns={"ra": "RA_deg", "dec": "Dec_Deg"})
    survey, report = validate_survey(phot, objs, gals)
    assert list(survey.photometry.columns) == ["object_id", "mjd", "mag", "mag_err", "band"]
    assert list(survey.objects.columns) == ["object_id", "ra", "dec", "label"]
    # galaxies keep their extra columns, schema first
    assert list(survey.galaxies.columns) == ["ra", "dec", "name", "dist_mpc"]
    assert survey.galaxies["name"].tolist() == ["NGC 1", "NGC 2"]
    assert survey.objects["ra"].tolist() == [10.0, 200.5, 359.9]
    assert report.total == 0


@pytest.mark.parametrize(
    ("alias", "target"),
    [
        ("magerr", "mag_err"),
        ("e_mag", "mag_err"),
        ("sigma_mag", "mag_err"),
        ("MJD", "mjd"),
        ("time", "mjd"),
        ("id", "object_id"),
        ("name", "object_id"),
        ("filter", "band"),
    ],
)
def test_each_photometry_alias(alias, target):
    phot = make_photometry()
    if target == "band":
        phot["band"] = "L"
    mapping = resolve_columns(phot.rename(columns={target: alias}).columns, "photometry")
    assert mapping[alias] == target


def test_exact_schema_name_wins_over_alias():
    objs = make_objects()
    objs["RA_deg"] = 1.0  # a second, aliased ra column must not replace the real one
    frame = standardize_table(objs, "objects")
    assert frame["ra"].tolist() == [10.0, 200.5, 359.9]
    assert "RA_deg" not in frame.columns  # objects keep only their schema


def test_missing_column_error_lists_the_aliases():
    objs = make_objects().drop(columns="dec")
    with pytest.raises(InvalidTableError) as err:
        validate_objects(objs)
    msg = str(err.value)
    assert "'dec'" in msg and "dec_deg" in msg and "dej2000" in msg
    assert "object_id, ra, label" in msg  # the columns found, so the user can see the typo


def test_missing_column_raises_even_in_drop_mode():
    with pytest.raises(InvalidLightCurveError, match="mag_err"):
        validate_photometry(make_photometry().drop(columns="mag_err"), on_invalid="drop")


# ------------------------------------------------------------------------------------------------ dtypes


def test_dtypes_are_coerced():
    phot = pd.DataFrame(
        {
            "object_id": [1, 1, 2],
            "mjd": [58000, 58001, 58002],
            "mag": ["18.5", "18.25", "19"],
            "mag_err": np.array([0.1, 0.2, 0.3], dtype=np.float64),
        }
    )
    frame, _ = validate_photometry(phot)
    assert str(frame["object_id"].dtype) == "str"
    assert frame["object_id"].tolist() == ["1", "1", "2"]
    assert frame["mjd"].dtype == np.float64
    assert frame["mag"].dtype == np.float32 and frame["mag_err"].dtype == np.float32
    assert frame["mag"].tolist() == [18.5, 18.25, 19.0]
    assert frame["band"].tolist() == ["L", "L", "L"]  # default band when the column is absent
    objs, _ = validate_objects({"object_id": [1, 2], "ra": [1, 2], "dec": ["3", "4"]})
    assert objs["object_id"].tolist() == ["1", "2"] and objs["dec"].dtype == np.float64


def test_integral_float_ids_lose_their_decimal_point():
    # An integer id column with a hole in it arrives as float64; "7.0" would never match "7".
    frame = standardize_table(
        {"object_id": [7.0, np.nan, 9.0], "ra": [1.0, 2.0, 3.0], "dec": [0.0, 0.0, 0.0]}, "objects"
    )
    assert frame["object_id"].tolist()[0::2] == ["7", "9"]
    assert frame["object_id"].isna().tolist() == [False, True, False]


def test_unparseable_numbers_are_reported_not_guessed():
    phot = make_photometry().astype({"mag": object})
    phot.loc[2, "mag"] = "bright"
    with pytest.raises(
        InvalidLightCurveError,
        match=r"1 photometry row with mag missing, infinite or not a number \(objects 'a'\)",
    ):
        validate_photometry(phot)


def test_input_frame_is_not_modified():
    phot = make_photometry().rename(columns={"mag_err": "magerr"})
    phot.loc[0, "magerr"] = -1.0
    before = phot.copy()
    with pytest.warns(LcrnnWarning):
        validate_photometry(phot, on_invalid="drop")
    pd.testing.assert_frame_equal(phot, before)


# -------------------------------------------------------------------------------- bad photometry rows


def _nan_mag(df):
    df.loc[[1, 5], "mag"] = np.nan


def _inf_mjd(df):
    df.loc[7, "mjd"] = np.inf


def _inf_mag_err(df):
    df.loc[0, "mag_err"] = -np.inf  # non-finite wins over non-positive: counted once, as non-finite


def _nonpositive_err(df):
    df.loc[[0, 4, 8], "mag_err"] = [0.0, -0.1, 0.0]


def _huge_err(df):
    df.loc[[2, 6], "mag_err"] = [10.0, 99.0]


def _implausible_mag(df):
    df.loc[[3, 4], "mag"] = [50.0, -62.0]


def _duplicate(df):
    df.loc[1, "mjd"] = df.loc[0, "mjd"]
    df.loc[9, "mjd"] = df.loc[8, "mjd"]


def _missing_band(df):
    df["band"] = ["L"] * 9 + [None]


def _missing_id(df):
    df.loc[3, "object_id"] = None


PHOTOMETRY_CASES = [
    # corrupt, reason, number of bad rows, objects named, rows dropped
    (_nan_mag, "nonfinite_mag", 2, ["a", "b"], [1, 5]),
    (_inf_mjd, "nonfinite_mjd", 1, ["c"], [7]),
    (_inf_mag_err, "nonfinite_mag_err", 1, ["a"], [0]),
    (_nonpositive_err, "nonpositive_mag_err", 3, ["a", "b", "c"], [0, 4, 8]),
    (_huge_err, "large_mag_err", 2, ["a", "b"], [2, 6]),
    (_implausible_mag, "mag_out_of_range", 2, ["b"], [3, 4]),
    (_duplicate, "duplicate_observation", 2, ["a", "c"], [1, 9]),
    (_missing_band, "missing_band", 1, ["c"], [9]),
    (_missing_id, "missing_object_id", 1, [], [3]),
]


@pytest.mark.parametrize(
    ("corrupt", "reason", "n_bad", "ids", "rows"),
    PHOTOMETRY_CASES,
    ids=[case[1] for case in PHOTOMETRY_CASES],
)
def test_bad_photometry_raises_naming_ids_and_count(corrupt, reason, n_bad, ids, rows):
    phot = make_photometry()
    corrupt(phot)
    with pytest.raises(InvalidLightCurveError) as err:
        validate_photometry(phot)
    msg = str(err.value)
    unit = "row" if n_bad == 1 else "rows"
    assert f"{n_bad} photometry {unit} " in msg
    for object_id in ids:
        assert f"'{object_id}'" in msg
    if not ids:  # no id to name: the row number is given instead
        assert f"rows {rows[0]}" in msg
    assert 'on_invalid="drop"' in msg


@pytest.mark.parametrize(
    ("corrupt", "reason", "n_bad", "ids", "rows"),
    PHOTOMETRY_CASES,
    ids=[case[1] for case in PHOTOMETRY_CASES],
)
def test_bad_photometry_is_dropped_and_counted(corrupt, reason, n_bad, ids, rows):
    phot = make_photometry()
    corrupt(phot)
    with pytest.warns(LcrnnWarning) as record:
        frame, report = validate_photometry(phot, on_invalid="drop")
    assert len(record) == 1 and str(record[0].message) == report.summary()
    assert report.counts == {f"photometry.{reason}": n_bad}
    kept = [i for i in range(len(phot)) if i not in rows]
    np.testing.assert_array_equal(frame["mjd"].to_numpy(), phot.loc[kept, "mjd"].to_numpy(dtype=np.float64))
    assert frame.index.equals(pd.RangeIndex(len(kept)))


def test_duplicate_keeps_the_first_good_copy():
    phot = make_photometry()
    phot.loc[1, "mjd"] = phot.loc[0, "mjd"]
    phot.loc[0, "mag"] = np.nan  # the first copy is bad, so the second one is the one kept
    with pytest.warns(LcrnnWarning):
        frame, report = validate_photometry(phot, on_invalid="drop")
    assert report.counts == {"photometry.nonfinite_mag": 1}
    assert frame.loc[0, "mjd"] == 58000.0 and frame.loc[0, "mag"] == np.float32(18.3)


def test_a_row_with_several_problems_is_counted_once():
    phot = make_photometry()
    phot.loc[2, ["mag", "mag_err"]] = [np.nan, -1.0]
    with pytest.warns(LcrnnWarning):
        frame, report = validate_photometry(phot, on_invalid="drop")
    assert report.counts == {"photometry.nonfinite_mag": 1}
    assert report.total == len(phot) - len(frame) == 1


def test_error_names_only_the_first_few_ids():
    phot = pd.DataFrame(
        {
            "object_id": [f"id{i}" for i in range(8)],
            "mjd": 58000.0 + np.arange(8.0),
            "mag": np.full(8, 18.0),
            "mag_err": np.zeros(8),
        }
    )
    with pytest.raises(
        InvalidLightCurveError,
        match=r"8 photometry rows with mag_err <= 0 \(objects 'id0', 'id1', "
        r"'id2', 'id3', 'id4' and 3 more\)",
    ):
        validate_photometry(phot)


def test_all_problems_are_listed_in_one_error():
    phot = make_photometry()
    _nan_mag(phot)
    _nonpositive_err(phot)
    with pytest.raises(InvalidLightCurveError) as err:
        validate_photometry(phot)
    assert "2 photometry rows with mag missing" in str(err.value)
    assert "3 photometry rows with mag_err <= 0" in str(err.value)


def test_clean_photometry_passes_silently():
    with no_warnings():
        frame, report = validate_photometry(make_photometry(), on_invalid="drop")
    assert report.counts == {} and report.total == 0 and len(frame) == 10


def test_on_invalid_must_be_known():
    with pytest.raises(ValueError, match="on_invalid"):
        validate_photometry(make_photometry(), on_invalid="ignore")


# ----------------------------------------------------------------------------------- bad objects rows


OBJECT_CASES = [
    # column, value(s) at rows, reason
    ("ra", {1: 360.0}, "ra_out_of_range"),
    ("ra", {0: -0.5, 2: 400.0}, "ra_out_of_range"),
    ("dec", {2: 90.5}, "dec_out_of_range"),
    ("dec", {0: -91.0}, "dec_out_of_range"),
    ("ra", {1: np.nan}, "nonfinite_ra"),
    ("dec", {2: np.inf}, "nonfinite_dec"),
    ("object_id", {2: "a"}, "duplicate_object_id"),
    ("label", {1: "QSO"}, "unknown_label"),
]


@pytest.mark.parametrize(
    ("column", "values", "reason"), OBJECT_CASES, ids=[f"{c[2]}-{i}" for i, c in enumerate(OBJECT_CASES)]
)
def test_bad_objects_raise_and_drop(column, values, reason):
    objs = make_objects()
    for row, value in values.items():
        objs.loc[row, column] = value
    bad_ids = [objs.loc[row, "object_id"] for row in values]
    with pytest.raises(InvalidTableError) as err:
        validate_objects(objs, classes=("VS", "SN", "AGN"))
    assert not isinstance(err.value, InvalidLightCurveError)
    msg = str(err.value)
    n = len(values)
    assert f"{n} object{'s' if n > 1 else ''} " in msg
    assert all(f"'{i}'" in msg for i in bad_ids) and 'on_invalid="drop"' in msg
    with pytest.warns(LcrnnWarning, match="dropped"):
        frame, report = validate_objects(objs, on_invalid="drop", classes=("VS", "SN", "AGN"))
    assert report.counts == {f"objects.{reason}": n}
    assert len(frame) == 3 - n


def test_unknown_label_error_lists_the_classes():
    objs = make_objects()
    objs.loc[0, "label"] = "CV"
    with pytest.raises(
        InvalidTableError,
        match=r"1 object with a label outside the allowed classes \(VS, SN, AGN\) "
        r"\(objects 'a'\)",
    ):
        validate_objects(objs, classes=("VS", "SN", "AGN"))


def test_any_nonempty_label_is_allowed_by_default_and_missing_means_unlabelled():
    objs = make_objects()
    objs.loc[0, "label"] = "CV"
    objs.loc[1, "label"] = None
    frame, report = validate_objects(objs)
    assert report.total == 0
    assert frame["label"].tolist()[0::2] == ["CV", "AGN"] and frame["label"].isna().tolist() == [
        False,
        True,
        False,
    ]
    objs.loc[2, "label"] = "  "
    with pytest.raises(InvalidTableError, match="empty string"):
        validate_objects(objs)


def test_classes_must_be_a_sequence():
    with pytest.raises(TypeError, match="sequence"):
        validate_objects(make_objects(), classes="VS")


def test_bad_galaxies_are_named_by_row():
    gals = pd.DataFrame(
        {"ra": [1.0, 2.0, 370.0, np.nan], "dec": [0.0, -95.0, 0.0, 0.0], "name": list("wxyz")}
    )
    with pytest.raises(InvalidTableError) as err:
        validate_galaxies(gals)
    msg = str(err.value)
    assert "1 galaxy with ra missing" in msg and "(rows 3)" in msg
    assert "1 galaxy with ra outside [0, 360)" in msg and "(rows 2)" in msg
    assert "1 galaxy with dec outside [-90, 90]" in msg and "(rows 1)" in msg
    with pytest.warns(LcrnnWarning):
        frame, report = validate_galaxies(gals, on_invalid="drop")
    assert frame["name"].tolist() == ["w"]
    assert report.counts == {
        "galaxies.nonfinite_ra": 1,
        "galaxies.ra_out_of_range": 1,
        "galaxies.dec_out_of_range": 1,
    }


# ------------------------------------------------------------------------------------ the whole survey


def test_photometry_of_unknown_objects():
    phot = make_photometry()
    objs = make_objects().iloc[:2]  # "c" is not listed
    with pytest.raises(
        InvalidTableError,
        match=r"3 photometry rows of objects missing from the objects table "
        r"\(objects 'c'\)",
    ):
        validate_survey(phot, objs)
    with pytest.warns(LcrnnWarning) as record:
        survey, report = validate_survey(phot, objs, on_invalid="drop")
    assert len(record) == 1
    assert report.counts == {"photometry.unknown_object": 3}
    assert set(survey.photometry["object_id"]) == {"a", "b"}


def test_objects_without_photometry():
    phot = make_photometry()
    phot = phot[phot["object_id"] != "b"]
    with pytest.raises(InvalidTableError, match=r"1 object with no photometry \(objects 'b'\)"):
        validate_survey(phot, make_objects())
    with pytest.warns(LcrnnWarning):
        survey, report = validate_survey(phot, make_objects(), on_invalid="drop")
    assert report.counts == {"objects.no_photometry": 1}
    assert survey.objects["object_id"].tolist() == ["a", "c"]


def test_dropping_cascades_between_tables():
    phot = make_photometry()
    phot.loc[[4, 5, 6], "mag_err"] = 0.0  # every observation of "b": b must go too
    objs = make_objects()
    objs.loc[2, "dec"] = 95.0  # "c" is dropped, so its photometry must go
    with pytest.warns(LcrnnWarning) as record:
        survey, report = validate_survey(phot, objs, make_galaxies(), on_invalid="drop")
    assert len(record) == 1  # one warning for the whole survey
    assert report.counts == {
        "photometry.nonpositive_mag_err": 3,
        "objects.dec_out_of_range": 1,
        "photometry.dropped_object": 3,
        "objects.no_photometry": 1,
    }
    assert survey.objects["object_id"].tolist() == ["a"]
    assert survey.photometry["object_id"].tolist() == ["a"] * 4
    assert report.by_table() == {"photometry": 6, "objects": 2}
    assert report.total == 8
    summary = report.summary()
    assert (
        "6 photometry rows" in summary
        and "3 with mag_err <= 0" in summary
        and "1 with no photometry" in summary
    )
    assert str(record[0].message) == summary


def test_strict_survey_stops_at_bad_photometry_first():
    phot = make_photometry()
    phot.loc[0, "mag"] = np.inf
    with pytest.raises(InvalidLightCurveError):
        validate_survey(phot, make_objects())


def test_nothing_left_is_an_error():
    phot = make_photometry()
    phot["mag_err"] = -1.0
    with pytest.raises(InvalidTableError, match="no object is left"):
        validate_survey(phot, make_objects(), on_invalid="drop")


def test_survey_counts_and_classes():
    with no_warnings():
        survey, report = validate_survey(make_photometry(), make_objects(), classes=["VS", "SN", "AGN"])
    assert report.counts == {}
    assert isinstance(survey, Survey) and survey.galaxies is None
    assert survey.n_objects == 3 and survey.has_labels
    assert survey.class_counts().to_dict() == {"AGN": 1, "SN": 1, "VS": 1}
    with pytest.raises(AttributeError):
        survey.objects = None  # frozen
    unlabelled, _ = validate_survey(make_photometry(), make_objects().drop(columns="label"))
    assert not unlabelled.has_labels
    with pytest.raises(InvalidTableError, match="no labels"):
        unlabelled.class_counts()


def test_class_counts_leave_out_unlabelled():
    objs = make_objects()
    objs["label"] = ["SN", None, "SN"]
    survey, _ = validate_survey(make_photometry(), objs)
    assert survey.class_counts().to_dict() == {"SN": 2}


def test_drop_report_helpers():
    a = DropReport({"photometry.nonfinite_mag": 2})
    b = DropReport({"photometry.nonfinite_mag": 1, "galaxies.ra_out_of_range": 1})
    merged = a.merged(b)
    assert merged.counts == {"photometry.nonfinite_mag": 3, "galaxies.ra_out_of_range": 1}
    assert merged.total == 4 and a.total == 2  # a unchanged
    assert merged.summary() == (
        "dropped 3 photometry rows (3 with mag missing, infinite or not a number); "
        "1 galaxy (1 with ra outside [0, 360) degrees)"
    )
    assert DropReport().summary() == "nothing dropped"


def test_validation_counts_exactly_on_a_survey_of_realistic_shape():
    # Speed at the paper's size is measured by benchmarks/, not asserted here.
    rng = np.random.default_rng(1)
    n_obs, n_obj = 60_000, 10_000
    phot = pd.DataFrame(
        {
            "object_id": rng.integers(0, n_obj, n_obs).astype(str),
            "mjd": 58000 + rng.uniform(0, 600, n_obs),
            "mag": rng.normal(18, 1, n_obs),
            "mag_err": rng.uniform(0.01, 0.2, n_obs),
        }
    )
    phot.loc[:99, "mag_err"] = 0.0
    objs = pd.DataFrame(
        {
            "object_id": np.arange(n_obj).astype(str),
            "ra": rng.uniform(0, 360, n_obj),
            "dec": rng.uniform(-90, 90, n_obj),
            "label": rng.choice(["VS", "SN", "AGN"], n_obj),
        }
    )
    with pytest.warns(LcrnnWarning):
        survey, report = validate_survey(phot, objs, on_invalid="drop", classes=("VS", "SN", "AGN"))
    assert report.counts["photometry.nonpositive_mag_err"] == 100
    assert len(survey.photometry) == n_obs - 100


def test_catalogue_columns_come_from_the_same_alias_table():
    from lcrnn.data.labels import CATALOG_ALIASES
    from lcrnn.data.schema import COLUMN_ALIASES, find_column

    assert CATALOG_ALIASES["ra"] == ("ra", *COLUMN_ALIASES["ra"])
    assert CATALOG_ALIASES["name"] == ("object_id", *COLUMN_ALIASES["object_id"])
    # a catalogue's spelling is a survey table's too: MANTRA's objects read as lcrnn objects
    objs = make_objects().rename(columns={"object_id": "#CRTS ID", "ra": "RA (J2000)", "dec": "Dec (J2000)"})
    assert list(standardize_table(objs, "objects").columns) == ["object_id", "ra", "dec", "label"]
    assert find_column([" RA ", "ra_deg"], "ra") == " RA "  # the column's own name first, spaces ignored
    assert find_column(["type"], "label") is None  # a catalogue type is not an lcrnn label


# --- plausible times and printable text (issue 13) -----------------------------------------------------------


def test_julian_dates_are_refused_with_a_hint_to_subtract_2400000_5():
    phot = make_photometry()
    phot.loc[[1, 8], "mjd"] += 2_400_000.5  # JDs for two rows of objects a and c
    with pytest.raises(InvalidLightCurveError, match=r"2 photometry rows with mjd outside the plausible range "
                       r"\[15000, 100000\] -- values above 2,300,000 look like Julian Dates: subtract 2400000.5"
                       r".*\(objects 'a', 'c'\)") as caught:
        validate_photometry(phot)
    assert caught.value.invalid_rows == {"mjd": [1, 8]}
    with pytest.warns(LcrnnWarning, match="1 with mjd outside"):
        frame, report = validate_survey(phot.drop(index=8), make_objects(), on_invalid="drop")
    assert report.counts == {"photometry.mjd_out_of_range": 1} and 58010.5 + 2_400_000.5 not in frame.photometry.mjd


@pytest.mark.parametrize("mjd", [0.0, 12.5, 1.0, -3.0, 1e300, 150_000.0])
def test_relative_negative_and_absurd_times_are_refused(mjd):
    phot = make_photometry()
    phot.loc[4, "mjd"] = mjd
    with pytest.raises(InvalidLightCurveError, match=r"mjd outside the plausible range") as caught:
        validate_photometry(phot)
    relative = 0 <= mjd < 10_000
    assert ("days since the first observation" in str(caught.value)) == relative
    assert ("Julian Dates" in str(caught.value)) == (mjd > 2_300_000)


def test_the_mjd_range_is_configurable():
    from lcrnn.data.tables import MjdRange

    phot = make_photometry().assign(mjd=lambda f: f.mjd - 58000.0)  # a simulation's clock: days from 0
    frame, _ = validate_photometry(phot, mjd_range=MjdRange(0.0, 1000.0))
    assert len(frame) == len(phot)
    with pytest.raises(InvalidLightCurveError, match=r"\[0, 1000\]"):
        validate_photometry(make_photometry(), mjd_range=MjdRange(0.0, 1000.0))
    with pytest.raises(ValueError, match="finite low < high"):
        MjdRange(10.0, 5.0)


@pytest.mark.parametrize("column", ["object_id", "band"])
@pytest.mark.parametrize("char", ["\x00", "\n", "\x1b", "\x7f"])
def test_nul_and_control_characters_in_photometry_text_are_refused(column, char):
    phot = make_photometry().assign(band="g")
    phot[column] = phot[column].astype(object)
    phot.loc[5, column] = f"b{char}"
    with pytest.raises(InvalidLightCurveError, match=f"1 photometry row with a NUL or control character in {column}"):
        validate_photometry(phot)


@pytest.mark.parametrize("column", ["object_id", "label"])
def test_nul_in_object_ids_and_labels_is_refused(column):
    objects = make_objects()
    objects.loc[1, column] = "S\x00N"
    with pytest.raises(InvalidTableError, match=f"1 object with a NUL or control character in {column}") as caught:
        validate_objects(objects)
    assert caught.value.invalid_rows == {column: [1]}
