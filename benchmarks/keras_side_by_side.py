"""lcrnn against the paper's stack (Keras 3 / TensorFlow), side by side in one run: training and inference.

On a machine shared with other jobs, absolute seconds drift with the load from minute to minute; the ratio
of two figures measured one right after the other does not drift as much. So this script alternates: a Keras
training epoch, then lcrnn's on the same light curves, GRU then LSTM (``--rounds`` times); then Keras
inference at each ``--keras-batch`` and lcrnn's, and prints every pair's ratio. CPU seconds of each process
are given beside wall seconds (on a loaded machine they are the steadier figure).

The Keras side runs in its own virtual environment (``--venv``, created with ``tensorflow-cpu`` pinned when
missing; lcrnn itself never depends on TensorFlow), through ``keras_reference.py``.

    python benchmarks/keras_side_by_side.py          # the paper's scale: 48,600 / 100,000
    python benchmarks/keras_side_by_side.py --n-train 6400 --n-infer 20000 --rounds 1   # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_epoch import epoch_flops, packed_forward, run_epoch, simulate

from lcrnn.model import MixedInputRNN, NetworkConfig
from lcrnn.model.inference import SequenceTensors, predict_logits

TENSORFLOW = "tensorflow-cpu==2.21.0"  # the paper's stack today: Keras 3.x comes with it
HERE = Path(__file__).resolve().parent


def ensure_venv(path: Path) -> Path:
    """The Keras environment's python, creating the environment (and installing TensorFlow) when missing."""
    python = path / "bin" / "python"
    if not python.exists():
        print(f"creating {path} with {TENSORFLOW} (a few minutes) ...", flush=True)
        venv.create(path, with_pip=True)
    probe = subprocess.run([str(python), "-c", "import tensorflow, keras"], capture_output=True)
    if probe.returncode != 0:
        subprocess.run([str(python), "-m", "pip", "install", "-q", TENSORFLOW], check=True)
    return python


def keras_run(python: Path, data: Path, threads: int, *extra: str) -> dict:
    """One keras_reference.py call; its RESULT line as a dict."""
    cmd = [str(python), str(HERE / "keras_reference.py"), "--data", str(data), "--threads", str(threads),
           *extra]
    done = subprocess.run(cmd, capture_output=True, text=True)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"keras_reference.py failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def save(sim: dict[str, torch.Tensor], path: Path) -> None:
    np.savez(path, **{k: sim[k].numpy() for k in ("values", "context", "labels")})


def gemm_gflops(hidden: int = 150, batch: int = 128) -> float:
    """GFLOP/s per CPU-second of this process for the per-step recurrent GEMM: the floor's yardstick."""
    a, b = torch.randn(batch, hidden), torch.randn(hidden, 3 * hidden)
    reps = 3000
    for _ in range(50):
        a @ b
    c0 = time.process_time()
    for _ in range(reps):
        a @ b
    return 2 * batch * hidden * 3 * hidden * reps / (time.process_time() - c0) / 1e9


def lcrnn_epoch(rnn: str, sim: dict[str, torch.Tensor]) -> tuple[float, float, float]:
    """(wall s, CPU s, mean loss) of one fused training epoch, as ``lcrnn train`` runs it."""
    torch.manual_seed(0)
    model = MixedInputRNN(NetworkConfig(rnn=rnn), n_classes=3)
    return run_epoch(model, sim, packed_forward, 128, False, seed=0)


def lcrnn_infer(rnn: str, data: SequenceTensors, batch: int) -> tuple[float, float]:
    """(wall s, CPU s) of eval-mode logits for every light curve (the model's default fast path)."""
    torch.manual_seed(0)
    model = MixedInputRNN(NetworkConfig(rnn=rnn)).eval()
    warm = SequenceTensors(data.values[:batch], data.lengths[:batch], data.context[:batch], None)
    predict_logits(model, warm)
    t0, c0 = time.perf_counter(), time.process_time()
    predict_logits(model, data, batch_size=batch)
    return time.perf_counter() - t0, time.process_time() - c0


