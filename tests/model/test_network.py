"""The mixed-input network: it learns, padding is invisible, the step API matches forward, errors are clear."""

from __future__ import annotations

import copy
import json

import pytest
import torch

from lcrnn.model import (
    InvalidConfigError,
    InvalidModelInputError,
    MixedInputRNN,
    ModelModeError,
    NetworkConfig,
    forward_padded,
)

SMALL = {"hidden": 16, "dense": 12}


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors: one thread avoids OpenMP barrier stalls when the CPU is shared, and is no slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def make_batch(batch: int = 8, steps: int = 30, seed: int = 0, garbage: bool = False):
    """Random light curves; padded steps hold zeros, or large garbage when ``garbage``."""
    gen = torch.Generator().manual_seed(seed)
    values = torch.randn(batch, steps, 3, generator=gen)
    lengths = torch.randint(1, steps + 1, (batch,), generator=gen)
    lengths[0] = steps  # one full light curve
    lengths[-1] = 1 if batch > 1 else steps  # one single observation
    pad = torch.arange(steps)[None, :] >= lengths[:, None]  # (batch, steps)
    values[pad] = 1e3 * torch.randn(int(pad.sum()), 3, generator=gen) if garbage else 0.0
    context = torch.randn(batch, 3, generator=gen)
    return values, lengths, context


def randomise_batchnorm(model: MixedInputRNN, seed: int = 1) -> None:
    """Give BN non-trivial running statistics and affine weights so eval-mode checks mean something."""
    gen = torch.Generator().manual_seed(seed)
    for bn in (model.bn1, model.bn2, model.bn3):
        n = bn.num_features
        bn.running_mean.copy_(torch.randn(n, generator=gen) * 0.3)
        bn.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
        with torch.no_grad():
            bn.weight.copy_(torch.rand(n, generator=gen) + 0.5)
            bn.bias.copy_(torch.randn(n, generator=gen) * 0.2)


# --- configuration ----------------------------------------------------------------------------------


def test_config_defaults_follow_the_paper():
    cfg = NetworkConfig()
    assert (cfg.rnn, cfg.hidden, cfg.dense, cfg.dropout, cfg.l2) == ("gru", 150, 200, 0.4, 0.01)
    assert cfg.use_context and cfg.activation == "sigmoid"


def test_config_round_trips_through_json():
    cfg = NetworkConfig(rnn="lstm", hidden=100, dense=100, activation="elu", use_context=False)
    assert NetworkConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg


@pytest.mark.parametrize(
    "bad, field",
    [
        ({"rnn": "transformer"}, "rnn"),
        ({"hidden": 0}, "hidden"),
        ({"dense": 2.5}, "dense"),
        ({"dropout": 1.0}, "dropout"),
        ({"activation": "softplus"}, "activation"),
        ({"l2": -0.1}, "l2"),
        ({"hiden": 150}, "hiden"),
    ],
)
def test_config_errors_name_the_bad_field(bad, field):
    with pytest.raises(InvalidConfigError, match=field):
        NetworkConfig.from_dict(bad)


# --- learning ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("rnn", ["gru", "lstm"])
def test_network_overfits_a_tiny_separable_set(rnn):
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(3)
    n, steps = 64, 30
    labels = torch.arange(n) % 3
    lengths = torch.randint(1, steps + 1, (n,), generator=gen)
    values = torch.randn(n, steps, 3, generator=gen) * 0.3
    values[:, :, 1] += (labels[:, None] - 1.0) * 1.5  # class sets the magnitude level
    values[torch.arange(steps)[None, :] >= lengths[:, None]] = 0.0
    context = torch.randn(n, 3, generator=gen)
    model = MixedInputRNN(NetworkConfig(rnn=rnn, hidden=16, dense=16), n_classes=3)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    losses = []
    for _ in range(40):
        optimiser.zero_grad()
        logits = model(values, lengths, context)  # dropout on
        loss = torch.nn.functional.cross_entropy(logits, labels) + model.l2_penalty()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert sum(losses[-5:]) / 5 < 0.5 * losses[0]  # ln 3 ~ 1.1 at the start; dropout keeps it noisy
    # Keras-like BN momentum (0.01) lets running statistics lag a fast-moving toy model; re-estimate
    # them on the full set (dropout off) so eval mode is judged on the learned weights alone.
    for bn in (model.bn1, model.bn2, model.bn3):
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average
    with torch.no_grad():
        for module in (model.drop1, model.drop2, model.drop3):
            module.eval()
        model(values, lengths, context)
    model.eval()
    with torch.no_grad():
        accuracy = (model(values, lengths, context).argmax(1) == labels).float().mean().item()
    assert accuracy >= 0.98


