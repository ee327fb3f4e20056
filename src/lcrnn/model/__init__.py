"""lcrnn.model: the mixed-input recurrent network, its configuration and its training losses."""

from __future__ import annotations

from lcrnn.model.config import (
    InvalidConfigError,
    InvalidModelInputError,
    ModelModeError,
    NetworkConfig,
)
from lcrnn.model.losses import CrossEntropyLoss, FocalLoss, class_weights, make_loss
from lcrnn.model.network import MixedInputRNN, forward_padded

__all__ = [
    "CrossEntropyLoss",
    "FocalLoss",
    "InvalidConfigError",
    "InvalidModelInputError",
    "MixedInputRNN",
    "ModelModeError",
    "NetworkConfig",
    "class_weights",
    "forward_padded",
    "make_loss",
]
