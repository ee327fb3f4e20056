"""The paper's hyperparameter grid (Table 1, section 5.4) spread over many workers with Optuna.

Every grid point is one :class:`TrialSpec`; the Optuna search space is one categorical ``"config"`` whose
choices are the point names, so the cross-entropy losses (where gamma does not apply) appear once and not
once per gamma. One module per job:

    spec      the points (TrialSpec, paper_grid, parse_configs) and what they share (GridConfig)
    claims    the Optuna study in an SQL database and the claims table that lets one worker train a point
    worker    the objective, the worker loop and the process pool
    table     the results, the paper's Table 2 and the joint evaluation report

On disk:

    OUT/grid.db                      default SQLite store (any SQLAlchemy URL instead, e.g. PostgreSQL)
    OUT/trials/<config-name>/        the run directory of each grid point (:mod:`lcrnn.workflows.train_run`)
    OUT/table2.md, OUT/table2.csv    the paper's Table 2, written by :func:`summarise_grid`
"""

from __future__ import annotations

from lcrnn.grid.claims import claim_config, default_storage_url, open_study
from lcrnn.grid.spec import GridConfig, TrialSpec, paper_grid, parse_configs
from lcrnn.grid.table import TABLE2_COLUMNS, grid_results, summarise_grid
from lcrnn.grid.worker import run_grid, run_worker

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
