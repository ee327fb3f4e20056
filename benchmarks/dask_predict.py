"""Batch prediction on Dask against one process: light curves per second, and the results equal.

Simulates a GOTO-like survey of ``--objects`` objects, trains a model of the paper's size (GRU, hidden 150,
dense 200; one epoch on ``--train`` objects: speed, not skill, is measured), writes the survey as a
partitioned catalogue (``--partitions`` photometry files, whole objects each) and classifies it

* **one process**: ``Classifier.predict`` on the whole tables in memory, one torch thread;
* **dask**: ``lcrnn.workflows.predict_dask.predict_dask`` on a ``LocalCluster`` of ``--workers`` workers of
  one thread (processes, and threads), partition by partition; start-up of the cluster is timed apart.

Prints objects per second and the largest difference of any probability from the in-memory one.

    python benchmarks/dask_predict.py                      # 20,000 objects, 8 partitions, 2 workers
    python benchmarks/dask_predict.py --objects 5000 --partitions 4
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from lcrnn.classifier import Classifier
from lcrnn.data.simulate import SimulationConfig, simulate_survey
from lcrnn.workflows.predict_dask import predict_dask, write_partitions

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import write_results  # noqa: E402 - the benchmarks' own helper, beside this script

ROOT = Path(__file__).resolve().parents[1]


def timed_dask(clf: Classifier, folder: Path, galaxies: pd.DataFrame, workers: int, processes: bool) -> tuple[float, float, pd.DataFrame]:
    """Wall seconds of the whole call, of the cluster's start and stop alone, and the predictions."""
    from dask.distributed import Client, LocalCluster

    start = time.perf_counter()
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=processes, dashboard_address=None) as c:
        Client(c).close()
    overhead = time.perf_counter() - start
    start = time.perf_counter()
    predict_dask(clf, folder, folder / "pred.parquet", galaxies, workers=workers, processes=processes)
    return time.perf_counter() - start, overhead, pd.read_parquet(folder / "pred.parquet")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=20_000)
    parser.add_argument("--train", type=int, default=2_000)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "dask_predict.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    survey = simulate_survey(SimulationConfig(n_objects=args.objects, seed=2,
                                              class_fractions={"VS": 0.6, "SN": 0.2, "AGN": 0.2}))
    some = survey.objects.sample(args.train, random_state=0)
    clf = Classifier(rnn="gru", epochs=1, device="cpu", progress=False).fit(
        survey.photometry[survey.photometry.object_id.isin(some.object_id)], some, survey.galaxies)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "catalogue"
        write_partitions(survey.photometry, survey.objects, folder, args.partitions, survey.galaxies)
        start, cpu = time.perf_counter(), time.process_time()
        reference = clf.predict(survey.photometry, survey.objects, survey.galaxies).set_index("object_id")
        rows.append({"how": "one process, in memory", "seconds": time.perf_counter() - start,
                     "cpu_seconds": time.process_time() - cpu, "startup_seconds": 0.0, "max_abs_diff": 0.0,
                     "same_class": True})
        columns = [f"p_{c}" for c in clf.classes_]
        for processes in (True, False):
            seconds, overhead, got = timed_dask(clf, folder, survey.galaxies, args.workers, processes)
            ref = reference.loc[got.object_id]
            rows.append({"how": f"dask, {args.workers} {'processes' if processes else 'threads'}",
                         "seconds": seconds, "cpu_seconds": None, "startup_seconds": overhead,
                         "max_abs_diff": float(np.abs(got[columns].to_numpy() - ref[columns].to_numpy()).max()),
                         "same_class": bool((got.predicted.to_numpy() == ref.predicted.to_numpy()).all()),
                         "objects": len(got)})
    print(f"{args.objects} objects ({len(survey.photometry)} detections), {args.partitions} partitions\n")
    print("| how | wall s | objects/s | cluster start+stop s | objects/s without them | max abs p - p_memory "
          "| same class |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for r in rows:
        work = r["seconds"] - r["startup_seconds"]
        print(f"| {r['how']} | {r['seconds']:.1f} | {args.objects / r['seconds']:.0f} | {r['startup_seconds']:.1f} | "
              f"{args.objects / work:.0f} | {r['max_abs_diff']:.1e} | {r['same_class']} |")
    print(f"load average {os.getloadavg()}")
    write_results(args.out, args, rows)


if __name__ == "__main__":
    main()
