"""Are lcrnn's probabilities honest on a survey the model never saw? (issue 16)

Trains nothing: takes a trained run and an independent labelled survey (another seed of the simulator, say),
classifies it with ``lcrnn predict``'s code path as calibrated (the default), raw, calibrated with the
survey's own class priors, and calibrated with the priors estimated from the unlabelled survey
(``--priors auto``), and prints for each the Hand & Till AUC, macro F1, the top-label expected calibration
error (10 bins), the accuracy and mean confidence, and each rare class's purity at completeness >= 0.5.

    lcrnn simulate --out data/sim-seed1 --seed 1
    python benchmarks/calibration_check.py --model runs/quick/gru-focal --data data/sim-seed1
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score

from lcrnn.classifier import Classifier
from lcrnn.data.io import read_survey
from lcrnn.evaluate.metrics import expected_calibration_error, hand_till_auc
from lcrnn.evaluate.purity import purity_at_recall


def scores(clf: Classifier, survey, raw: bool, priors: str | None) -> dict:
    clf.raw, clf.priors = raw, priors
    frame = clf.predict_proba(survey.photometry, survey.objects, survey.galaxies)
    labels = survey.objects.set_index("object_id").loc[frame["object_id"], "label"].astype(str).to_numpy()
    position = {c: i for i, c in enumerate(clf.classes_)}
    y = np.array([position[label] for label in labels])
    p = frame[[f"p_{c}" for c in clf.classes_]].to_numpy(dtype=np.float64)
    purity = purity_at_recall(y, p, clf.classes_, 0.5)
    called = p.argmax(axis=1)
    return {"output": clf.output_, "auc": hand_till_auc(y, p),
            "macro_f1": float(f1_score(y, called, average="macro", labels=np.arange(len(clf.classes_)))),
            "ece": expected_calibration_error(p, y, bins=10),
            "accuracy": float(np.mean(called == y)), "confidence": float(p.max(axis=1).mean()),
            **{f"purity_{c}@recall0.5": purity[c] for c in clf.classes_[1:]},
            **{f"precision_{c}_argmax": float(np.mean(y[called == k] == k)) if np.any(called == k) else None
               for k, c in enumerate(clf.classes_) if k > 0}}


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="trained run directory or shipped model")
    parser.add_argument("--data", type=Path, required=True, help="independent labelled survey directory")
    parser.add_argument("--json", type=Path, default=None, help="also write the table here")
    args = parser.parse_args(argv)
    clf = Classifier.load(args.model, device="cpu")
    survey = read_survey(args.data)
    counts = survey.objects["label"].astype(str).value_counts()
    own = ",".join(f"{c}={counts.get(c, 0) / len(survey.objects):.6g}" for c in clf.classes_)
    rows = [scores(clf, survey, raw=True, priors=None), scores(clf, survey, raw=False, priors=None),
            scores(clf, survey, raw=False, priors=own), scores(clf, survey, raw=False, priors="auto")]
    print(f"model {args.model}, survey {args.data}: {len(survey.objects):,} objects "
          f"({', '.join(f'{c} {counts.get(c, 0):,}' for c in clf.classes_)})")
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=1))
    return rows


if __name__ == "__main__":
    main()
