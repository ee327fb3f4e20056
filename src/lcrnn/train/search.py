"""The paper's hyperparameter grid (Table 1, section 5.4) spread over many workers with Optuna.

Every grid point is one :class:`TrialSpec`; the Optuna search space is one categorical ``"config"`` whose
choices are the spec names, so the cross-entropy losses (where gamma does not apply) appear once and not once
per gamma. :func:`run_grid` starts workers on this machine; :func:`run_worker` is one worker, and workers
started on other machines against the same database URL share the grid:

    OUT/grid.db                      default SQLite store (any SQLAlchemy URL instead, e.g. PostgreSQL)
    OUT/trials/<config-name>/        the run directory of each grid point (see :mod:`lcrnn.train.run`)
    OUT/table2.md, OUT/table2.csv    the paper's Table 2, written by :func:`summarise_grid`

Why a claims table beside Optuna's: :class:`optuna.samplers.GridSampler` can hand the same point to two
workers that ask at the same moment. Before training, a trial claims its config with an ``INSERT`` into
``lcrnn_grid_claims`` (primary key: study, config); the database lets exactly one worker win. A claim held
by a trial that failed is taken over with a compare-and-set ``UPDATE``. A worker killed mid-trial leaves a
RUNNING trial whose heartbeat stops; Optuna then marks it failed and re-queues it
(:class:`optuna.storages.RetryHeartbeatStaleTrialCallback`), and the retry resumes from the run's
checkpoint.
"""

from __future__ import annotations

import functools
import math
import multiprocessing
import os
import re
import signal
import socket
import threading
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import optuna
import pandas as pd
import sqlalchemy as sa
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.trial import FrozenTrial, TrialState
from tqdm.auto import tqdm

from lcrnn.errors import LcrnnError, LcrnnWarning

__all__ = [
    "TABLE2_COLUMNS",
    "GridConfig",
    "TrialSpec",
    "claim_config",
    "default_storage_url",
    "grid_results",
    "open_study",
    "paper_grid",
    "parse_configs",
    "run_grid",
    "run_worker",
    "summarise_grid",
]

#: Columns of the paper's Table 2, in its order.
TABLE2_COLUMNS = ("RNN type", "Loss", "Dense layer neurons", "RNN output dimension", "gamma",
                  "Validation AUC", "Validation F1", "Test AUC", "Test F1")

_LOSS_NAMES = {"focal": "Weighted focal loss", "wce": "Weighted cross entropy", "ce": "Unweighted cross entropy"}

#: The seven rows of Table 2: (rnn, loss, use_context), in the paper's order.
TABLE2_GROUPS: tuple[tuple[str, str, bool], ...] = (
    ("lstm", "focal", True), ("gru", "focal", True),
    ("lstm", "wce", True), ("gru", "wce", True),
    ("lstm", "ce", True), ("gru", "ce", True),
    ("gru", "focal", False),
)

_NAME = re.compile(r"^(?P<rnn>gru|lstm)(?P<nc>-nc)?-(?P<loss>ce|wce|focal)(?:-g(?P<gamma>\d+(?:\.\d+)?))?"
                   r"-h(?P<hidden>\d+)-d(?P<dense>\d+)$")
_CLAIMS_TABLE = "lcrnn_grid_claims"
_STUDY_ATTR = "lcrnn_grid"