def load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=48_600, help="training light curves (paper's split)")
    parser.add_argument("--n-infer", type=int, default=100_000, help="light curves to classify")
    parser.add_argument("--rnn", nargs="+", default=["gru", "lstm"], choices=["gru", "lstm"])
    parser.add_argument("--rounds", type=int, default=1, help="alternating Keras/lcrnn epochs per cell")
    parser.add_argument("--keras-batch", type=int, nargs="+", default=[1024, 4096],
                        help="Keras inference batch sizes")
    parser.add_argument("--lcrnn-batch", type=int, default=256, help="lcrnn inference batch")
    parser.add_argument("--threads", type=int, default=1, help="threads of each side (the same for both)")
    parser.add_argument("--venv", type=Path, default=Path("/tmp/keras-venv"))
    parser.add_argument("--skip-train", action="store_true")
    parser.add_argument("--skip-infer", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    python = ensure_venv(args.venv)
    tmp = Path(tempfile.mkdtemp(prefix="lcrnn-sbs-"))
    train, infer = simulate(args.n_train, seed=0), simulate(args.n_infer, seed=1)
    full = (args.n_train // 128) * 128  # Keras trains on whole batches only; lcrnn on the same light curves
    train = {k: v[:full] for k, v in train.items()}
    save(train, tmp / "train.npz")
    save(infer, tmp / "infer.npz")
    print(f"machine: {os.cpu_count()} CPUs; torch {torch.__version__}; {args.threads} thread(s) each side; "
          f"load average at start {load()}")
    if not args.skip_train:
        train_rounds(python, tmp / "train.npz", train, args)
    if not args.skip_infer:
        data = SequenceTensors(infer["values"], infer["lengths"], infer["context"], None)
        infer_rounds(python, tmp / "infer.npz", data, args)


def train_rounds(python: Path, path: Path, train: dict[str, torch.Tensor], args: argparse.Namespace) -> None:
    """Alternate Keras and lcrnn training epochs; print each pair and its ratio, and the arithmetic floor."""
    gflops = gemm_gflops()
    steps, tflop = int(train["lengths"].sum()), epoch_flops(train["lengths"]) / 1e12
    print(f"\nTRAINING: {len(train['labels'])} light curves, {steps} real steps, batch 128; recurrent GEMMs "
          f"{tflop:.3f} TFLOP (GRU) an epoch; the per-step GEMM runs at {gflops:.0f} GFLOP/s per CPU-second")
    print(f"{'rnn':<5} {'round':>5} {'Keras wall':>10} {'Keras CPU':>10} {'lcrnn wall':>10} "
          f"{'lcrnn CPU':>10} {'ratio wall':>10} {'ratio CPU':>10} {'lcrnn/floor':>11} {'load':>15}")
    for rnn in args.rnn:
        gates = 3 if rnn == "gru" else 4
        floor = epoch_flops(train["lengths"], gates=gates) / (gflops * 1e9)  # CPU-seconds
        for r in range(args.rounds):
            k = keras_run(python, path, args.threads, "--task", "train", "--rnn", rnn)
            wall, cpu, _ = lcrnn_epoch(rnn, train)
            print(f"{rnn:<5} {r:>5} {k['wall_s']:>10.1f} {k['cpu_s']:>10.1f} {wall:>10.1f} {cpu:>10.1f} "
                  f"{k['wall_s'] / wall:>9.2f}x {k['cpu_s'] / cpu:>9.2f}x {cpu / floor:>10.2f}x {load():>15}",
                  flush=True)
    print(f"(Keras {k['keras']}, TensorFlow {k['tensorflow']}; "
          "floor = recurrent GEMM FLOP / measured GEMM rate)")


def infer_rounds(python: Path, path: Path, data: SequenceTensors, args: argparse.Namespace) -> None:
    """Alternate Keras inference at each batch size with lcrnn's; ratios against Keras' best batch."""
    n = len(data)
    print(f"\nINFERENCE: {n} light curves (compute only: no file reading, no start-up)")
    print(f"{'rnn':<5} {'who':<18} {'wall s':>8} {'CPU s':>8} {'curves/s':>10} {'curves/CPU-s':>12} "
          f"{'load':>15}")
    for rnn in args.rnn:
        best = None
        for batch in args.keras_batch:
            extra = ("--task", "infer", "--rnn", rnn, "--batch", str(batch))
            [row] = keras_run(python, path, args.threads, *extra)["rows"]
            print(f"{rnn:<5} {'Keras batch ' + str(batch):<18} {row['wall_s']:>8.2f} {row['cpu_s']:>8.2f} "
                  f"{row['per_s']:>10,.0f} {row['per_cpu_s']:>12,.0f} {load():>15}", flush=True)
            wall, cpu = lcrnn_infer(rnn, data, args.lcrnn_batch)
            who = f"lcrnn batch {args.lcrnn_batch}"
            print(f"{rnn:<5} {who:<18} {wall:>8.2f} {cpu:>8.2f} {n / wall:>10,.0f} {n / cpu:>12,.0f} "
                  f"{load():>15}   ratio {row['wall_s'] / wall:.2f}x wall, {row['cpu_s'] / cpu:.2f}x CPU",
                  flush=True)
            best = row if best is None or row["per_s"] > best["per_s"] else best
        print(f"{rnn:<5} Keras' best batch: {best['batch']} ({best['per_s']:,.0f}/s)")


if __name__ == "__main__":
    main()
