"""Cost of classifying one new observation: a step through the carried state vs re-running the light curve.

For the paper's network (eval mode, GRU 150 / dense 200) it times, in the same process:

* step, 1 object: ``model.step`` under ``torch.inference_mode`` (BN folded into the next linear maps);
* full re-run, 1 object: the model's forward over the k observations seen so far (what a service without
  carried state must do), and the naive padded 30-step ``forward_padded``;
* step, many objects: one batched ``step`` for N objects at once, per object;
* the served path (issue 18): ``IncrementalClassifier.step`` and ``update_many`` for one object with one new
  observation, calibrated probabilities included, through the native kernel (lcrnn.model.flat_step) and with
  ``LCRNN_NATIVE=0``'s torch step.

    python benchmarks/incremental.py --history 10 --batch 10000 --threads 1
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from lcrnn.model import MixedInputRNN, NetworkConfig, forward_padded
from lcrnn.model.calibration import Calibration
from lcrnn.model.flat_step import FlatStep
from lcrnn.serve.incremental import IncrementalClassifier, ObjectState, Photometry

SCALER = {"mean": [10.0, 18.0, 0.1], "std": [20.0, 1.5, 0.05], "context_mean": [100.0, 0.0, 50.0],
          "context_std": [50.0, 30.0, 40.0]}


def per_call(fn, repeats: int) -> tuple[float, float]:
    """Median-free but robust enough: best of 5 rounds of mean wall and CPU microseconds per call."""
    for _ in range(max(10, repeats // 10)):
        fn()
    best_wall, best_cpu = float("inf"), float("inf")
    for _ in range(5):
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(repeats):
            fn()
        best_wall = min(best_wall, (time.perf_counter() - t0) / repeats * 1e6)
        best_cpu = min(best_cpu, (time.process_time() - c0) / repeats * 1e6)
    return best_wall, best_cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rnn", nargs="+", default=["gru", "lstm"], choices=["gru", "lstm"])
    parser.add_argument("--history", type=int, default=10, help="observations already seen (re-run length)")
    parser.add_argument("--batch", type=int, default=10_000, help="objects stepped together (batched step)")
    parser.add_argument("--repeats", type=int, default=500)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    k = args.history
    print(f"history {k} observations; batch {args.batch}; {torch.get_num_threads()} threads; load average "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"{'rnn':<5} {'what':<40} {'us wall':>10} {'us CPU':>10} {'re-run/this (CPU)':>18}")
    for rnn in args.rnn:
        bench(rnn, args)


def bench(rnn: str, args: argparse.Namespace) -> None:
    """Time and print the rows for one recurrent cell."""
    k = args.history
    torch.manual_seed(0)
    model = MixedInputRNN(NetworkConfig(rnn=rnn)).eval()
    values = torch.randn(1, 30, 3)
    values[:, k:] = 0.0
    context = torch.randn(1, 3)
    lengths = torch.tensor([k])
    state = model.initial_state(1)
    big_x, big_ctx = torch.randn(args.batch, 3), torch.randn(args.batch, 3)
    big_state = model.initial_state(args.batch)
    with torch.inference_mode():
        _, state = model.step(values[:, 0], state, context)
        rows = [
            ("full re-run, forward on k obs", per_call(lambda: model(values[:, :k], lengths, context),
                                                       args.repeats)),
            ("naive padded re-run (30 steps)", per_call(lambda: forward_padded(model, values, lengths,
                                                                               context), args.repeats)),
            ("step, 1 object", per_call(lambda: model.step(values[:, 1], state, context), args.repeats)),
        ]
        wall, cpu = per_call(lambda: model.step(big_x, big_state, big_ctx), max(3, args.repeats // 200))
        rows.append((f"batched step, per object (N={args.batch})", (wall / args.batch, cpu / args.batch)))
    rows += served_rows(model, args.repeats)
    base_cpu = rows[0][1][1]
    for name, (wall, cpu) in rows:
        print(f"{rnn:<5} {name:<40} {wall:>10.1f} {cpu:>10.2f} {base_cpu / cpu:>17.1f}x", flush=True)


def served_rows(model: MixedInputRNN, repeats: int) -> list[tuple[str, tuple[float, float]]]:
    """One object, one new observation, through the serving classifier (calibrated): native and torch."""
    calibration = Calibration(temperature=1.3, offsets=(0.1, -0.2, 0.1), priors=(0.9, 0.05, 0.05))
    inc = IncrementalClassifier(model, SCALER, ("VS", "SN", "AGN"), probabilities=calibration.probabilities)
    context = np.array([120.0, 10.0, 30.0])
    [first] = inc.update_many([ObjectState(context=context)], [Photometry.of([59000.1], [18.2], [0.05])])
    new = Photometry.of([59001.1], [18.3], [0.05])
    states = first.state.state[None]
    args = (np.array([1.0]), np.array([18.3]), np.array([0.05]), context[None])
    rows = []
    for name, flat in (("native", inc._flat), ("torch", FlatStep(model, native=False))):
        inc._flat = flat
        rows.append((f"served step, 1 object ({name})", per_call(lambda: inc.step(states, *args), repeats)))
        rows.append((f"served update_many, 1 object ({name})",
                     per_call(lambda: inc.update_many([first.state], [new]), repeats)))
    return rows


if __name__ == "__main__":
    main()
