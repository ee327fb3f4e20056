"""The score that selects models: Hand & Till (2001) multi-class AUC.

It lives in the train layer because training selects its kept epoch by it and the grid ranks by it; the
evaluation layer (which may import train) re-exports it for its reports, so there is one definition.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score

__all__ = ["hand_till_auc"]


def hand_till_auc(y_true: np.ndarray, proba: np.ndarray) -> float:
    """Hand & Till (2001) multi-class AUC: scikit-learn's one-vs-one macro average.

    With two classes it is the ordinary ROC AUC of the second column (scikit-learn's "ovo" mode refuses a
    two-column array); with fewer than two classes present it is NaN.
    """
    y_true, proba = np.asarray(y_true), np.asarray(proba)
    if len(np.unique(y_true)) < 2:
        return float("nan")
    if proba.shape[1] == 2:
        return float(roc_auc_score(y_true, proba[:, 1]))
    return float(roc_auc_score(y_true, proba, multi_class="ovo", average="macro", labels=np.arange(proba.shape[1])))
