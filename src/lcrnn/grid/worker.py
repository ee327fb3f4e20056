"""Training the grid: the objective of one trial, the worker loop, and the process pool on one machine.

:func:`run_grid` starts workers on this machine; :func:`run_worker` is one worker, and workers started on
other machines against the same database URL share the grid. A worker killed mid-trial leaves a RUNNING
trial whose heartbeat stops; Optuna then marks it failed and re-queues it
(:class:`optuna.storages.RetryHeartbeatStaleTrialCallback`), and the retry resumes from the run's checkpoint.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
import warnings
from pathlib import Path
from typing import Literal

import optuna
import pandas as pd
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.trial import TrialState
from tqdm.auto import tqdm

from lcrnn.errors import LcrnnError
from lcrnn.grid.claims import (
    HEARTBEAT_SECONDS,
    STUDY_NAME,
    claim_config,
    config_trials,
    default_storage_url,
    open_study,
    worker_id,
)
from lcrnn.grid.spec import GridConfig
from lcrnn.grid.table import grid_results

__all__ = ["run_grid", "run_worker"]


class _Objective:
    """Train one grid point with :func:`lcrnn.workflows.train_run.train_run` and report its validation AUC."""

    def __init__(self, study: optuna.Study, config: GridConfig, data: Path, out: Path) -> None:
        self.study, self.config, self.data, self.out = study, config, data, out
        self._survey = None
        self.trained = 0

    def survey(self):
        if self._survey is None:  # read once per worker, and only if it trains anything
            from lcrnn.data.io import read_survey

            self._survey = read_survey(self.data)
        return self._survey

    def __call__(self, trial: optuna.Trial) -> float:
        name = trial.suggest_categorical("config", list(self.config.names))
        trial.set_user_attr("worker", worker_id())
        holder = claim_config(self.study, name, trial)
        if holder is not None:
            trial.set_user_attr("duplicate_of", holder)
            raise optuna.TrialPruned(f"{name} is already claimed by trial {holder}")
        # Imported only once there is something to train: torch alone takes seconds to import.
        from lcrnn.classifier import Classifier
        from lcrnn.workflows.train_run import train_run

        network, train = self.config.point(name)
        run_dir = self.out / "trials" / name
        metrics = train_run(Classifier(network=network, train=train, progress=False), self.survey(), run_dir,
                            resume=True)
        val, test = metrics["validation"], metrics["test"]
        trial.set_user_attr("run_dir", str(run_dir.resolve()))
        for key, value in (("val_auc", val["auc_hand_till"]), ("val_f1", val["f1_macro"]),
                           ("test_auc", test["auc_hand_till"]), ("test_f1", test["f1_macro"]),
                           ("best_epoch", metrics["best_epoch"]),
                           ("seconds_per_epoch", metrics["seconds_per_epoch"])):
            trial.set_user_attr(key, value)
        if val["auc_hand_till"] is None:
            raise LcrnnError(f"{name}: the validation part has too few classes for an AUC; use more data")
        self.trained += 1
        return float(val["auc_hand_till"])


def run_worker(data: str | Path, out: str | Path, config: GridConfig = GridConfig(), storage: str | None = None,
               study_name: str = STUDY_NAME, heartbeat_interval: int = HEARTBEAT_SECONDS,
               grace_period: int | None = None,
               poll_seconds: float | None = None, torch_threads: int | None = None,
               progress: bool = False) -> int:
    """Run grid points until every one is finished; return how many this worker trained.

    Safe to start many times, on this machine or others, against one `storage`: each point is trained once.
    A worker with nothing left to claim waits while others still run, so that a point whose worker died
    (its heartbeat older than the grace period) is re-queued and resumed here.

    Parameters
    ----------
    data : path
        Survey directory (:func:`lcrnn.data.io.read_survey`).
    out : path
        Output directory: ``trials/<config>/`` for the run directories (and the default SQLite store).
    config : GridConfig
        Grid points and shared settings; must match the study's when joining one. Its ``train.device`` is
        this worker's torch device.
    storage : str, optional
        SQLAlchemy URL; default ``sqlite:///OUT/grid.db``.
    study_name : str
        Optuna study name.
    heartbeat_interval, grace_period : int
        Heartbeat of running trials (seconds) and the silence after which a trial counts as dead.
    poll_seconds : float, optional
        How often an idle worker looks again for re-queued points (default: the heartbeat, at most 5 s).
    torch_threads : int, optional
        CPU threads for torch in this process (set when several workers share a machine).
    progress : bool
        A progress bar over finished grid points.
    """
    out = Path(out)
    _check_data(data)
    out.mkdir(parents=True, exist_ok=True)
    storage = storage or default_storage_url(out)
    poll_seconds = poll_seconds if poll_seconds is not None else min(5.0, heartbeat_interval)
    if torch_threads is not None:
        import torch

        torch.set_num_threads(max(1, torch_threads))
    study = open_study(storage, study_name, config, heartbeat_interval, grace_period)
    objective = _Objective(study, config, Path(data), out)
    retried: set[str] = set()   # points this worker re-queued after a failure: once each, not in a loop
    with tqdm(total=len(config.names), desc="grid", unit="point", disable=not progress) as bar:
        while True:
            n_done, move, point = _next_move(study, config.names, retried)
            bar.update(n_done - bar.n)
            if move == "train":
                study.optimize(objective, n_trials=1, catch=())
            elif move == "requeue":
                _requeue(study, point)
                retried.add(point)
            elif move == "wait":
                time.sleep(poll_seconds)   # others are training; wait for them or for their heartbeat to stop
            else:
                break
    return objective.trained


_Move = Literal["train", "requeue", "wait", "stop"]


def _next_move(study: optuna.Study, names: tuple[str, ...],
               retried: set[str]) -> tuple[int, _Move, str | None]:
    """How many points are finished, what this worker does next, and the point a re-queue is for."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
    by_config = config_trials(study)
    done = {c for c in names if any(t.state == TrialState.COMPLETE for t in by_config.get(c, []))}
    if len(done) == len(names):
        return len(done), "stop", None
    trials = study.get_trials(deepcopy=False)
    waiting = any(t.state == TrialState.WAITING for t in trials)
    todo = [c for c in names if c not in done]
    live = {c for c in todo if any(t.state in (TrialState.RUNNING, TrialState.WAITING)
                                   for t in by_config.get(c, []))}
    fresh = [c for c in todo if c not in by_config]
    failed = [c for c in todo if c in by_config and c not in live and c not in retried]
    if waiting or fresh:
        return len(done), "train", None
    if failed:
        return len(done), "requeue", failed[0]
    if any(t.state == TrialState.RUNNING for t in trials):
        return len(done), "wait", None
    return len(done), "stop", None   # what is left failed here already; a re-run tries it again


