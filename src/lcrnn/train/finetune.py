"""Fine-tuning: training that starts from the weights of a trained run (for instance one trained on the simulator).

The network keeps the run's architecture (a conflicting setting is an error naming it) and its classes (new
data with other classes is an error naming both lists); the class weights of the loss come from the new data,
as for any training. What the run was started from is recorded in its ``config.json`` under ``finetune``: the
starting run as given, the sha256 of its weights, and whether the starting run's scaler was kept or refitted
on the new data. ``TrainConfig.freeze_rnn_epochs`` holds the recurrent branch fixed for the first epochs, so
the new data first fit the dense head on top of the pretrained summary of the light curve.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from torch import nn

from lcrnn.errors import InvalidConfigError, InvalidTableError
from lcrnn.settings import config_from_dict

__all__ = ["SCALER_POLICIES", "FineTuneConfig", "check_same_classes", "conflicting_settings",
           "refuse_conflicts",
           "freeze_recurrent", "recurrent_branch"]

SCALER_POLICIES = ("keep", "refit")


@dataclass(frozen=True)
class FineTuneConfig:
    """Where a fine-tuned run started; recorded in its ``config.json`` under ``finetune``."""

    init: str                                 # the starting run, as given (a run directory)
    init_sha256: str                          # lcrnn.train.run_dir.weights_sha256 of its weights
    scaler: Literal["keep", "refit"] = "keep"  # the starting run's scaler kept, or refitted on the new data

    def __post_init__(self) -> None:
        if self.scaler not in SCALER_POLICIES:
            raise InvalidConfigError(f"scaler must be 'keep' or 'refit', not {self.scaler!r}")
        if not isinstance(self.init, str) or not self.init:
            raise InvalidConfigError(f"init must name the starting run, not {self.init!r}")
        if not isinstance(self.init_sha256, str) or len(self.init_sha256) != 64:
            raise InvalidConfigError(f"init_sha256 must be a sha256 hex digest, not {self.init_sha256!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FineTuneConfig:
        return config_from_dict(cls, data)


def conflicting_settings(run_config: Any, requested: Any, given: Iterable[str] | None = None) -> list[str]:
    """Fields of a config where what was asked for differs from the starting run's, as ``name=asked (run: x)``.

    ``given`` names the fields the user set explicitly (the CLI knows them); without it, a field counts as
    asked for when it differs from the config class's default, so a default is never a conflict.
    """
    default = type(run_config)()
    names = given if given is not None else [f.name for f in dataclasses.fields(run_config)
                                             if getattr(requested, f.name) != getattr(default, f.name)]
    return [f"{name}={getattr(requested, name)!r} (run: {getattr(run_config, name)!r})" for name in names
            if getattr(requested, name) != getattr(run_config, name)]


def refuse_conflicts(init: str | Path, conflicts: Sequence[str], what: str = "network") -> None:
    """An error naming each conflicting setting, when there are any."""
    if conflicts:
        raise InvalidConfigError(
            f"fine-tuning from {init} keeps its {what} settings, but {', '.join(conflicts)} was asked for; drop "
            "these options (the architecture of a fine-tuned network is its starting run's), or train from "
            "scratch without init.")


def check_same_classes(init: str | Path, run_classes: Sequence[str], data_classes: Sequence[str]) -> tuple[str, ...]:
    """The run's classes, in its order (its output layer's), when the new data have exactly these classes."""
    if set(run_classes) != set(data_classes):
        raise InvalidTableError(
            f"the run {init} was trained on the classes {list(run_classes)}, but the new data hold the classes "
            f"{list(data_classes)}; fine-tuning keeps the run's output layer, so map the labels to its classes "
            "(lcrnn label --mapping), drop the others (--on-invalid drop with --classes), or train from scratch.")
    return tuple(run_classes)


def recurrent_branch(network: nn.Module) -> list[nn.Module]:
    """The layers that summarise the light curve: both recurrent layers and the batch norms between them."""
    return [network.rnn1, network.bn1, network.rnn2, network.bn2]


def freeze_recurrent(network: nn.Module, frozen: bool) -> None:
    """Hold the recurrent branch fixed (no gradients, batch-norm statistics unchanged) or release it.

    Called after ``network.train()``, which puts the batch norms back in training mode.
    """
    for module in recurrent_branch(network):
        for parameter in module.parameters():
            parameter.requires_grad_(not frozen)
        if frozen and isinstance(module, nn.BatchNorm1d):
            module.eval()
