"""Read and write survey tables: one Parquet or CSV file per table, one directory per survey.

A survey directory holds ``photometry.{parquet,csv}``, ``objects.{parquet,csv}`` and optionally
``galaxies.{parquet,csv}``; :func:`write_survey` always writes Parquet, which keeps the dtypes exactly.
:func:`read_table` is lcrnn's one table reader: survey tables, and with ``formats=READABLE_FORMATS`` the
catalogues of known sources (TSV, FITS, VOTable, ECSV too). Which format a file holds is told by
:func:`lcrnn.data.formats.file_format`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from lcrnn.data.formats import FORMAT_SUFFIXES, TABLE_FORMATS, FileFormat, file_format
from lcrnn.data.schema import COLUMN_ALIASES
from lcrnn.data.tables import (
    DropReport,
    OnInvalid,
    Survey,
    TableKind,
    standardize_table,
    validate_survey,
)
from lcrnn.errors import InvalidTableError

__all__ = ["READABLE_FORMATS", "SURVEY_FILES", "read_survey", "read_survey_report", "read_table", "write_parquet",
           "write_survey"]

SURVEY_FILES = ("photometry", "objects", "galaxies")  # file stems in a survey directory
# Every format read_table reads when asked: the survey-table formats, and those catalogues come in.
READABLE_FORMATS: tuple[FileFormat, ...] = (*TABLE_FORMATS, "tsv", "fits", "votable", "ecsv")
# A survey directory's files end in the first suffix listed for each table format (.parquet, .csv).
_SURVEY_SUFFIXES = tuple(next(s for s, fmt in FORMAT_SUFFIXES.items() if fmt == f) for f in TABLE_FORMATS)
_ASTROPY_FORMATS = {"fits": "fits", "votable": "votable", "ecsv": "ascii.ecsv"}
# Columns read from CSV as text, so that ids such as "007" keep their zeros and labels stay labels.
_TEXT_COLUMNS = frozenset(
    name for target in ("object_id", "band", "label") for name in (target, *COLUMN_ALIASES[target])
)


def _read_text(path: Path, sep: str) -> pd.DataFrame:
    header = pd.read_csv(path, sep=sep, nrows=0).columns
    text = {name: "str" for name in header if str(name).lower() in _TEXT_COLUMNS}
    return pd.read_csv(path, sep=sep, dtype=text)


def write_parquet(frame: pd.DataFrame, path: str | Path) -> None:
    """Write ``frame`` as Parquet with page checksums, so that damage to the file is found when it is read."""
    frame.to_parquet(path, index=False, write_page_checksum=True)


def _read_file(path: Path, fmt: FileFormat) -> pd.DataFrame:
    if fmt == "parquet":
        # Pages written with a checksum (write_parquet) are verified: zeroed or flipped bytes are an error,
        # not magnitudes of 0.0. Files written without checksums read as before.
        return pd.read_parquet(path, page_checksum_verification=True)
    if fmt in ("csv", "tsv"):
        return _read_text(path, "," if fmt == "csv" else "\t")
    from astropy.table import Table

    table = Table.read(path, format=_ASTROPY_FORMATS[fmt])
    table.convert_bytestring_to_unicode()  # FITS text comes back as bytes: b'EA' would be no type we know
    return table.to_pandas()


def read_table(
    source: str | Path | pd.DataFrame,
    kind: TableKind | None = None,
    *,
    formats: tuple[FileFormat, ...] = TABLE_FORMATS,
) -> pd.DataFrame:
    """Read one table from a file (or take a DataFrame), standardized when ``kind`` is given.

    Parameters
    ----------
    source : str, Path or DataFrame
        A ``.parquet``/``.pq``/``.csv``/``.csv.gz`` file, or a frame already in memory.
    kind : {"photometry", "objects", "galaxies"}, optional
        When given, aliased columns are renamed to the schema and dtypes coerced
        (see :func:`lcrnn.data.schema.standardize_table`); rows are not validated.
    formats : tuple of str
        The formats accepted (see :data:`lcrnn.data.formats.FORMAT_SUFFIXES`): by default the survey-table
        formats, Parquet and CSV; :data:`READABLE_FORMATS` adds TSV (``.tsv``, ``.tab``, ``.txt``) and,
        through astropy, FITS, VOTable and ECSV. Text columns that hold ids, bands or labels are read as
        text, so ``"007"`` keeps its zeros.

    Returns
    -------
    DataFrame
        A new frame (the input frame is not modified).

    Raises
    ------
    FileNotFoundError
        If the file does not exist (the message names it).
    InvalidTableError
        For a suffix outside ``formats``, an unreadable file, or (with ``kind``) a missing column.
    """
    if isinstance(source, pd.DataFrame):
        frame = source.copy()
    else:
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"no table file at {str(path)!r}; check the path.")
        fmt = file_format(path, formats)
        try:
            frame = _read_file(path, fmt)
        except (OSError, ValueError) as exc:  # what pyarrow, the CSV parser and astropy raise on damage
            raise InvalidTableError(f"could not read {str(path)!r} as {fmt}: {exc}") from exc
    frame = standardize_table(frame, kind) if kind is not None else frame
    if not isinstance(source, pd.DataFrame):
        frame.attrs["source"] = str(source)  # the file as given: a galaxy catalogue's fingerprint names it
    return frame


def _find(directory: Path, stem: str, required: bool) -> Path | None:
    found = [directory / f"{stem}{suffix}" for suffix in _SURVEY_SUFFIXES]
    found = [path for path in found if path.is_file()]
    if len(found) > 1:
        raise InvalidTableError(
            f"{str(directory)!r} holds both {found[0].name} and {found[1].name}; remove the one you do not mean."
        )
    if not found and required:
        looked = ", ".join(f"{stem}{suffix}" for suffix in _SURVEY_SUFFIXES)
        raise FileNotFoundError(f"no {stem} table in {str(directory)!r}: looked for {looked}.")
    return found[0] if found else None


def read_survey(directory: str | Path, on_invalid: OnInvalid = "raise", classes: Any = None) -> Survey:
    """Read and validate a survey directory (:func:`read_survey_report` also returns what was dropped).

    Parameters
    ----------
    directory : str or Path
        Holds ``photometry.{parquet,csv}`` and ``objects.{parquet,csv}``, and optionally
        ``galaxies.{parquet,csv}``.
    on_invalid : {"raise", "drop"}
        See :func:`lcrnn.data.tables.validate_survey`; in drop mode what was dropped is reported in an
        :class:`~lcrnn.errors.LcrnnWarning` (call ``validate_survey`` yourself to get the DropReport).
    classes : sequence of str, optional
        Allowed labels, e.g. ``("VS", "SN", "AGN")``; None allows any non-empty label.

    Returns
    -------
    Survey
        The validated tables.

    Raises
    ------
    FileNotFoundError
        If the directory or a required table is missing; the message lists the file names looked for.
    InvalidTableError
        If a table is invalid (see ``validate_survey``) or a stem exists as both Parquet and CSV.
    """
    return read_survey_report(directory, on_invalid, classes)[0]


def read_survey_report(
    directory: str | Path, on_invalid: OnInvalid = "raise", classes: Any = None
) -> tuple[Survey, DropReport]:
    """:func:`read_survey`, and the :class:`~lcrnn.data.checks.DropReport` of what drop mode removed."""
    root = Path(directory)
    if not root.is_dir():
        raise FileNotFoundError(f"no survey directory at {str(root)!r}; check the path.")
    tables = {stem: _find(root, stem, required=stem != "galaxies") for stem in SURVEY_FILES}
    frames = {stem: read_table(path) if path is not None else None for stem, path in tables.items()}
    survey, report = validate_survey(
        frames["photometry"], frames["objects"], frames["galaxies"], on_invalid=on_invalid, classes=classes
    )
    if survey.galaxies is not None and tables["galaxies"] is not None:
        survey.galaxies.attrs["source"] = str(tables["galaxies"])  # named by a model's catalogue fingerprint
    return survey, report


def write_survey(survey: Survey, directory: str | Path, overwrite: bool = False) -> dict[str, Path]:
    """Write a survey as Parquet files that :func:`read_survey` reads back unchanged.

    Parameters
    ----------
    survey : Survey
        Validated tables (see :func:`lcrnn.data.tables.validate_survey`).
    directory : str or Path
        Created with its parents if needed.
    overwrite : bool
        The directory may already hold survey tables only when True; they are then replaced, and a stale
        galaxies table is removed when ``survey.galaxies`` is None, so the directory reads back as written.

    Returns
    -------
    dict of str to Path
        The file written for each table.

    Raises
    ------
    FileExistsError
        If survey tables already exist there and ``overwrite`` is False.
    """
    root = Path(directory)
    existing = [root / f"{stem}{suffix}" for stem in SURVEY_FILES for suffix in _SURVEY_SUFFIXES]
    existing = [path for path in existing if path.is_file()]
    if existing and not overwrite:
        raise FileExistsError(
            f"{str(root)!r} already holds {', '.join(p.name for p in existing)}; "
            "pass overwrite=True to replace them or choose another directory."
        )
    root.mkdir(parents=True, exist_ok=True)
    for path in existing:
        path.unlink()
    frames = {"photometry": survey.photometry, "objects": survey.objects, "galaxies": survey.galaxies}
    written: dict[str, Path] = {}
    for stem, frame in frames.items():
        if frame is None:
            continue
        path = root / f"{stem}.parquet"
        write_parquet(frame, path)
        written[stem] = path
    return written
