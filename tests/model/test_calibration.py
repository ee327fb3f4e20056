"""Calibration of the logits (issue 16, item 1): recovered from data whose truth is known, Bayes' rule for priors."""

from __future__ import annotations

import math

import pytest
import torch

from lcrnn.model.calibration import Calibration, estimate_priors, fit_calibration, parse_priors


def test_fit_recovers_a_known_temperature_and_offsets():
    """Labels drawn from softmax(z / 2.5 + b): the fit finds T = 2.5 and b (centred) from 20,000 draws."""
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(20_000, 3, generator=generator) * 4.0
    true_offsets = torch.tensor([0.8, -0.3, -0.5])
    truth = torch.softmax(logits / 2.5 + true_offsets, dim=1)
    labels = torch.multinomial(truth, 1, generator=generator).squeeze(1)
    fitted = fit_calibration(logits, labels, 3, l2=0.0)
    assert fitted.temperature == pytest.approx(2.5, rel=0.05)
    assert list(fitted.offsets) == pytest.approx((true_offsets - true_offsets.mean()).tolist(), abs=0.05)
    assert sum(fitted.priors) == pytest.approx(1.0) and fitted.n_fit == 20_000
    counts = torch.bincount(labels, minlength=3) / len(labels)
    assert list(fitted.priors) == pytest.approx(counts.tolist())


def test_the_fit_never_does_worse_than_the_raw_softmax_on_its_own_data():
    generator = torch.Generator().manual_seed(1)
    logits = torch.randn(3_000, 3, generator=generator) * 6.0  # over-confident
    labels = torch.randint(0, 3, (3_000,), generator=generator)
    fitted = fit_calibration(logits, labels, 3)
    raw = torch.nn.functional.cross_entropy(logits, labels)
    calibrated = torch.nn.functional.nll_loss(torch.log(fitted.probabilities(logits)), labels)
    assert float(calibrated) < float(raw) and fitted.temperature > 3  # labels unrelated to logits: flatten


def test_other_priors_follow_bayes_rule():
    calibration = Calibration(temperature=1.5, offsets=(0.2, 0.0, -0.2), priors=(0.5, 0.3, 0.2))
    logits = torch.tensor([[1.0, 0.5, -2.0], [0.0, 0.0, 3.0]])
    base = calibration.probabilities(logits)
    same = calibration.probabilities(logits, calibration.priors)
    assert torch.allclose(base, same, atol=1e-6)
    new = (0.98, 0.01, 0.01)
    moved = calibration.probabilities(logits, new)
    expected = base * torch.tensor(new) / torch.tensor(calibration.priors)
    assert torch.allclose(moved, expected / expected.sum(dim=1, keepdim=True), atol=1e-6)


