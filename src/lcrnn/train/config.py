"""How a network is trained, as one frozen dataclass: the single source of every training setting's default."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from lcrnn.errors import InvalidConfigError
from lcrnn.settings import config_from_dict

__all__ = ["LOSSES", "SELECT_BY", "TrainConfig"]

LOSSES = ("ce", "wce", "focal")
SELECT_BY = ("val_auc", "val_loss")


@dataclass(frozen=True)
class TrainConfig:
    """Optimiser, loss and schedule (paper section 4 and Table 1)."""

    loss: Literal["ce", "wce", "focal"] = "focal"  # paper eqs. 2, 2 weighted by eq. 5, and 4
    gamma: float = 2.0                  # focal-loss focusing parameter (paper Table 1: 1 or 2)
    epochs: int = 200                   # paper section 4.3: 200 epochs, no early stopping
    batch_size: int = 128               # paper Table 1
    lr: float = 1e-4                    # paper Table 1 (Adam)
    seed: int = 0                       # weights, dropout, split and batch order: CPU runs repeat exactly
    stratified_batches: bool = False    # every batch holds the training set's class proportions (paper 4.2)
    early_stopping: int | None = None   # stop after this many epochs without a better validation score
    select_by: Literal["val_auc", "val_loss"] = "val_auc"  # which epoch is kept (paper: validation AUC)
    device: str = "auto"                # "auto" takes a GPU when torch sees one
    freeze_rnn_epochs: int = 0          # fine-tuning: the recurrent layers stay fixed for the first epochs

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise InvalidConfigError(f"loss must be 'ce', 'wce' or 'focal', not {self.loss!r}")
        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidConfigError(f"{name} must be a whole number >= 1, not {value!r}")
        if isinstance(self.lr, bool) or not isinstance(self.lr, (int, float)) or not self.lr > 0:
            raise InvalidConfigError(f"lr must be a positive number, not {self.lr!r}")
        if isinstance(self.gamma, bool) or not isinstance(self.gamma, (int, float)) or not self.gamma >= 0:
            raise InvalidConfigError(f"gamma must be a number >= 0, not {self.gamma!r}")
        if self.select_by not in SELECT_BY:
            raise InvalidConfigError(f"select_by must be 'val_auc' or 'val_loss', not {self.select_by!r}")
        if self.early_stopping is not None and (
                isinstance(self.early_stopping, bool) or not isinstance(self.early_stopping, int)
                or self.early_stopping < 1):
            raise InvalidConfigError(f"early_stopping must be None or a whole number >= 1, not {self.early_stopping!r}")
        if (isinstance(self.freeze_rnn_epochs, bool) or not isinstance(self.freeze_rnn_epochs, int)
                or self.freeze_rnn_epochs < 0):
            raise InvalidConfigError(f"freeze_rnn_epochs must be a whole number >= 0, not {self.freeze_rnn_epochs!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Rebuild from :meth:`to_dict` output; an unknown key is an error, as for every config."""
        return config_from_dict(cls, data)
