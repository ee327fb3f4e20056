"""The hyperparameter grid: every point trained exactly once by concurrent workers, resumable after a kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import replace
from pathlib import Path

import optuna
import pandas as pd
import pytest
import sqlalchemy as sa
from optuna.trial import TrialState
from typer.testing import CliRunner

from lcrnn.cli import app
from lcrnn.data.io import write_survey
from lcrnn.data.tables import validate_survey
from lcrnn.errors import InvalidConfigError, LcrnnError
from lcrnn.grid import (
    TABLE2_COLUMNS,
    GridConfig,
    TrialSpec,
    claim_config,
    default_storage_url,
    grid_results,
    open_study,
    paper_grid,
    parse_configs,
    run_grid,
    summarise_grid,
)
from lcrnn.model.config import NetworkConfig
from lcrnn.train.config import TrainConfig

#: Four points, one per kind of Table 2 row they fall in, with tiny networks so a trial takes a second.
TINY_POINTS = "gru-ce-h8-d8,gru-focal-g2-h8-d8,lstm-wce-h8-d8,gru-nc-focal-g1-h8-d8"
TINY = GridConfig(specs=parse_configs([TINY_POINTS]), train=TrainConfig(epochs=2, lr=1e-2, batch_size=64))


@pytest.fixture(scope="module")
def survey_dir(tmp_path_factory, toy_survey_factory) -> Path:
    photometry, objects, galaxies = toy_survey_factory({"VS": 100, "SN": 50, "AGN": 50}, seed=3)
    survey, _ = validate_survey(photometry, objects, galaxies)
    directory = tmp_path_factory.mktemp("survey")
    write_survey(survey, directory)
    return directory


def _assert_each_point_once(results: pd.DataFrame, config: GridConfig, storage: str, study_name: str) -> None:
    assert list(results["config"]) == list(config.names)
    assert (results["state"] == "COMPLETE").all()
    assert (results["n_complete"] == 1).all(), results[["config", "n_complete", "n_trials"]]
    study = open_study(storage, study_name)
    completed = [t for t in study.get_trials() if t.state == TrialState.COMPLETE]
    assert sorted(t.params["config"] for t in completed) == sorted(config.names)
    for row in results.itertuples():
        metrics = json.loads((Path(row.run_dir) / "metrics.json").read_text())
        assert row.val_auc == pytest.approx(metrics["validation"]["auc_hand_till"])
        assert row.test_f1 == pytest.approx(metrics["test"]["f1_macro"])
        assert metrics["epochs_run"] == config.train.epochs
        assert (Path(row.run_dir) / "model.safetensors").is_file()
        assert 0.0 <= row.val_auc <= 1.0 and 0.0 <= row.test_auc <= 1.0


# --- the grid itself ---------------------------------------------------------------------------------------


def test_paper_grid_is_table1_plus_the_no_context_grid_without_gamma_duplicates():
    grid = paper_grid()
    assert len(grid) == 40 and len({s.name for s in grid}) == 40
    cross_entropy = [s for s in grid if s.loss in ("ce", "wce")]
    assert len(cross_entropy) == 16 and all(s.gamma is None for s in cross_entropy)
    assert {(s.gamma, s.hidden, s.dense) for s in grid if s.loss == "focal" and s.rnn == "lstm"} == {
        (g, h, d) for g in (1.0, 2.0) for h in (100, 150) for d in (100, 200)}
    no_context = [s for s in grid if not s.use_context]
    assert len(no_context) == 8 and all(s.rnn == "gru" and s.loss == "focal" for s in no_context)
    assert all(TrialSpec.from_name(s.name) == s for s in grid)


def test_grid_point_names_are_checked():
    assert TrialSpec.from_name("gru-focal-g0.5-h8-d16") == TrialSpec("gru", "focal", 0.5, 8, 16)
    with pytest.raises(LcrnnError, match="expected RNN"):
        TrialSpec.from_name("gru-focal-150")
    with pytest.raises(LcrnnError, match="gamma"):
        TrialSpec.from_name("gru-ce-g2-h100-d100")
    assert parse_configs(["gru-ce-h8-d8, lstm-ce-h8-d8", "gru-ce-h8-d8"]) == (
        TrialSpec("gru", "ce", None, 8, 8), TrialSpec("lstm", "ce", None, 8, 8))


def test_a_grid_point_fills_in_the_base_configs_and_defaults_come_from_them():
    assert TrialSpec().configs() == (NetworkConfig(), TrainConfig())
    grid = GridConfig(specs=parse_configs(["lstm-wce-h8-d16,gru-nc-focal-g1-h8-d8"]),
                      network=NetworkConfig(dropout=0.2, max_len=20), train=TrainConfig(epochs=3, lr=1e-3))
    network, train = grid.point("lstm-wce-h8-d16")
    assert network == NetworkConfig(rnn="lstm", hidden=8, dense=16, dropout=0.2, max_len=20)
    assert train == TrainConfig(loss="wce", gamma=0.0, epochs=3, lr=1e-3)
    network, train = grid.point("gru-nc-focal-g1-h8-d8")
    assert not network.use_context and (train.loss, train.gamma, train.epochs) == ("focal", 1.0, 3)
    with pytest.raises(LcrnnError, match="not a point of this grid"):
        grid.point("gru-ce-h8-d8")


def test_grid_config_round_trips_and_names_an_unknown_setting():
    grid = GridConfig(specs=TINY.specs, network=NetworkConfig(dropout=0.1), train=TINY.train)
    assert GridConfig.from_dict(json.loads(json.dumps(grid.to_dict()))) == grid
    with pytest.raises(InvalidConfigError, match="epochs"):
        GridConfig.from_dict({**grid.to_dict(), "epochs": 3})        # a setting belongs in train, not here
    with pytest.raises(InvalidConfigError, match="lr_decay"):
        GridConfig.from_dict({**grid.to_dict(), "train": {**TINY.train.to_dict(), "lr_decay": 0.5}})
    with pytest.raises(InvalidConfigError, match="at least one grid point"):
        GridConfig(specs=())


def test_workers_on_other_devices_share_a_study(tmp_path):
    storage = default_storage_url(tmp_path)
    open_study(storage, "grid", replace(TINY, train=replace(TINY.train, device="cpu")))
    open_study(storage, "grid", replace(TINY, train=replace(TINY.train, device="cuda")))   # not refused
    with pytest.raises(LcrnnError, match="network.dropout"):
        open_study(storage, "grid", replace(TINY, network=NetworkConfig(dropout=0.1)))


@pytest.mark.filterwarnings("ignore:Heartbeat of storage")
def test_claim_guard_lets_one_trial_hold_a_point(tmp_path):
    study = open_study(default_storage_url(tmp_path), "claims", TINY)
    first, second, third = study.ask(), study.ask(), study.ask()
    assert claim_config(study, "gru-ce-h8-d8", first) is None
    assert claim_config(study, "gru-ce-h8-d8", second) == first.number       # first is running
    assert claim_config(study, "lstm-wce-h8-d8", second) is None              # other points are free
    study.tell(first, state=TrialState.FAIL)
    assert claim_config(study, "gru-ce-h8-d8", second) is None               # a failed holder is replaced
    assert claim_config(study, "gru-ce-h8-d8", third) == second.number
    study.tell(second, 0.9)
    assert claim_config(study, "gru-ce-h8-d8", third) == second.number       # and a finished one is final


@pytest.mark.filterwarnings("ignore:Heartbeat of storage")
def test_racing_claims_have_exactly_one_winner_per_point(tmp_path):
    study = open_study(default_storage_url(tmp_path), "race", TINY)
    points = [f"gru-ce-h{h}-d8" for h in range(1, 13)]

    def race(trials) -> list[list[int]]:
        barrier = threading.Barrier(len(trials))
        wins: list[list[int]] = [[] for _ in trials]

        def contender(i: int) -> None:
            barrier.wait()
            for k in (range(len(points)) if i % 2 else reversed(range(len(points)))):
                if claim_config(study, points[k], trials[i]) is None:
                    wins[i].append(k)

        threads = [threading.Thread(target=contender, args=(i,)) for i in range(len(trials))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return wins

    first = [study.ask() for _ in range(4)]
    wins = race(first)
    assert sorted(k for w in wins for k in w) == list(range(len(points)))   # every point won, once
    for trial in first:   # as the heartbeat check does to a dead worker's trial
        study._storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL)
    # The holders died: their points are taken over, again by exactly one contender each.
    wins = race([study.ask() for _ in range(4)])
    assert sorted(k for w in wins for k in w) == list(range(len(points)))


def test_a_worker_with_other_settings_is_refused(tmp_path):
    storage = default_storage_url(tmp_path)
    open_study(storage, "grid", TINY)
    with pytest.raises(LcrnnError, match="epochs"):
        open_study(storage, "grid", replace(TINY, train=replace(TINY.train, epochs=3)))


def test_a_missing_survey_directory_is_named_before_anything_runs(tmp_path):
    with pytest.raises(LcrnnError, match="no survey directory"):
        run_grid(tmp_path / "nowhere", tmp_path / "out", TINY, workers=2, progress=False)
    assert not (tmp_path / "out").exists()


# --- concurrent workers ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sqlite_grid(survey_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("grid")
    results = run_grid(survey_dir, out, TINY, workers=2, poll_seconds=0.5, progress=False)
    return out, results


def test_two_workers_on_sqlite_train_every_point_exactly_once(sqlite_grid):
    out, results = sqlite_grid
    _assert_each_point_once(results, TINY, default_storage_url(out), "lcrnn-grid")


def test_a_rerun_repeats_nothing_and_a_duplicate_point_is_skipped(sqlite_grid, survey_dir):
    out, before = sqlite_grid
    storage = default_storage_url(out)
    model = Path(before.loc[0, "run_dir"]) / "model.safetensors"
    stamp = model.stat().st_mtime_ns
    # A stray trial for a finished point (as a racing GridSampler would make) must not train it again.
    study = open_study(storage, "lcrnn-grid", TINY)
    study.enqueue_trial({"config": before.loc[0, "config"]})
    from lcrnn.grid.worker import _Objective

    objective = _Objective(study, TINY, survey_dir, out)
    study.optimize(objective, n_trials=1)
    stray = study.get_trials()[-1]
    assert stray.state == TrialState.PRUNED and stray.user_attrs["duplicate_of"] == before.loc[0, "trial"]
    assert objective.trained == 0
    after = run_grid(survey_dir, out, TINY, workers=1, poll_seconds=0.5, progress=False)
    assert (after["n_complete"] == 1).all() and (after["trial"] == before["trial"]).all()
    assert len(study.get_trials()) == before["n_trials"].sum() + 1
    assert model.stat().st_mtime_ns == stamp


def test_table2_takes_the_best_validation_auc_of_each_configuration(sqlite_grid, tmp_path):
    out, results = sqlite_grid
    table = summarise_grid(out, report=False)
    # Our four points fall in four of the paper's seven rows, written in the paper's order.
    assert list(table["RNN type"]) == ["GRU", "LSTM", "GRU", "GRU NC"]
    assert list(table["Loss"]) == ["Weighted focal loss", "Weighted cross entropy", "Unweighted cross entropy",
                                   "Weighted focal loss"]
    assert list(table["gamma"]) == ["2", "-", "-", "1"]
    csv = pd.read_csv(out / "table2.csv")
    assert tuple(csv.columns) == TABLE2_COLUMNS
    chosen = results.set_index("config").loc[table["config"]]
    assert csv["Validation AUC"].to_numpy() == pytest.approx(chosen["val_auc"].to_numpy(), abs=1e-4)
    assert csv["Test F1"].to_numpy() == pytest.approx(chosen["test_f1"].to_numpy(), abs=1e-4)
    markdown = (out / "table2.md").read_text().splitlines()
    assert markdown[0].startswith("| RNN type | Loss |") and len(markdown) == 2 + len(table)
    assert f"{chosen['val_auc'].iloc[0]:.3f}" in markdown[2]


@pytest.mark.slow
def test_the_joint_report_names_each_model_by_its_table2_row(sqlite_grid, survey_dir, tmp_path):
    out, _ = sqlite_grid
    table = summarise_grid(out, data=survey_dir, report=True, progress=False)
    metrics = json.loads((out / "report" / "metrics.json").read_text())
    assert list(metrics) == [f"{row['RNN type']} {row['Loss']}" for _, row in table.iterrows()]
    assert (out / "report" / "report.html").is_file()


def test_table2_picks_the_higher_validation_auc_within_a_configuration(tmp_path):
    storage = default_storage_url(tmp_path)
    config = GridConfig(specs=parse_configs(["gru-focal-g1-h8-d8,gru-focal-g2-h16-d8"]),
                        train=TrainConfig(epochs=2))
    study = open_study(storage, "lcrnn-grid", config)
    for name, auc in (("gru-focal-g1-h8-d8", 0.81), ("gru-focal-g2-h16-d8", 0.86)):
        study.add_trial(optuna.create_trial(
            params={"config": name}, distributions={"config": optuna.distributions.CategoricalDistribution(
                list(config.names))}, value=auc,
            user_attrs={"val_auc": auc, "val_f1": 0.5, "test_auc": auc - 0.01, "test_f1": 0.4, "run_dir": None}))
    table = summarise_grid(tmp_path, report=False)
    assert len(table) == 1
    assert table.loc[0, ["RNN output dimension", "gamma", "Validation AUC"]].tolist() == [16, "2", 0.86]


@pytest.mark.postgres
def test_two_workers_on_postgresql_train_every_point_exactly_once(survey_dir, tmp_path):
    url = os.environ.get("LCRNN_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    try:
        with sa.create_engine(url, connect_args={"connect_timeout": 3}).connect() as conn:
            conn.execute(sa.text("select 1"))
    except Exception as err:  # noqa: BLE001 - any failure to connect means: no server here
        pytest.skip(f"no PostgreSQL server at {url} ({type(err).__name__}); set LCRNN_TEST_POSTGRES_URL")
    study_name = f"lcrnn-test-{uuid.uuid4().hex[:12]}"
    config = GridConfig(specs=TINY.specs[1:3], train=TINY.train)
    try:
        results = run_grid(survey_dir, tmp_path, config, storage=url, study_name=study_name, workers=2,
                           poll_seconds=0.5, progress=False)
        _assert_each_point_once(results, config, url, study_name)
        assert not (tmp_path / "grid.db").exists()
    finally:
        try:
            optuna.delete_study(study_name=study_name, storage=url)
        except KeyError:
            pass
        with sa.create_engine(url).begin() as conn:
            conn.execute(sa.text("delete from lcrnn_grid_claims where study_name = :s"), {"s": study_name})


# --- a worker killed mid-trial -----------------------------------------------------------------------------


def test_a_killed_worker_is_retried_and_the_grid_completes(survey_dir, tmp_path):
    point, epochs = "gru-focal-g2-h8-d8", 6
    args = ["grid", "--data", str(survey_dir), "--out", str(tmp_path), "--configs", point, "--epochs",
            str(epochs), "--lr", "0.01", "--batch-size", "64", "--heartbeat", "1", "--no-report"]
    worker = subprocess.Popen([sys.executable, "-m", "lcrnn.cli", *args], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    checkpoint = tmp_path / "trials" / point / "checkpoint"
    deadline = time.monotonic() + 60
    while not checkpoint.exists() and worker.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    assert worker.returncode == -signal.SIGKILL, "the worker finished before it could be killed"
    storage = default_storage_url(tmp_path)
    (killed,) = open_study(storage, "lcrnn-grid").get_trials()
    assert killed.state == TrialState.RUNNING            # dead, but the store does not know it yet

    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "1 of 1 grid points finished" in result.output
    trials = open_study(storage, "lcrnn-grid").get_trials()
    assert [t.state for t in trials] == [TrialState.FAIL, TrialState.COMPLETE]
    assert trials[1].system_attrs["failed_trial"] == killed.number
    results = grid_results(storage)
    assert results.loc[0, "n_complete"] == 1
    metrics = json.loads((tmp_path / "trials" / point / "metrics.json").read_text())
    assert metrics["epochs_run"] == epochs and not checkpoint.exists()
    assert (tmp_path / "table2.md").read_text().count("| GRU |") == 1


def _children_of(pid: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return children


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc to find worker processes")
def test_stopping_the_grid_stops_its_workers(survey_dir, tmp_path):
    args = ["grid", "--data", str(survey_dir), "--out", str(tmp_path), "--configs", "gru-focal-g2-h8-d8",
            "--configs", "gru-ce-h8-d8", "--epochs", "200", "--workers", "2", "--no-report"]
    parent = subprocess.Popen([sys.executable, "-m", "lcrnn.cli", *args], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while len(_children_of(parent.pid)) < 2 and parent.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    workers = _children_of(parent.pid)
    assert len(workers) >= 2, "the grid did not start its workers"
    parent.send_signal(signal.SIGTERM)
    parent.wait(timeout=60)
    deadline = time.monotonic() + 30
    while any(Path(f"/proc/{w}").exists() for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    alive = [w for w in workers if Path(f"/proc/{w}/stat").exists()
             and Path(f"/proc/{w}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"]
    assert alive == [], f"workers {alive} kept running after the grid was stopped"
