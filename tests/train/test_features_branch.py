"""The features branch (issue 15, item 3): light-curve shape features beside the RNN summary and the context."""

from __future__ import annotations

import json
import warnings

import light_curve as lc
import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from lcrnn.classifier import Classifier, KeptEpochWarning
from lcrnn.cli import app
from lcrnn.data.features import SHAPE_FEATURES, summary_features, with_summary
from lcrnn.data.io import write_survey
from lcrnn.data.scaling import FeatureScaler
from lcrnn.data.sequences import SequenceSet
from lcrnn.data.tables import Survey
from lcrnn.errors import InvalidConfigError
from lcrnn.model.config import InvalidModelInputError, ModelModeError, NetworkConfig
from lcrnn.model.network import MixedInputRNN
from lcrnn.serve.incremental import IncrementalClassifier, ModelMismatchError, ObjectState, Photometry

SMALL = dict(hidden=8, dense=8, batch_size=32, device="cpu", progress=False)


def _set(curves: list[list[tuple[float, float, float]]]) -> SequenceSet:
    width = max(len(c) for c in curves)
    values = np.zeros((len(curves), width, 3), np.float32)
    for i, curve in enumerate(curves):
        values[i, : len(curve)] = curve
    return SequenceSet(np.array([f"o{i}" for i in range(len(curves))]), values,
                       np.array([len(c) for c in curves], np.int64))


CURVES = [
    [(0.0, 18.0, 0.1), (2.0, 18.5, 0.1), (5.0, 17.9, 0.05), (9.0, 18.2, 0.1), (14.0, 19.0, 0.2)],
    [(0.0, 17.0, 0.1), (3.0, 19.0, 0.1)],
    [(0.0, 16.0, 0.02), (1.0, 16.4, 0.02), (4.0, 15.8, 0.03)],
]


def test_summary_features_are_light_curves_own_numbers_for_each_curve():
    seqs = _set(CURVES)
    got = summary_features(seqs, ["amplitude", "standard_deviation", "skew", "weighted_mean"])
    for row, curve in zip(got, CURVES):
        t, m, e = (np.array(c, np.float32).astype(np.float64) for c in zip(*curve))  # as the set stores them
        want = lc.Extractor(lc.Amplitude(), lc.StandardDeviation(), lc.Skew(), lc.WeightedMean())(
            t, m, e, fill_value=np.nan)
        np.testing.assert_allclose(row, want, rtol=1e-6, equal_nan=True)
    assert got[0, 0] == pytest.approx((19.0 - 17.9) / 2, rel=1e-6)  # amplitude: half the range
    assert np.isnan(got[1, 2])  # a skew needs three points: a two-point curve has none


def test_summary_features_ignore_step_order_and_survive_equal_times():
    shuffled = _set([[CURVES[0][i] for i in (3, 0, 4, 1, 2)]])
    np.testing.assert_allclose(summary_features(shuffled), summary_features(_set(CURVES[:1])), equal_nan=True)
    same_time = summary_features(_set([[(0.0, 18.0, 0.1), (0.0, 18.3, 0.1), (0.0, 18.1, 0.1)]]))
    assert same_time.shape == (1, len(SHAPE_FEATURES))  # light-curve would panic on three equal times
    assert same_time[0, SHAPE_FEATURES.index("amplitude")] == pytest.approx(0.15, rel=1e-5)


def test_summary_of_a_truncated_set_is_that_of_the_first_points():
    seqs = with_summary(_set(CURVES))
    cut = seqs.truncate(2)
    assert cut.summary is None  # stale: it described whole curves
    np.testing.assert_allclose(summary_features(cut), summary_features(_set([c[:2] for c in CURVES])),
                               equal_nan=True)


def test_unknown_summary_feature_is_named():
    with pytest.raises(InvalidConfigError, match="period"):
        summary_features(_set(CURVES), ["amplitude", "period"])


def test_scaler_scales_summary_robustly_and_round_trips():
    train = with_summary(_set(CURVES * 4))
    scaler = FeatureScaler().fit(train)
    raw = train.summary
    scaled = scaler.transform(train).summary
    col = SHAPE_FEATURES.index("amplitude")
    q25, q50, q75 = np.percentile(raw[:, col], [25, 50, 75])
    np.testing.assert_allclose(scaled[:, col], np.arcsinh((raw[:, col] - q50) / ((q75 - q25) / 1.349)), rtol=1e-5)
    skew = SHAPE_FEATURES.index("skew")
    assert np.isnan(raw[1, skew]) and scaled[1, skew] == 0.0  # too short: the median
    again = FeatureScaler.from_dict(json.loads(json.dumps(scaler.to_dict())))
    np.testing.assert_array_equal(again.transform(train).summary, scaled)


