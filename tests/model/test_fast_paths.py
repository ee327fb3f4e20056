"""Fast paths give the naive paths' numbers: fused layers vs nn.GRU/nn.LSTM, folded step vs forward, streaming."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from lcrnn.model import MixedInputRNN, NetworkConfig, forward_padded
from lcrnn.model.flat_step import NATIVE_MAX_BATCH, FlatStep, native_library
from lcrnn.model import fused
from lcrnn.model.fused import gru_packed, lstm_packed

SMALL = {"hidden": 16, "dense": 12}


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def random_batch(batch: int, steps: int, seed: int):
    """Random values with random lengths in [1, steps]; padding holds garbage so leaks would show."""
    gen = torch.Generator().manual_seed(seed)
    values = torch.randn(batch, steps, 3, generator=gen)
    lengths = torch.randint(1, steps + 1, (batch,), generator=gen)
    lengths[0] = steps
    values[torch.arange(steps)[None, :] >= lengths[:, None]] = 1e3
    return values, lengths, torch.randn(batch, 3, generator=gen)


def randomise_batchnorm(model: MixedInputRNN, seed: int = 1) -> None:
    gen = torch.Generator().manual_seed(seed)
    for bn in (model.bn1, model.bn2, model.bn3):
        n = bn.num_features
        bn.running_mean.copy_(torch.randn(n, generator=gen) * 0.3)
        bn.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
        with torch.no_grad():
            bn.weight.copy_(torch.rand(n, generator=gen) + 0.5)
            bn.bias.copy_(torch.randn(n, generator=gen) * 0.2)


@pytest.mark.parametrize("kind", ["gru", "lstm"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fused_layer_matches_torch_rnn_outputs_and_gradients(kind, seed):
    torch.manual_seed(seed)
    rnn = (nn.GRU if kind == "gru" else nn.LSTM)(3, 11, batch_first=True)
    with torch.no_grad():
        for p in rnn.parameters():
            p.normal_(0, 0.5)  # non-zero biases so every bias gradient is exercised
    values, lengths, _ = random_batch(13, 9, seed)
    values.requires_grad_(True)
    weight = torch.randn(int(lengths.sum()), 11)
    params = list(rnn.parameters())

    ref, _ = rnn(pack_padded_sequence(values, lengths, batch_first=True, enforce_sorted=False))
    ref_grads = torch.autograd.grad((ref.data * weight).sum(), [values, *params])
    packed = pack_padded_sequence(values, lengths, batch_first=True, enforce_sorted=False)
    fused = (gru_packed if kind == "gru" else lstm_packed)(packed.data, packed.batch_sizes, *params)
    grads = torch.autograd.grad((fused * weight).sum(), [values, *params])

    torch.testing.assert_close(fused, ref.data, atol=1e-5, rtol=1e-5)
    for got, want in zip(grads, ref_grads):
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("kind", ["gru", "lstm"])
def test_fused_layer_passes_gradcheck_in_double(kind):
    torch.manual_seed(0)
    rnn = (nn.GRU if kind == "gru" else nn.LSTM)(3, 4).double()
    values, lengths, _ = random_batch(5, 4, 3)
    packed = pack_padded_sequence(values.double(), lengths, batch_first=True, enforce_sorted=False)
    layer = gru_packed if kind == "gru" else lstm_packed
    inputs = [packed.data.requires_grad_()] + [p.detach().clone().requires_grad_() for p in rnn.parameters()]
    assert torch.autograd.gradcheck(lambda x, *w: layer(x, packed.batch_sizes, *w), inputs)


@pytest.mark.parametrize("kind", ["gru", "lstm"])
@pytest.mark.parametrize("use_context", [True, False])
def test_training_step_same_loss_and_gradients_fused_or_not(kind, use_context):
    """Same seed -> same dropout draws on the same packed rows -> same logits and parameter gradients."""
    values, lengths, context = random_batch(24, 30, seed=5)
    context = context if use_context else None
    results = []
    for fused in (True, False):
        torch.manual_seed(0)
        model = MixedInputRNN(NetworkConfig(rnn=kind, use_context=use_context, **SMALL)).train()
        model.fused = fused
        torch.manual_seed(123)
        logits = model(values, lengths, context)
        loss = torch.nn.functional.cross_entropy(logits, torch.arange(24) % 3) + model.l2_penalty()
        loss.backward()
        results.append((logits.detach(), {n: p.grad.clone() for n, p in model.named_parameters()},
                        model.bn1.running_mean.clone(), model.bn2.running_var.clone()))
    (l1, g1, m1, v1), (l2, g2, m2, v2) = results
    torch.testing.assert_close(l1, l2, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(m1, m2, atol=1e-6, rtol=1e-5)  # BN statistics over real steps only, both ways
    torch.testing.assert_close(v1, v2, atol=1e-6, rtol=1e-5)
    for name in g1:
        torch.testing.assert_close(g1[name], g2[name], atol=1e-5, rtol=1e-4, msg=name)


@pytest.mark.parametrize("kind", ["gru", "lstm"])
def test_eval_fused_equals_naive_padded_run(kind):
    torch.manual_seed(0)
    model = MixedInputRNN(NetworkConfig(rnn=kind, **SMALL)).eval()
    randomise_batchnorm(model)
    values, lengths, context = random_batch(40, 30, seed=7)
    values[torch.arange(30)[None, :] >= lengths[:, None]] = 0.0  # the padded baseline reads the padding
    with torch.inference_mode():
        fast = model(values, lengths, context)
        naive = forward_padded(model, values, lengths, context)
    torch.testing.assert_close(fast, naive, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("kind", ["gru", "lstm"])
def test_folded_step_replays_forward_at_every_length(kind):
    torch.manual_seed(0)
    model = MixedInputRNN(NetworkConfig(rnn=kind, **SMALL)).eval()
    randomise_batchnorm(model)
    values, _, context = random_batch(6, 8, seed=9)
    state = model.initial_state(6)
    with torch.inference_mode():
        for k in range(1, 9):
            logits, state = model.step(values[:, k - 1], state, context)
            want = model(values[:, :k], torch.full((6,), k), context)
            torch.testing.assert_close(logits, want, atol=1e-5, rtol=1e-5)


def test_folded_step_sees_weight_changes():
    """The BN-folded weights are cached; changing a weight or a running statistic must invalidate them."""
    torch.manual_seed(0)
    model = MixedInputRNN(NetworkConfig(**SMALL)).eval()
    x, context = torch.randn(2, 3), torch.randn(2, 3)
    with torch.inference_mode():
        before, _ = model.step(x, model.initial_state(2), context)
    randomise_batchnorm(model, seed=4)
    with torch.no_grad():
        model.dense2.weight.mul_(2.0)
    with torch.inference_mode():
        after, _ = model.step(x, model.initial_state(2), context)
        want = model(x[:, None], torch.ones(2, dtype=torch.int64), context)
    assert not torch.allclose(before, after, atol=1e-4)
    torch.testing.assert_close(after, want, atol=1e-5, rtol=1e-5)


def test_folded_step_follows_load_state_dict_assign():
    torch.manual_seed(0)
    model = MixedInputRNN(NetworkConfig(**SMALL)).eval()
    other = MixedInputRNN(NetworkConfig(**SMALL)).eval()
    randomise_batchnorm(other, seed=6)
    x, context = torch.randn(2, 3), torch.randn(2, 3)
    with torch.inference_mode():
        model.step(x, model.initial_state(2), context)  # fills the cache with the old weights
    model.load_state_dict(other.state_dict(), assign=True)  # new tensor objects, fresh version counters
    with torch.inference_mode():
        got, _ = model.step(x, model.initial_state(2), context)
        want, _ = other.step(x, other.initial_state(2), context)
    torch.testing.assert_close(got, want, atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("kind", ["gru", "lstm"])
def test_native_eval_gates_equal_torch_gates_even_saturated(kind, monkeypatch):
    """The eval loop's C gate kernel (fast exp/tanh) against torch's element-wise calls, saturated units too."""
    if native_library() is None:
        pytest.skip("no C compiler here: the eval loop runs the torch element-wise calls")
    torch.manual_seed(0)
    layer = (nn.GRU if kind == "gru" else nn.LSTM)(3, 16)
    fn = gru_packed if kind == "gru" else lstm_packed
    values, lengths, _ = random_batch(9, 7, seed=3)
    packed = pack_padded_sequence(values * 20, lengths, batch_first=True, enforce_sorted=False)
    weights = (layer.weight_ih_l0, layer.weight_hh_l0, layer.bias_ih_l0, layer.bias_hh_l0)
    with torch.no_grad():
        native = fn(packed.data, packed.batch_sizes, *weights)
        monkeypatch.setattr(fused, "_eval_kernels", lambda x, keep: None)
        reference = fn(packed.data, packed.batch_sizes, *weights)
    assert reference.abs().max() > 0.95  # saturated units are in there
    torch.testing.assert_close(native, reference, atol=2e-6, rtol=1e-5)


# --- the served step on flat state rows (lcrnn.model.flat_step) ------------------------------------------


def flat_inputs(model: MixedInputRNN, n: int, seed: int):
    gen = torch.Generator().manual_seed(seed)
    size = (2 if model.config.rnn == "gru" else 4) * model.config.hidden
    states = torch.randn(n, size, generator=gen) * 0.5
    context = torch.randn(n, 3, generator=gen) if model.config.use_context else None
    return torch.randn(n, 3, generator=gen), states, context


def reference_step(model: MixedInputRNN, x, states, context):
    with torch.inference_mode():
        logits, new = model.step(x, tuple(states.split(model.config.hidden, dim=1)), context)
    return logits, torch.cat(new, dim=1)


def as_np(t):
    return None if t is None else t.numpy()


@pytest.mark.parametrize("kind", ["gru", "lstm"])
@pytest.mark.parametrize("activation, use_context", [("sigmoid", True), ("elu", False), ("relu", True),
                                                     ("tanh", True)])
@pytest.mark.parametrize("n", [1, 5])
def test_native_flat_step_equals_reference_step(kind, activation, use_context, n):
    if native_library() is None:
        pytest.skip("no C compiler here: FlatStep runs the torch step, which the next test checks")
    torch.manual_seed(0)
    model = MixedInputRNN(NetworkConfig(rnn=kind, activation=activation, use_context=use_context)).eval()
    randomise_batchnorm(model)
    step = FlatStep(model)
    assert step.native
    x, states, context = flat_inputs(model, n, seed=n)
    before = states.clone()
    logits, new = step(x.numpy(), states.numpy(), as_np(context))
    want_logits, want_states = reference_step(model, x, states, context)
    torch.testing.assert_close(logits, want_logits, atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(new, want_states.numpy(), atol=1e-5, rtol=1e-5)
    assert torch.equal(states, before)  # the caller's rows are not written


@pytest.mark.parametrize("kind", ["gru", "lstm"])
def test_flat_step_torch_path_and_large_batches_equal_reference(kind):
    torch.manual_seed(0)
    model = MixedInputRNN(NetworkConfig(rnn=kind, **SMALL)).eval()
    randomise_batchnorm(model)
    x, states, context = flat_inputs(model, NATIVE_MAX_BATCH + 3, seed=3)  # over the native batch limit
    want_logits, want_states = reference_step(model, x, states, context)
    for step in (FlatStep(model), FlatStep(model, native=False)):
        logits, new = step(x.numpy(), states.numpy(), context.numpy())
        torch.testing.assert_close(logits, want_logits, atol=1e-6, rtol=1e-6)
        np.testing.assert_allclose(new, want_states.numpy(), atol=1e-6, rtol=1e-6)


def test_flat_step_follows_weight_changes_and_replays_forward():
    torch.manual_seed(0)
    model = MixedInputRNN(NetworkConfig(**SMALL)).eval()
    step = FlatStep(model)
    values, _, context = random_batch(3, 6, seed=2)
    step(values[:, 0].numpy(), np.zeros((3, 2 * SMALL["hidden"]), np.float32), context.numpy())  # old weights
    randomise_batchnorm(model, seed=5)
    with torch.no_grad():
        model.rnn2.weight_hh_l0.mul_(1.5)
    states = np.zeros((3, 2 * SMALL["hidden"]), np.float32)
    for k in range(1, 7):
        logits, states = step(values[:, k - 1].numpy(), states, context.numpy())
        with torch.inference_mode():
            want = model(values[:, :k], torch.full((3,), k), context)
        torch.testing.assert_close(logits, want, atol=1e-5, rtol=1e-5)


def test_native_kernel_off_or_uncompilable_falls_back_to_torch(monkeypatch, tmp_path, caplog):
    torch.manual_seed(0)
    model = MixedInputRNN(NetworkConfig(**SMALL)).eval()
    x, states, context = flat_inputs(model, 2, seed=4)
    want, _ = reference_step(model, x, states, context)
    monkeypatch.delenv("LCRNN_NATIVE", raising=False)
    monkeypatch.setenv("LCRNN_CACHE_DIR", str(tmp_path))  # nothing compiled there yet
    monkeypatch.setenv("CC", "/bin/false")  # a compiler that always fails
    native_library.cache_clear()
    try:
        with caplog.at_level("WARNING"):
            assert native_library() is None
        assert "native step kernel unavailable" in caplog.text
        monkeypatch.delenv("CC")
        monkeypatch.setenv("LCRNN_NATIVE", "0")
        native_library.cache_clear()
        assert native_library() is None
        step = FlatStep(model)
        assert not step.native
        logits, _ = step(x.numpy(), states.numpy(), context.numpy())
        torch.testing.assert_close(logits, want, atol=1e-6, rtol=1e-6)
    finally:
        native_library.cache_clear()


# --- streamed prediction ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fitted(toy_survey_factory):
    from lcrnn.classifier import Classifier

    photometry, objects, galaxies = toy_survey_factory({"VS": 30, "SN": 15, "AGN": 15}, seed=3)
    clf = Classifier(hidden=8, dense=8, epochs=1, batch_size=16, device="cpu", progress=False)
    return clf.fit(photometry, objects, galaxies), photometry, objects, galaxies


@pytest.mark.parametrize("chunk_rows, suffix", [(23, ".parquet"), (50, ".csv"), (100_000, ".parquet")])
def test_streamed_predictions_equal_in_memory(fitted, tmp_path, chunk_rows, suffix):
    from lcrnn.workflows.predict_stream import predict_parquet

    clf, photometry, objects, galaxies = fitted
    photometry = photometry.sort_values(["object_id", "mjd"], ignore_index=True)
    objects = objects.sort_values("object_id", ignore_index=True)
    photometry.to_parquet(tmp_path / "phot.parquet", row_group_size=13)
    objects.to_parquet(tmp_path / "obj.parquet")
    out = tmp_path / f"pred{suffix}"
    n = predict_parquet(clf, tmp_path / "phot.parquet", tmp_path / "obj.parquet", out, galaxies,
                        chunk_rows=chunk_rows)
    streamed = pd.read_parquet(out) if suffix == ".parquet" else pd.read_csv(out)
    whole = clf.predict(photometry, objects, galaxies)
    assert n == len(whole) == len(objects)
    assert streamed["object_id"].astype(str).tolist() == whole["object_id"].astype(str).tolist()
    columns = [c for c in whole.columns if c.startswith("p_")]
    np.testing.assert_allclose(streamed[columns].to_numpy(), whole[columns].to_numpy(), atol=1e-6)
    assert streamed["predicted"].astype(str).tolist() == whole["predicted"].astype(str).tolist()


def test_streaming_rejects_ungrouped_photometry(fitted, tmp_path):
    from lcrnn.errors import InvalidTableError
    from lcrnn.workflows.predict_stream import predict_parquet

    clf, photometry, objects, galaxies = fitted
    photometry.sample(frac=1.0, random_state=0).to_parquet(tmp_path / "phot.parquet")
    objects.to_parquet(tmp_path / "obj.parquet")
    with pytest.raises(InvalidTableError, match="sort the file by object_id"):
        predict_parquet(clf, tmp_path / "phot.parquet", tmp_path / "obj.parquet", tmp_path / "p.csv", galaxies,
                        chunk_rows=10_000)


def test_cli_predict_chunk_rows_matches_whole_table(fitted, tmp_path):
    from typer.testing import CliRunner

    from lcrnn.cli import app
    from lcrnn.data.io import write_survey
    from lcrnn.data.tables import validate_survey

    clf, photometry, objects, galaxies = fitted
    survey, _ = validate_survey(photometry.sort_values(["object_id", "mjd"], ignore_index=True),
                                objects.sort_values("object_id", ignore_index=True), galaxies)
    write_survey(survey, tmp_path / "data")
    clf.save(tmp_path / "model")
    runner = CliRunner()
    common = ["predict", "--model", str(tmp_path / "model"), "--data", str(tmp_path / "data")]
    whole = runner.invoke(app, [*common, "--out", str(tmp_path / "whole.csv")])
    streamed = runner.invoke(app, [*common, "--out", str(tmp_path / "streamed.csv"), "--chunk-rows", "40"])
    assert whole.exit_code == 0, whole.output
    assert streamed.exit_code == 0, streamed.output
    assert "streamed" in streamed.output
    a, b = pd.read_csv(tmp_path / "whole.csv"), pd.read_csv(tmp_path / "streamed.csv")
    assert a["object_id"].tolist() == b["object_id"].tolist()
    np.testing.assert_allclose(a.filter(like="p_").to_numpy(), b.filter(like="p_").to_numpy(), atol=1e-6)
