"""Which simulated training survey transfers to real light curves: recipes of the shipped model, over seeds.

Each recipe simulates a 20,000-object GOTO-like survey, trains the shipped model's network on it (GRU 150 /
dense 200 with the features branch, weighted focal loss, the robust recipe, lr 1e-3, early stopping 8 on the
validation AUC) and scores it zero-shot on the shared real light curves (MANTRA + OSC resampled GOTO-like,
GWGC as the catalogue; ``benchmarks/pretrained_real.py``'s scores, both resamplings). Every seed draws both a
new survey and new weights, so the spread over seeds is what one remake of the model may land on.

- ``glade``: the model shipped before (the default survey at 60/20/20 %, GLADE-like catalogue);
- ``patches``: classes equally common, each object's sky patch covered by a GLADE-like or a GWGC-like catalogue;
- ``patches_noise``: that, plus noisier photometry in training (``--noise-scale 4``): the shipped recipe.

    python benchmarks/sim_recipes_real.py --seeds 0 1 2 --out benchmarks/results/sim_recipes_real.json
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import write_results  # noqa: E402
from pretrained_real import score  # noqa: E402 - one scoring for the shipped model and these
from real_data import CLASSES, MAX_LEN  # noqa: E402

from lcrnn.classifier import Classifier  # noqa: E402
from lcrnn.data.features import SHAPE_FEATURES  # noqa: E402
from lcrnn.data.resample import ResampleConfig  # noqa: E402
from lcrnn.data.simulate import SimulationConfig, simulate_survey  # noqa: E402
from lcrnn.train.augment import ROBUST  # noqa: E402

RECIPES = {
    "glade": {"catalog": "glade", "fractions": (0.6, 0.2, 0.2), "noise_scale": 1.0},
    "patches": {"catalog": "glade,gwgc", "fractions": (1.0, 1.0, 1.0), "noise_scale": 1.0},
    "patches_noise": {"catalog": "glade,gwgc", "fractions": (1.0, 1.0, 1.0), "noise_scale": 4.0},
}


def train_recipe(name: str, seed: int, n_objects: int, epochs: int) -> tuple[Classifier, float]:
    """The recipe's survey (drawn from ``seed``) and a model trained on it (weights drawn from ``seed``)."""
    recipe = RECIPES[name]
    survey = simulate_survey(SimulationConfig(n_objects=n_objects, seed=seed, galaxy_catalog=recipe["catalog"],
                                              class_fractions=dict(zip(CLASSES, recipe["fractions"]))))
    clf = Classifier(rnn="gru", loss="focal", gamma=2.0, hidden=150, dense=200, epochs=epochs, lr=1e-3,
                     batch_size=128, seed=seed, max_len=MAX_LEN, early_stopping=8, progress=False,
                     augment=replace(ROBUST, noise_scale=recipe["noise_scale"]), summary=SHAPE_FEATURES,
                     device="cpu")
    tic = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(survey.photometry, survey.objects, survey.galaxies)
    return clf, time.perf_counter() - tic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--n-objects", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/sim_recipes_real.json"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    resamplings = {"all_points": ResampleConfig(min_points=2),
                   "difference_5sigma": ResampleConfig(min_points=2, difference_sigma=5.0)}
    rows = []
    for name in args.recipes:
        for seed in args.seeds:
            clf, seconds = train_recipe(name, seed, args.n_objects, args.epochs)
            row = {"recipe": name, "seed": seed, "train_seconds": seconds, "best_epoch": clf.best_epoch_,
                   "epochs_run": len(clf.history_)}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for kind, resample in resamplings.items():
                    row[kind] = score(clf, resample, args.data, seed=0, folds=5)
            rows.append(row)
            print(f"{name} seed {seed}: kept epoch {row['best_epoch']} of {row['epochs_run']}; " + "; ".join(
                f"{kind} AUC {row[kind]['auc_fold_mean']:.3f} ± {row[kind]['auc_fold_std']:.3f} "
                f"(F1 {row[kind]['f1_macro']:.3f})" for kind in resamplings), flush=True)
    print(f"\n{'recipe':<15}" + "".join(f"{kind + ' AUC (mean ± std over seeds)':>44}" for kind in resamplings))
    for name in args.recipes:
        mine = [r for r in rows if r["recipe"] == name]
        cells = []
        for kind in resamplings:
            aucs = np.array([r[kind]["auc_fold_mean"] for r in mine])
            cells.append(f"{aucs.mean():.3f} ± {aucs.std(ddof=1) if len(aucs) > 1 else 0:.3f} "
                         f"({', '.join(f'{a:.3f}' for a in aucs)})")
        print(f"{name:<15}" + "".join(f"{c:>44}" for c in cells))
    write_results(args.out, args, rows)


if __name__ == "__main__":
    main()
