"""Classify a catalogue too large for memory: photometry streamed from Parquet, predictions written as they come.

Memory stays flat in the number of objects: only one chunk of photometry rows (plus the objects it needs and the
unfinished light curve at its end) is held at a time. What makes that possible is order, so the inputs must be:

* photometry grouped by object (all rows of an object contiguous; sorting by ``object_id`` does it), and
* objects in the same object order as the photometry (e.g. both sorted by ``object_id``).

The galaxy catalogue (for the context vector) is read whole: its size does not grow with the catalogue.
Predictions are exactly those of :meth:`lcrnn.Classifier.predict` on the whole tables, object for object.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from lcrnn.data.formats import TABLE_FORMATS, file_format, write_table
from lcrnn.errors import InvalidTableError

__all__ = ["predict_parquet"]


def _batches(path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_rows):
        yield batch.to_pandas()


def _check_grouped(ids: np.ndarray, path: Path) -> None:
    """Each object's rows must be contiguous inside a chunk; otherwise the carry-over logic would split them."""
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    if len(starts) != len(pd.unique(ids)):
        raise InvalidTableError(
            f"{path}: photometry rows of an object are not contiguous; sort the file by object_id "
            "(e.g. pyarrow Table.sort_by('object_id') or duckdb COPY ... ORDER BY object_id) and retry."
        )


def _complete_chunks(path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """Photometry chunks that end on an object boundary: each chunk's last object is carried to the next."""
    tail: pd.DataFrame | None = None
    for frame in _batches(path, chunk_rows):
        if "object_id" not in frame.columns:
            raise InvalidTableError(f"{path} has no object_id column; columns are {list(frame.columns)}.")
        if tail is not None:
            frame = pd.concat([tail, frame], ignore_index=True)
        ids = frame["object_id"].astype(str).to_numpy()
        _check_grouped(ids, path)
        last = ids[-1]
        cut = int(np.argmax(ids == last))  # first row of the last object, which may go on in the next chunk
        tail = frame.iloc[cut:]
        if cut:
            yield frame.iloc[:cut]
    if tail is not None and len(tail):
        yield tail


class _ObjectStream:
    """The objects table read in order, handing out the rows that match each photometry chunk."""

    def __init__(self, path: Path, chunk_rows: int) -> None:
        self._path = path
        self._batches = _batches(path, chunk_rows)
        self._buffer = pd.DataFrame()

    def take_through(self, last_id: str, needed: np.ndarray) -> pd.DataFrame:
        """Objects rows up to and including ``last_id``; every id in ``needed`` must be among them."""
        while True:
            if len(self._buffer):
                ids = self._buffer["object_id"].astype(str).to_numpy()
                hit = np.flatnonzero(ids == last_id)
                if len(hit):
                    part = self._buffer.iloc[: hit[0] + 1]
                    self._buffer = self._buffer.iloc[hit[0] + 1 :]
                    missing = np.setdiff1d(needed, ids[: hit[0] + 1])
                    if len(missing):
                        raise InvalidTableError(
                            f"{self._path}: objects {', '.join(map(str, missing[:5]))} come out of order (or are "
                            "missing); write the objects in the photometry's object order, e.g. both sorted by "
                            "object_id."
                        )
                    return part
            nxt = next(self._batches, None)
            if nxt is None:
                raise InvalidTableError(
                    f"{self._path}: object {last_id!r} of the photometry is not in the objects table (or the "
                    "objects are not in the photometry's object order; sort both by object_id)."
                )
            self._buffer = pd.concat([self._buffer, nxt], ignore_index=True) if len(self._buffer) else nxt


def predict_parquet(
    clf,
    photometry_path: str | Path,
    objects_path: str | Path,
    out_path: str | Path,
    galaxies: pd.DataFrame | None = None,
    chunk_rows: int = 1_000_000,
    first_n: int | None = None,
    progress: bool = False,
) -> int:
    """Classify every object of a Parquet catalogue chunk by chunk, appending predictions to ``out_path``.

    Parameters
    ----------
    clf : lcrnn.Classifier
        A fitted (or loaded) classifier.
    photometry_path : path
        Parquet photometry, grouped by object (see the module notes).
    objects_path : path
        Parquet objects, in the photometry's object order.
    out_path : path
        Parquet or CSV file to write (as its suffix says, :data:`lcrnn.data.formats.TABLE_FORMATS`):
        ``object_id, p_<class>..., predicted``, in the objects' order.
    galaxies : DataFrame, optional
        Galaxy catalogue for the context vector (held whole; it does not grow with the catalogue).
    chunk_rows : int
        Photometry rows read per chunk; memory scales with this, not with the number of objects.
    first_n : int, optional
        Use only each light curve's first N observations, as in :meth:`Classifier.predict`.
    progress : bool
        Show a progress bar over chunks.

    Returns
    -------
    int
        Number of objects classified.
    """
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise InvalidTableError(f"chunk_rows={chunk_rows!r} must be a positive integer.")
    from lcrnn.train.calibrate import refuse_auto  # torch is loaded with the classifier already

    refuse_auto(clf.priors, "streamed prediction")
    photometry_path, objects_path, out_path = Path(photometry_path), Path(objects_path), Path(out_path)
    for path in (photometry_path, objects_path):
        if not path.exists():
            raise FileNotFoundError(f"{path} does not exist; pass the Parquet file written by write_survey.")
    out_format = file_format(out_path, TABLE_FORMATS)  # refused before any work, naming the suffixes it takes
    out_path.parent.mkdir(parents=True, exist_ok=True)
    objects = _ObjectStream(objects_path, chunk_rows)
    writer: pq.ParquetWriter | None = None
    written = 0
    try:
        for chunk in tqdm(_complete_chunks(photometry_path, chunk_rows), desc="classifying", unit="chunk",
                          disable=not progress):
            ids = pd.unique(chunk["object_id"].astype(str).to_numpy())
            part = objects.take_through(ids[-1], ids)
            frame = clf.predict(chunk, part, galaxies, first_n=first_n)
            if out_format == "csv":
                # write_table starts the file (header included); later chunks are appended to it.
                if written == 0:
                    write_table(frame, out_path)
                else:
                    frame.to_csv(out_path, mode="a", header=False, index=False)
            else:
                table = pa.Table.from_pandas(frame, preserve_index=False)
                if writer is None:
                    writer = pq.ParquetWriter(out_path, table.schema)
                writer.write_table(table)
            written += len(frame)
    finally:
        if writer is not None:
            writer.close()
    return written