def _requeue(study: optuna.Study, config: str) -> None:
    """Queue a failed point again, keeping its grid id and retry history (as Optuna does for stale trials)."""
    failed = [t for t in config_trials(study).get(config, []) if t.state == TrialState.FAIL]
    if failed:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            RetryHeartbeatStaleTrialCallback()(study, failed[-1])
    else:
        study.enqueue_trial({"config": config})


def _check_data(data: str | Path) -> None:
    if not Path(data).is_dir():
        raise LcrnnError(f"no survey directory at {str(data)!r}: give --data the folder holding "
                         "photometry, objects (with labels) and galaxies tables")


def _worker_main(kwargs: dict) -> None:
    run_worker(**kwargs)


def run_grid(data: str | Path, out: str | Path, config: GridConfig = GridConfig(), storage: str | None = None,
             study_name: str = STUDY_NAME, workers: int = 1, heartbeat_interval: int = HEARTBEAT_SECONDS,
             grace_period: int | None = None, poll_seconds: float | None = None,
             progress: bool = True) -> pd.DataFrame:
    """Run the grid with `workers` processes on this machine and return :func:`~lcrnn.grid.grid_results`.

    Workers are spawned processes (fresh interpreters, each with ``cpu_count // workers`` torch threads);
    more workers on other machines may join the same `storage` with ``lcrnn grid ... --workers 1``.
    Rerunning resumes: finished points are kept, dead ones are trained again from their checkpoints.
    See :func:`run_worker` for the parameters.
    """
    if workers < 1:
        raise LcrnnError(f"--workers must be at least 1, not {workers}")
    _check_data(data)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    storage = storage or default_storage_url(out)
    study = open_study(storage, study_name, config, heartbeat_interval, grace_period)
    common = {"data": Path(data), "out": out, "config": config, "storage": storage, "study_name": study_name,
              "heartbeat_interval": heartbeat_interval, "grace_period": grace_period,
              "poll_seconds": poll_seconds}
    if workers == 1:
        run_worker(**common, progress=progress)
    else:
        threads = max(1, (os.cpu_count() or 1) // workers)
        _run_pool([{**common, "torch_threads": threads} for _ in range(workers)], study, config,
                  poll_seconds, progress)
    return grid_results(storage, study_name)


def _run_pool(worker_kwargs: list[dict], study: optuna.Study, config: GridConfig, poll_seconds: float | None,
              progress: bool) -> None:
    """Run one spawned process per entry of `worker_kwargs` to the end; raise if any of them failed."""
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_worker_main, args=(kwargs,), name=f"lcrnn-grid-{i}")
                 for i, kwargs in enumerate(worker_kwargs)]
    for p in processes:
        p.start()
    # A stopped grid must not leave its workers training on: SIGTERM ends the parent through the `finally`
    # below, which stops every worker (their unfinished trials are retried by the next run).
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _exit_on_signal) if in_main_thread else None
    try:
        with tqdm(total=len(config.names), desc="grid", unit="point", disable=not progress) as bar:
            while any(p.is_alive() for p in processes):
                for p in processes:
                    p.join(timeout=min(poll_seconds or 5.0, 5.0) / len(processes))
                bar.update(_n_complete(study, config) - bar.n)
            bar.update(_n_complete(study, config) - bar.n)
    finally:
        for p in processes:
            if p.is_alive():
                p.terminate()
        for p in processes:
            p.join(timeout=30)
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)
    bad = [(p.name, p.exitcode) for p in processes if p.exitcode != 0]
    if bad:
        raise LcrnnError(f"grid workers ended with errors ({', '.join(f'{n}: exit {c}' for n, c in bad)}); "
                         "see their messages above, then rerun the same command to resume the grid")


def _exit_on_signal(signum, frame) -> None:
    raise SystemExit(128 + signum)


def _n_complete(study: optuna.Study, config: GridConfig) -> int:
    by_config = config_trials(study)
    return sum(any(t.state == TrialState.COMPLETE for t in by_config.get(c, [])) for c in config.names)
