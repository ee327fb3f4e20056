"""Front-door errors: every user mistake is one boxed message and exit status 2, no traceback, no directory left
behind; `--debug` shows the traceback; bands and labels are said out loud."""

from __future__ import annotations

import json
import math
import shutil

import pandas as pd
import pytest
from typer.testing import CliRunner

from lcrnn.cli import app
from lcrnn.data.io import write_survey
from lcrnn.data.tables import validate_survey


@pytest.fixture(scope="module")
def survey_dir(toy_survey, tmp_path_factory):
    photometry, objects, galaxies = toy_survey
    survey, _ = validate_survey(photometry, objects, galaxies)
    return write_survey(survey, tmp_path_factory.mktemp("survey") / "s")["photometry"].parent


@pytest.fixture(scope="module")
def run_dir(survey_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "tiny"
    result = CliRunner().invoke(app, ["train", "--data", str(survey_dir), "--out", str(out), "--epochs", "1",
                                      "--hidden", "8", "--dense", "8", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    return out


def _bad_survey(survey_dir, tmp_path, edit_photometry=None, edit_objects=None):
    bad = tmp_path / "bad"
    shutil.copytree(survey_dir, bad)
    for name, edit in (("photometry", edit_photometry), ("objects", edit_objects)):
        if edit is not None:
            frame = pd.read_parquet(bad / f"{name}.parquet")
            edit(frame)
            frame.to_parquet(bad / f"{name}.parquet", index=False)
    return bad


def _refused(result, plain_output, *phrases):
    text = plain_output(result)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "Error" in result.output
    for phrase in phrases:
        assert phrase in text, text


def test_train_on_a_missing_survey_directory_is_one_message_and_no_directory(tmp_path, plain_output):
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["train", "--data", str(tmp_path / "nowhere"), "--out", str(out)])
    _refused(result, plain_output, f"no survey directory at '{tmp_path / 'nowhere'}'; check the path.")
    assert not out.exists()


def test_debug_shows_the_traceback(tmp_path):
    result = CliRunner().invoke(app, ["--debug", "train", "--data", str(tmp_path / "nowhere"),
                                      "--out", str(tmp_path / "run")])
    assert isinstance(result.exception, FileNotFoundError) and result.exc_info[2] is not None


def test_an_unknown_device_is_refused_before_the_output_directory_exists(survey_dir, tmp_path, plain_output):
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["train", "--data", str(survey_dir), "--out", str(out), "--device", "cdua"])
    _refused(result, plain_output, "--device", "unknown device 'cdua'; use auto, cpu or cuda")
    assert not out.exists()


def test_invalid_tables_name_the_rows_and_offer_on_invalid_drop(survey_dir, tmp_path, plain_output):
    def nan_mag(frame):
        frame.loc[0, "mag"] = math.nan

    bad = _bad_survey(survey_dir, tmp_path, edit_photometry=nan_mag)
    out = tmp_path / "described"
    result = CliRunner().invoke(app, ["describe", "--data", str(bad), "--out", str(out)])
    _refused(result, plain_output, "1 photometry row with mag missing, infinite or not a number",
             "pass --on-invalid drop")
    assert 'on_invalid="drop"' not in result.output and not out.exists()
    dropped = CliRunner().invoke(app, ["describe", "--data", str(bad), "--out", str(out), "--on-invalid", "drop"])
    assert dropped.exit_code == 0, dropped.output
    assert "dropped 1 photometry row (1 with mag missing, infinite or not a number)" in dropped.output


@pytest.mark.parametrize(
    ("args", "phrases"),
    [
        (["predict", "--split", "tset"], ["'tset' is not one of 'all', 'train', 'val', 'test'"]),
        (["reproduce", "--profile", "papr"], ["'papr' is not one of 'quick', 'paper'"]),
        (["predict", "--on-invalid", "skip"], ["'skip' is not one of 'raise', 'drop'"]),
    ],
    ids=["predict-split", "reproduce-profile", "on-invalid"],
)
def test_an_option_value_outside_its_choices_is_refused(run_dir, survey_dir, tmp_path, plain_output, args, phrases):
    common = [] if args[0] == "reproduce" else ["--model", str(run_dir), "--data", str(survey_dir)]
    out = tmp_path / "out"
    result = CliRunner().invoke(app, [*args, *common, "--out", str(out)])
    _refused(result, plain_output, *phrases)
    assert not out.exists()


def test_the_reproduce_profiles_offered_are_the_workflow_profiles():
    from lcrnn.cli.runs import Profile
    from lcrnn.workflows.reproduce import PROFILES

    assert [p.value for p in Profile] == list(PROFILES)


def test_a_directory_that_is_not_a_run_is_refused(survey_dir, tmp_path, plain_output):
    result = CliRunner().invoke(app, ["predict", "--model", str(survey_dir), "--data", str(survey_dir),
                                      "--out", str(tmp_path / "p.csv")])
    _refused(result, plain_output, "is not an lcrnn run directory")


def test_serve_refuses_a_missing_galaxy_file_and_an_absurd_model_before_starting(
        run_dir, tmp_path, plain_output, monkeypatch):
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("uvicorn started"))
    db = f"sqlite:///{tmp_path / 's.db'}"
    missing = CliRunner().invoke(app, ["serve", "--model", str(run_dir), "--db", db,
                                       "--galaxies", str(tmp_path / "gals.parquet")])
    _refused(missing, plain_output, f"no table file at '{tmp_path / 'gals.parquet'}'")
    absurd = tmp_path / "absurd"
    shutil.copytree(run_dir, absurd)
    config = json.loads((absurd / "config.json").read_text())
    config["network"]["max_len"] = 10**12
    (absurd / "config.json").write_text(json.dumps(config))
    result = CliRunner().invoke(app, ["serve", "--model", str(absurd), "--db", db])
    _refused(result, plain_output, "'network.max_len' is 1000000000000, more than 10,000")


