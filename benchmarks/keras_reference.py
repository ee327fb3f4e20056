"""The paper's stack for the side-by-side benchmark: Keras 3 on TensorFlow, in its own virtual environment.

Not imported by lcrnn (it needs ``tensorflow-cpu``, which lcrnn does not depend on):
``keras_side_by_side.py`` creates the environment and calls this script once per measurement, so the figures
alternate with lcrnn's in one run. The network is the paper's (section 3.2, Figure 4): Masking -> GRU/LSTM
(all steps) -> dropout -> BN -> GRU/LSTM (last step) -> dropout -> BN -> concatenate the context -> dense +
sigmoid -> dropout -> BN -> dense + sigmoid (L2 0.01) -> softmax, weighted focal loss (gamma 2,
alpha_j = N / (n N_j)), Adam lr 1e-4, batch 128.

    /tmp/keras-venv/bin/python benchmarks/keras_reference.py --data /tmp/sbs.npz --task train --rnn gru
    /tmp/keras-venv/bin/python benchmarks/keras_reference.py --data /tmp/sbs.npz --task infer --batch 1024

Prints one JSON line: the timed figures, with TensorFlow's start-up and graph tracing left out (a warm-up
call on a few batches runs first).
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")


def build(rnn: str, hidden: int, dense: int, dropout: float, steps: int, n_classes: int, l2: float):
    """The paper's mixed-input network as Keras layers."""
    import keras
    from keras import layers

    cell = layers.GRU if rnn == "gru" else layers.LSTM
    series = keras.Input((steps, 3), name="series")
    context = keras.Input((3,), name="context")
    x = layers.Masking(mask_value=0.0)(series)
    x = cell(hidden, return_sequences=True)(x)
    x = layers.BatchNormalization()(layers.Dropout(dropout)(x))
    x = cell(hidden)(x)
    x = layers.BatchNormalization()(layers.Dropout(dropout)(x))
    x = layers.Concatenate()([x, context])
    x = layers.Dense(dense, activation="sigmoid")(x)
    x = layers.BatchNormalization()(layers.Dropout(dropout)(x))
    x = layers.Dense(dense, activation="sigmoid", kernel_regularizer=keras.regularizers.L2(l2))(x)
    out = layers.Dense(n_classes, activation="softmax")(x)
    return keras.Model([series, context], out)


def make_loss(alpha: np.ndarray, gamma: float = 2.0):
    """Weighted focal loss (paper eq. 4) on softmax outputs, mean over the batch."""
    from keras import ops

    weights = ops.convert_to_tensor(alpha.astype("float32"))
    n_classes = len(alpha)

    def loss(y_true, y_pred):
        y_true = ops.cast(ops.reshape(y_true, (-1,)), "int32")
        onehot = ops.one_hot(y_true, n_classes)
        p = ops.sum(onehot * ops.clip(y_pred, 1e-7, 1.0), axis=-1)
        return -ops.take(weights, y_true) * ops.power(1.0 - p, gamma) * ops.log(p)

    return loss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="npz: values, context, labels (keras_side_by_side.py)")
    parser.add_argument("--task", choices=["train", "infer"], required=True)
    parser.add_argument("--rnn", choices=["gru", "lstm"], default="gru")
    parser.add_argument("--epochs", type=int, default=1, help="timed epochs (train); the best is reported")
    parser.add_argument("--batch", type=int, nargs="+", default=[128], help="batch size(s); infer tries each")
    parser.add_argument("--threads", type=int, default=1, help="TensorFlow intra- and inter-op threads")
    args = parser.parse_args()

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    import keras

    keras.utils.set_random_seed(0)
    data = np.load(args.data)
    values, context, labels = data["values"], data["context"], data["labels"]
    n, steps, _ = values.shape
    counts = np.bincount(labels, minlength=3).clip(min=1)
    alpha = counts.sum() / (len(counts) * counts)
    model = build(args.rnn, 150, 200, 0.4, steps, 3, 0.01)
    result: dict = {"keras": keras.__version__, "tensorflow": tf.__version__, "task": args.task,
                    "rnn": args.rnn, "n": int(n), "threads": args.threads}
    if args.task == "train":
        model.compile(optimizer=keras.optimizers.Adam(1e-4), loss=make_loss(alpha))
        batch = args.batch[0]
        full = (n // batch) * batch  # whole batches only: a short last batch would trace the graph again
        warm = 4 * batch
        model.fit([values[:warm], context[:warm]], labels[:warm], batch_size=batch, epochs=1, verbose=0)
        walls, cpus, losses = [], [], []
        for _ in range(args.epochs):
            t0, c0 = time.perf_counter(), time.process_time()
            hist = model.fit([values[:full], context[:full]], labels[:full], batch_size=batch, epochs=1,
                             verbose=0, shuffle=True)
            walls.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
            losses.append(float(hist.history["loss"][-1]))
        result.update(batch=batch, light_curves=int(full), wall_s=min(walls), cpu_s=min(cpus), loss=losses[0])
    else:
        rows = []
        for batch in args.batch:
            model.predict([values[:batch], context[:batch]], batch_size=batch, verbose=0)  # trace once
            t0, c0 = time.perf_counter(), time.process_time()
            model.predict([values, context], batch_size=batch, verbose=0)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            rows.append({"batch": batch, "wall_s": wall, "cpu_s": cpu, "per_s": n / wall,
                         "per_cpu_s": n / cpu})
        result["rows"] = rows
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
