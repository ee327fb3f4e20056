"""The incremental classifier must agree with the batch model at every step, whatever order data arrive in."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from lcrnn.data.context import compute_context
from lcrnn.data.sequences import build_sequences
from lcrnn.serve.incremental import ModelMismatchError, ObjectState, Photometry


def contexts_of(objects: pd.DataFrame) -> list[np.ndarray]:
    return list(compute_context(objects)[["gal_l", "gal_b", "galaxy_dist_arcsec"]].to_numpy(np.float32))


@pytest.mark.parametrize("rnn", ["gru", "lstm"])
def test_one_step_per_observation_equals_batch_model_for_k_1_to_30_and_beyond(
    rnn, incremental_factory, batch_reference
):
    inc, scaler, photometry, objects = incremental_factory(rnn)
    curves = [photometry[photometry.object_id == oid].sort_values("mjd") for oid in objects.object_id]
    states = [ObjectState(context=c) for c in contexts_of(objects)]
    n_total = len(curves[0])  # 36: six past max_len
    for k in range(1, n_total + 1):
        new = [
            Photometry.of(c.mjd.iloc[k - 1 : k], c.mag.iloc[k - 1 : k], c.mag_err.iloc[k - 1 : k])
            for c in curves
        ]
        updates = inc.update_many(states, new)
        states = [u.state for u in updates]
        got = np.stack([s.probabilities for s in states])
        want = batch_reference(inc, scaler, photometry, objects, k)
        np.testing.assert_allclose(got, want, atol=1e-5, rtol=0, err_msg=f"after {k} observations")
        assert all(s.n_obs == k for s in states)
        assert all(not u.rebuilt and u.history_start == k - 1 for u in updates)
    # Sanity: the comparison is not trivially between constants.
    assert np.ptp(np.stack([s.probabilities for s in states])[:, 0]) > 1e-3


def test_past_max_len_observations_are_counted_but_change_nothing(incremental_factory, batch_reference):
    inc, scaler, photometry, objects = incremental_factory("gru", max_len=5)
    first = photometry[photometry.object_id == "obj000"].sort_values("mjd")
    [ctx] = contexts_of(objects.iloc[:1])
    [u5] = inc.update_many(
        [ObjectState(context=ctx)], [Photometry.of(first.mjd[:5], first.mag[:5], first.mag_err[:5])]
    )
    [u9] = inc.update_many([u5.state], [Photometry.of(first.mjd[5:9], first.mag[5:9], first.mag_err[5:9])])
    assert u9.state.n_obs == 9 and u9.state.last_mjd == pytest.approx(first.mjd.iloc[8])
    np.testing.assert_array_equal(u9.state.probabilities, u5.state.probabilities)
    np.testing.assert_array_equal(u9.state.state, u5.state.state)
    assert u9.history.shape == (4, 3) and np.all(u9.history == u5.state.probabilities)
    want = batch_reference(inc, scaler, photometry, objects, 5)[0]
    np.testing.assert_allclose(u9.state.probabilities, want, atol=1e-5)


@pytest.mark.parametrize("rnn", ["gru", "lstm"])
def test_late_observation_rebuilds_state_from_stored_photometry(rnn, incremental_factory, batch_reference):
    inc, scaler, photometry, objects = incremental_factory(rnn)
    rng = np.random.default_rng(3)
    [ctx] = contexts_of(objects.iloc[:1])
    curve = photometry[photometry.object_id == "obj000"].iloc[:12]
    arrival = rng.permutation(len(curve))  # shuffled: some arrive after later ones
    state, seen, n_rebuilds = ObjectState(context=ctx), [], 0
    for i in arrival:
        seen.append(i)
        new = Photometry.of(curve.mjd.iloc[[i]], curve.mag.iloc[[i]], curve.mag_err.iloc[[i]])
        full = None
        if inc.needs_rebuild(state, new):
            with pytest.raises(ModelMismatchError, match="full photometry"):
                inc.update_many([state], [new])
            part = curve.iloc[seen]
            full = Photometry.of(part.mjd, part.mag, part.mag_err)
            n_rebuilds += 1
        [u] = inc.update_many([state], [new], [full])
        state = u.state
        part = curve.iloc[sorted(seen)]
        want = batch_reference(inc, scaler, part, objects.iloc[:1], len(part))[0]
        np.testing.assert_allclose(state.probabilities, want, atol=1e-5)
        assert state.n_obs == len(seen) and state.first_mjd == pytest.approx(part.mjd.min())
    assert n_rebuilds >= 3
    # After a rebuild the history covers the whole light curve, one row per detection in time order.
    [u] = inc.update_many(
        [state],
        [Photometry.of([curve.mjd.min() - 1], [18.0], [0.1])],
        [Photometry.of([curve.mjd.min() - 1, *curve.mjd], [18.0, *curve.mag], [0.1, *curve.mag_err])],
    )
    assert u.rebuilt and u.history_start == 0 and u.history.shape == (13, 3)
    assert u.history_mjd[0] == curve.mjd.min() - 1 and np.all(np.diff(u.history_mjd) > 0)


def test_updates_of_many_objects_share_one_step_call_per_round(monkeypatch, incremental_factory):
    inc, _, photometry, objects = incremental_factory("gru")
    calls = []
    original = inc._advance  # one network step (native or torch) for every object in the round

    def counting_step(states, x, context):
        calls.append(x.shape[0])
        return original(states, x, context)

    monkeypatch.setattr(inc, "_advance", counting_step)
    states = [ObjectState(context=c) for c in contexts_of(objects)]
    # Object i gets i + 1 new observations: rounds of 6, 5, 4, 3, 2, 1 objects.
    new = []
    for i, oid in enumerate(objects.object_id):
        c = photometry[photometry.object_id == oid].sort_values("mjd").iloc[: i + 1]
        new.append(Photometry.of(c.mjd, c.mag, c.mag_err))
    updates = inc.update_many(states, new)
    assert calls == [6, 5, 4, 3, 2, 1]
    assert [u.history.shape[0] for u in updates] == [1, 2, 3, 4, 5, 6]


def test_model_without_context_and_state_round_trip(incremental_factory):
    inc, scaler, photometry, _objects = incremental_factory("lstm", use_context=False)
    c = photometry[photometry.object_id == "obj001"].sort_values("mjd").iloc[:7]
    history = inc.probabilities_of(Photometry.of(c.mjd, c.mag, c.mag_err))
    assert inc.state_size == 4 * 16 and history.shape == (7, 3)  # LSTM: (h1, c1, h2, c2) of 16 each
    with torch.no_grad():  # scale by hand: this scaler was fitted with context, the network reads none
        raw = build_sequences(c, None, max_len=30, first_n=7).values
        x = ((raw - scaler.mean_) / scaler.std_).astype(np.float32)
        x[:, 7:] = 0
        want = torch.softmax(inc.network(torch.from_numpy(x), torch.tensor([7]), None), 1).numpy()[0]
    np.testing.assert_allclose(history[-1], want, atol=1e-5)


def test_stored_state_of_another_model_is_refused(incremental_factory):
    inc, *_ = incremental_factory("gru")
    bad = ObjectState(
        context=np.zeros(3, np.float32),
        n_obs=1,
        first_mjd=1.0,
        last_mjd=1.0,
        state=np.zeros(7, np.float32),
        probabilities=np.ones(3) / 3,
    )
    with pytest.raises(ModelMismatchError, match="fresh database"):
        inc.update_many([bad], [Photometry.of([2.0], [18.0], [0.1])])


def test_unsorted_or_repeated_times_are_refused(incremental_factory):
    inc, *_ = incremental_factory("gru")
    state = ObjectState(context=np.zeros(3, np.float32))
    for mjd in ([2.0, 1.0], [1.0, 1.0]):
        bad = Photometry(np.array(mjd), np.array([18.0, 18.1]), np.array([0.1, 0.1]))
        with pytest.raises(ValueError, match="strictly increasing"):
            inc.update_many([state], [bad])
    [u] = inc.update_many([state], [Photometry.of([2.0, 1.0], [18.0, 18.1], [0.1, 0.1])])  # .of sorts
    assert u.state.first_mjd == 1.0 and u.state.n_obs == 2


@pytest.mark.parametrize("rnn", ["gru", "lstm"])
def test_one_object_one_observation_calls_equal_the_batched_rounds(rnn, incremental_factory):
    """The served shortcut (one object, one new detection) gives the padded rounds' numbers, state included."""
    inc, _, photometry, objects = incremental_factory(rnn)
    curves = [photometry[photometry.object_id == oid].sort_values("mjd").iloc[:5] for oid in objects.object_id]
    together = inc.update_many([ObjectState(context=c) for c in contexts_of(objects)],
                               [Photometry.of(c.mjd, c.mag, c.mag_err) for c in curves])
    for i, (curve, context) in enumerate(zip(curves, contexts_of(objects))):
        state, rows = ObjectState(context=context), []
        for k in range(len(curve)):
            [u] = inc.update_many([state], [Photometry.of(curve.mjd.iloc[k:k + 1], curve.mag.iloc[k:k + 1],
                                                          curve.mag_err.iloc[k:k + 1])])
            state = u.state
            rows.append(u.history[0])
        np.testing.assert_allclose(np.stack(rows), together[i].history, atol=1e-6, rtol=0)
        np.testing.assert_allclose(state.state, together[i].state.state, atol=1e-6, rtol=0)
