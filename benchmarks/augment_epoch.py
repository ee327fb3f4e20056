"""Seconds per training epoch with and without the robust augmentations, and the cost of the draws alone.

Augmentation redraws every training light curve each epoch (lcrnn.train.augment) and sends the result
through the scaler again; this measures what that adds to an epoch on a survey directory:

    lcrnn simulate --out /tmp/sim5k --n-objects 5000
    python benchmarks/augment_epoch.py --data /tmp/sim5k --epochs 4 --threads 1
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np
import torch

from lcrnn.classifier import Classifier, KeptEpochWarning, _network_inputs
from lcrnn.data.io import read_survey
from lcrnn.train.augment import ROBUST, AugmentConfig, augment_sequences, augmentation_rng


def seconds_per_epoch(survey, augment: AugmentConfig, epochs: int) -> tuple[float, Classifier]:
    """Median seconds of the epochs after the first (which pays one-off costs)."""
    clf = Classifier(hidden=100, dense=100, epochs=epochs, lr=1e-3, device="cpu", progress=False, augment=augment)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", KeptEpochWarning)
        clf.fit(survey.photometry, survey.objects, survey.galaxies)
    per_epoch = np.diff(clf.history_["seconds"].to_numpy())
    return float(np.median(per_epoch)), clf


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="survey directory (lcrnn simulate --out)")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    survey = read_survey(args.data)
    plain, clf = seconds_per_epoch(survey, AugmentConfig(), args.epochs)
    robust, _ = seconds_per_epoch(survey, ROBUST, args.epochs)

    seqs = clf.prepare(survey.photometry, survey.objects, survey.galaxies)
    train_set = seqs.subset(np.flatnonzero(clf.split_.part_of(seqs.object_ids) == "train"))
    draws = []
    for epoch in range(1, 6):
        t0 = time.perf_counter()
        _network_inputs(clf.model_, augment_sequences(train_set, ROBUST, augmentation_rng(0, epoch)))
        draws.append(time.perf_counter() - t0)
    print(f"{len(train_set):,} training light curves, GRU 100 / dense 100, batch 128, {args.threads} torch "
          f"thread(s), {os.cpu_count()} CPUs")
    print(f"epoch, no augmentation:    {plain:.3f} s")
    print(f"epoch, --robust:           {robust:.3f} s  ({robust / plain - 1:+.0%})")
    print(f"draws + scaling, --robust: {np.median(draws) * 1000:.1f} ms per epoch")


if __name__ == "__main__":
    main()
