"""What a grid is: its points (:class:`TrialSpec`) and the settings they share (:class:`GridConfig`).

A grid point names only what the paper varies (Table 1 and section 5.4): the recurrent cell, the loss and its
gamma, the RNN output size, the dense-layer size and whether the context is used. Everything else comes from
the base :class:`~lcrnn.model.config.NetworkConfig` and :class:`~lcrnn.train.config.TrainConfig` the grid
holds, so every default has one source: the config classes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from lcrnn.errors import InvalidConfigError, LcrnnError
from lcrnn.model.config import NetworkConfig
from lcrnn.settings import config_from_dict
from lcrnn.train.config import TrainConfig

__all__ = ["PER_WORKER", "GridConfig", "TrialSpec", "paper_grid", "parse_configs"]

#: TrainConfig fields each worker may choose for itself: they decide where a point trains, not what it learns,
#: so workers on a GPU machine and on a CPU machine can share one study.
PER_WORKER = ("device",)

_NAME = re.compile(r"^(?P<rnn>gru|lstm)(?P<nc>-nc)?-(?P<loss>ce|wce|focal)(?:-g(?P<gamma>\d+(?:\.\d+)?))?"
                   r"-h(?P<hidden>\d+)-d(?P<dense>\d+)$")

# The cross-entropy losses have no focusing parameter; their runs record gamma 0, the value at which the
# focal loss has none either.
_NO_FOCUSING = 0.0


@dataclass(frozen=True)
class TrialSpec:
    """One grid point: the hyperparameters the paper varies; defaults are the configs' own."""

    rnn: Literal["gru", "lstm"] = NetworkConfig.rnn
    loss: Literal["ce", "wce", "focal"] = TrainConfig.loss
    gamma: float | None = TrainConfig.gamma   # focal loss only; None for the cross-entropy losses
    hidden: int = NetworkConfig.hidden        # RNN output dimension
    dense: int = NetworkConfig.dense          # neurons in each dense layer
    use_context: bool = NetworkConfig.use_context  # False: light curve only (section 5.4, "NC")

    def __post_init__(self) -> None:
        if (self.loss == "focal") != (self.gamma is not None):
            raise InvalidConfigError("gamma is set for the focal loss and only for it (None for ce and wce)")
        self.configs()  # the configs check every value, with their own messages

    def configs(self, network: NetworkConfig | None = None,
                train: TrainConfig | None = None) -> tuple[NetworkConfig, TrainConfig]:
        """The point's network and training settings: `network` and `train` (default: the configs' defaults)
        with this point's values put in."""
        network = replace(network if network is not None else NetworkConfig(), rnn=self.rnn,
                          hidden=self.hidden, dense=self.dense, use_context=self.use_context)
        train = replace(train if train is not None else TrainConfig(), loss=self.loss,
                        gamma=_NO_FOCUSING if self.gamma is None else self.gamma)
        return network, train

    @property
    def name(self) -> str:
        """Identifier used as the Optuna choice and the trial directory, e.g. ``gru-focal-g2-h150-d200``."""
        gamma = ""
        if self.gamma is not None:
            gamma = f"-g{int(self.gamma)}" if float(self.gamma).is_integer() else f"-g{self.gamma:g}"
        nc = "" if self.use_context else "-nc"
        return f"{self.rnn}{nc}-{self.loss}{gamma}-h{self.hidden}-d{self.dense}"

    @classmethod
    def from_name(cls, name: str) -> TrialSpec:
        """Parse a name written by :attr:`name` (so ``--configs`` can also ask for points off the paper grid)."""
        match = _NAME.match(name.strip())
        if match is None:
            raise LcrnnError(
                f"cannot read the grid point {name!r}: expected RNN[-nc]-LOSS[-gGAMMA]-hHIDDEN-dDENSE, e.g. "
                "'gru-focal-g2-h150-d200', 'lstm-wce-h100-d200' or 'gru-nc-focal-g1-h100-d100'")
        g = match.groupdict()
        try:
            return cls(rnn=g["rnn"], loss=g["loss"], gamma=None if g["gamma"] is None else float(g["gamma"]),
                       hidden=int(g["hidden"]), dense=int(g["dense"]), use_context=g["nc"] is None)
        except ValueError as err:
            raise LcrnnError(f"grid point {name!r}: {err}") from None

    @property
    def table2_label(self) -> str:
        """Row label in the style of Table 2, e.g. ``GRU NC focal``."""
        return f"{self.rnn.upper()}{'' if self.use_context else ' NC'} {self.loss}"


