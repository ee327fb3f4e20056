"""What every `lcrnn` sub-command shares: the Typer app and the helpers that turn user mistakes into messages."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

app = typer.Typer(
    help="Classify astronomical light curves in real time with recurrent neural networks.",
    no_args_is_help=True,
    add_completion=False,
)


@contextmanager
def _option_errors() -> Iterator[None]:
    """A config that refuses an option value is the user's to fix: say which, without a traceback."""
    try:
        yield
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None


@contextmanager
def _model_errors() -> Iterator[None]:
    """A --model that is not a run directory (the one rule in lcrnn.train.run_dir) is a bad option value."""
    from lcrnn.train.run_dir import NotARunError

    try:
        yield
    except NotARunError as error:
        raise typer.BadParameter(str(error), param_hint="--model") from None


def _run_dir(path: Path) -> Path:
    """The --model directory, checked before slow work starts."""
    from lcrnn.train.run_dir import require_run_dir

    with _model_errors():
        return require_run_dir(path)


@app.command()
def version() -> None:
    """Print the installed lcrnn version."""
    from lcrnn.version import __version__

    typer.echo(__version__)
