"""The `lcrnn` command: one entry point, one sub-command per job.

Each sub-command is a thin shell over a library function, so everything here is also reachable from Python.
Heavy imports (torch, astropy, matplotlib) happen inside the commands to keep `lcrnn --help` fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

app = typer.Typer(
    help="Classify astronomical light curves in real time with recurrent neural networks.",
    no_args_is_help=True,
    add_completion=False,
)


@app.command()
def version() -> None:
    """Print the installed lcrnn version."""
    from lcrnn import __version__

    typer.echo(__version__)


# --- sub-commands are added below, one block per job -------------------------------------------------


if __name__ == "__main__":  # pragma: no cover
    app()