# --- the grid ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrialSpec:
    """One grid point: the hyperparameters one trial trains with."""

    rnn: Literal["gru", "lstm"] = "gru"
    loss: Literal["ce", "wce", "focal"] = "focal"
    gamma: float | None = 2.0     # focal loss only; None for the cross-entropy losses
    hidden: int = 150             # RNN output dimension (Table 1: 100 or 150)
    dense: int = 200              # neurons in each dense layer (Table 1: 100 or 200)
    use_context: bool = True      # False: light curve only (section 5.4, "NC")

    def __post_init__(self) -> None:
        if self.rnn not in ("gru", "lstm") or self.loss not in ("ce", "wce", "focal"):
            raise ValueError(f"rnn must be gru/lstm and loss ce/wce/focal, got {self.rnn!r}, {self.loss!r}")
        if (self.loss == "focal") != (self.gamma is not None):
            raise ValueError("gamma is set for the focal loss and only for it (None for ce and wce)")
        if self.hidden < 1 or self.dense < 1:
            raise ValueError("hidden and dense must be at least 1")

    @property
    def name(self) -> str:
        """Identifier used as the Optuna choice and the trial directory, e.g. ``gru-focal-g2-h150-d200``."""
        gamma = ""
        if self.gamma is not None:
            gamma = f"-g{int(self.gamma)}" if float(self.gamma).is_integer() else f"-g{self.gamma:g}"
        nc = "" if self.use_context else "-nc"
        return f"{self.rnn}{nc}-{self.loss}{gamma}-h{self.hidden}-d{self.dense}"

    @classmethod
    def from_name(cls, name: str) -> TrialSpec:
        """Parse a name written by :attr:`name` (so ``--configs`` can also ask for points off the paper grid)."""
        match = _NAME.match(name.strip())
        if match is None:
            raise LcrnnError(
                f"cannot read the grid point {name!r}: expected RNN[-nc]-LOSS[-gGAMMA]-hHIDDEN-dDENSE, e.g. "
                "'gru-focal-g2-h150-d200', 'lstm-wce-h100-d200' or 'gru-nc-focal-g1-h100-d100'")
        g = match.groupdict()
        try:
            return cls(rnn=g["rnn"], loss=g["loss"], gamma=None if g["gamma"] is None else float(g["gamma"]),
                       hidden=int(g["hidden"]), dense=int(g["dense"]), use_context=g["nc"] is None)
        except ValueError as err:
            raise LcrnnError(f"grid point {name!r}: {err}") from None

    @property
    def table2_label(self) -> str:
        """Row label in the style of Table 2, e.g. ``GRU NC focal``."""
        return f"{self.rnn.upper()}{'' if self.use_context else ' NC'} {self.loss}"


def paper_grid() -> tuple[TrialSpec, ...]:
    """The 40 grid points: Table 1 for GRU and LSTM (32) plus the GRU weighted-focal grid without context (8)."""
    losses: list[tuple[str, float | None]] = [("ce", None), ("wce", None), ("focal", 1.0), ("focal", 2.0)]
    specs = [TrialSpec(rnn, loss, gamma, hidden, dense)
             for rnn in ("gru", "lstm") for loss, gamma in losses for hidden in (100, 150) for dense in (100, 200)]
    specs += [TrialSpec("gru", "focal", gamma, hidden, dense, use_context=False)
              for gamma in (1.0, 2.0) for hidden in (100, 150) for dense in (100, 200)]
    return tuple(specs)


def parse_configs(values: Sequence[str] | None) -> tuple[TrialSpec, ...]:
    """Grid points from names (each value may hold several, comma-separated); the paper grid when empty."""
    names = [part.strip() for value in (values or ()) for part in value.split(",") if part.strip()]
    if not names:
        return paper_grid()
    specs = tuple(dict.fromkeys(TrialSpec.from_name(n) for n in names))
    return specs


@dataclass(frozen=True)
class GridConfig:
    """What every worker of one study must agree on: the grid points and the training schedule."""

    specs: tuple[TrialSpec, ...] = paper_grid()
    epochs: int = 200             # paper section 4.3
    lr: float = 1e-4              # Adam learning rate (Table 1)
    batch_size: int = 128         # Table 1
    seed: int = 0                 # split, weights and batch order: every trial sees the same split

    def __post_init__(self) -> None:
        if not self.specs:
            raise ValueError("the grid needs at least one grid point")
        if len({s.name for s in self.specs}) != len(self.specs):
            raise ValueError("grid points must be distinct")
        if self.epochs < 1 or self.batch_size < 1 or not self.lr > 0:
            raise ValueError("epochs and batch_size must be at least 1 and lr positive")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.specs)

    def to_dict(self) -> dict:
        """Plain JSON, stored on the study so that a worker started with other settings is refused."""
        return {"configs": list(self.names), "epochs": self.epochs, "lr": self.lr,
                "batch_size": self.batch_size, "seed": self.seed}

    @classmethod
    def from_dict(cls, data: dict) -> GridConfig:
        return cls(specs=parse_configs(data["configs"]), epochs=int(data["epochs"]), lr=float(data["lr"]),
                   batch_size=int(data["batch_size"]), seed=int(data["seed"]))


