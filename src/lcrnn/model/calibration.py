"""Probabilities an observer can act on: the network's logits calibrated, then set to a survey's class priors.

The weighted losses (weighted cross-entropy, weighted focal loss) buy recall of the rare classes by training as
if the classes were about equally common, and the focal loss also flattens confidence; the raw softmax therefore
calls far too many variable stars SN or AGN and is under- or over-confident. A :class:`Calibration` undoes both
with ``K + 1`` numbers fit on the validation split (whose class frequencies are the survey's):

    calibrated logits = logits / temperature + offsets            (temperature and vector offsets, by NLL)
    with other priors = calibrated logits + log(priors / fit priors)   (Bayes' rule for a new prior)

so the probabilities are those of the validation survey, and with ``priors`` those of a survey whose classes
occur at other rates (e.g. an alert stream with 99 % variable stars). When those rates are unknown,
:func:`estimate_priors` finds them from the unlabelled objects themselves (the maximum-likelihood class mix of
Saerens, Latinne & Decaestecker 2002, Neural Computation 14, 21). Pure torch, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch

from lcrnn.errors import InvalidConfigError

__all__ = ["Calibration", "estimate_priors", "fit_calibration", "parse_priors"]


@dataclass(frozen=True)
class Calibration:
    """Temperature, per-class offsets and the class frequencies they were fit at (see the module docstring)."""

    temperature: float = 1.0          # > 1 softens over-confident logits
    offsets: tuple[float, ...] = ()   # added to logits / temperature; () for none
    priors: tuple[float, ...] = ()    # class frequencies of the split the calibration was fit on
    n_fit: int = 0                    # objects it was fit on

    def __post_init__(self) -> None:
        if isinstance(self.temperature, bool) or not (math.isfinite(self.temperature) and self.temperature > 0):
            raise ValueError(f"calibration temperature must be a positive finite number, not {self.temperature!r}")
        for name in ("offsets", "priors"):
            values = getattr(self, name)
            if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in values):
                raise ValueError(f"calibration {name} must be finite numbers, not {list(values)!r}")
        if self.priors and (min(self.priors) <= 0 or abs(sum(self.priors) - 1) > 1e-6):
            raise ValueError(f"calibration priors must be positive and sum to 1, not {list(self.priors)!r}")
        if self.offsets and self.priors and len(self.offsets) != len(self.priors):
            raise ValueError("calibration offsets and priors must have one value per class")

    def bias(self, priors: Sequence[float] | None = None) -> torch.Tensor:
        """What :meth:`logits` adds after dividing by the temperature: the offsets, and with ``priors`` the
        log ratio of those priors to the fit's, as one (K,) tensor (build it once for many calls)."""
        n = len(self.offsets) or len(self.priors) or (len(priors) if priors is not None else 0)
        bias = torch.zeros(n, dtype=torch.float32) if n else torch.zeros((), dtype=torch.float32)
        if self.offsets:
            bias += torch.tensor(self.offsets, dtype=torch.float32)
        if priors is not None:
            if not self.priors:
                raise ValueError("this calibration records no class frequencies, so other priors cannot be set")
            bias += torch.tensor([math.log(p / q) for p, q in zip(priors, self.priors)], dtype=torch.float32)
        return bias

    def logits(self, logits: torch.Tensor, priors: Sequence[float] | None = None,
               bias: torch.Tensor | None = None) -> torch.Tensor:
        """Calibrated logits (..., K); with ``priors`` (one per class, summing to 1) moved to those priors.
        ``bias``: :meth:`bias` of these priors, built before (the served step calls this per observation)."""
        bias = self.bias(priors) if bias is None else bias
        return logits.to(torch.float32) / self.temperature + bias.to(logits.device)

    def probabilities(self, logits: torch.Tensor, priors: Sequence[float] | None = None,
                      bias: torch.Tensor | None = None) -> torch.Tensor:
        """Calibrated class probabilities (..., K)."""
        return torch.softmax(self.logits(logits, priors, bias), dim=-1)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "offsets": list(self.offsets), "priors": list(self.priors)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Calibration:
        known = {"temperature", "offsets", "priors", "n_fit"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown calibration field(s) {unknown}; expected {sorted(known)}")
        return cls(temperature=float(data.get("temperature", 1.0)),
                   offsets=tuple(float(v) for v in data.get("offsets", ())),
                   priors=tuple(float(v) for v in data.get("priors", ())), n_fit=int(data.get("n_fit", 0)))


def fit_calibration(logits: torch.Tensor, labels: torch.Tensor, n_classes: int, l2: float = 1e-3) -> Calibration:
    """Temperature and offsets minimising the negative log-likelihood of ``labels`` (validation split).

    ``l2`` keeps the offsets of a class with few validation objects near zero. Offsets are centred (the
    softmax ignores a common shift). Every class must occur in ``labels``.
    """
    logits = logits.detach().to(torch.float32).cpu()
    labels = labels.detach().to(torch.int64).cpu()
    counts = torch.bincount(labels, minlength=n_classes).to(torch.float64)
    if len(labels) == 0 or (counts == 0).any():
        raise ValueError(f"calibration needs every class among the objects it is fit on; counts {counts.tolist()}")
    log_t = torch.zeros(1, requires_grad=True)
    offsets = torch.zeros(n_classes, requires_grad=True)
    optimiser = torch.optim.LBFGS([log_t, offsets], lr=0.5, max_iter=200, line_search_fn="strong_wolfe")

    def loss() -> torch.Tensor:
        optimiser.zero_grad()
        value = torch.nn.functional.cross_entropy(logits / log_t.exp() + offsets, labels)
        value = value + l2 * (offsets - offsets.mean()).pow(2).sum()
        value.backward()
        return value

    optimiser.step(loss)
    centred = (offsets - offsets.mean()).detach()
    priors = (counts / counts.sum()).tolist()
    return Calibration(temperature=float(log_t.detach().exp()), offsets=tuple(float(v) for v in centred),
                       priors=tuple(priors), n_fit=int(len(labels)))


def parse_priors(text: str | Mapping[str, float], classes: Sequence[str], what: str = "priors") -> tuple[float, ...]:
    """Class priors from ``"VS=0.99,SN=0.002,AGN=0.008"`` (or a mapping), in ``classes`` order, normalised.
    ``what`` names the option in the errors (the simulator's class fractions are parsed here too).

    Raises
    ------
    ValueError
        Naming a class that is missing or unknown, or a value that is not a positive number.
    """
    if isinstance(text, str):
        pairs: dict[str, str] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            name, sep, value = part.partition("=")
            if not sep:
                raise InvalidConfigError(f"{what}: {part!r} is not CLASS=VALUE; write e.g. "
                                 f"{','.join(f'{c}=0.1' for c in classes)}")
            pairs[name.strip()] = value.strip()
    else:
        pairs = {str(k): v for k, v in text.items()}
    unknown, missing = sorted(set(pairs) - set(classes)), [c for c in classes if c not in pairs]
    if unknown or missing:
        raise InvalidConfigError(f"{what} must give each of the classes {list(classes)} once: "
                         f"{'unknown ' + str(unknown) if unknown else ''}{' ' if unknown and missing else ''}"
                         f"{'missing ' + str(missing) if missing else ''}")
    try:
        values = [float(pairs[c]) for c in classes]
    except ValueError as error:
        raise InvalidConfigError(f"{what}: {error}; each value must be a positive number") from None
    if not all(math.isfinite(v) and v > 0 for v in values):
        raise InvalidConfigError(f"{what} must be positive finite numbers, not {values}")
    total = sum(values)
    return tuple(v / total for v in values)


def estimate_priors(calibration: Calibration, logits: torch.Tensor, pseudo_count: float = 1.0) -> tuple[float, ...]:
    """The class mix of the unlabelled objects whose ``logits`` (n, K) these are: its maximum a posteriori.

    A model trained on one survey and applied to another sees the same kinds of sources in other proportions
    (a transient survey's alerts are mostly supernovae, GOTO's catalogue mostly variable stars). The mix ``q``
    maximises ``sum_n log sum_k p_nk q_k / pi_k + sum_k a_k log q_k``, with ``p`` the calibrated probabilities
    at the fit priors ``pi`` (Bayes' rule for a new prior; Saerens et al. 2002 reach the same maximum by EM,
    whose steps slow to a crawl when classes overlap). ``a_k = pseudo_count * K * pi_k`` is a Dirichlet prior
    worth ``pseudo_count * K`` objects, centred on the fit priors: a batch of a few objects moves the estimate
    only partway from them, and no class reaches exactly zero. The objective is concave in ``q``, so the
    optimiser's start does not matter.

    Raises
    ------
    ValueError
        A calibration without fit priors, no objects, or logits that are not finite.
    """
    if not calibration.priors:
        raise ValueError("this calibration records no class frequencies, so priors cannot be estimated")
    if logits.ndim != 2 or logits.shape[0] == 0:
        raise ValueError("estimating priors needs the logits of at least one object, shaped (n, classes)")
    if not (math.isfinite(pseudo_count) and pseudo_count >= 0):
        raise ValueError(f"pseudo_count must be a finite number >= 0, not {pseudo_count!r}")
    if not bool(torch.isfinite(logits).all()):
        raise ValueError("estimating priors needs finite logits; the network returned NaN or infinity")
    with torch.inference_mode(False), torch.enable_grad():  # an optimisation, even inside a caller's no-grad
        return _maximum_a_posteriori(calibration, logits.detach().cpu().clone(), pseudo_count)


def _maximum_a_posteriori(calibration: Calibration, logits: torch.Tensor, pseudo_count: float) -> tuple[float, ...]:
    fitted = torch.tensor(calibration.priors, dtype=torch.float64)
    calibrated = torch.log_softmax(calibration.logits(logits).to(torch.float64), dim=-1)
    log_likelihood = calibrated - fitted.log()  # log p(x | class) up to a per-object constant
    n, k = log_likelihood.shape
    prior_counts = pseudo_count * k * fitted
    free = fitted.log().clone().requires_grad_(True)  # softmax(free) = q; starts at the fit priors
    optimiser = torch.optim.LBFGS([free], lr=1.0, max_iter=500, tolerance_grad=1e-12, tolerance_change=1e-15,
                                  line_search_fn="strong_wolfe")

    def negative_log_posterior() -> torch.Tensor:
        optimiser.zero_grad()
        log_q = torch.log_softmax(free, dim=0)
        value = -(torch.logsumexp(log_likelihood + log_q, dim=1).sum() + (prior_counts * log_q).sum()) / n
        value.backward()
        return value

    optimiser.step(negative_log_posterior)
    priors = torch.softmax(free.detach(), dim=0).clamp_min(1e-12)
    return tuple(float(v) for v in priors / priors.sum())