def test_scaler_refuses_summary_it_was_not_fitted_with_and_reads_older_runs():
    plain = FeatureScaler().fit(_set(CURVES))
    with pytest.raises(ValueError, match="without summary features"):
        plain.transform(with_summary(_set(CURVES)))
    with pytest.raises(ValueError, match="with summary features"):
        FeatureScaler().fit(with_summary(_set(CURVES))).transform(_set(CURVES))
    older = {k: v for k, v in plain.to_dict().items() if not k.startswith("summary")}  # runs before the branch
    assert FeatureScaler.from_dict(older).transform(_set(CURVES)).summary is None


def test_network_reads_context_then_summary_and_refuses_one_step():
    net = MixedInputRNN(NetworkConfig(hidden=4, dense=4, summary=("amplitude", "skew"))).eval()
    assert net.dense1.in_features == 4 + 3 + 2
    values, lengths = torch.zeros(2, 3, 3), torch.tensor([3, 2])
    assert net(values, lengths, torch.zeros(2, 5)).shape == (2, 3)
    with pytest.raises(InvalidModelInputError, match=r"\(2, 5\).*3 context \+ 2 summary"):
        net(values, lengths, torch.zeros(2, 3))
    with pytest.raises(ModelModeError, match="summary features"):
        net.step(torch.zeros(2, 3), net.initial_state(2), torch.zeros(2, 5))
    no_context = MixedInputRNN(NetworkConfig(hidden=4, dense=4, use_context=False, summary=("amplitude",))).eval()
    assert no_context(values, lengths, torch.zeros(2, 1)).shape == (2, 3)
    assert NetworkConfig.from_dict(json.loads(json.dumps(net.config.to_dict()))) == net.config