# --- storage and the study ---------------------------------------------------------------------------------


def default_storage_url(out: str | Path) -> str:
    """``sqlite:///OUT/grid.db`` with an absolute path, so workers started elsewhere find the same file."""
    return f"sqlite:///{(Path(out) / 'grid.db').resolve()}"


@functools.lru_cache(maxsize=8)
def _storage(url: str, heartbeat_interval: int, grace_period: int | None) -> RDBStorage:
    """One storage per URL and process: opening one checks the schema, which takes about a second."""
    engine_kwargs: dict = {}
    if url.startswith("sqlite"):
        # Several processes write to one SQLite file: wait for the lock instead of failing at once.
        engine_kwargs["connect_args"] = {"timeout": 120}
    else:
        engine_kwargs["pool_pre_ping"] = True
    with warnings.catch_warnings():
        # Heartbeats and the retry callback are flagged experimental; we rely on them on purpose.
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        try:
            return RDBStorage(url, engine_kwargs=engine_kwargs, heartbeat_interval=heartbeat_interval,
                              grace_period=grace_period,
                              heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback())
        except (sa.exc.ArgumentError, sa.exc.OperationalError, ImportError) as err:
            raise LcrnnError(f"cannot open the grid storage {url!r}: {err}. Give an SQLAlchemy URL such as "
                             "sqlite:///path/grid.db or postgresql+psycopg://user@host:5432/dbname") from err


def _claims_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        _CLAIMS_TABLE, metadata,
        sa.Column("study_name", sa.String(255), primary_key=True),
        sa.Column("config", sa.String(128), primary_key=True),
        sa.Column("trial_id", sa.Integer, nullable=False),
        sa.Column("trial_number", sa.Integer, nullable=False),
        sa.Column("worker", sa.String(255)),
        sa.Column("claimed_at", sa.Float),
    )


_CLAIMS = _claims_table(sa.MetaData())


def _create_claims_table(engine: sa.Engine) -> None:
    try:
        _CLAIMS.create(engine, checkfirst=True)
    except (sa.exc.OperationalError, sa.exc.ProgrammingError, sa.exc.IntegrityError):
        # Another worker created it between our check and our CREATE.
        if not sa.inspect(engine).has_table(_CLAIMS_TABLE):
            raise


def open_study(storage_url: str, study_name: str, config: GridConfig | None = None,
               heartbeat_interval: int = 30, grace_period: int | None = None) -> optuna.Study:
    """Create or join the grid study; refuse a worker whose grid or schedule differs from the study's.

    Parameters
    ----------
    storage_url : str
        SQLAlchemy URL of the Optuna RDB storage.
    study_name : str
        Study to create or join.
    config : GridConfig, optional
        The grid this worker runs; ``None`` to open an existing study read-only (e.g. to summarise it).
    heartbeat_interval, grace_period : int
        Seconds between heartbeats of a running trial, and without one before the trial counts as dead
        (default: twice the interval).
    """
    storage = _storage(storage_url, heartbeat_interval, grace_period)
    if config is None:
        try:
            return optuna.load_study(study_name=study_name, storage=storage)
        except KeyError:
            raise LcrnnError(f"no study {study_name!r} in {storage_url}: run `lcrnn grid` first, or "
                             "give the --storage and --study-name it ran with") from None
    _create_claims_table(storage.engine)
    sampler = optuna.samplers.GridSampler({"config": list(config.names)}, seed=config.seed)
    study = optuna.create_study(study_name=study_name, storage=storage, sampler=sampler,
                                direction="maximize", load_if_exists=True)
    stored = study.user_attrs.get(_STUDY_ATTR)
    if stored is None:
        study.set_user_attr(_STUDY_ATTR, config.to_dict())
    elif stored != config.to_dict():
        differ = sorted(k for k in stored if stored[k] != config.to_dict().get(k))
        raise LcrnnError(
            f"study {study_name!r} in {storage_url} was started with other settings ({', '.join(differ)} "
            f"differ; the study has {stored}). Start this worker with the same --configs/--epochs/--lr "
            "settings, or use another --study-name for a new grid.")
    return study


