"""The `lcrnn ingest` and `lcrnn serve` sub-commands, through Typer's CliRunner."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from lcrnn.cli import app
from lcrnn.serve.store import StateStore

ZTF = Path(__file__).resolve().parents[1] / "data" / "ztf"


def test_ingest_alerts_with_a_saved_run_then_again(saved_run, toy_survey, tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    toy_survey[2].to_parquet(tmp_path / "galaxies.parquet")  # the catalogue saved_run was trained with
    args = ["ingest", "--db", url, "--model", str(saved_run), "--galaxies", str(tmp_path / "galaxies.parquet"),
            "--no-progress", str(ZTF)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (
        "2 new object(s), 24 detection(s) classified, 0 repeat(s) ignored, 17 upper limit(s)" in result.output
    )
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0 and "0 detection(s) classified, 24 repeat(s)" in result.output
    store = StateStore(url)
    obj = store.get_object("ZTF17aaacxxf")
    assert obj["n_obs"] == 23 and abs(sum(obj["probabilities"].values()) - 1) < 1e-5
    assert set(obj["probabilities"]) == {"VS", "SN", "AGN"}
    store.close()


def test_ingest_and_serve_refuse_a_wrong_model_path(tmp_path, plain_output):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    result = CliRunner().invoke(app, ["ingest", "--db", url, "--model", str(tmp_path / "nope"), str(ZTF)])
    assert result.exit_code == 2 and "nope does not exist" in plain_output(result)
    result = CliRunner().invoke(app, ["serve", "--db", url, "--model", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "nope does not exist" in plain_output(result)
    result = CliRunner().invoke(app, ["serve", "--db", url, "--model", str(tmp_path)])
    assert result.exit_code == 2
    assert "is not an lcrnn run directory (no model.safetensors or config.json" in plain_output(result)
