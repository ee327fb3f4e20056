"""Training losses of the paper's section 3.3: cross entropy (eq. 2), weighted cross entropy, weighted focal
loss (eq. 4) with class weights alpha_j = N / (n N_j) (eq. 5).

Every loss is the mean over the batch of the per-example losses (as Keras reduces them), so the weights
scale the gradient of minority-class examples rather than being renormalised away per batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lcrnn.model.config import InvalidConfigError

__all__ = ["LOSS_KINDS", "CrossEntropyLoss", "FocalLoss", "class_weights", "make_loss"]

LOSS_KINDS = ("ce", "wce", "focal")


def class_weights(class_counts: Sequence[int] | np.ndarray | Tensor) -> Tensor:
    """Per-class weights of eq. 5, ``alpha_j = N / (n N_j)``: balanced classes all get weight 1.

    Parameters
    ----------
    class_counts : array-like of int
        Training examples per class, in class-index order.

    Returns
    -------
    Tensor
        ``(n_classes,)`` float32 weights.
    """
    counts = torch.as_tensor(np.asarray(class_counts, dtype=np.float64))
    if counts.ndim != 1 or len(counts) < 2:
        raise InvalidConfigError(
            f"class_counts must list the training examples of each of >= 2 classes, got shape "
            f"{tuple(counts.shape)}."
        )
    if not torch.isfinite(counts).all() or (counts <= 0).any():
        empty = torch.nonzero(~(counts > 0)).flatten().tolist()
        raise InvalidConfigError(
            f"class_counts={counts.tolist()} has classes {empty} with no training examples; every class "
            "needs at least one (drop the class or add examples) for the weights of eq. 5 to exist."
        )
    n_total, n_classes = counts.sum(), len(counts)
    return (n_total / (n_classes * counts)).to(torch.float32)


class CrossEntropyLoss(nn.Module):
    """Cross entropy (eq. 2), optionally weighted per class; mean over the batch of per-example losses."""

    def __init__(self, alpha: Tensor | None = None) -> None:
        super().__init__()
        self.register_buffer("alpha", None if alpha is None else torch.as_tensor(alpha, dtype=torch.float32))

    def forward(self, logits: Tensor, targets: Tensor) -> Tensor:
        """``logits (batch, n_classes)``, ``targets (batch,)`` int64 class indices -> scalar loss."""
        per_example = F.cross_entropy(logits, targets, weight=self.alpha, reduction="none")  # (batch,)
        return per_example.mean()


class FocalLoss(nn.Module):
    """Weighted focal loss (eq. 4): ``-alpha_y (1 - p_y)^gamma log p_y``, mean over the batch.

    With ``gamma = 0`` it is the weighted cross entropy.
    """

    def __init__(self, alpha: Tensor | None = None, gamma: float = 2.0) -> None:
        super().__init__()
        if isinstance(gamma, bool) or not isinstance(gamma, (int, float)) or gamma < 0:
            raise InvalidConfigError(f"gamma={gamma!r} must be a number >= 0 (the paper uses 1 or 2).")
        self.gamma = float(gamma)
        self.register_buffer("alpha", None if alpha is None else torch.as_tensor(alpha, dtype=torch.float32))

    def forward(self, logits: Tensor, targets: Tensor) -> Tensor:
        """``logits (batch, n_classes)``, ``targets (batch,)`` int64 class indices -> scalar loss."""
        log_p = F.log_softmax(logits, dim=-1).gather(1, targets[:, None])[:, 0]  # (batch,) log p_y, stable
        per_example = -((1.0 - log_p.exp()) ** self.gamma) * log_p  # (batch,)
        if self.alpha is not None:
            per_example = self.alpha[targets] * per_example
        return per_example.mean()


def make_loss(
    kind: Literal["ce", "wce", "focal"],
    class_counts: Sequence[int] | np.ndarray | Tensor | None = None,
    gamma: float = 2.0,
) -> nn.Module:
    """Build one of the paper's three training losses.

    Parameters
    ----------
    kind : {"ce", "wce", "focal"}
        Unweighted cross entropy, weighted cross entropy, or weighted focal loss.
    class_counts : array-like of int, optional
        Training examples per class, for the weights of eq. 5; needed by "wce" and "focal".
    gamma : float
        Focal-loss exponent (paper Table 1: 1 or 2); only used by "focal".

    Returns
    -------
    nn.Module
        Called as ``loss(logits, targets)`` -> scalar, the mean over the batch of per-example losses.
    """
    if kind not in LOSS_KINDS:
        raise InvalidConfigError(f"loss kind {kind!r} is not known; use one of {LOSS_KINDS}.")
    if kind == "ce":
        return CrossEntropyLoss()
    if class_counts is None:
        raise InvalidConfigError(f"loss {kind!r} is class-weighted; pass class_counts (examples per class).")
    alpha = class_weights(class_counts)
    if kind == "wce":
        return CrossEntropyLoss(alpha)
    return FocalLoss(alpha, gamma)
