"""Seconds per training epoch at the paper's scale: fused packed layers vs nn.GRU packed vs all padded steps.

Simulates 48,600 training light curves (the paper's 99,201 objects x 0.7 train x 0.7 not-validation) with a
realistic length distribution (log-normal, median 6 real steps, clipped to [1, 30]) and the paper's class
imbalance, and trains the paper's network (GRU 150 / dense 200, weighted focal loss gamma 2, Adam lr 1e-4,
batch 128, L2 on dense2) for a few epochs each way. Random numbers stand in for features: the cost of an epoch
does not depend on their values.

    python benchmarks/train_epoch.py --n 48600 --epochs 2 --rnn gru lstm
    python benchmarks/train_epoch.py --gemm      # GEMM GFLOP/s at these shapes and the epoch's floor

Implementations: "fused" is the model's default CPU path (lcrnn.model.fused: one GEMM for each input
projection and each weight gradient over all real steps); "nn packed" is nn.GRU / nn.LSTM on the same
PackedSequence (``model.fused = False``); "naive padded" runs nn.GRU over all 30 steps (``forward_padded``).
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


def epoch_flops(lengths: torch.Tensor, hidden: int = 150, n_features: int = 3, gates: int = 3) -> float:
    """Multiply-adds x 2 of the recurrent GEMMs of one training epoch over real steps only.

    Forward per real step: layer-1 input and recurrent maps, layer-2 input and recurrent maps. Backward: each
    GEMM twice (weight gradient and input gradient), except layer 1's input gradient (data need none).
    """
    g = gates * hidden
    forward = 2 * g * (n_features + hidden + hidden + hidden)
    backward = 2 * forward - 2 * g * n_features
    return float(lengths.sum()) * (forward + backward)


def gemm_throughput(threads: int, hidden: int = 150, batch: int = 128, rows: int = 1100) -> None:
    """GFLOP/s (per wall second and per CPU second) of the GEMM shapes a training step is made of."""
    torch.set_num_threads(threads)
    g = 3 * hidden
    shapes = [
        ("h @ W_hh^T (per step)", (batch, hidden), (hidden, g)),
        ("dgates @ W_hh (per step)", (batch, g), (g, hidden)),
        ("x2 @ W_ih^T (all rows)", (rows, hidden), (hidden, g)),
        ("dgates^T @ h (all rows)", (g, rows), (rows, hidden)),
    ]
    print(f"GEMM throughput, {threads} thread(s), float32")
    for name, (m, k), (_, n) in shapes:
        a, b = torch.randn(m, k), torch.randn(k, n)
        reps = max(20, int(2e9 / (2 * m * k * n)))
        for _ in range(5):
            a @ b
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(reps):
            a @ b
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        flop = 2 * m * k * n * reps
        print(f"  {name:<26} {m}x{k} @ {k}x{n}: {flop / wall / 1e9:6.1f} GFLOP/s wall, "
              f"{flop / cpu / 1e9:6.1f} per CPU-second")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=48_600, help="training light curves")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per implementation (best is reported)")
    parser.add_argument("--rnn", nargs="+", default=["gru", "lstm"], choices=["gru", "lstm"])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2, help="torch threads (the target machine has 2)")
    parser.add_argument("--bucketed", action="store_true", help="also time length-bucketed batches")
    parser.add_argument("--no-naive", action="store_true", help="skip the naive padded baseline")
    parser.add_argument("--no-nn", action="store_true", help="skip nn.GRU/nn.LSTM on packed data")
    parser.add_argument("--gemm", action="store_true", help="print GEMM throughput and the epoch's floor, then stop")
    args = parser.parse_args()

    data = simulate(args.n)
    if args.gemm:
        flop = epoch_flops(data["lengths"])
        print(f"{args.n} light curves, {int(data['lengths'].sum())} real steps: {flop / 1e12:.3f} TFLOP an epoch "
              "in the recurrent GEMMs (GRU 150)")
        for threads in sorted({1, args.threads}):
            gemm_throughput(threads)
        return
    torch.set_num_threads(args.threads)
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
        f"{'rnn':<5} {'implementation':<28} {'wall s/epoch':>12} {'CPU s/epoch':>12} {'mean loss':>10} "
        f"{'naive/this wall':>16} {'naive/this CPU':>15}"
    )
    for rnn in args.rnn:
        # (name, forward, bucketed, fused): the naive baseline runs first so every row can show its ratio.
        impls: list[tuple[str, Callable, bool, bool]] = []
        if not args.no_naive:
            impls.append(("naive padded (30 steps)", forward_padded, False, False))
        if not args.no_nn:
            impls.append(("nn packed", packed_forward, False, False))
        impls.append(("fused packed", packed_forward, False, True))
        if args.bucketed:
            impls.append(("fused packed, length-bucketed", packed_forward, True, True))
        base = None
        for name, forward, bucketed, fused in impls:
            torch.manual_seed(0)
            model = MixedInputRNN(NetworkConfig(rnn=rnn), n_classes=len(CLASS_COUNTS))
            model.fused = fused
            runs = [
                run_epoch(model, data, forward, args.batch_size, bucketed, seed=e) for e in range(args.epochs)
            ]
            wall, cpu = min(r[0] for r in runs), min(r[1] for r in runs)  # best epoch: least disturbed
            base = (wall, cpu) if base is None else base
            print(f"{rnn:<5} {name:<28} {wall:>12.2f} {cpu:>12.2f} {runs[0][2]:>10.5f} "
                  f"{base[0] / wall:>15.2f}x {base[1] / cpu:>14.2f}x", flush=True)


if __name__ == "__main__":
    main()
