"""What every `lcrnn` sub-command shares: the Typer app and the helpers that turn user mistakes into messages.

A user's mistake (a missing or wrong path, a directory that is not a run, an invalid table, an option value
lcrnn cannot use) ends the command with exit status 2 and one boxed message that names the problem and the
fix, never a traceback (``lcrnn --debug ...`` shows it). An output directory the failed command created and
left without a file in it is removed, so a corrected rerun starts clean.
"""

from __future__ import annotations

import functools
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from lcrnn.errors import LcrnnError

# The mistakes a user fixes by changing the command line or the input files; anything else is a bug and
# keeps its traceback.
USER_ERRORS = (LcrnnError, FileNotFoundError, FileExistsError, NotADirectoryError, IsADirectoryError,
               PermissionError)
# Typer vendors its own click; its ClickException is the base of the BadParameter it exports.
_ClickException = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


class OnInvalid(str, Enum):
    """What a command does with invalid table rows (lcrnn.data.tables' on_invalid)."""

    RAISE = "raise"
    DROP = "drop"


# The catalogue options of every command that reads a context model (predict, evaluate, serve, ingest).
Galaxies = Annotated[Path | None, typer.Option(
    help="Galaxy catalogue (Parquet/CSV with ra, dec): the one the model was trained with.")]
NoGalaxies = Annotated[bool, typer.Option(
    "--no-galaxies", help="Use a context model without a catalogue (every object gets the dummy galaxy distance).")]

Raw = Annotated[bool, typer.Option(
    "--raw", help="The network's raw softmax instead of calibrated probabilities (a weighted loss tilts it "
                  "towards the rare classes).")]
Priors = Annotated[str | None, typer.Option(
    help="Class priors of the survey classified, e.g. VS=0.99,SN=0.002,AGN=0.008: calibrated probabilities "
         "moved to them (default: the training survey's class frequencies); `lcrnn predict` also takes auto: "
         "the class mix estimated from the objects classified (all of them, before --split).")]

ON_INVALID_HELP = "raise: stop at the first bad row, naming it; drop: drop bad rows and report what was dropped."


_SESSION = {"debug": False}  # set by the app's callback on every invocation


class UserError(_ClickException):
    """A user's mistake, shown as Typer's error box with exit status 2 (a usage error's)."""

    exit_code = 2


def _created_outputs(kwargs: dict[str, Any]) -> list[Path]:
    """The ``out`` paths of this call that do not exist yet: the command creates them."""
    out = kwargs.get("out")
    return [out] if isinstance(out, Path) and not out.exists() else []


def _remove_created(paths: list[Path]) -> None:
    """Remove the outputs a failed command created (it did not exist before the call): nothing half-written
    stays behind to be mistaken for a finished report or run."""
    for path in paths:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        elif path.is_file():
            path.unlink(missing_ok=True)


def user_message(error: BaseException, has_on_invalid: bool) -> str:
    """The error's message, with the library's advice (``on_invalid="drop"``) said in the command's terms."""
    problems = getattr(error, "problems", None)
    if problems is not None:  # a table with bad rows: lcrnn.data.checks keeps the problems apart
        fix = (" Fix these rows, or pass --on-invalid drop to drop them (the command reports what it dropped)."
               if has_on_invalid else " Fix these rows.")
        return f"{problems}{fix}"
    message = str(error) or type(error).__name__
    if has_on_invalid:
        message = message.replace('on_invalid="drop"', "--on-invalid drop")
    return message


def _friendly(command: Callable[..., Any]) -> Callable[..., Any]:
    """Run a sub-command with user mistakes turned into :class:`UserError` (unless ``--debug``)."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        created = _created_outputs(kwargs)
        try:
            return command(*args, **kwargs)
        except _ClickException:
            _remove_created(created)
            raise
        except USER_ERRORS as error:
            _remove_created(created)
            if _SESSION["debug"]:
                raise
            raise UserError(user_message(error, "on_invalid" in kwargs)) from None

    return run


class _App(typer.Typer):
    """A Typer app whose every sub-command reports user mistakes as one box (see the module docstring)."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        register = super().command(*args, **kwargs)

        def decorator(function: Callable[..., Any]) -> Callable[..., Any]:
            register(_friendly(function))
            return function

        return decorator


app = _App(
    help="Classify astronomical light curves in real time with recurrent neural networks.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show the full traceback of an error.")] = False,
) -> None:
    """Classify astronomical light curves in real time with recurrent neural networks."""
    _SESSION["debug"] = debug


def echo_dropped(source: object, report: Any) -> None:
    """Say what drop mode removed (a :class:`~lcrnn.data.checks.DropReport`), on stderr."""
    if report.total:
        typer.echo(f"{source}: {report.summary()}", err=True)


def read_survey_checked(data: Path, on_invalid: OnInvalid, band: str | None = None,
                        classes: tuple[str, ...] | None = None) -> Any:
    """The survey directory ``data``, validated with ``--on-invalid``; in drop mode what was dropped is said.

    With ``band`` (``--band``) only the photometry in that band (or those bands, read as one) is kept, and
    objects left without photometry in it are left out, which is said too.
    """
    import dataclasses
    import warnings

    from lcrnn.data.checks import DropReport
    from lcrnn.data.io import read_survey_report
    from lcrnn.data.sequences import select_band
    from lcrnn.errors import LcrnnWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LcrnnWarning)  # the same news is echoed once below, in these words
        survey, report = read_survey_report(data, on_invalid.value, classes)
    echo_dropped(data, report)
    if band is None:
        return survey
    photometry = select_band(survey.photometry, band)
    kept = survey.objects["object_id"].isin(photometry["object_id"])
    echo_dropped(f"--band {band}", DropReport({"objects.no_photometry": int((~kept).sum())} if (~kept).any() else {}))
    return dataclasses.replace(survey, photometry=photometry, objects=survey.objects[kept].reset_index(drop=True))


def parse_classes(classes: str | None) -> tuple[str, ...] | None:
    """``--classes VS,SN,AGN`` as a tuple of labels (None when not given)."""
    if classes is None:
        return None
    labels = tuple(c.strip() for c in classes.split(","))
    if len(labels) < 2 or not all(labels) or len(set(labels)) != len(labels):
        raise typer.BadParameter(f"name two or more distinct labels, comma-separated (e.g. VS,SN,AGN), not "
                                 f"{classes!r}.", param_hint="--classes")
    return labels


BAND_HELP = ("The band to read light curves in when the photometry has several, e.g. g; several read as one "
             "band: r,R,V.")


def check_device(device: str) -> str:
    """``device`` when torch knows it and this machine has it; checked before any slow work or output."""
    if device == "auto":
        return device
    import torch

    try:
        kind = torch.device(device).type
    except (RuntimeError, ValueError):
        raise typer.BadParameter(f"unknown device {device!r}; use auto, cpu or cuda (or cuda:N).",
                                 param_hint="--device") from None
    available = {"cpu": True, "cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available()}
    if not available.get(kind, False):
        raise typer.BadParameter(f"this machine has no {kind} device for torch; use --device auto or cpu.",
                                 param_hint="--device")
    return device


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


@app.command()
def version() -> None:
    """Print the installed lcrnn version."""
    from lcrnn.version import __version__

    typer.echo(__version__)
