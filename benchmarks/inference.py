"""Batch prediction throughput: light curves classified per second, fused eval path vs naive baselines.

Simulates light curves with the survey's length distribution (median 6 of 30 real steps; see train_epoch.py)
and classifies them all with the paper's network (GRU 150 / dense 200) in eval mode, three ways, in the same
process:

* fused: ``predict_logits`` (length-sorted batches, packed rows, lcrnn.model.fused recurrences, no autograd);
* nn packed: the same batches through nn.GRU on packed sequences (``model.fused = False``);
* naive padded: nn.GRU over all 30 padded steps (``forward_padded``), batches in input order.

    python benchmarks/inference.py --n 100000 --threads 2
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_epoch import simulate

from lcrnn.model import MixedInputRNN, NetworkConfig, forward_padded
from lcrnn.model.inference import SequenceTensors, predict_logits


def timed(fn):
    """(result, wall seconds, CPU seconds of this process)."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t0, time.process_time() - c0


@torch.no_grad()
def naive_padded(model: MixedInputRNN, data: SequenceTensors, batch_size: int) -> torch.Tensor:
    out = []
    for start in range(0, len(data), batch_size):
        index = torch.arange(start, min(start + batch_size, len(data)))
        out.append(forward_padded(model, data.values[index], data.lengths[index], data.context[index]))
    return torch.cat(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="light curves to classify")
    parser.add_argument("--rnn", nargs="+", default=["gru", "lstm"], choices=["gru", "lstm"])
    parser.add_argument("--batch-size", type=int, default=8192)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2, help="runs per implementation (best is reported)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    sim = simulate(args.n, seed=1)
    data = SequenceTensors(values=sim["values"], lengths=sim["lengths"], context=sim["context"], labels=None)
    print(f"{args.n} light curves, mean length {float(sim['lengths'].float().mean()):.1f}; batch {args.batch_size}; "
          f"{torch.get_num_threads()} threads; load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"{'rnn':<5} {'implementation':<14} {'wall s':>8} {'CPU s':>8} {'curves/s wall':>14} "
          f"{'curves/CPU-s':>13} {'vs naive (wall)':>16} {'max |dlogit|':>13}")
    for rnn in args.rnn:
        bench(rnn, data, args)


def bench(rnn: str, data: SequenceTensors, args: argparse.Namespace) -> None:
    """Time and print the three implementations for one recurrent cell."""
    torch.manual_seed(0)
    model = MixedInputRNN(NetworkConfig(rnn=rnn)).eval()

    def fused_run():
        model.fused = True
        return predict_logits(model, data, batch_size=args.batch_size)

    def nn_run():
        model.fused = False
        return predict_logits(model, data, batch_size=args.batch_size)

    rows = {}
    for name, fn in (("naive padded", lambda: naive_padded(model, data, args.batch_size)),
                     ("nn packed", nn_run), ("fused", fused_run)):
        runs = [timed(fn) for _ in range(args.repeats)]
        rows[name] = (runs[0][0], min(r[1] for r in runs), min(r[2] for r in runs))
    ref, base_wall, _ = rows["naive padded"]
    for name, (logits, wall, cpu) in rows.items():
        print(f"{rnn:<5} {name:<14} {wall:>8.2f} {cpu:>8.2f} {args.n / wall:>14,.0f} {args.n / cpu:>13,.0f} "
              f"{base_wall / wall:>15.2f}x {float((logits - ref).abs().max()):>13.1e}", flush=True)
    model.fused = True


if __name__ == "__main__":
    main()