def paper_grid() -> tuple[TrialSpec, ...]:
    """The 40 grid points: Table 1 for GRU and LSTM (32) plus the GRU weighted-focal grid without context (8)."""
    losses: list[tuple[str, float | None]] = [("ce", None), ("wce", None), ("focal", 1.0), ("focal", 2.0)]
    specs = [TrialSpec(rnn, loss, gamma, hidden, dense)
             for rnn in ("gru", "lstm") for loss, gamma in losses for hidden in (100, 150) for dense in (100, 200)]
    specs += [TrialSpec("gru", "focal", gamma, hidden, dense, use_context=False)
              for gamma in (1.0, 2.0) for hidden in (100, 150) for dense in (100, 200)]
    return tuple(specs)


def parse_configs(values: Sequence[str] | None) -> tuple[TrialSpec, ...]:
    """Grid points from names (each value may hold several, comma-separated); the paper grid when empty."""
    names = [part.strip() for value in (values or ()) for part in value.split(",") if part.strip()]
    if not names:
        return paper_grid()
    return tuple(dict.fromkeys(TrialSpec.from_name(n) for n in names))


@dataclass(frozen=True)
class GridConfig:
    """What every worker of one study must agree on: the grid points and the settings they share.

    Parameters
    ----------
    specs : tuple of TrialSpec
        The grid points (default: the paper's 40, :func:`paper_grid`).
    network : NetworkConfig
        Architecture shared by every point; each point puts in its rnn, hidden, dense and use_context.
    train : TrainConfig
        Schedule shared by every point (epochs, lr, batch size, seed: every point sees the same split); each
        point puts in its loss and gamma. Its ``device`` is the worker's own (:data:`PER_WORKER`).
    """

    specs: tuple[TrialSpec, ...] = paper_grid()
    network: NetworkConfig = NetworkConfig()
    train: TrainConfig = TrainConfig()

    def __post_init__(self) -> None:
        if not self.specs:
            raise InvalidConfigError("the grid needs at least one grid point")
        if not all(isinstance(s, TrialSpec) for s in self.specs):
            raise InvalidConfigError("the grid points must be TrialSpec objects (see parse_configs)")
        if len({s.name for s in self.specs}) != len(self.specs):
            raise InvalidConfigError("grid points must be distinct")
        if not isinstance(self.network, NetworkConfig) or not isinstance(self.train, TrainConfig):
            raise InvalidConfigError("network must be a NetworkConfig and train a TrainConfig")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.specs)

    def point(self, name: str) -> tuple[NetworkConfig, TrainConfig]:
        """The network and training settings of the grid point called `name`."""
        for spec in self.specs:
            if spec.name == name:
                return spec.configs(self.network, self.train)
        raise LcrnnError(f"{name!r} is not a point of this grid; its points are {', '.join(self.names)}")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON: the point names and both base configs; :meth:`from_dict` reads it back."""
        return {"specs": list(self.names), "network": self.network.to_dict(), "train": self.train.to_dict()}

    def shared_dict(self) -> dict[str, Any]:
        """:meth:`to_dict` without the :data:`PER_WORKER` settings: what the study records and checks."""
        data = self.to_dict()
        data["train"] = {k: v for k, v in data["train"].items() if k not in PER_WORKER}
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GridConfig:
        """Rebuild from :meth:`to_dict` output; an unknown key is an error, as for every config."""
        if not isinstance(data, Mapping):
            return config_from_dict(cls, data)  # says that settings come as a dictionary
        readers = {"specs": lambda names: tuple(TrialSpec.from_name(n) for n in names),
                   "network": NetworkConfig.from_dict, "train": TrainConfig.from_dict}
        return config_from_dict(cls, {k: readers[k](v) if k in readers else v for k, v in data.items()})
