"""The one place that decides a file's format from its name.

Survey tables, label catalogues, prediction outputs and alert files are all told apart here, so every reader
and writer agrees on which suffixes mean what and every refusal names the same list.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pandas as pd

from lcrnn.errors import InvalidTableError

__all__ = ["FORMAT_SUFFIXES", "TABLE_FORMATS", "FileFormat", "file_format", "write_table"]

FileFormat = Literal["parquet", "csv", "tsv", "fits", "votable", "ecsv", "avro"]

# Suffix (lower case, compound suffixes included) -> format. Longest match wins (".csv.gz" before ".gz").
FORMAT_SUFFIXES: dict[str, FileFormat] = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".csv.gz": "csv",
    ".tsv": "tsv",
    ".tsv.gz": "tsv",
    ".tab": "tsv",
    ".txt": "tsv",
    ".fits": "fits",
    ".fit": "fits",
    ".fits.gz": "fits",
    ".vot": "votable",
    ".xml": "votable",
    ".ecsv": "ecsv",
    ".avro": "avro",
}
# Formats that hold one lcrnn table (photometry, objects, galaxies, predictions) and that lcrnn writes.
TABLE_FORMATS: tuple[FileFormat, ...] = ("parquet", "csv")


def file_format(path: str | Path, allowed: tuple[FileFormat, ...] | None = None) -> FileFormat:
    """The format a file name says, or an :class:`InvalidTableError` listing the suffixes ``allowed``.

    Parameters
    ----------
    path
        A file name or path (the file need not exist: writers ask too).
    allowed
        Formats the caller can handle (default: all known).
    """
    allowed = allowed or tuple(dict.fromkeys(FORMAT_SUFFIXES.values()))
    name = Path(path).name.lower()
    for suffix in sorted(FORMAT_SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix) and FORMAT_SUFFIXES[suffix] in allowed:
            return FORMAT_SUFFIXES[suffix]
    suffixes = ", ".join(s for s, fmt in FORMAT_SUFFIXES.items() if fmt in allowed)
    raise InvalidTableError(f"cannot tell the format of {str(path)!r}: use a file ending in {suffixes}.")


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` as Parquet or CSV, as the name says; the parent folder is created."""
    path = Path(path)
    fmt = file_format(path, TABLE_FORMATS)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)
    return path