# --- masking ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("rnn", ["gru", "lstm"])
def test_padding_never_changes_the_output(rnn):
    model = MixedInputRNN(NetworkConfig(rnn=rnn, **SMALL)).eval()
    randomise_batchnorm(model)
    values, lengths, context = make_batch()
    garbage, _, _ = make_batch(garbage=True)
    longer = torch.cat([garbage, 7e2 * torch.ones(8, 9, 3)], dim=1)  # 9 more padded steps of junk
    with torch.no_grad():
        ref = model(values, lengths, context)
        assert torch.allclose(ref, model(garbage, lengths, context), atol=1e-6)
        assert torch.allclose(ref, model(longer, lengths, context), atol=1e-6)
        for key, emb in model.embed(longer, lengths, context).items():
            assert torch.allclose(emb, model.embed(values, lengths, context)[key], atol=1e-6)


@pytest.mark.parametrize("rnn", ["gru", "lstm"])
def test_padding_never_changes_training(rnn):
    """Train mode: logits, BN batch statistics, gradients and the updated weights ignore padded steps."""
    base = MixedInputRNN(NetworkConfig(rnn=rnn, **SMALL))
    values, lengths, context = make_batch(batch=16)
    garbage, _, _ = make_batch(batch=16, garbage=True)
    longer = torch.cat([garbage, -5e2 * torch.ones(16, 4, 3)], dim=1)
    targets = torch.arange(16) % 3
    results = []
    for inputs in (values, longer):
        model = copy.deepcopy(base).train()
        optimiser = torch.optim.SGD(model.parameters(), lr=0.1)
        torch.manual_seed(42)  # same dropout masks: they are drawn over the real steps only
        logits = model(inputs, lengths, context)
        torch.nn.functional.cross_entropy(logits, targets).backward()
        optimiser.step()
        results.append((logits.detach(), model))
    (logits_a, a), (logits_b, b) = results
    assert torch.allclose(logits_a, logits_b, atol=1e-5)
    for bn in ("bn1", "bn2", "bn3"):
        assert torch.allclose(getattr(a, bn).running_mean, getattr(b, bn).running_mean, atol=1e-6)
        assert torch.allclose(getattr(a, bn).running_var, getattr(b, bn).running_var, atol=1e-6)
    for (name, pa), pb in zip(a.named_parameters(), b.parameters()):
        assert torch.allclose(pa, pb, atol=1e-5), name
    # and the running mean really moved, so the comparison above is not between two untouched buffers
    assert not torch.allclose(a.bn1.running_mean, torch.zeros_like(a.bn1.running_mean))


@pytest.mark.parametrize("rnn", ["gru", "lstm"])
def test_one_and_two_hundred_observations(rnn):
    model = MixedInputRNN(NetworkConfig(rnn=rnn, **SMALL))
    gen = torch.Generator().manual_seed(5)
    values = torch.randn(2, 200, 3, generator=gen)
    lengths = torch.tensor([1, 200])
    values[0, 1:] = 0.0
    context = torch.randn(2, 3, generator=gen)
    model.train()
    model(values, lengths, context).sum().backward()  # trains on both
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())
    model.eval()
    with torch.no_grad():
        both = model(values, lengths, context)
        alone = model(values[:1, :1], lengths[:1], context[:1])  # the single point, unpadded
    assert torch.isfinite(both).all()
    assert torch.allclose(both[0], alone[0], atol=1e-6)


# --- variants and views -----------------------------------------------------------------------------


def test_no_context_variant():
    model = MixedInputRNN(NetworkConfig(use_context=False, **SMALL)).eval()
    assert model.dense1.in_features == 16
    values, lengths, context = make_batch()
    with torch.no_grad():
        logits = model(values, lengths)
    assert logits.shape == (8, 3)
    with pytest.raises(InvalidModelInputError, match="context=None"):
        model(values, lengths, context)


def test_context_changes_the_mixed_network_output():
    model = MixedInputRNN(NetworkConfig(**SMALL)).eval()
    values, lengths, context = make_batch()
    with torch.no_grad():
        assert not torch.allclose(model(values, lengths, context), model(values, lengths, context + 1.0))


