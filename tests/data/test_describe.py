"""Per-class survey statistics and the paper's data figures, on surveys whose numbers we know by hand."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from typer.testing import CliRunner

from lcrnn.cli import app
from lcrnn.data.describe import (
    SUMMARY_COLUMNS,
    describe_survey,
    format_summary,
    light_curve_statistics,
    successive_gaps,
    write_summary,
)
from lcrnn.data.io import write_survey
from lcrnn.data.simulate import SimulationConfig, simulate_survey
from lcrnn.data.tables import validate_survey
from lcrnn.evaluate.data_figures import context_figure, light_curve_properties_figure, magnitude_figure


def _radec(l_deg: float, b_deg: float) -> tuple[float, float]:
    c = SkyCoord(l=l_deg * u.deg, b=b_deg * u.deg, frame="galactic").icrs
    return float(c.ra.deg), float(c.dec.deg)


@pytest.fixture
def hand_survey():
    """Three objects with known sampling: two VS (b = 2 and -4 deg), one SN (b = 40 deg) next to a galaxy."""
    phot = pd.DataFrame(
        {
            # Rows deliberately out of time order: statistics must sort by time within each object.
            "object_id": ["v1", "v1", "v1", "v1", "v2", "v2", "s1", "s1", "s1"],
            # Real MJDs (the data layer refuses relative times); every statistic below is a difference.
            "mjd": np.array([100.0, 110.0, 130.0, 0.0, 50.0, 450.0, 10.0, 12.0, 20.0]) + 59000.0,
            "mag": [15.0, 16.0, 17.0, 14.0, 12.0, 12.0, 19.0, 18.0, 19.5],
            "mag_err": 0.05,
        }
    )
    coords = {"v1": _radec(30.0, 2.0), "v2": _radec(100.0, -4.0), "s1": _radec(200.0, 40.0)}
    objects = pd.DataFrame(
        {
            "object_id": list(coords),
            "ra": [c[0] for c in coords.values()],
            "dec": [c[1] for c in coords.values()],
            "label": ["VS", "VS", "SN"],
        }
    )
    host = SkyCoord(ra=coords["s1"][0] * u.deg, dec=coords["s1"][1] * u.deg).directional_offset_by(
        30 * u.deg, 30 * u.arcsec
    )
    far = SkyCoord(ra=coords["v1"][0] * u.deg, dec=coords["v1"][1] * u.deg).directional_offset_by(
        0 * u.deg, 90 * u.arcsec
    )
    galaxies = pd.DataFrame({"ra": [host.ra.deg, far.ra.deg], "dec": [host.dec.deg, far.dec.deg]})
    survey, _ = validate_survey(phot, objects, galaxies)
    return survey


def test_light_curve_statistics_by_hand(hand_survey):
    stats = light_curve_statistics(hand_survey.photometry)
    v1 = stats.loc["v1"]
    assert v1["n_points"] == 4
    assert v1["duration_days"] == pytest.approx(130.0)
    assert v1["mean_mag"] == pytest.approx(15.5)
    assert v1["std_mag"] == pytest.approx(np.std([14.0, 15.0, 16.0, 17.0]))
    assert v1["median_gap_days"] == pytest.approx(20.0)  # gaps 100, 10, 20
    assert stats.loc["v2", "std_mag"] == 0.0
    gaps = successive_gaps(hand_survey.photometry)
    assert sorted(gaps.loc[gaps.object_id == "s1", "gap_days"]) == pytest.approx([2.0, 8.0])
    assert len(gaps) == 9 - 3


def test_describe_survey_by_hand(hand_survey):
    table = describe_survey(hand_survey)
    assert list(table.index) == ["VS", "SN", "all"]
    assert list(table.columns) == list(SUMMARY_COLUMNS)
    vs, sn, every = table.loc["VS"], table.loc["SN"], table.loc["all"]
    assert vs["n_objects"] == 2 and sn["n_objects"] == 1 and every["n_objects"] == 3
    assert vs["median_points"] == pytest.approx(3.0)  # 4 and 2 points
    assert vs["median_gap_days"] == pytest.approx(60.0)  # pooled gaps 10, 20, 100, 400
    assert every["median_gap_days"] == pytest.approx(15.0)  # 2, 8, 10, 20, 100, 400
    assert vs["median_duration_days"] == pytest.approx((130.0 + 400.0) / 2)
    assert vs["frac_duration_over_300d"] == pytest.approx(0.5)
    assert sn["frac_duration_under_100d"] == pytest.approx(1.0)
    assert sn["median_mean_mag"] == pytest.approx(np.mean([19.0, 18.0, 19.5]))
    assert sn["frac_galaxy_within_60arcsec"] == 1.0  # host 30" away
    assert vs["frac_galaxy_within_60arcsec"] == 0.0  # the other galaxy is 90" from v1
    assert vs["median_abs_b_deg"] == pytest.approx(3.0, abs=1e-4)
    assert sn["median_abs_b_deg"] == pytest.approx(40.0, abs=1e-4)
    text = format_summary(table)
    assert "VS" in text and "SN" in text and "med gap d" in text


def test_unlabelled_objects_get_their_own_row(hand_survey):
    objects = hand_survey.objects.drop(columns="label")
    survey, _ = validate_survey(hand_survey.photometry, objects, hand_survey.galaxies)
    table = describe_survey(survey)
    assert list(table.index) == ["unlabelled", "all"]
    assert table.loc["unlabelled", "n_objects"] == 3


def test_summary_json_round_trip(hand_survey, tmp_path):
    table = describe_survey(hand_survey)
    path = write_summary(table, tmp_path / "out" / "summary.json")
    data = json.loads(path.read_text())
    assert data["VS"]["n_objects"] == 2
    assert data["all"]["median_gap_days"] == pytest.approx(15.0)


def _step_heights(ax) -> list[float]:
    """Largest bar of each step histogram drawn on ``ax``."""
    return [float(np.max(p.get_xy()[:, 1])) for p in ax.patches]


def test_figures_draw_normalised_histograms_per_class(hand_survey):
    from lcrnn.data.context import compute_context

    stats = light_curve_statistics(hand_survey.photometry)
    stats["label"] = stats.index.map({"v1": "VS", "v2": "VS", "s1": "SN"})
    gaps = successive_gaps(hand_survey.photometry)
    gaps["label"] = np.where(gaps["object_id"] == "s1", "SN", "VS")
    fig1 = magnitude_figure(stats)
    assert len(fig1.axes) == 3
    assert [t.get_text().split(" ")[0] for t in fig1.axes[0].get_legend().get_texts()] == ["VS", "SN"]
    fig2 = light_curve_properties_figure(stats, gaps)
    # Points per light curve: VS has 4 and 2 points (half each), SN has 3 (all in one bar).
    assert sorted(_step_heights(fig2.axes[1])) == pytest.approx([0.5, 1.0])
    context = compute_context(hand_survey.objects, hand_survey.galaxies)
    fig3 = context_figure(context, hand_survey.objects["label"])
    assert sorted(_step_heights(fig3.axes[0])) == pytest.approx([1.0, 1.0])  # VS all ">60", SN all at 30"
    assert fig3.axes[1].get_xlabel().startswith("Galactic latitude")


def test_cli_describe_prints_the_table_and_writes_summary_and_figures(tmp_path):
    survey = simulate_survey(
        SimulationConfig(n_objects=300, seed=2, class_fractions={"VS": 0.6, "SN": 0.2, "AGN": 0.2})
    )
    write_survey(survey, tmp_path / "data")
    result = CliRunner().invoke(
        app, ["describe", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "d")]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(line.startswith("VS ") for line in lines) and any(line.startswith("all ") for line in lines)
    data = json.loads((tmp_path / "d" / "summary.json").read_text())
    assert {k: data[k]["n_objects"] for k in ("VS", "SN", "AGN", "all")} == {
        "VS": 180,
        "SN": 60,
        "AGN": 60,
        "all": 300,
    }
    assert data["SN"]["median_duration_days"] < data["VS"]["median_duration_days"]
    for name in ("fig1_magnitudes.png", "fig2_light_curves.png", "fig3_context.png"):
        png = (tmp_path / "d" / name).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
