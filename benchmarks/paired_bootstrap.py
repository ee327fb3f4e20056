"""How finely the shared real light curves can tell two classifiers apart: a paired bootstrap of the AUC difference.

``benchmarks/real_data.py`` writes every model's out-of-fold probabilities (``*.predictions.csv``: each object
is tested once, in its fold). Pooling them, this resamples the objects with replacement and recomputes the
Hand & Till AUC of each model against the reference on the same draw: the spread of the paired difference is
what the sample itself allows, whatever the folds. A difference smaller than about two of its standard
deviations is not established by these data.

    python benchmarks/paired_bootstrap.py benchmarks/results/real_data_finetune_v3_all_points.predictions.csv
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from real_data import CLASSES  # noqa: E402 - the benchmark that wrote the predictions

from lcrnn.train.scores import hand_till_auc  # noqa: E402


def model_probabilities(predictions: pd.DataFrame, model: str) -> tuple[np.ndarray, np.ndarray]:
    """One model's out-of-fold probabilities and labels, ordered by object id."""
    rows = predictions[predictions["model"] == model].set_index("object_id").sort_index()
    labels = rows["label"].map({c: i for i, c in enumerate(CLASSES)}).to_numpy()
    return rows[[f"p_{c}" for c in CLASSES]].to_numpy(), labels


def paired_bootstrap(y: np.ndarray, a: np.ndarray, b: np.ndarray, draws: int, seed: int) -> np.ndarray:
    """AUC(a) - AUC(b) on ``draws`` resamplings of the objects (with replacement, the same for both)."""
    rng = np.random.default_rng(seed)
    out = np.empty(draws)
    for k in range(draws):
        pick = rng.integers(len(y), size=len(y))
        out[k] = hand_till_auc(y[pick], a[pick]) - hand_till_auc(y[pick], b[pick])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("predictions", type=Path, nargs="+", help="real_data.py's *.predictions.csv")
    parser.add_argument("--reference", default="forest_context")
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"{'file':<52} {'model':<36} {'objects':>7} {'AUC - ref':>9} {'sd':>6} {'95 % interval':>18}")
    for path in args.predictions:
        predictions = pd.read_csv(path)
        ref, y = model_probabilities(predictions, args.reference)
        for model in sorted(set(predictions["model"]) - {args.reference}):
            proba, labels = model_probabilities(predictions, model)
            if not np.array_equal(labels, y):
                raise SystemExit(f"error: {model} and {args.reference} were not tested on the same objects")
            diff = hand_till_auc(y, proba) - hand_till_auc(y, ref)
            spread = paired_bootstrap(y, proba, ref, args.draws, args.seed)
            low, high = np.percentile(spread, [2.5, 97.5])
            print(f"{path.name[:52]:<52} {model:<36} {len(y):>7} {diff:>+9.4f} {spread.std():>6.4f} "
                  f"[{low:+.4f}, {high:+.4f}]")


if __name__ == "__main__":
    main()
