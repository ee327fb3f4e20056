"""Seconds per training epoch at the paper's scale: packed sequences versus a naive run over all padded steps.

Simulates 48,600 training light curves (the paper's 99,201 objects x 0.7 train x 0.7 not-validation) with a
realistic length distribution (log-normal, median 6 real steps, clipped to [1, 30]) and the paper's class
imbalance, and trains the paper's network (GRU 150 / dense 200, weighted focal loss gamma 2, Adam lr 1e-4,
batch 128, L2 on dense2) for a few epochs each way. Random numbers stand in for features: the cost of an epoch
does not depend on their values.

    python benchmarks/train_epoch.py --n 48600 --epochs 2 --rnn gru lstm
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import numpy as np
import torch

from lcrnn.model import MixedInputRNN, NetworkConfig, forward_padded, make_loss

CLASS_COUNTS = np.array([98_457, 201, 543])  # VS, SN, AGN in the paper's labelled set


def simulate(n: int, steps: int = 30, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random light curves with the survey's length distribution and class imbalance."""
    rng = np.random.default_rng(seed)
    lengths = np.clip(np.rint(rng.lognormal(np.log(6.0), 0.9, n)), 1, steps).astype(np.int64)
    values = rng.normal(size=(n, steps, 3)).astype(np.float32)
    values[np.arange(steps)[None, :] >= lengths[:, None]] = 0.0  # padding, as build_sequences leaves it
    labels = rng.choice(len(CLASS_COUNTS), size=n, p=CLASS_COUNTS / CLASS_COUNTS.sum())
    return {
        "values": torch.from_numpy(values),
        "lengths": torch.from_numpy(lengths),
        "context": torch.from_numpy(rng.normal(size=(n, 3)).astype(np.float32)),
        "labels": torch.from_numpy(labels),
    }


def batches(lengths: torch.Tensor, batch_size: int, generator: torch.Generator, bucketed: bool):
    """Shuffled index batches; ``bucketed`` groups light curves of similar length (fewer sequential steps).

    Bucketing sorts by length with random tie-breaks, cuts batches, then shuffles the batch order: every
    light curve is still seen once an epoch, but batches are no longer random draws of the training set.
    """
    n = len(lengths)
    order = torch.randperm(n, generator=generator)
    if bucketed:
        order = order[torch.argsort(lengths[order], stable=True)]
        chunks = list(order.split(batch_size))
        for i in torch.randperm(len(chunks), generator=generator).tolist():
            yield chunks[i]
        return
    yield from order.split(batch_size)


def run_epoch(
    model: MixedInputRNN,
    data: dict[str, torch.Tensor],
    forward: Callable,
    batch_size: int,
    bucketed: bool,
    seed: int,
) -> tuple[float, float, float]:
    """One training epoch; returns (wall seconds, CPU seconds of this process, mean loss)."""
    counts = torch.bincount(data["labels"], minlength=len(CLASS_COUNTS))
    loss_fn = make_loss("focal", counts.clamp(min=1), gamma=2.0)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-4)
    model.train()
    gen = torch.Generator().manual_seed(seed)
    total, n_batches = 0.0, 0
    start, cpu_start = time.perf_counter(), time.process_time()
    for index in batches(data["lengths"], batch_size, gen, bucketed):
        lengths = data["lengths"][index]
        values = data["values"][index]  # (batch, 30, 3)
        logits = forward(model, values, lengths, data["context"][index])
        loss = loss_fn(logits, data["labels"][index]) + model.l2_penalty()
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        total += loss.item()
        n_batches += 1
    return time.perf_counter() - start, time.process_time() - cpu_start, total / max(n_batches, 1)


def packed_forward(model, values, lengths, context):
    return model(values, lengths, context)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=48_600, help="training light curves")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per implementation (best is reported)")
    parser.add_argument("--rnn", nargs="+", default=["gru", "lstm"], choices=["gru", "lstm"])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2, help="torch threads (the target machine has 2)")
    parser.add_argument("--bucketed", action="store_true", help="also time length-bucketed batches")
    parser.add_argument("--no-naive", action="store_true", help="skip the naive padded baseline")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    data = simulate(args.n)
    lengths = data["lengths"].numpy()
    print(
        f"{args.n} light curves, lengths median {np.median(lengths):.0f} mean {lengths.mean():.1f} "
        f"(max 30), {(lengths == 30).mean():.1%} at 30; batch {args.batch_size}; "
        f"{torch.get_num_threads()} threads; torch {torch.__version__}; load average "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs"
    )
    # CPU seconds are what an epoch costs on cores of its own: on a shared machine wall time also counts
    # the time other processes held the CPU (and, with 2+ threads, OpenMP threads waiting for each other).
    print(
        f"{'rnn':<5} {'implementation':<26} {'wall s/epoch':>12} {'CPU s/epoch':>12} {'wall vs packed':>15}"
    )
    for rnn in args.rnn:
        impls: list[tuple[str, Callable, bool]] = [("packed", packed_forward, False)]
        if args.bucketed:
            impls.append(("packed, length-bucketed", packed_forward, True))
        if not args.no_naive:
            impls.append(("naive padded (30 steps)", forward_padded, False))
        best_packed = None
        for name, forward, bucketed in impls:
            torch.manual_seed(0)
            model = MixedInputRNN(NetworkConfig(rnn=rnn), n_classes=len(CLASS_COUNTS))
            runs = [
                run_epoch(model, data, forward, args.batch_size, bucketed, seed=e) for e in range(args.epochs)
            ]
            wall, cpu = min(r[0] for r in runs), min(r[1] for r in runs)  # best epoch: least disturbed
            best_packed = wall if best_packed is None else best_packed
            print(f"{rnn:<5} {name:<26} {wall:>12.2f} {cpu:>12.2f} {wall / best_packed:>14.2f}x")


if __name__ == "__main__":
    main()