def test_embed_and_predict_proba_are_consistent_with_forward():
    model = MixedInputRNN(NetworkConfig(**SMALL), n_classes=4).eval()
    values, lengths, context = make_batch()
    with torch.no_grad():
        emb = model.embed(values, lengths, context)
        logits = model(values, lengths, context)
        proba = model.predict_proba(values, lengths, context)
    assert emb["rnn"].shape == (8, 16) and emb["dense"].shape == (8, 12)
    assert torch.allclose(model.out(emb["dense"]), logits, atol=1e-6)
    assert torch.allclose(proba.sum(1), torch.ones(8)) and torch.allclose(proba, logits.softmax(1))


def test_l2_penalty_is_lambda_times_sum_of_squares():
    model = MixedInputRNN(NetworkConfig(**SMALL))
    with torch.no_grad():
        model.dense2.weight.fill_(0.5)
    assert model.l2_penalty().item() == pytest.approx(0.01 * 12 * 12 * 0.25)
    model.l2_penalty().backward()
    assert torch.allclose(model.dense2.weight.grad, torch.full((12, 12), 0.01))  # d/dw of lambda w^2


@pytest.mark.parametrize("rnn", ["gru", "lstm"])
def test_naive_padded_baseline_matches_packed_in_eval(rnn):
    model = MixedInputRNN(NetworkConfig(rnn=rnn, **SMALL)).eval()
    randomise_batchnorm(model)
    values, lengths, context = make_batch(garbage=True)
    with torch.no_grad():
        assert torch.allclose(
            model(values, lengths, context), forward_padded(model, values, lengths, context), atol=1e-5
        )


# --- real time --------------------------------------------------------------------------------------


@pytest.mark.parametrize("rnn, use_context", [("gru", True), ("lstm", True), ("gru", False)])
def test_step_by_step_matches_forward(rnn, use_context):
    model = MixedInputRNN(NetworkConfig(rnn=rnn, use_context=use_context, **SMALL)).eval()
    randomise_batchnorm(model)
    values, _, context = make_batch(batch=5)
    context = context if use_context else None
    state = model.initial_state(5)
    assert len(state) == (2 if rnn == "gru" else 4)
    with torch.no_grad():
        for k in range(1, 31):
            logits, state = model.step(values[:, k - 1], state, context)
            full = model(values[:, :k], torch.full((5,), k), context)
            assert torch.allclose(logits, full, atol=1e-5), f"differs after {k} observations"


def test_step_needs_eval_mode_and_a_matching_state():
    model = MixedInputRNN(NetworkConfig(**SMALL))
    values, _, context = make_batch(batch=4)
    with pytest.raises(ModelModeError, match="eval"):
        model.step(values[:, 0], model.initial_state(4), context)
    model.eval()
    with pytest.raises(InvalidModelInputError, match="initial_state"):
        model.step(values[:, 0], model.initial_state(3), context)


# --- errors -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda v, L, c: (v, torch.where(torch.arange(8) == 2, 0, L), c), r"outside \[1, 30\].*row 2 has 0"),
        (lambda v, L, c: (v, L + 31, c), r"outside \[1, 30\]"),
        (lambda v, L, c: (v, L.float(), c), "int64"),
        (lambda v, L, c: (v, L[:5], c), r"shape \(8,\)"),
        (lambda v, L, c: (v[..., :2], L, c), r"\(batch, steps, 3\)"),
        (lambda v, L, c: (v[0], L, c), r"\(batch, steps, 3\)"),
        (lambda v, L, c: (v, L, None), "use_context=False"),
        (lambda v, L, c: (v, L, c[:, :2]), r"context must have shape \(8, 3\)"),
    ],
)
def test_bad_inputs_get_clear_errors(change, message):
    model = MixedInputRNN(NetworkConfig(**SMALL))
    with pytest.raises(InvalidModelInputError, match=message):
        model(*change(*make_batch()))


def test_training_on_a_single_light_curve_says_why_it_cannot():
    model = MixedInputRNN(NetworkConfig(**SMALL)).train()
    values, lengths, context = make_batch(batch=1)
    with pytest.raises(InvalidModelInputError, match="at least 2 light curves"):
        model(values, lengths, context)
    with torch.no_grad():
        assert model.eval()(values, lengths, context).shape == (1, 3)


def test_bad_constructor_arguments():
    with pytest.raises(InvalidConfigError, match="n_classes"):
        MixedInputRNN(NetworkConfig(), n_classes=1)
    with pytest.raises(InvalidConfigError, match="NetworkConfig"):
        MixedInputRNN({"rnn": "gru"})
