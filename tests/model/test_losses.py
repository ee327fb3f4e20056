"""The paper's losses (section 3.3) against values worked out by hand."""

from __future__ import annotations

import math

import pytest
import torch

from lcrnn.model import InvalidConfigError, class_weights, make_loss

# Logits whose softmax is exactly (1/2, 1/4, 1/4) and (1/4, 1/2, 1/4).
LOGITS = torch.log(torch.tensor([[0.5, 0.25, 0.25], [0.25, 0.5, 0.25], [0.25, 0.25, 0.5]]))
TARGETS = torch.tensor([0, 2, 1])  # p_y = 1/2, 1/4, 1/4
COUNTS = [6, 3, 1]  # N = 10, n = 3


def test_class_weights_follow_eq5():
    # alpha_j = N / (n N_j) = 10 / (3 * N_j)
    expected = torch.tensor([10 / 18, 10 / 9, 10 / 3])
    assert torch.allclose(class_weights(COUNTS), expected)
    assert class_weights(COUNTS).dtype == torch.float32


def test_balanced_classes_get_unit_weights():
    assert torch.allclose(class_weights([50, 50, 50, 50]), torch.ones(4))


@pytest.mark.parametrize("counts", [[5, 0, 3], [5, -1, 3], [7]])
def test_class_weights_reject_empty_or_missing_classes(counts):
    with pytest.raises(InvalidConfigError, match="class_counts"):
        class_weights(counts)


def test_cross_entropy_by_hand():
    loss = make_loss("ce")(LOGITS, TARGETS)
    expected = (math.log(2) + math.log(4) + math.log(4)) / 3  # mean over the batch
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_weighted_cross_entropy_is_mean_of_weighted_examples():
    loss = make_loss("wce", COUNTS)(LOGITS, TARGETS)
    a0, a1, a2 = 10 / 18, 10 / 9, 10 / 3
    # not renormalised by the sum of weights, unlike torch's weighted "mean" reduction
    expected = (a0 * math.log(2) + a2 * math.log(4) + a1 * math.log(4)) / 3
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_focal_loss_by_hand():
    loss = make_loss("focal", COUNTS, gamma=2.0)(LOGITS, TARGETS)
    a0, a1, a2 = 10 / 18, 10 / 9, 10 / 3
    expected = (
        a0 * 0.5**2 * math.log(2)  # p_y = 1/2: modulating factor (1 - 1/2)^2
        + a2 * 0.75**2 * math.log(4)  # p_y = 1/4
        + a1 * 0.75**2 * math.log(4)
    ) / 3
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_focal_gamma1_by_hand():
    loss = make_loss("focal", [1, 1, 1], gamma=1.0)(LOGITS, TARGETS)
    expected = (0.5 * math.log(2) + 0.75 * math.log(4) + 0.75 * math.log(4)) / 3
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_focal_with_gamma_zero_is_weighted_cross_entropy():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(64, 3, generator=gen) * 3
    targets = torch.randint(0, 3, (64,), generator=gen)
    focal = make_loss("focal", COUNTS, gamma=0.0)(logits, targets)
    wce = make_loss("wce", COUNTS)(logits, targets)
    assert torch.allclose(focal, wce, rtol=0, atol=1e-7)


def test_focal_downweights_easy_examples():
    easy = torch.tensor([[8.0, 0.0, 0.0]])
    hard = torch.tensor([[0.0, 0.0, 0.0]])
    target = torch.tensor([0])
    ce, fl = make_loss("wce", [1, 1, 1]), make_loss("focal", [1, 1, 1], gamma=2.0)
    # the focal/CE ratio is (1 - p)^2: tiny for the easy example, (2/3)^2 for the hard one
    assert (fl(easy, target) / ce(easy, target)).item() < 1e-6
    assert (fl(hard, target) / ce(hard, target)).item() == pytest.approx(4 / 9, rel=1e-5)


@pytest.mark.parametrize("kind", ["ce", "wce", "focal"])
def test_losses_are_stable_for_extreme_logits(kind):
    logits = torch.tensor([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0]], requires_grad=True)
    targets = torch.tensor([1, 1])  # first example is confidently wrong
    loss = make_loss(kind, COUNTS)(logits, targets)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(logits.grad).all()
    assert loss.item() > 1e3  # a confidently wrong example costs ~2e4 nats, not inf or nan


def test_make_loss_errors_name_the_fix():
    with pytest.raises(InvalidConfigError, match="use one of"):
        make_loss("hinge", COUNTS)
    with pytest.raises(InvalidConfigError, match="class_counts"):
        make_loss("focal")
    with pytest.raises(InvalidConfigError, match="gamma"):
        make_loss("focal", COUNTS, gamma=-1.0)