def test_training_says_the_classes_and_refuses_a_stray_label(run_dir, survey_dir, tmp_path, plain_output):
    assert json.loads((run_dir / "config.json").read_text())["classes"] == ["VS", "SN", "AGN"]

    def stray(frame):
        frame.loc[:1, "label"] = "XRB"

    bad = _bad_survey(survey_dir, tmp_path, edit_objects=stray)
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["train", "--data", str(bad), "--out", str(out), "--epochs", "1"])
    _refused(result, plain_output, "'XRB' (2 objects)", "--classes VS,SN,AGN,XRB", "--on-invalid drop")
    assert not out.exists()


def test_photometry_in_two_bands_is_refused_naming_them_and_trains_with_band(survey_dir, tmp_path, plain_output):
    bad = tmp_path / "two"
    shutil.copytree(survey_dir, bad)
    photometry = pd.read_parquet(bad / "photometry.parquet")
    pd.concat([photometry.assign(band="r"), photometry.assign(band="g", mag=photometry["mag"] + 0.4)],
              ignore_index=True).to_parquet(bad / "photometry.parquet", index=False)
    out = tmp_path / "run"
    args = ["train", "--data", str(bad), "--out", str(out), "--epochs", "1", "--hidden", "8", "--dense", "8",
            "--device", "cpu"]
    result = CliRunner().invoke(app, args)
    _refused(result, plain_output, "2 bands: 'g'", "'r'", "--band g")
    assert not out.exists()
    chosen = CliRunner().invoke(app, [*args, "--band", "g"])
    assert chosen.exit_code == 0, chosen.output
    assert "classes: VS 120, SN 60, AGN 60" in chosen.output


def test_serve_takes_its_mjd_range_from_the_command_line(run_dir, survey_dir, tmp_path, plain_output, monkeypatch):
    import uvicorn

    import lcrnn.serve.app as serve_app

    seen = []
    monkeypatch.setattr(serve_app, "open_service", lambda config: seen.append(config))
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: None)
    db = f"sqlite:///{tmp_path / 's.db'}"
    base = ["serve", "--model", str(run_dir), "--db", db, "--no-galaxies"]
    result = CliRunner().invoke(app, [*base, "--mjd-range", "50000", "40000"])
    _refused(result, plain_output, "MjdRange needs finite low < high")
    assert not seen
    result = CliRunner().invoke(app, [*base, "--mjd-range", "40000", "70000"])
    assert result.exit_code == 0, result.output
    assert (seen[0].mjd_range.low, seen[0].mjd_range.high) == (40000.0, 70000.0)


def test_a_report_that_fails_half_way_leaves_no_directory(run_dir, survey_dir, tmp_path, plain_output):
    """The light-curve-only model is evaluated (its figures written), then the context model is refused for
    want of a catalogue: the half-written report goes with it."""
    light_curve_only = tmp_path / "lc-only"
    trained = CliRunner().invoke(app, ["train", "--data", str(survey_dir), "--out", str(light_curve_only),
                                       "--epochs", "1", "--hidden", "8", "--dense", "8", "--device", "cpu",
                                       "--no-context"])
    assert trained.exit_code == 0, trained.output
    no_catalogue = tmp_path / "no-catalogue"
    shutil.copytree(survey_dir, no_catalogue)
    (no_catalogue / "galaxies.parquet").unlink()
    out = tmp_path / "report"
    args = ["evaluate", "--model", str(light_curve_only), "--data", str(no_catalogue), "--no-progress",
            "--tsne-samples", "30", "--max-obs", "3", "--out", str(out)]
    alone = CliRunner().invoke(app, args)
    assert alone.exit_code == 0 and (out / "metrics.json").is_file(), alone.output  # the first model alone works
    shutil.rmtree(out)
    both = CliRunner().invoke(app, [*args, "--model", str(run_dir)])
    _refused(both, plain_output, "--galaxies")
    assert not out.exists()