@pytest.fixture(scope="module")
def fitted(toy_survey):
    photometry, objects, galaxies = toy_survey
    clf = Classifier(epochs=4, lr=1e-2, summary=SHAPE_FEATURES, prefix=0.5, **SMALL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", KeptEpochWarning)  # four epochs: undertrained on purpose
        return clf.fit(photometry, objects, galaxies)


def test_features_model_round_trips_and_early_predictions_see_only_early_points(fitted, toy_survey, tmp_path):
    photometry, objects, galaxies = toy_survey
    proba = fitted.predict_proba(photometry, objects, galaxies)
    again = Classifier.load(fitted.save(tmp_path / "run")).predict_proba(photometry, objects, galaxies)
    np.testing.assert_array_equal(again.filter(like="p_").to_numpy(), proba.filter(like="p_").to_numpy())
    # The AUC-vs-n route (truncate the sequences) equals photometry that only ever had its first 3 points.
    cut = fitted.predict_proba_sequences(fitted.prepare(photometry, objects, galaxies).truncate(3))
    first3 = photometry.sort_values(["object_id", "mjd"]).groupby("object_id").head(3)
    direct = fitted.predict_proba(first3, objects, galaxies).filter(like="p_").to_numpy()
    np.testing.assert_allclose(cut, direct, atol=1e-6)
    assert np.abs(cut - proba.filter(like="p_").to_numpy()).max() > 1e-3  # the features did change


def test_served_features_model_equals_batch_after_each_detection_in_any_order(fitted, toy_survey):
    photometry, objects, galaxies = toy_survey
    long_enough = photometry.groupby("object_id").size().loc[lambda n: n >= 6].index
    some = objects[objects.object_id.isin(long_enough)].groupby("label").head(3)
    phot = photometry[photometry.object_id.isin(some.object_id)].sort_values(["object_id", "mjd"])
    prepared = fitted.prepare(phot, some, galaxies)
    context = dict(zip(prepared.object_ids, prepared.context))
    served = IncrementalClassifier.from_trained(fitted.model_)
    with pytest.raises(ModelMismatchError, match="no one-step update"):
        served.step(np.zeros((1, served.state_size), np.float32), np.zeros(1), np.zeros(1), np.zeros(1),
                    prepared.context[:1])
    for oid, curve in phot.groupby("object_id", sort=True):
        curve = curve.iloc[:6]
        order = [2, 0, 1, 5, 3, 4]  # late detections: the light curve is re-read, as always for this model
        state, seen = ObjectState(context=context[oid]), []
        for k in order:
            seen.append(k)
            rows = curve.iloc[sorted(seen)]
            new = Photometry.of(*(curve.iloc[[k]][c] for c in ("mjd", "mag", "mag_err")))
            full = Photometry.of(rows["mjd"], rows["mag"], rows["mag_err"]) if state.n_obs else None
            [update] = served.update_many([state], [new], [full])
            state = update.state
            want = fitted.predict_proba(rows, some[some.object_id == oid], galaxies).iloc[0].filter(like="p_")
            np.testing.assert_allclose(state.probabilities, want.to_numpy(np.float64), atol=1e-6)
        assert update.rebuilt and update.history.shape == (6, 3)


def test_cli_train_features_records_them(toy_survey, tmp_path):
    photometry, objects, galaxies = toy_survey
    write_survey(Survey(photometry, objects, galaxies), tmp_path / "survey")
    result = CliRunner().invoke(app, ["train", "--data", str(tmp_path / "survey"), "--out", str(tmp_path / "run"),
                                      "--features", "--epochs", "1", "--hidden", "8", "--dense", "8",
                                      "--device", "cpu"])
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["network"]["summary"] == list(SHAPE_FEATURES)
    assert len(config["scaler"]["summary_center"]) == len(SHAPE_FEATURES)


def test_in_order_updates_read_only_new_steps_and_stop_reading_past_max_len(toy_survey):
    photometry, objects, galaxies = toy_survey
    clf = Classifier(epochs=1, summary=("amplitude", "eta"), max_len=4, use_context=False, **SMALL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", KeptEpochWarning)
        clf.fit(photometry, objects, galaxies)
    served = IncrementalClassifier.from_trained(clf.model_)
    oid = photometry.groupby("object_id").size().loc[lambda n: n >= 6].index[0]
    curve = photometry[photometry.object_id == oid].sort_values("mjd").iloc[:6]
    state, probabilities = ObjectState(), []
    for k in range(6):
        new = Photometry.of(*(curve.iloc[[k]][c] for c in ("mjd", "mag", "mag_err")))
        needs = served.needs_photometry(state, new)
        assert needs == (0 < k < 4)  # a features model re-reads while it still reads, never past max_len
        rows = curve.iloc[: k + 1]
        full = Photometry.of(rows["mjd"], rows["mag"], rows["mag_err"]) if needs else None
        [update] = served.update_many([state], [new], [full])
        assert not update.rebuilt and update.history_start == k and len(update.history) == 1  # only the new row
        state = update.state
        probabilities.append(state.probabilities)
        want = clf.predict_proba(rows, objects[objects.object_id == oid], galaxies).iloc[0].filter(like="p_")
        np.testing.assert_allclose(state.probabilities, want.to_numpy(np.float64), atol=1e-6)
    np.testing.assert_array_equal(probabilities[5], probabilities[3])  # points past max_len change nothing
    with pytest.raises(ModelMismatchError, match="read again whole"):
        served.update_many([ObjectState(n_obs=1, first_mjd=1.0, last_mjd=1.0)], [Photometry.of([2.0], [18.0], [0.1])])


def test_without_features_runs_and_grid_studies_read_as_older_versions_wrote_them():
    assert "summary" not in NetworkConfig().to_dict()  # an older grid study's stored settings still match
    assert NetworkConfig.from_dict(NetworkConfig(summary=("eta",)).to_dict()).summary == ("eta",)
    plain = FeatureScaler().fit(_set(CURVES)).to_dict()
    assert set(plain) == {"min_std", "mean", "std", "context_mean", "context_std"}


def test_a_batch_mixing_objects_past_max_len_and_still_reading_pads_only_to_max_len(monkeypatch, fitted):
    import lcrnn.serve.prefixes as prefixes

    widths = []
    real = prefixes.network_inputs
    monkeypatch.setattr(prefixes, "network_inputs",
                        lambda seqs, *a, **k: widths.append(seqs.max_len) or real(seqs, *a, **k))
    served = IncrementalClassifier.from_trained(fitted.model_)
    max_len = fitted.model_.max_len
    past = ObjectState(context=np.zeros(3, np.float32), n_obs=200, first_mjd=0.0, last_mjd=199.0,
                       state=served.initial_state(), probabilities=np.full(3, 1 / 3, np.float32))
    young = ObjectState(context=np.zeros(3, np.float32))
    new_past = Photometry.of([250.0], [18.0], [0.1])
    new_young = Photometry.of([1.0, 3.0, 7.0], [18.0, 18.4, 18.1], [0.1, 0.1, 0.1])
    assert not served.needs_photometry(past, new_past) and past.n_obs > max_len  # past max_len: reads nothing
    done = served.update_many([past, young], [new_past, new_young])
    assert widths == [3]  # the prefixes of the young object only, not 201 steps wide
    np.testing.assert_array_equal(done[0].state.probabilities, past.probabilities)  # nothing read past max_len
    assert done[0].state.n_obs == 201 and done[1].history.shape == (3, 3)