def _worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def claim_config(study: optuna.Study, config: str, trial: FrozenTrial | optuna.Trial) -> int | None:
    """Claim `config` for `trial` atomically; return ``None`` when claimed, else the holding trial's number.

    The first ``INSERT`` for a (study, config) wins. A claim whose holder is running (or finished it) is
    refused; a claim whose holder failed is taken over with a compare-and-set on the holder's id, so two
    workers retrying the same failed point cannot both win.
    """
    # Optuna wraps the RDB storage in a cache; ask the database itself, where other workers write.
    storage = getattr(study._storage, "_backend", study._storage)
    if not isinstance(storage, RDBStorage):
        raise LcrnnError("the grid needs an RDB storage (an SQLAlchemy URL), not an in-memory one")
    engine = storage.engine
    mine = {"study_name": study.study_name, "config": config, "trial_id": trial._trial_id,
            "trial_number": trial.number, "worker": _worker_id(), "claimed_at": time.time()}
    try:
        with engine.begin() as conn:
            conn.execute(_CLAIMS.insert().values(**mine))
        return None
    except sa.exc.IntegrityError:
        pass
    key = (_CLAIMS.c.study_name == study.study_name) & (_CLAIMS.c.config == config)
    with engine.connect() as conn:
        row = conn.execute(sa.select(_CLAIMS.c.trial_id, _CLAIMS.c.trial_number).where(key)).one()
    if row.trial_id == trial._trial_id:
        return None
    try:
        holder_state = storage.get_trial(row.trial_id).state
    except KeyError:
        holder_state = TrialState.FAIL
    if holder_state in (TrialState.RUNNING, TrialState.COMPLETE, TrialState.WAITING):
        return int(row.trial_number)
    with engine.begin() as conn:
        taken = conn.execute(_CLAIMS.update().where(key & (_CLAIMS.c.trial_id == row.trial_id)).values(**mine))
    return None if taken.rowcount == 1 else int(row.trial_number)


# --- the worker --------------------------------------------------------------------------------------------


def _config_trials(study: optuna.Study) -> dict[str, list[FrozenTrial]]:
    by_config: dict[str, list[FrozenTrial]] = {}
    for t in study.get_trials(deepcopy=False):
        if "config" in t.params:
            by_config.setdefault(t.params["config"], []).append(t)
    return by_config


class _Objective:
    """Train one grid point with :func:`lcrnn.train.run.train_run` and report its validation AUC."""

    def __init__(self, study: optuna.Study, config: GridConfig, data: Path, out: Path, device: str) -> None:
        self.study, self.config, self.data, self.out, self.device = study, config, data, out, device
        self.specs = {s.name: s for s in config.specs}
        self._survey = None
        self.trained = 0

    def survey(self):
        if self._survey is None:  # read once per worker, and only if it trains anything
            from lcrnn.data.io import read_survey

            self._survey = read_survey(self.data)
        return self._survey

    def __call__(self, trial: optuna.Trial) -> float:
        name = trial.suggest_categorical("config", list(self.config.names))
        trial.set_user_attr("worker", _worker_id())
        holder = claim_config(self.study, name, trial)
        if holder is not None:
            trial.set_user_attr("duplicate_of", holder)
            raise optuna.TrialPruned(f"{name} is already claimed by trial {holder}")
        # Imported only once there is something to train: torch alone takes seconds to import.
        from lcrnn.classifier import Classifier
        from lcrnn.train.run import train_run

        spec = self.specs[name]
        clf = Classifier(rnn=spec.rnn, loss=spec.loss, gamma=spec.gamma if spec.gamma is not None else 0.0,
                         hidden=spec.hidden, dense=spec.dense, use_context=spec.use_context,
                         epochs=self.config.epochs, lr=self.config.lr, batch_size=self.config.batch_size,
                         seed=self.config.seed, device=self.device, progress=False)
        run_dir = self.out / "trials" / name
        metrics = train_run(clf, self.survey(), run_dir, resume=True)
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
               study_name: str = "lcrnn-grid", device: str = "auto", heartbeat_interval: int = 30,
               grace_period: int | None = None, poll_seconds: float | None = None, torch_threads: int | None = None,
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
        Grid points and training schedule; must match the study's when joining one.
    storage : str, optional
        SQLAlchemy URL; default ``sqlite:///OUT/grid.db``.
    study_name : str
        Optuna study name.
    device : str
        Torch device for training ("auto", "cpu", "cuda").
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
    objective = _Objective(study, config, Path(data), out, device)
    retried: set[str] = set()   # points this worker re-queued after a failure: once each, not in a loop
    bar = tqdm(total=len(config.names), desc="grid", unit="point", disable=not progress)
    try:
        while True:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                optuna.storages.fail_stale_trials(study)
            by_config = _config_trials(study)
            done = {c for c in config.names if any(t.state == TrialState.COMPLETE for t in by_config.get(c, []))}
            bar.update(len(done) - bar.n)
            if len(done) == len(config.names):
                break
            trials = study.get_trials(deepcopy=False)
            waiting = any(t.state == TrialState.WAITING for t in trials)
            todo = [c for c in config.names if c not in done]
            live = {c for c in todo if any(t.state in (TrialState.RUNNING, TrialState.WAITING)
                                           for t in by_config.get(c, []))}
            fresh = [c for c in todo if c not in by_config]
            failed = [c for c in todo if c in by_config and c not in live and c not in retried]
            if not (waiting or fresh) and failed:
                _requeue(study, failed[0], by_config[failed[0]])
                retried.add(failed[0])
                continue
            if waiting or fresh:
                study.optimize(objective, n_trials=1, catch=())
                continue
            if any(t.state == TrialState.RUNNING for t in trials):
                time.sleep(poll_seconds)   # others are training; wait for them or for their heartbeat to stop
                continue
            break   # what is left failed here already; a re-run tries it again
    finally:
        bar.close()
    return objective.trained


