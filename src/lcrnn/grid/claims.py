"""Where the grid lives: the Optuna study in an SQL database, and the claims table that guards it.

Why a claims table beside Optuna's: :class:`optuna.samplers.GridSampler` can hand the same point to two
workers that ask at the same moment. Before training, a trial claims its point with an ``INSERT`` into
``lcrnn_grid_claims`` (primary key: study, config); the database lets exactly one worker win. A claim held
by a trial that failed is taken over with a compare-and-set ``UPDATE``.

Optuna has no public handle on a trial's database id or on the SQL engine behind a study; the two private
attributes used for them are read in :func:`_rdb_storage` and :func:`_trial_id` only.
"""

from __future__ import annotations

import functools
import json
import os
import socket
import time
import warnings
from pathlib import Path
from typing import Any

import optuna
import sqlalchemy as sa
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.trial import FrozenTrial, TrialState

from lcrnn.errors import LcrnnError
from lcrnn.grid.spec import GridConfig

__all__ = ["HEARTBEAT_SECONDS", "STUDY_ATTR", "STUDY_NAME", "claim_config", "config_trials", "default_storage_url",
           "open_study", "worker_id"]

#: The study a grid runs in unless told otherwise (every worker of one grid must use the same).
STUDY_NAME = "lcrnn-grid"
#: Seconds between heartbeats of a running trial; one silent for twice this is failed and retried.
HEARTBEAT_SECONDS = 30
#: The study's user attribute holding :meth:`GridConfig.shared_dict` of the grid it was started with.
STUDY_ATTR = "lcrnn_grid"
_CLAIMS_TABLE = "lcrnn_grid_claims"

_CLAIMS = sa.Table(
    _CLAIMS_TABLE, sa.MetaData(),
    sa.Column("study_name", sa.String(255), primary_key=True),
    sa.Column("config", sa.String(128), primary_key=True),
    sa.Column("trial_id", sa.Integer, nullable=False),
    sa.Column("trial_number", sa.Integer, nullable=False),
    sa.Column("worker", sa.String(255)),
    sa.Column("claimed_at", sa.Float),
)


def default_storage_url(out: str | Path) -> str:
    """``sqlite:///OUT/grid.db`` with an absolute path, so workers started elsewhere find the same file."""
    return f"sqlite:///{(Path(out) / 'grid.db').resolve()}"


def worker_id() -> str:
    """``host:pid`` of this process, recorded on the trials and claims it makes."""
    return f"{socket.gethostname()}:{os.getpid()}"


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


def _create_claims_table(engine: sa.Engine) -> None:
    try:
        _CLAIMS.create(engine, checkfirst=True)
    except (sa.exc.OperationalError, sa.exc.ProgrammingError, sa.exc.IntegrityError):
        # Another worker created it between our check and our CREATE.
        if not sa.inspect(engine).has_table(_CLAIMS_TABLE):
            raise


def open_study(storage_url: str, study_name: str, config: GridConfig | None = None,
               heartbeat_interval: int = HEARTBEAT_SECONDS, grace_period: int | None = None) -> optuna.Study:
    """Create or join the grid study; refuse a worker whose grid or shared settings differ from the study's.

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
    sampler = optuna.samplers.GridSampler({"config": list(config.names)}, seed=config.train.seed)
    study = optuna.create_study(study_name=study_name, storage=storage, sampler=sampler,
                                direction="maximize", load_if_exists=True)
    mine = json.loads(json.dumps(config.shared_dict()))  # as the storage keeps it (tuples become lists)
    stored = study.user_attrs.get(STUDY_ATTR)
    if stored is None:
        study.set_user_attr(STUDY_ATTR, mine)
    elif stored != mine:
        differ = _differences(stored, mine)
        raise LcrnnError(
            f"study {study_name!r} in {storage_url} was started with other settings ({', '.join(differ)} "
            f"differ; the study has {stored}). Start this worker with the same --configs/--epochs/--lr "
            "settings, or use another --study-name for a new grid.")
    return study


def _differences(stored: Any, mine: Any, prefix: str = "") -> list[str]:
    """Dotted names of the settings that differ, e.g. ``train.epochs``."""
    if not (isinstance(stored, dict) and isinstance(mine, dict)):
        return [] if stored == mine else [prefix.rstrip(".") or "settings"]
    return [name for key in sorted(set(stored) | set(mine))
            for name in _differences(stored.get(key), mine.get(key), f"{prefix}{key}.")]


def config_trials(study: optuna.Study) -> dict[str, list[FrozenTrial]]:
    """The study's trials by grid point name, oldest first."""
    by_config: dict[str, list[FrozenTrial]] = {}
    for t in study.get_trials(deepcopy=False):
        if "config" in t.params:
            by_config.setdefault(t.params["config"], []).append(t)
    return by_config


def _rdb_storage(study: optuna.Study) -> RDBStorage:
    # Optuna wraps the RDB storage in a cache; ask the database itself, where other workers write.
    storage = getattr(study._storage, "_backend", study._storage)
    if not isinstance(storage, RDBStorage):
        raise LcrnnError("the grid needs an RDB storage (an SQLAlchemy URL), not an in-memory one")
    return storage


def _trial_id(trial: FrozenTrial | optuna.Trial) -> int:
    # The storage's key of the trial (trial numbers are per study; ids are what get_trial takes).
    return trial._trial_id


def claim_config(study: optuna.Study, config: str, trial: FrozenTrial | optuna.Trial) -> int | None:
    """Claim `config` for `trial` atomically; return ``None`` when claimed, else the holding trial's number.

    The first ``INSERT`` for a (study, config) wins. A claim whose holder is running (or finished it) is
    refused; a claim whose holder failed is taken over with a compare-and-set on the holder's id, so two
    workers retrying the same failed point cannot both win.
    """
    storage = _rdb_storage(study)
    engine = storage.engine
    mine = {"study_name": study.study_name, "config": config, "trial_id": _trial_id(trial),
            "trial_number": trial.number, "worker": worker_id(), "claimed_at": time.time()}
    try:
        with engine.begin() as conn:
            conn.execute(_CLAIMS.insert().values(**mine))
        return None
    except sa.exc.IntegrityError:
        pass
    key = (_CLAIMS.c.study_name == study.study_name) & (_CLAIMS.c.config == config)
    with engine.connect() as conn:
        row = conn.execute(sa.select(_CLAIMS.c.trial_id, _CLAIMS.c.trial_number).where(key)).one()
    if row.trial_id == mine["trial_id"]:
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
