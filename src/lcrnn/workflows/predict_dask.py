"""Classify a partitioned catalogue on a dask.distributed cluster, partition by partition.

The catalogue is a directory::

    DATA/photometry/          Parquet files (at any depth, e.g. hive folders), each holding whole objects
    DATA/objects.parquet      object_id, ra, dec (or a folder of Parquet files)
    DATA/galaxies.parquet     the galaxy catalogue (optional: --galaxies, or --no-galaxies)

Each photometry partition is one task: a worker reads it, reads the rows of its objects from the objects
table (a filtered Parquet read), and classifies them with :meth:`lcrnn.Classifier.predict`. The model and the
galaxy catalogue are sent to every worker once. A worker holds one partition at a time, so memory is bounded
by the partition size, not the catalogue's; predictions come back to the client and are written in partition
order. They are those of ``Classifier.predict`` on the whole tables, object for object (the network's
inputs of one object do not depend on the others'). An object split over two partitions is refused: its
light curve would be classified in halves.

On a cluster, every worker must see ``DATA`` at the same path (a shared file system).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
from tqdm.auto import tqdm

from lcrnn.data.formats import TABLE_FORMATS, file_format, write_table
from lcrnn.errors import InvalidTableError

__all__ = ["photometry_partitions", "predict_dask", "predict_partition", "write_partitions"]


def photometry_partitions(data: str | Path) -> list[Path]:
    """The Parquet files under ``DATA/photometry/``, sorted (the order predictions are written in)."""
    folder = Path(data) / "photometry"
    if not folder.is_dir():
        raise FileNotFoundError(
            f"{folder} is not a folder: a partitioned catalogue holds its photometry as Parquet files in "
            "DATA/photometry/, each with whole objects (lcrnn.workflows.predict_dask.write_partitions writes one).")
    parts = sorted(p for p in folder.rglob("*.parquet") if p.is_file())
    if not parts:
        raise FileNotFoundError(f"{folder} holds no .parquet files.")
    return parts


def predict_partition(photometry_path: str | Path, clf: Any, objects_path: str | Path,
                      galaxies: pd.DataFrame | None = None, first_n: int | None = None) -> pd.DataFrame:
    """Predictions for the objects of one photometry partition (one Dask task)."""
    import torch

    torch.set_num_threads(1)  # one task per worker thread: more threads only contend
    photometry = pd.read_parquet(photometry_path)
    if "object_id" not in photometry.columns:
        raise InvalidTableError(f"{photometry_path} has no object_id column; columns are {list(photometry.columns)}.")
    ids = pd.unique(photometry["object_id"].astype(str))
    table = ds.dataset(str(objects_path), format="parquet")
    objects = table.to_table(filter=ds.field("object_id").isin(pa.array(ids))).to_pandas()
    return clf.predict(photometry, objects, galaxies, first_n=first_n)


def predict_dask(
    clf: Any,
    data: str | Path,
    out_path: str | Path,
    galaxies: pd.DataFrame | None = None,
    scheduler: str = "local",
    workers: int = 2,
    processes: bool = True,
    first_n: int | None = None,
    progress: bool = False,
) -> int:
    """Classify every object of a partitioned catalogue on a Dask cluster; write ``out_path``.

    Parameters
    ----------
    clf : lcrnn.Classifier
        A fitted (or loaded) classifier.
    data : path
        The catalogue directory (see the module notes).
    out_path : path
        CSV or Parquet file (by its suffix): ``object_id, p_<class>..., predicted``, in partition order.
    galaxies : DataFrame, optional
        Galaxy catalogue for the context (sent to each worker once).
    scheduler : str
        ``"local"`` starts a ``LocalCluster`` of ``workers`` workers on this machine; otherwise the address
        of a running scheduler (``tcp://host:8786``).
    workers : int
        Workers of the local cluster (one thread each).
    processes : bool
        Local workers as processes (the default: the network's Python parts hold the GIL) or threads.
    first_n : int, optional
        Use only each light curve's first N observations, as in :meth:`Classifier.predict`.
    progress : bool
        Show a progress bar over partitions.

    Returns
    -------
    int
        Number of objects classified.
    """
    from lcrnn.train.calibrate import refuse_auto  # torch is loaded with the classifier already

    refuse_auto(clf.priors, "prediction on Dask")  # before dask is even imported
    from dask.distributed import Client, LocalCluster, as_completed

    data, out_path = Path(data), Path(out_path)
    parts = photometry_partitions(data)
    objects_path = _objects_path(data)
    file_format(out_path, TABLE_FORMATS)  # refused before any work, naming the suffixes it takes
    if scheduler == "local":
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=processes,
                               dashboard_address=None)
        client = Client(cluster)
    else:
        cluster, client = None, Client(scheduler)
    try:
        model = client.scatter(clf, broadcast=True)
        catalogue = client.scatter(galaxies, broadcast=True) if galaxies is not None else None
        futures = client.map(predict_partition, [str(p) for p in parts], clf=model, objects_path=str(objects_path),
                             galaxies=catalogue, first_n=first_n, pure=False)
        index = {f.key: k for k, f in enumerate(futures)}
        done: dict[int, pd.DataFrame] = {}
        for future in tqdm(as_completed(futures), total=len(futures), desc="partitions", disable=not progress):
            done[index[future.key]] = future.result()
            future.release()  # the client keeps the frame; the worker may forget it
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    frames = [done[k] for k in range(len(parts))]
    _check_disjoint(frames, parts)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    frame = pd.concat(frames, ignore_index=True)
    write_table(frame, out_path)
    return len(frame)


def write_partitions(photometry: pd.DataFrame, objects: pd.DataFrame, out: str | Path, partitions: int,
                     galaxies: pd.DataFrame | None = None) -> list[Path]:
    """Write a survey as a partitioned catalogue: objects split by id into ``partitions`` photometry files."""
    out = Path(out)
    (out / "photometry").mkdir(parents=True, exist_ok=True)
    ids = np.sort(pd.unique(objects["object_id"].astype(str)))
    paths = []
    for k, chunk in enumerate(np.array_split(ids, partitions)):
        path = out / "photometry" / f"part-{k:05d}.parquet"
        photometry[photometry["object_id"].astype(str).isin(chunk)].to_parquet(path, index=False)
        paths.append(path)
    objects.to_parquet(out / "objects.parquet", index=False)
    if galaxies is not None:
        galaxies.to_parquet(out / "galaxies.parquet", index=False)
    return paths


def _objects_path(data: Path) -> Path:
    for path in (data / "objects.parquet", data / "objects"):
        if path.exists():
            return path
    raise FileNotFoundError(f"{data} has no objects.parquet (or objects/ folder of Parquet files).")


def _check_disjoint(frames: Sequence[pd.DataFrame], parts: Sequence[Path]) -> None:
    """Every object in one partition only: a light curve split over two would be classified in halves."""
    ids = pd.Series(np.concatenate([f["object_id"].astype(str).to_numpy() for f in frames]))
    where = np.repeat(np.arange(len(frames)), [len(f) for f in frames])
    twice = ids.duplicated(keep=False).to_numpy()
    if twice.any():
        oid = ids[twice].iloc[0]
        found = sorted({str(parts[k]) for k in where[(ids == oid).to_numpy()]})
        raise InvalidTableError(
            f"{ids[twice].nunique()} object(s) have photometry in several partitions, e.g. {oid} in "
            f"{' and '.join(found)}; write each object's photometry to one partition (partition by object_id).")
