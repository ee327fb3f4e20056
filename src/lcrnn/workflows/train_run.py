"""One training run, as `lcrnn train` and every grid point do it: fit, save, score, draw.

:func:`train_run` saves the run directory through :mod:`lcrnn.train.run_dir` (weights, ``config.json``,
``history.csv``) and adds what a finished run reports:

    RUN/metrics.json        validation (and test) Hand & Till AUC and macro F1 of the kept weights
    RUN/loss_curve.png      the paper's Fig. A1 for this run
    RUN/checkpoint/         the last epoch's training state while the run is unfinished (resume from it)
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score

from lcrnn.classifier import Classifier
from lcrnn.data.sequences import SequenceSet
from lcrnn.data.tables import Survey
from lcrnn.evaluate.report import raw_score_auc
from lcrnn.train.scores import hand_till_auc

__all__ = ["split_scores", "train_run"]


def split_scores(clf: Classifier, seqs: SequenceSet, part: str) -> dict:
    """Hand & Till AUC, macro F1 and size of one recorded split part ("train", "val" or "test")."""
    index = np.flatnonzero(clf.split_.part_of(seqs.object_ids) == part)
    if len(index) == 0 or seqs.labels is None:
        return {"n": 0, "auc_hand_till": None, "f1_macro": None}
    sub = seqs.subset(index)
    proba = clf.predict_proba_sequences(sub)
    auc = hand_till_auc(sub.labels, proba)
    f1 = f1_score(sub.labels, proba.argmax(axis=1), average="macro", labels=np.arange(len(clf.classes_)))
    return {"n": len(index), "auc_hand_till": None if np.isnan(auc) else auc, "f1_macro": float(f1),
            "auc_hand_till_raw": raw_score_auc(clf, sub)}


def train_run(clf: Classifier, survey: Survey, out: str | Path, resume: bool = True,
              classes: Sequence[str] | None = None, init: str | Path | None = None, scaler: str = "keep") -> dict:
    """Fit `clf` on `survey` (on `classes`, default the paper's; fine-tuning the run `init` when given, with
    the `scaler` policy; see :meth:`Classifier.fit`), save the run directory and return its metrics.

    ``metrics["note"]`` says when the kept epoch is the last one (the model may be undertrained) or a
    fine-tuning kept its starting weights (:func:`lcrnn.train.loop.kept_epoch_note`); None otherwise.

    The training state is checkpointed into ``out/checkpoint`` after every epoch; rerunning the same command
    after an interruption resumes there. It is removed once the run is saved.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    checkpoint = out / "checkpoint"
    if not resume and checkpoint.exists():
        shutil.rmtree(checkpoint)
    clf.fit(survey.photometry, survey.objects, survey.galaxies, checkpoint_dir=checkpoint, classes=classes,
            init=init, scaler=scaler)
    clf.save(out)
    seqs = clf.prepare(survey.photometry, survey.objects, survey.galaxies)
    metrics = {
        "run": out.name,
        "best_epoch": clf.best_epoch_,
        "epochs_run": len(clf.history_),
        "seconds_per_epoch": float(clf.history_["seconds"].diff().fillna(clf.history_["seconds"]).median()),
        "validation": split_scores(clf, seqs, "val"),
        "test": split_scores(clf, seqs, "test"),
        "note": clf.fit_note_,
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1))
    _draw_loss_curve(clf, out / "loss_curve.png")
    shutil.rmtree(checkpoint, ignore_errors=True)
    return metrics


def _draw_loss_curve(clf: Classifier, path: Path) -> None:
    from lcrnn.evaluate.figures import plot_history

    plot_history(clf.history_, title=clf.name).savefig(path, dpi=120, bbox_inches="tight")
