"""The audit finds where a label was planted (context, sampling, shape); the CLI writes its page."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from lcrnn.cli import app
from lcrnn.data.io import write_survey
from lcrnn.data.features import feature_table
from lcrnn.data.tables import Survey
from lcrnn.evaluate.adversarial import adversarial_validation
from lcrnn.evaluate.audit import FEATURE_SETS, audit_survey
from lcrnn.evaluate.audit_page import add_audit_to_report, gain_sentence

CLASSES = ("VS", "SN", "AGN")


def planted_survey(n_per_class: int = 60, seed: int = 0, plant: str = "context", prefix: str = "",
                   amplitude: float = 0.3) -> Survey:
    """Light curves drawn alike for every class, the label planted in one place only.

    ``plant="context"``: SN 3" from a galaxy, AGN on a galaxy's nucleus, VS far from any; sampling and shape
    say nothing. ``plant="none"``: positions random and no galaxies, so nothing gives the label away.
    """
    rng = np.random.default_rng(seed)
    photometry, objects, galaxies = [], [], []
    for cls in CLASSES:
        for i in range(n_per_class):
            object_id = f"{prefix}{cls}-{i}"
            n = int(rng.integers(1, 25))
            t = 59000.0 + np.sort(rng.choice(400, n, replace=False)).astype(float)
            mag = 18.0 + amplitude * np.sin(2 * np.pi * t / rng.uniform(5, 50)) + rng.normal(0, 0.05, n)
            photometry.append(pd.DataFrame({"object_id": object_id, "mjd": t, "mag": mag,
                                            "mag_err": rng.uniform(0.03, 0.08, n), "band": "L"}))
            ra, dec = rng.uniform(0, 360), rng.uniform(-60, 60)
            objects.append((object_id, ra, dec, cls))
            if plant == "context" and cls != "VS":
                offset = 3.0 if cls == "SN" else 0.2  # arcsec
                galaxies.append((ra + offset / 3600 / np.cos(np.radians(dec)), dec))
    return Survey(pd.concat(photometry, ignore_index=True),
                  pd.DataFrame(objects, columns=["object_id", "ra", "dec", "label"]),
                  pd.DataFrame(galaxies, columns=["ra", "dec"]) if galaxies else None)


@pytest.fixture(scope="module")
def context_audit():
    return audit_survey(planted_survey(), folds=3, seed=0)


def test_a_label_planted_in_the_context_is_found_there_and_nowhere_else(context_audit):
    scores = context_audit.scores
    assert list(scores) == list(FEATURE_SETS)
    assert scores["context"].auc > 0.95
    assert abs(scores["sampling"].auc - 0.5) < 0.12
    assert abs(scores["shape"].auc - 0.5) < 0.12
    assert scores["all"].auc > 0.9
    assert len(scores["context"].folds) == 3
    assert scores["context"].auc == pytest.approx(np.mean(scores["context"].folds))
    assert context_audit.n_objects == 180 and context_audit.class_counts == {"AGN": 60, "SN": 60, "VS": 60}


def test_the_result_has_the_documented_keys(context_audit):
    d = context_audit.to_dict()
    for name in ("context", "sampling", "shape", "all"):
        assert set(d[name]) >= {"auc", "auc_std", "folds"}
    assert d["n_objects"] == 180 and d["folds"] == 3 and d["seed"] == 0
    assert d["class_counts"] == {"AGN": 60, "SN": 60, "VS": 60}
    assert "adversarial" not in d
    json.dumps(d, allow_nan=False)
    assert "beyond context and sampling" in gain_sentence(context_audit)


def test_max_objects_keeps_the_rare_classes_whole_and_says_so():
    survey = planted_survey(n_per_class=40)
    rare_dropped = [f"{cls}-{i}" for cls in ("SN", "AGN") for i in range(10, 40)]
    objects = survey.objects[~survey.objects["object_id"].isin(rare_dropped)]  # VS 40, SN 10, AGN 10
    result = audit_survey(Survey(survey.photometry, objects, survey.galaxies), folds=3, max_objects=40)
    assert result.n_objects == 40 and result.n_objects_total == 60
    assert result.class_counts == {"AGN": 10, "SN": 10, "VS": 20}
    note = "subsampled to 40 of 60 objects (max_objects=40): VS 20 of 40; SN, AGN kept whole"
    assert note in result.notes[0]


def test_a_class_smaller_than_the_folds_is_refused_by_name():
    survey = planted_survey(n_per_class=10)
    objects = survey.objects[~survey.objects["object_id"].isin([f"AGN-{i}" for i in range(8)])]
    with pytest.raises(ValueError, match=r"AGN \(2\).*fewer objects than the 3 folds"):
        audit_survey(Survey(survey.photometry, objects, survey.galaxies), folds=3)


def test_adversarial_validation_tells_a_different_amplitude_from_the_same_one():
    sim = planted_survey(n_per_class=30, plant="none")
    alike = planted_survey(n_per_class=30, plant="none", seed=1, prefix="real-")
    louder = planted_survey(n_per_class=30, plant="none", seed=2, prefix="real-", amplitude=1.5)
    features = feature_table(sim.photometry, sim.objects)
    labels = sim.objects.set_index("object_id")["label"]

    same, _ = adversarial_validation(features, labels, alike, folds=3, resample=None)
    different, _ = adversarial_validation(features, labels, louder, folds=3, resample=None)

    assert set(same) == set(CLASSES) == set(different)
    for cls in CLASSES:
        assert same[cls].auc < 0.75
        assert different[cls].auc > 0.9
        names = [name for name, _ in different[cls].top_features]
        assert set(names[:2]) & {"amplitude", "standard_deviation", "inter_percentile_range_25",
                                 "median_absolute_deviation", "maximum_slope", "mean_variance", "chi2",
                                 "linear_fit_reduced_chi2", "beyond_1_std", "eta"}


def test_real_light_curves_are_resampled_to_the_survey_first():
    sim = planted_survey(n_per_class=20, plant="none")
    real = planted_survey(n_per_class=20, plant="none", seed=1, prefix="real-")
    result = audit_survey(sim, real=real, folds=3)
    assert "resampled to the survey" in result.adversarial_notes[0]
    assert set(result.to_dict()["adversarial"]) <= set(CLASSES)


def test_the_report_shows_the_audit_beside_the_best_model(tmp_path, context_audit):
    page = "<html><body><h1>report</h1></body></html>"
    metrics = {"gru-focal": {"auc_hand_till": 0.97}, "gru-ce": {"auc_hand_till": 0.91}}
    html = add_audit_to_report(page, context_audit, metrics, tmp_path)
    assert html.index("<h1>report</h1>") < html.index("id='audit'") < html.index("</body>")
    assert "The test AUC of gru-focal, 0.970" in html
    saved = json.loads((tmp_path / "audit" / "audit.json").read_text())
    assert saved["rnn"] == {"name": "gru-focal", "auc": 0.97}
    assert (tmp_path / "audit" / "audit.png").stat().st_size > 1000


# --- the command -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def survey_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("planted")
    write_survey(planted_survey(n_per_class=30), path)
    return path


def test_lcrnn_audit_writes_the_page_with_the_documented_keys(survey_dir, tmp_path):
    out = tmp_path / "audit"
    result = CliRunner().invoke(app, ["audit", "--data", str(survey_dir), "--out", str(out), "--folds", "3",
                                      "--seed", "1", "--rnn-auc", "0.95", "--no-progress"])
    assert result.exit_code == 0, result.output
    saved = json.loads((out / "audit.json").read_text())
    for name in ("context", "sampling", "shape", "all"):
        assert 0.0 <= saved[name]["auc"] <= 1.0 and saved[name]["auc_std"] >= 0
        assert len(saved[name]["folds"]) == 3
    assert saved["n_objects"] == 90 and saved["folds"] == 3 and saved["seed"] == 1
    assert saved["class_counts"] == {"AGN": 30, "SN": 30, "VS": 30}
    assert saved["context"]["auc"] > 0.9
    assert (out / "audit.png").is_file() and "beyond context and sampling" in (out / "audit.html").read_text()
    assert "context (l, b, d_G)" in result.output


@pytest.mark.parametrize("args, message", [
    (["--folds", "1"], "must be at least 2"),
    (["--galaxies", "GALAXIES", "--no-galaxies"], "not both"),
    (["--rnn-auc", "1.5"], "between 0 and 1"),
    (["--folds", "40"], "fewer objects than the 40 folds"),
])
def test_lcrnn_audit_refuses_bad_options_with_exit_2_and_no_output(survey_dir, tmp_path, plain_output, args,
                                                                    message):
    out = tmp_path / "audit"
    args = [str(survey_dir / "galaxies.parquet") if a == "GALAXIES" else a for a in args]
    result = CliRunner().invoke(app, ["audit", "--data", str(survey_dir), "--out", str(out), "--no-progress",
                                      *args])
    assert result.exit_code == 2, result.output
    assert message in plain_output(result)
    assert not out.exists()


def test_lcrnn_audit_names_the_missing_catalogue_and_the_way_out(tmp_path, plain_output):
    data = tmp_path / "no-galaxies"
    write_survey(planted_survey(n_per_class=10, plant="none"), data)
    out = tmp_path / "audit"
    result = CliRunner().invoke(app, ["audit", "--data", str(data), "--out", str(out), "--no-progress"])
    assert result.exit_code == 2 and "--no-galaxies" in plain_output(result) and not out.exists()
    missing = CliRunner().invoke(app, ["audit", "--data", str(tmp_path / "nowhere"), "--out", str(out)])
    assert missing.exit_code == 2 and "no survey directory" in plain_output(missing)
    assert "Traceback" not in missing.output


def test_lcrnn_audit_without_the_catalogue_loses_the_planted_context(survey_dir, tmp_path):
    out = tmp_path / "audit"
    result = CliRunner().invoke(app, ["audit", "--data", str(survey_dir), "--out", str(out), "--folds", "3",
                                      "--no-galaxies", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "dummy galaxy distance" in result.output
    saved = json.loads((out / "audit.json").read_text())
    assert abs(saved["context"]["auc"] - 0.5) < 0.15  # the label lived in the galaxy distances only


def test_lcrnn_audit_and_describe_read_the_context_the_objects_carry(survey_dir, tmp_path):
    """A survey whose objects carry their context needs no catalogue: audit and describe use the carried
    values, which here are the catalogue's, so both give what they give with the catalogue."""
    from lcrnn.data.context import compute_context
    from lcrnn.data.io import read_survey
    from lcrnn.data.tables import Survey

    survey = read_survey(survey_dir)
    carrying = tmp_path / "carrying"
    objects = survey.objects.merge(compute_context(survey.objects, survey.galaxies), on="object_id")
    write_survey(Survey(survey.photometry, objects, None), carrying)
    outputs = {}
    for name, data in (("catalogue", survey_dir), ("carried", carrying)):
        audit = CliRunner().invoke(app, ["audit", "--data", str(data), "--out", str(tmp_path / f"a-{name}"),
                                         "--folds", "3", "--seed", "1", "--no-progress"])
        assert audit.exit_code == 0, audit.output
        described = CliRunner().invoke(app, ["describe", "--data", str(data), "--out", str(tmp_path / f"d-{name}")])
        assert described.exit_code == 0, described.output
        outputs[name] = (json.loads((tmp_path / f"a-{name}" / "audit.json").read_text()),
                         json.loads((tmp_path / f"d-{name}" / "summary.json").read_text()))
    assert outputs["carried"][0]["context"] == outputs["catalogue"][0]["context"]
    assert outputs["carried"][1] == outputs["catalogue"][1]
