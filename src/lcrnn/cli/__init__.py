"""The `lcrnn` command: one entry point, one sub-command per job.

Each sub-command is a thin shell over a library function, so everything here is also reachable from Python.
Heavy imports (torch, astropy, matplotlib) happen inside the commands to keep `lcrnn --help` fast.
"""

from __future__ import annotations

from lcrnn.cli._common import app
from lcrnn.cli import audit, models, runs, survey, service, stream  # noqa: F401, E402 - each module adds its sub-commands to app

__all__ = ["app"]
