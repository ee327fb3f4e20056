"""Hyperparameters of the mixed-input network, as one frozen dataclass that round-trips through JSON.

Defaults follow Burhanudin et al. 2021, section 3.2 and Table 1, and the authors' published Keras code
(sigmoid in both dense layers).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from lcrnn.errors import InvalidConfigError, LcrnnError
from lcrnn.settings import config_from_dict

__all__ = [
    "ACTIVATIONS",
    "RNN_KINDS",
    "InvalidConfigError",
    "InvalidModelInputError",
    "ModelModeError",
    "NetworkConfig",
]

RNN_KINDS = ("gru", "lstm")
ACTIVATIONS = ("sigmoid", "relu", "tanh", "elu")


class InvalidModelInputError(LcrnnError, ValueError):
    """Tensors handed to the network have the wrong shape, dtype or lengths."""


class ModelModeError(LcrnnError, RuntimeError):
    """A method was called in the wrong train/eval mode (e.g. ``step`` in training mode)."""


@dataclass(frozen=True)
class NetworkConfig:
    """Architecture of :class:`lcrnn.model.MixedInputRNN`.

    Parameters
    ----------
    rnn : {"gru", "lstm"}
        Recurrent cell of both stacked layers.
    hidden : int
        Output size of each recurrent layer (paper Table 1: 100 or 150).
    dense : int
        Neurons in each of the two dense layers (Table 1: 100 or 200).
    dropout : float
        Fraction of units dropped after each recurrent layer and the first dense layer.
    use_context : bool
        Concatenate the context vector (l, b, galaxy distance) to the recurrent summary (paper section 3.2);
        False gives the time-series-only network of the paper's section 5.4.
    activation : {"sigmoid", "relu", "tanh", "elu"}
        Non-linearity of both dense layers.
    n_features : int
        Values per time step (t - t_first, mag, mag_err).
    n_context : int
        Length of the context vector.
    l2 : float
        Keras-style L2 factor on the second dense layer's weights (Table 1: 0.01).
    max_len : int
        Observations read per light curve, in time order; later ones are ignored in batch and served alike.
    summary : tuple of str
        Names of summary features of the light curve (``lcrnn.data.features.SHAPE_FEATURES``) joined beside
        the recurrent summary and the context: the features branch (issue 15). Empty (the paper's network)
        by default. The data layer computes them from the same observations the recurrent layers read.
    """

    rnn: Literal["gru", "lstm"] = "gru"  # recurrent cell; the paper trains both
    hidden: int = 150  # recurrent output size (Table 1: 100 or 150)
    dense: int = 200  # neurons per dense layer (Table 1: 100 or 200)
    dropout: float = 0.4  # fraction dropped (Table 1, section 4.2)
    use_context: bool = True  # mixed input: append (l, b, d_G) to the RNN summary
    activation: Literal["sigmoid", "relu", "tanh", "elu"] = "sigmoid"  # the authors' code uses sigmoid
    n_features: int = 3  # per-step inputs: t - t_first [days], mag, mag_err
    n_context: int = 3  # context inputs: gal_l, gal_b, galaxy_dist_arcsec
    l2: float = 0.01  # L2 factor lambda on dense2's weights (Table 1)
    max_len: int = 30  # observations read per light curve (paper section 2.3: the first 30)
    summary: tuple[str, ...] = ()  # the features branch: light-curve summary features beside the context

    def __post_init__(self) -> None:
        if self.rnn not in RNN_KINDS:
            raise InvalidConfigError(f"rnn={self.rnn!r} is not supported; use one of {RNN_KINDS}.")
        if self.activation not in ACTIVATIONS:
            raise InvalidConfigError(
                f"activation={self.activation!r} is not supported; use one of {ACTIVATIONS}."
            )
        for name in ("hidden", "dense", "n_features", "n_context", "max_len"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidConfigError(f"{name}={value!r} must be a positive integer.")
        if isinstance(self.dropout, bool) or not isinstance(self.dropout, (int, float)):
            raise InvalidConfigError(f"dropout={self.dropout!r} must be a number in [0, 1).")
        if not 0.0 <= self.dropout < 1.0:
            raise InvalidConfigError(f"dropout={self.dropout!r} must be in [0, 1).")
        if isinstance(self.l2, bool) or not isinstance(self.l2, (int, float)) or self.l2 < 0:
            raise InvalidConfigError(f"l2={self.l2!r} must be a number >= 0.")
        if not isinstance(self.use_context, bool):
            raise InvalidConfigError(f"use_context={self.use_context!r} must be True or False.")
        if isinstance(self.summary, str) or not all(isinstance(n, str) and n for n in self.summary):
            raise InvalidConfigError(f"summary={self.summary!r} must be a list of feature names (or empty).")
        if len(set(self.summary)) != len(self.summary):
            raise InvalidConfigError(f"summary={self.summary!r} names a feature twice.")
        object.__setattr__(self, "summary", tuple(self.summary))  # a JSON list reads back as the same tuple

    @property
    def static_width(self) -> int:
        """Inputs joined to the recurrent summary: the context (if used), then the summary features."""
        return (self.n_context if self.use_context else 0) + len(self.summary)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict of every field; ``summary`` only when set, so that a run or grid study written
        before the features branch existed reads the same as one written now without it."""
        out = dataclasses.asdict(self)
        if not self.summary:
            del out["summary"]
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> NetworkConfig:
        """Rebuild from :meth:`to_dict` output; an unknown key is an error (:func:`lcrnn.settings.config_from_dict`)."""
        return config_from_dict(cls, d)