def _requeue(study: optuna.Study, config: str, trials: list[FrozenTrial]) -> None:
    """Queue a failed point again, keeping its grid id and retry history (as Optuna does for stale trials)."""
    failed = [t for t in trials if t.state == TrialState.FAIL]
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
             study_name: str = "lcrnn-grid", workers: int = 1, device: str = "auto",
             heartbeat_interval: int = 30, grace_period: int | None = None, poll_seconds: float | None = None,
             progress: bool = True) -> pd.DataFrame:
    """Run the grid with `workers` processes on this machine and return :func:`grid_results`.

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
              "device": device, "heartbeat_interval": heartbeat_interval, "grace_period": grace_period,
              "poll_seconds": poll_seconds}
    if workers == 1:
        run_worker(**common, progress=progress)
        return grid_results(storage, study_name)
    threads = max(1, (os.cpu_count() or 1) // workers)
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_worker_main, args=({**common, "torch_threads": threads},),
                                 name=f"lcrnn-grid-{i}") for i in range(workers)]
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
    return grid_results(storage, study_name)


def _exit_on_signal(signum, frame) -> None:
    raise SystemExit(128 + signum)


def _n_complete(study: optuna.Study, config: GridConfig) -> int:
    by_config = _config_trials(study)
    return sum(any(t.state == TrialState.COMPLETE for t in by_config.get(c, [])) for c in config.names)


# --- results -----------------------------------------------------------------------------------------------


def grid_results(storage: str, study_name: str = "lcrnn-grid") -> pd.DataFrame:
    """One row per grid point of the study: its finished trial's metrics, or its latest state.

    Columns: ``config, rnn, loss, gamma, hidden, dense, use_context, state, trial, n_trials, val_auc, val_f1,
    test_auc, test_f1, run_dir, worker``; ``n_trials`` counts every trial the point had (duplicates skipped
    by the claim guard and retries included).
    """
    study = open_study(storage, study_name)
    stored = study.user_attrs.get(_STUDY_ATTR)
    names = list(stored["configs"]) if stored else sorted(_config_trials(study))
    by_config = _config_trials(study)
    rows = []
    for name in names:
        spec = TrialSpec.from_name(name)
        trials = by_config.get(name, [])
        complete = [t for t in trials if t.state == TrialState.COMPLETE]
        chosen = complete[0] if complete else (trials[-1] if trials else None)
        attrs = chosen.user_attrs if chosen is not None else {}
        rows.append({"config": name, **asdict(spec),
                     "state": chosen.state.name if chosen is not None else "NOT_STARTED",
                     "trial": chosen.number if chosen is not None else None,
                     "n_complete": len(complete), "n_trials": len(trials),
                     **{k: attrs.get(k) for k in ("val_auc", "val_f1", "test_auc", "test_f1", "run_dir", "worker")}})
    return pd.DataFrame(rows)


def _fmt(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def summarise_grid(out: str | Path, storage: str | None = None, study_name: str = "lcrnn-grid",
                   data: str | Path | None = None, report: bool = True, progress: bool = True) -> pd.DataFrame:
    """Pick the best-validation-AUC point of each Table 2 configuration; write ``table2.md`` and ``table2.csv``.

    Parameters
    ----------
    out : path
        Grid output directory; the tables (and ``report/``) are written here.
    storage, study_name
        The grid's study (default storage ``sqlite:///OUT/grid.db``).
    data : path, optional
        Survey directory; with `report`, the chosen models are evaluated together by
        :func:`lcrnn.evaluate.report.build_report` into ``OUT/report/`` on their test split.
    report : bool
        Build the evaluation report (needs `data` and the chosen run directories on this machine).
    progress : bool
        Progress bars in the report.

    Returns
    -------
    pandas.DataFrame
        The Table 2 columns plus ``config`` and ``run_dir`` of each chosen point, one row per configuration
        present in the grid, in the paper's order.
    """
    out = Path(out)
    results = grid_results(storage or default_storage_url(out), study_name)
    finished = results[results["n_complete"] > 0]
    rows = []
    for rnn, loss, use_context in TABLE2_GROUPS:
        group = finished[(finished["rnn"] == rnn) & (finished["loss"] == loss)
                         & (finished["use_context"] == use_context)]
        group = group[group["val_auc"].notna()]
        if group.empty:
            continue
        best = group.loc[group["val_auc"].astype(float).idxmax()]
        rows.append({
            "RNN type": rnn.upper() + ("" if use_context else " NC"),
            "Loss": _LOSS_NAMES[loss],
            "Dense layer neurons": int(best["dense"]),
            "RNN output dimension": int(best["hidden"]),
            "gamma": "-" if loss != "focal" else _fmt(float(best["gamma"]), 0 if float(best["gamma"]).is_integer()
                                                      else 2),
            "Validation AUC": best["val_auc"], "Validation F1": best["val_f1"],
            "Test AUC": best["test_auc"], "Test F1": best["test_f1"],
            "config": best["config"], "run_dir": best["run_dir"],
        })
    table = pd.DataFrame(rows, columns=[*TABLE2_COLUMNS, "config", "run_dir"])
    out.mkdir(parents=True, exist_ok=True)
    table[list(TABLE2_COLUMNS)].to_csv(out / "table2.csv", index=False, float_format="%.4f")
    (out / "table2.md").write_text(_markdown(table))
    if report and data is not None and not table.empty:
        _report(table, Path(data), out / "report", progress)
    return table


def _markdown(table: pd.DataFrame) -> str:
    columns = list(TABLE2_COLUMNS)
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    for _, row in table.iterrows():
        lines.append("| " + " | ".join(_fmt(row[c]) for c in columns) + " |")
    return "\n".join(lines) + "\n"


def _report(table: pd.DataFrame, data: Path, out: Path, progress: bool) -> None:
    try:
        from lcrnn.evaluate.report import build_report
    except ImportError:
        warnings.warn("lcrnn.evaluate.report is not available: the evaluation report was skipped",
                      LcrnnWarning, stacklevel=3)
        return
    from lcrnn.classifier import Classifier
    from lcrnn.data.io import read_survey

    missing = [row["config"] for _, row in table.iterrows()
               if row["run_dir"] is None or not Path(row["run_dir"]).is_dir()]
    if missing:
        warnings.warn(f"the chosen runs {', '.join(missing)} are not on this machine (trained by a worker "
                      "elsewhere): the evaluation report was skipped; copy OUT/trials there and summarise again",
                      LcrnnWarning, stacklevel=3)
        return
    models = []
    for _, row in table.iterrows():
        model = Classifier.load(row["run_dir"])
        model.name = f"{row['RNN type']} {row['Loss']}"
        models.append(model)
    survey = read_survey(data)
    build_report(models, survey.photometry, survey.objects, survey.galaxies, out, split="test",
                 progress=progress)
