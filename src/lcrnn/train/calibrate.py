"""Which probabilities a trained model gives: calibrated (the default), set to other class priors, or raw.

One function turns a run's logits into the probabilities every route returns -- ``Classifier.predict_proba``,
the incremental classifier and so the service -- so served probabilities equal batch ones, calibration
included. The calibration itself is :class:`lcrnn.model.calibration.Calibration`, fit on the validation split
after training (:func:`calibrate`). ``priors="auto"`` is estimated from the objects of one batch
(:func:`estimated_probabilities`), so only a batch route can ask for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import torch

from lcrnn.errors import InvalidConfigError
from lcrnn.model.calibration import Calibration, estimate_priors, fit_calibration, parse_priors
from lcrnn.model.inference import ScaledSequences, SequenceTensors, predict_logits
from lcrnn.model.network import MixedInputRNN

__all__ = ["AUTO_PRIORS", "calibrate", "estimated_probabilities", "held_priors", "is_auto", "output_description",
           "probability_function", "refuse_auto"]

Probabilities = Callable[[torch.Tensor], torch.Tensor]
AUTO_PRIORS = "auto"  # priors="auto": estimated from the objects classified (lcrnn.model.calibration.estimate_priors)


def is_auto(priors: object) -> bool:
    """Whether ``priors`` asks for the class mix to be estimated from the objects classified."""
    return isinstance(priors, str) and priors.strip().lower() == AUTO_PRIORS


def refuse_auto(priors: object, route: str, how: str = "classifies the catalogue piece by piece") -> None:
    """A route that classifies a catalogue piece by piece (or one object at a time) cannot estimate one class
    mix for all of it."""
    if is_auto(priors):
        raise InvalidConfigError(f"priors 'auto' are estimated from one batch of objects, and {route} {how}: run "
                                 "`lcrnn predict --priors auto` on the whole table (or a fair sample of it) and pass "
                                 "the priors it prints (--priors VS=...,SN=...,AGN=...)")


def _check_priors(calibration: Calibration | None, raw: bool, priors: object) -> None:
    if priors is not None and (raw or calibration is None):
        raise InvalidConfigError("priors re-weight calibrated probabilities: drop --raw (raw=True)" if raw else
                         "this run was saved without a calibration, so priors cannot be set; retrain it with "
                         "this version of lcrnn")


def calibrate(network: MixedInputRNN, validation: ScaledSequences) -> Calibration:
    """The calibration of ``network`` on the (scaled, labelled) validation split."""
    data = SequenceTensors.from_set(validation, torch.device("cpu"))
    network.to("cpu")
    logits = predict_logits(network, data)
    return fit_calibration(logits, data.labels, network.n_classes)


def probability_function(calibration: Calibration | None, classes: tuple[str, ...], raw: bool = False,
                         priors: str | Mapping[str, float] | None = None) -> Probabilities:
    """Logits (..., K) -> probabilities (..., K) as asked.

    ``raw``: the network's softmax, as trained (a weighted loss tilts it towards the rare classes).
    ``priors``: the class frequencies of the survey classified (``"VS=0.99,SN=0.002,AGN=0.008"``).
    A run saved before runs were calibrated gives its raw softmax.

    Raises
    ------
    ValueError
        ``priors`` with ``raw``, or for a run without calibration; priors that do not name each class.
    """
    _check_priors(calibration, raw, priors)
    refuse_auto(priors, "this route", how="classifies one object at a time")
    if raw or calibration is None:
        return lambda logits: torch.softmax(logits.to(torch.float32), dim=-1)
    bias = calibration.bias(None if priors is None else parse_priors(priors, classes))  # built once, not per call
    return lambda logits: calibration.probabilities(logits, bias=bias)


def output_description(calibration: Calibration | None, classes: tuple[str, ...], raw: bool = False,
                       priors: str | Mapping[str, float] | None = None) -> str:
    """What the probabilities are, in words a store records and an output file carries."""
    _check_priors(calibration, raw, priors)
    if raw or calibration is None:
        return "raw softmax" if raw else "raw softmax (run saved without calibration)"
    if priors is None:
        return "calibrated"
    if is_auto(priors):
        return "calibrated, priors estimated from the objects classified"
    values = parse_priors(priors, classes)
    return "calibrated, priors " + ",".join(f"{c}={p:.6g}" for c, p in zip(classes, values))


def estimated_probabilities(calibration: Calibration, logits: torch.Tensor,
                            classes: tuple[str, ...]) -> tuple[torch.Tensor, dict[str, float]]:
    """Calibrated probabilities at the class mix the batch's own ``logits`` imply, and that mix by class."""
    priors = estimate_priors(calibration, logits)
    return calibration.probabilities(logits, priors), dict(zip(classes, priors, strict=True))


@contextmanager
def held_priors(predictor: Any, seqs: Any) -> Iterator[None]:
    """``priors="auto"``: estimated once, from the whole light curves ``seqs``, and held for every call inside,
    so probabilities after k and k + 1 observations share their priors. ``predictor`` is a Classifier (has
    ``priors``, ``raw``, ``estimated_priors_`` and ``predict_proba_sequences``); otherwise this does nothing."""
    asked = getattr(predictor, "priors", None)
    if not is_auto(asked) or getattr(predictor, "raw", False) or len(seqs) == 0:
        yield
        return
    predictor.predict_proba_sequences(seqs)
    estimated = predictor.estimated_priors_
    predictor.priors = estimated
    try:
        yield
    finally:
        predictor.priors, predictor.estimated_priors_ = asked, estimated
