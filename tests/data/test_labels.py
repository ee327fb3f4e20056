"""Cross-match labelling: the type folding, catalogue reading, matching and the `lcrnn label` command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from lcrnn.cli import app
from lcrnn.data.labels import (
    Catalog,
    cross_match_labels,
    load_label_map,
    read_catalog,
)
from lcrnn.data.real import mantra_catalog, osc_catalog
from lcrnn.errors import InvalidTableError

REAL = Path(__file__).parent / "real"


@pytest.fixture(scope="module")
def label_map():
    return load_label_map()


VS_TYPES = ["EA", "EB", "EW", "RRAB", "RRC", "DSCT", "CEP", "DCEP", "M", "SR", "SRA", "SRB", "LB", "UG", "UGSS",
            "NL", "ROT", "BY", "YSO", "INS", "GDOR", "ELL", "RS", "UV", "CV", "Mira", "LPV", "Flare", "Var", "IA", "IB"]
SN_TYPES = ["SN", "SN Ia", "SN II", "IIP", "II P", "IIn", "Ib", "Ic", "Ia", "SLSN", "SLSN-I", "SLSN-R", "Ia-91T",
            "Ia-91bg", "Ia Pec", "Ib/c", "Ic BL", "IIb/Ib/Ic", ".IaPec", "SN Ia-91T-like", "SN IIn", "Ca-rich", "CC"]
AGN_TYPES = ["AGN", "QSO", "Blazar", "BL Lac", "BLLAC", "Seyfert", "Seyfert 1", "Sy2", "S1.5", "FSRQ", "AGN/Blazar"]


@pytest.mark.parametrize("code,cls", [(t, "VS") for t in VS_TYPES] + [(t, "SN") for t in SN_TYPES]
                         + [(t, "AGN") for t in AGN_TYPES])
def test_common_catalogue_types_fold_into_their_class(label_map, code, cls):
    match = label_map.classify(code)
    assert (match.label, match.uncertain) == (cls, False)


def test_default_map_holds_hundreds_of_variable_star_types(label_map):
    n_vs = sum(1 for c in label_map.exact.values() if c == "VS")
    assert n_vs >= 150
    assert label_map.classes == ("VS", "SN", "AGN")


@pytest.mark.parametrize("code,cls", [("SN?", "SN"), ("Blazar?", "AGN"), ("EA:", "VS"), ("Ia Pec?", "SN"),
                                      ("RRAB:", "VS"), ("EA/RS:", "VS")])
def test_uncertain_types_keep_their_class_and_are_flagged(label_map, code, cls):
    match = label_map.classify(code)
    assert (match.label, match.uncertain) == (cls, True)


def test_uncertain_types_can_be_left_out(label_map):
    types = ["SN?", "SN", "Blazar?", "EA:"]
    assert label_map.map_types(types, include_uncertain=True).tolist() == ["SN", "SN", "AGN", "VS"]
    kept = label_map.map_types(types, include_uncertain=False)
    assert kept.isna().tolist() == [True, False, True, True]


@pytest.mark.parametrize("code,reason", [
    ("Candidate", "untyped"), ("Unknown", "untyped"), ("HPM", "untyped"), (None, "untyped"), ("", "untyped"),
    ("SN/CV", "ambiguous"), ("AGN/CV", "ambiguous"), ("ia", "ambiguous"),
    ("LGRB", "unknown"), ("TDE", "unknown"), ("LBV to IIn", "unknown"), ("SN Impostor", "unknown"),
    ("SN Candidate", "unknown"), ("SN/TDE", "unknown"),
])
def test_candidates_unknown_and_conflicting_types_are_left_unlabelled(label_map, code, reason):
    match = label_map.classify(code)
    assert match.label is None
    assert match.reason == reason


def test_composites_ignore_modifiers_and_need_agreeing_parts(label_map):
    # 'BL' alone is a Veron BL Lac object, but in 'RRAB/BL' it is the Blazhko effect of an RR Lyrae star.
    assert label_map.classify("BL").label == "AGN"
    assert label_map.classify("RRAB/BL").label == "VS"
    assert label_map.classify("EA+BY").label == "VS"
    assert label_map.classify("EA|EB").label == "VS"


def test_case_tells_gcvs_irregulars_from_supernova_types(label_map):
    assert label_map.classify("IB").label == "VS"  # GCVS: irregular, late spectral type
    assert label_map.classify("Ib").label == "SN"
    assert label_map.classify("  SN   Ia ").label == "SN"  # whitespace does not matter


def test_an_edited_mapping_file_changes_the_folding(tmp_path, label_map):
    spec = {"classes": ["periodic", "transient"],
            "types": {"periodic": ["RRAB", "EW"], "transient": ["SN Ia", "CV"]},
            "untyped": ["Candidate"]}
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(spec))
    mine = load_label_map(path)
    assert mine.classes == ("periodic", "transient")
    assert mine.map_types(["EW", "CV", "QSO", "Candidate"]).tolist()[:2] == ["periodic", "transient"]
    assert mine.map_types(["QSO", "Candidate"]).isna().all()


def test_bad_mapping_files_say_what_to_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="default.json"):
        load_label_map(tmp_path / "absent.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(InvalidTableError, match="not valid JSON"):
        load_label_map(broken)
    clash = tmp_path / "clash.json"
    clash.write_text(json.dumps({"classes": ["VS", "SN"], "types": {"VS": ["CV"], "SN": ["CV"]}}))
    with pytest.raises(InvalidTableError, match="both"):
        load_label_map(clash)
    stray = tmp_path / "stray.json"
    stray.write_text(json.dumps({"classes": ["VS"], "types": {"VS": ["EA"], "SNe": ["Ia"]}}))
    with pytest.raises(InvalidTableError, match="SNe"):
        load_label_map(stray)


# ----------------------------------------------------------------------------------------------------------
# Catalogues


def test_read_catalog_finds_columns_of_the_mantra_table():
    cat = read_catalog(REAL / "mantra" / "transient_info_all5539.tsv")
    raw = pd.read_csv(REAL / "mantra" / "transient_info_all5539.tsv", sep="\t")
    assert cat.name == "transient_info_all5539"
    assert len(cat.table) == len(raw)
    np.testing.assert_allclose(cat.table["ra"], raw["RA (J2000)"])
    assert cat.table["source"].tolist() == raw["#CRTS ID"].astype(str).tolist()
    assert cat.table["type"].tolist() == raw["Classification"].astype(str).tolist()


def test_read_catalog_prefers_degrees_and_parses_sexagesimal():
    osc = pd.read_parquet(REAL / "osc" / "objects.parquet")
    cat = read_catalog(osc, name="osc")
    usable = osc[osc["ra_deg"].notna()]
    np.testing.assert_allclose(cat.table["ra"], usable["ra_deg"])
    assert cat.table["type"].iloc[0] == usable["claimedtype"].iloc[0]
    # Only the sexagesimal strings: astropy parses them to the same place (to 0.1 arcsec).
    text_only = read_catalog(osc.drop(columns=["ra_deg", "dec_deg"]), name="osc")
    np.testing.assert_allclose(text_only.table["ra"], usable["ra_deg"], atol=3e-5)
    np.testing.assert_allclose(text_only.table["dec"], usable["dec_deg"], atol=3e-5)


def test_read_catalog_names_missing_columns():
    frame = pd.DataFrame({"alpha_x": [1.0], "dec": [2.0], "type": ["EA"]})
    with pytest.raises(InvalidTableError, match="ra_column"):
        read_catalog(frame)
    cat = read_catalog(frame, ra_column="alpha_x")
    assert cat.table["ra"].tolist() == [1.0]
    with pytest.raises(InvalidTableError, match="no column 'kind'"):
        read_catalog(frame, ra_column="alpha_x", type_column="kind")


# ----------------------------------------------------------------------------------------------------------
# Cross-match


@pytest.fixture(scope="module")
def mantra_objects():
    return mantra_catalog(REAL / "mantra")[["object_id", "ra", "dec"]]


@pytest.fixture(scope="module")
def catalogs():
    return [Catalog("mantra", mantra_catalog(REAL / "mantra", all_transients=True).rename(
                columns={"object_id": "source"})),
            read_catalog(osc_catalog(REAL / "osc"), name="osc")]


def test_mantra_and_osc_catalogues_label_the_mantra_objects(mantra_objects, catalogs):
    result = cross_match_labels(mantra_objects, catalogs, radius_arcsec=3.0)
    truth = mantra_catalog(REAL / "mantra").set_index("object_id")["type"]
    got = result.labels.set_index("object_id")
    assert got.index.tolist() == mantra_objects["object_id"].tolist()
    # Each object matches its own MANTRA entry at zero separation, so its label is its MANTRA type folded.
    expected = load_label_map().map_types(truth.loc[got.index]).to_numpy()
    assert got["label"].isna().tolist() == pd.isna(expected).tolist()
    assert (got["label"].dropna() == pd.Series(expected, index=got.index).dropna()).all()
    assert result.class_counts() == {"AGN": 5, "SN": 7, "VS": 9}
    # SN 2010ay (an OSC Ic-BL) is MANTRA 1003171260614126522: both catalogues agree.
    row = got.loc["1003171260614126522"]
    assert row["label"] == "SN" and row["n_matches"] == 2 and "osc:Ic BL" in row["matched"]
    assert result.n_conflicts == 0


def test_conflicting_catalogues_are_reported_not_guessed(mantra_objects, catalogs):
    sn = mantra_catalog(REAL / "mantra").query("type == 'SN'").iloc[0]
    # A variable-star index claiming an RR Lyrae one arcsecond from a MANTRA supernova.
    vsx = pd.DataFrame({"name": ["V1"], "RAJ2000": [sn["ra"]], "DEJ2000": [sn["dec"] + 1 / 3600],
                        "Type": ["RRAB"]})
    result = cross_match_labels(mantra_objects, [*catalogs, read_catalog(vsx, name="vsx")], radius_arcsec=3.0)
    assert result.n_conflicts == 1
    assert pd.isna(result.labels.set_index("object_id").loc[sn["object_id"], "label"])
    conflict = result.conflicts
    assert set(conflict["object_id"]) == {sn["object_id"]}
    assert set(conflict["class"]) == {"SN", "VS"}
    assert conflict.set_index("catalog").loc["vsx", "separation_arcsec"] == pytest.approx(1.0, abs=0.01)
    # The other objects keep their labels.
    assert result.class_counts() == {"AGN": 5, "SN": 6, "VS": 9}
    # Outside the radius the RR Lyrae is no counterpart and no conflict arises.
    narrow = cross_match_labels(mantra_objects, [*catalogs, read_catalog(vsx, name="vsx")], radius_arcsec=0.5)
    assert narrow.n_conflicts == 0


def test_objects_without_counterparts_stay_unlabelled(catalogs):
    far = pd.DataFrame({"object_id": ["nowhere"], "ra": [123.0], "dec": [-45.0]})
    result = cross_match_labels(far, catalogs, radius_arcsec=5.0)
    assert result.labels["label"].isna().all()
    assert result.labels["n_matches"].tolist() == [0]
    with pytest.raises(InvalidTableError, match="positive"):
        cross_match_labels(far, catalogs, radius_arcsec=0)
    with pytest.raises(InvalidTableError, match="dec"):
        cross_match_labels(far.drop(columns="dec"), catalogs)


def test_label_command_writes_labels_and_conflicts(tmp_path, mantra_objects):
    objects_path = tmp_path / "objects.csv"
    mantra_objects.to_csv(objects_path, index=False)
    joined = mantra_catalog(REAL / "mantra", all_transients=True)
    joined_path = tmp_path / "mantra_all.csv"
    joined.rename(columns={"object_id": "name"}).to_csv(joined_path, index=False)
    sn = mantra_catalog(REAL / "mantra").query("type == 'SN'").iloc[0]
    vsx_path = tmp_path / "vsx.csv"
    pd.DataFrame({"Name": ["V1"], "RAJ2000": [sn["ra"]], "DEJ2000": [sn["dec"]], "Type": ["EW"]}).to_csv(
        vsx_path, index=False)
    out = tmp_path / "labelled.csv"
    result = CliRunner().invoke(app, ["label", "--objects", str(objects_path), "--catalog", str(joined_path),
                                      "--catalog", str(REAL / "osc" / "objects.parquet"), "--catalog", str(vsx_path),
                                      "--radius", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "1 conflicts" in result.output
    labelled = pd.read_csv(out, dtype={"object_id": str})
    assert len(labelled) == len(mantra_objects)
    assert labelled["label"].value_counts().to_dict() == {"VS": 9, "SN": 6, "AGN": 5}
    conflicts = pd.read_csv(tmp_path / "labelled.conflicts.csv", dtype={"object_id": str})
    assert set(conflicts["object_id"]) == {str(sn["object_id"])}


def test_label_command_writes_parquet_when_asked(tmp_path, mantra_objects):
    objects_path = tmp_path / "objects.parquet"
    mantra_objects.to_parquet(objects_path, index=False)
    catalog_path = tmp_path / "mantra_all.parquet"
    mantra_catalog(REAL / "mantra", all_transients=True).to_parquet(catalog_path, index=False)
    out = tmp_path / "labelled.parquet"
    result = CliRunner().invoke(app, ["label", "--objects", str(objects_path), "--catalog", str(catalog_path),
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    labelled = pd.read_parquet(out)
    assert len(labelled) == len(mantra_objects) and labelled["label"].notna().any()
    assert (tmp_path / "labelled.conflicts.csv").is_file()


def test_label_command_refuses_an_output_it_cannot_write_before_matching(tmp_path, mantra_objects, plain_output):
    objects_path = tmp_path / "objects.parquet"
    mantra_objects.to_parquet(objects_path, index=False)
    result = CliRunner().invoke(app, ["label", "--objects", str(objects_path), "--catalog",
                                      str(tmp_path / "absent.csv"), "--out", str(tmp_path / "labels.txt")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "cannot tell the format of" in plain_output(result) and not (tmp_path / "labels.txt").exists()


def test_read_catalog_reads_fits_and_refuses_an_unknown_suffix(tmp_path):
    from astropy.table import Table

    frame = pd.DataFrame({"Name": ["V1", "V2"], "RAJ2000": [10.0, 20.0], "DEJ2000": [-5.0, 5.0],
                          "VarType": ["EA", "RRAB"]})
    Table.from_pandas(frame).write(tmp_path / "vsx.fits")
    cat = read_catalog(tmp_path / "vsx.fits")
    assert cat.name == "vsx" and cat.table["type"].tolist() == ["EA", "RRAB"]
    odd = tmp_path / "vsx.xlsx"
    odd.write_text("x")
    with pytest.raises(InvalidTableError, match=r"cannot tell the format .*\.fits"):
        read_catalog(odd)