def _mixture_logits(priors: tuple[float, ...], n: int, seed: int) -> torch.Tensor:
    """Objects of three classes (unit Gaussians at 0, 2, 4) drawn at ``priors``; logits that are the exact
    posteriors at equal fit priors, so the truth of the class mix is known."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.multinomial(torch.tensor(priors), n, replacement=True, generator=generator)
    x = torch.randn(n, generator=generator) + 2.0 * labels
    return -0.5 * (x[:, None] - torch.tensor([0.0, 2.0, 4.0])) ** 2


@pytest.mark.parametrize("truth", [(0.7, 0.2, 0.1), (0.1, 0.3, 0.6), (0.98, 0.01, 0.01)])
def test_estimated_priors_recover_the_class_mix_of_unlabelled_objects(truth):
    """Saerens et al. (2002): the mix is found from the probabilities alone, whatever the fit priors were."""
    logits = _mixture_logits(truth, 20_000, seed=3)
    equal = Calibration(priors=(1 / 3, 1 / 3, 1 / 3))
    assert estimate_priors(equal, logits, pseudo_count=0.0) == pytest.approx(truth, abs=0.015)
    tilted = Calibration(offsets=tuple(math.log(q * 3) for q in (0.6, 0.3, 0.1)), priors=(0.6, 0.3, 0.1))
    assert estimate_priors(tilted, logits, pseudo_count=0.0) == pytest.approx(truth, abs=0.015)  # same likelihood
    naive = torch.softmax(logits, dim=1).mean(dim=0).tolist()  # the mean probability is biased towards 1/3
    assert max(abs(a - b) for a, b in zip(naive, truth)) > 0.05


def _em(calibration: Calibration, logits: torch.Tensor, pseudo_count: float = 0.0,
        iterations: int = 20_000) -> list[float]:
    """Saerens et al.'s EM, slow but plain (with the Dirichlet prior: q = (sum of posteriors + a) / (n + sum a)),
    as the reference the direct maximisation must agree with."""
    fitted = torch.tensor(calibration.priors, dtype=torch.float64)
    likelihood = calibration.probabilities(logits).to(torch.float64) / fitted
    prior_counts = pseudo_count * len(fitted) * fitted
    q = torch.full((3,), 1 / 3, dtype=torch.float64)
    for _ in range(iterations):
        posterior = likelihood * q
        posterior = posterior / posterior.sum(dim=1, keepdim=True)
        q = (posterior.sum(dim=0) + prior_counts) / (len(logits) + prior_counts.sum())
    return q.tolist()


def test_the_direct_maximum_is_the_em_fixed_point_even_for_overlapping_classes():
    """Classes 0.5 sigma apart: EM needs thousands of steps; the estimate must be where it ends."""
    generator = torch.Generator().manual_seed(5)
    labels = torch.multinomial(torch.tensor([0.5, 0.3, 0.2]), 5_000, replacement=True, generator=generator)
    x = torch.randn(5_000, generator=generator) + 0.5 * labels
    logits = -0.5 * (x[:, None] - torch.tensor([0.0, 0.5, 1.0])) ** 2
    calibration = Calibration(priors=(1 / 3, 1 / 3, 1 / 3))
    assert estimate_priors(calibration, logits, pseudo_count=0.0) == pytest.approx(_em(calibration, logits), abs=2e-3)
    tilted, few = Calibration(priors=(0.6, 0.3, 0.1)), logits[:40]  # the Dirichlet prior matters for 40 objects
    assert estimate_priors(tilted, few, pseudo_count=2.0) == pytest.approx(_em(tilted, few, 2.0), abs=1e-4)
    with torch.inference_mode():  # a caller's inference mode does not stop the optimisation
        assert sum(estimate_priors(calibration, logits[:100])) == pytest.approx(1.0)


def test_a_class_the_batch_lacks_keeps_a_small_prior_and_bad_input_is_refused():
    logits = _mixture_logits((1.0, 1e-9, 1e-9), 2_000, seed=4)
    calibration = Calibration(priors=(1 / 3, 1 / 3, 1 / 3))
    priors = estimate_priors(calibration, logits)
    assert priors[0] > 0.95 and 0 < priors[2] < 0.01 and sum(priors) == pytest.approx(1.0)
    # A single object barely moves the fit priors (the Dirichlet prior is centred on them).
    tilted = Calibration(priors=(0.6, 0.3, 0.1))
    one = estimate_priors(tilted, logits[:1])
    assert sum(abs(a - b) for a, b in zip(one, tilted.priors)) < sum(abs(a - 1 / 3) for a in one)
    with pytest.raises(ValueError, match="records no class frequencies"):
        estimate_priors(Calibration(), logits)
    with pytest.raises(ValueError, match="at least one object"):
        estimate_priors(calibration, logits[:0])
    with pytest.raises(ValueError, match="finite logits"):
        estimate_priors(calibration, torch.full((2, 3), float("nan")))


def test_priors_are_parsed_in_class_order_and_mistakes_name_the_classes():
    assert parse_priors("SN=0.002, VS=0.99,AGN=0.008", ("VS", "SN", "AGN")) == pytest.approx((0.99, 0.002, 0.008))
    assert parse_priors({"VS": 2, "SN": 1, "AGN": 1}, ("VS", "SN", "AGN")) == pytest.approx((0.5, 0.25, 0.25))
    with pytest.raises(ValueError, match=r"missing \['AGN'\]"):
        parse_priors("VS=0.9,SN=0.1", ("VS", "SN", "AGN"))
    with pytest.raises(ValueError, match=r"unknown \['XRB'\]"):
        parse_priors("VS=0.9,SN=0.05,AGN=0.04,XRB=0.01", ("VS", "SN", "AGN"))
    with pytest.raises(ValueError, match="CLASS=VALUE"):
        parse_priors("VS:0.9", ("VS", "SN", "AGN"))
    with pytest.raises(ValueError, match="positive"):
        parse_priors("VS=1,SN=0,AGN=1", ("VS", "SN", "AGN"))


@pytest.mark.parametrize("data", [{"temperature": 0.0}, {"temperature": math.nan}, {"offsets": [1.0, math.inf]},
                                  {"priors": [0.5, 0.6]}, {"temprature": 1.0}])
def test_a_bad_recorded_calibration_is_refused(data):
    with pytest.raises(ValueError):
        Calibration.from_dict(data)
