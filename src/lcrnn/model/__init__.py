"""lcrnn.model: the mixed-input recurrent network, its configuration, its losses and how it is run.

Names are imported on first use (PEP 562), so reading ``NetworkConfig`` (the CLI's defaults) does not load torch.
"""

from __future__ import annotations

import importlib
from typing import Any

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

_HOME = {
    "InvalidConfigError": "lcrnn.errors",
    "InvalidModelInputError": "lcrnn.model.config",
    "ModelModeError": "lcrnn.model.config",
    "NetworkConfig": "lcrnn.model.config",
    "CrossEntropyLoss": "lcrnn.model.losses",
    "FocalLoss": "lcrnn.model.losses",
    "class_weights": "lcrnn.model.losses",
    "make_loss": "lcrnn.model.losses",
    "MixedInputRNN": "lcrnn.model.network",
    "forward_padded": "lcrnn.model.network",
}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(importlib.import_module(_HOME[name]), name)
    raise AttributeError(f"module 'lcrnn.model' has no attribute {name!r}")
