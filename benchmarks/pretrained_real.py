"""The shipped model zero-shot on the shared real light curves (issue 15: AUC >= 0.92 asked).

No training: ``Classifier.load("goto-sim")`` classifies every real object (MANTRA + OSC, resampled to
GOTO-like by :func:`benchmarks.real_data.load_real`, GWGC as the catalogue), for both resamplings of
docs/real-data.md (all points, and the 5-sigma difference cut). Scores: Hand & Till AUC on all objects and
on each of real_data.py's five folds (mean ± spread, the forest's folds), macro F1, top-label ECE, and the AUC
after the first 1, 2, 3 and 5 observations; and the AUC and macro F1 of the raw softmax (``--raw``) and of
the probabilities at the class mix estimated from the real objects themselves (``--priors auto``, no labels
used) beside the calibrated ones.

    python benchmarks/pretrained_real.py --out benchmarks/results/pretrained_real.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.metrics import f1_score

sys.path.insert(0, str(Path(__file__).resolve().parent))
from real_data import CLASSES, EARLY_N, load_real  # noqa: E402 - the benchmark's own loader, one source

from lcrnn.classifier import Classifier  # noqa: E402
from lcrnn.data.resample import ResampleConfig  # noqa: E402
from lcrnn.evaluate.crossval import fold_splits  # noqa: E402
from lcrnn.evaluate.metrics import auc_vs_n_obs, expected_calibration_error  # noqa: E402
from lcrnn.train.run_dir import weights_sha256  # noqa: E402
from lcrnn.train.scores import hand_till_auc  # noqa: E402


def score(clf: Classifier, resample: ResampleConfig, data: Path, seed: int, folds: int) -> dict[str, Any]:
    """Every score of the zero-shot model on one resampling of the real data."""
    real = load_real(data, resample, seed, None)
    objects = real.objects[["object_id", "ra", "dec", "label"]]
    seqs = clf.prepare(real.photometry, objects, real.galaxies)
    proba = clf.predict_proba_sequences(seqs)  # calibrated; another catalogue than the training one (warned)
    y = seqs.labels
    per_fold = []
    for split in fold_splits(real.objects["object_id"], real.objects["label"], n_folds=folds, seed=seed):
        index = np.flatnonzero(np.isin(seqs.object_ids, split.test))
        per_fold.append(hand_till_auc(y[index], proba[index]))
    return {
        "n_objects": int(len(y)), "support": {c: int((y == i).sum()) for i, c in enumerate(clf.classes_)},
        "auc_hand_till": float(hand_till_auc(y, proba)),
        "auc_folds": [float(a) for a in per_fold], "auc_fold_mean": float(np.mean(per_fold)),
        "auc_fold_std": float(np.std(per_fold, ddof=1)),
        "f1_macro": float(f1_score(y, proba.argmax(axis=1), average="macro",
                                   labels=np.arange(len(CLASSES)))),
        "ece": expected_calibration_error(proba, y),
        "auc_after_n": {str(row["n_obs"]): row["auc_hand_till"] for row in auc_vs_n_obs(clf, seqs, EARLY_N)},
        "predicted": {c: int((proba.argmax(axis=1) == i).sum()) for i, c in enumerate(clf.classes_)},
        "raw_softmax": _other_scores(clf, seqs, raw=True),
        "auto_priors": _other_scores(clf, seqs, priors="auto"),
    }


def _other_scores(clf: Classifier, seqs: Any, raw: bool = False, priors: str | None = None) -> dict[str, Any]:
    """The raw softmax (``--raw``) or the batch's own estimated priors (``--priors auto``), scored."""
    clf.raw, clf.priors = raw, priors
    try:
        proba = clf.predict_proba_sequences(seqs)
        words = clf.output_
    finally:
        clf.raw, clf.priors = False, None
    return {"output": words, "auc_hand_till": float(hand_till_auc(seqs.labels, proba)),
            "f1_macro": float(f1_score(seqs.labels, proba.argmax(axis=1), average="macro",
                                       labels=np.arange(len(CLASSES)))),
            "predicted": {c: int((proba.argmax(axis=1) == i).sum()) for i, c in enumerate(clf.classes_)}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="goto-sim", help="a shipped model's name or a run directory")
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/pretrained_real.json"))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min-points", type=int, default=2,
                        help="as real_data.py: fewest GOTO-like points a resampled curve keeps")
    args = parser.parse_args()
    torch.set_num_threads(1)
    clf = Classifier.load(args.model, device="cpu")
    if tuple(clf.classes_) != CLASSES:
        raise SystemExit(f"error: the model's classes {clf.classes_} are not {CLASSES}.")
    results = {"model": args.model, "weights_version": clf.model_.lcrnn_version,
               "weights_sha256": weights_sha256(clf.network_), "resamplings": {}}
    resamplings = {"all_points": ResampleConfig(min_points=args.min_points),
                   "difference_5sigma": ResampleConfig(min_points=args.min_points, difference_sigma=5.0)}
    for name, resample in resamplings.items():
        scores = score(clf, resample, args.data, args.seed, args.folds)
        results["resamplings"][name] = scores
        early = ", ".join(f"{n}: {a:.3f}" for n, a in scores["auc_after_n"].items())
        print(f"{name}: AUC {scores['auc_hand_till']:.3f} (folds {scores['auc_fold_mean']:.3f} ± "
              f"{scores['auc_fold_std']:.3f}), macro F1 {scores['f1_macro']:.3f}, ECE {scores['ece']:.3f}, "
              f"{scores['n_objects']} objects; AUC after n observations {early}")
        for kind in ("raw_softmax", "auto_priors"):
            other = scores[kind]
            print(f"  {other['output']}: AUC {other['auc_hand_till']:.3f}, macro F1 {other['f1_macro']:.3f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
