"""Robust training: augmentations of the raw steps, fresh each epoch, on training light curves only."""

from __future__ import annotations

import dataclasses

import json

import numpy as np
import pytest
import torch

from lcrnn.classifier import Classifier
from lcrnn.data.sequences import SequenceSet, build_sequences
from lcrnn.errors import InvalidConfigError
from lcrnn.model.inference import SequenceTensors, predict_logits
from lcrnn.model.losses import make_loss
from lcrnn.train.augment import ERROR_FLOOR_MAG, ROBUST, AugmentConfig, augment_sequences, augmentation_rng
from lcrnn.train.run_dir import load_run


@pytest.fixture(scope="module")
def raw(toy_survey_factory) -> SequenceSet:
    """Raw (unscaled) sequences of 240 light curves of 1-20 observations, padded to 24 steps."""
    photometry, objects, _ = toy_survey_factory(seed=5, max_obs=20)
    return build_sequences(photometry, labels=objects.set_index("object_id")["label"], max_len=24)


def _real_steps_ok(aug: SequenceSet, raw: SequenceSet) -> None:
    """Every light curve keeps 1..its length points, starts at t = 0, runs forward in time, is zero after."""
    assert aug.values.dtype == np.float32 and aug.values.shape == raw.values.shape
    assert (aug.lengths >= 1).all() and (aug.lengths <= raw.lengths).all()
    assert (aug.values[~aug.mask] == 0).all()  # no padding leaks
    t = aug.values[..., 0]
    assert (t[:, 0] == 0).all()
    forward = np.diff(t, axis=1) >= 0
    assert forward[aug.mask[:, 1:]].all()
    assert (aug.values[aug.mask][:, 2] > 0).all() and np.isfinite(aug.values).all()
    np.testing.assert_array_equal(aug.labels, raw.labels)
    np.testing.assert_array_equal(aug.object_ids, raw.object_ids)


def test_every_augmentation_respects_lengths_and_padding(raw):
    strong = AugmentConfig(prefix=1.0, prefix_weights="early", time_jitter_days=20.0, mag_offset=2.0,
                           error_scale=0.5, point_dropout=0.9, noise_scale=4.0)
    for epoch in range(3):
        _real_steps_ok(augment_sequences(raw, strong, augmentation_rng(0, epoch)), raw)
        noisy = dataclasses.replace(strong, offset_errors="noisy")
        _real_steps_ok(augment_sequences(raw, noisy, augmentation_rng(0, epoch)), raw)
    # Dropping 90 % of points empties many light curves: each still keeps exactly one.
    dropped = augment_sequences(raw, AugmentConfig(point_dropout=0.9), augmentation_rng(0, 1))
    assert (dropped.lengths == 1).sum() > 0.5 * len(raw)


def test_draws_repeat_for_a_seed_and_epoch_and_change_with_either(raw):
    def draw(seed, epoch):
        return augment_sequences(raw, ROBUST, augmentation_rng(seed, epoch))

    a, b = draw(0, 1), draw(0, 1)
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.lengths, b.lengths)
    assert not np.array_equal(a.values, draw(0, 2).values)
    assert not np.array_equal(a.values, draw(1, 1).values)
    # Everything off hands the very same set back.
    assert augment_sequences(raw, AugmentConfig(), augmentation_rng(0, 1)) is raw


def test_a_prefix_is_the_first_k_observations_unchanged(raw):
    aug = augment_sequences(raw, AugmentConfig(prefix=1.0), augmentation_rng(0, 1))
    mask = aug.mask
    np.testing.assert_array_equal(aug.values[mask], raw.values[mask])
    assert (aug.lengths < raw.lengths).mean() > 0.5


def test_early_weights_favour_few_observations_as_one_over_k(raw):
    """For a light curve of L points P(k) = (1/k) / H(L): k = 1 is drawn ~27 % of the time at L = 20."""
    long = raw.subset(np.repeat(np.flatnonzero(raw.lengths == 20)[:1], 4000))
    early = augment_sequences(long, AugmentConfig(prefix=1.0, prefix_weights="early"), augmentation_rng(0, 1))
    uniform = augment_sequences(long, AugmentConfig(prefix=1.0), augmentation_rng(0, 1))
    harmonic = np.sum(1.0 / np.arange(1, 21))
    assert np.mean(early.lengths == 1) == pytest.approx(1 / harmonic, abs=0.025)
    assert np.mean(early.lengths == 2) == pytest.approx(0.5 / harmonic, abs=0.025)
    assert np.mean(uniform.lengths == 1) == pytest.approx(1 / 20, abs=0.015)
    assert np.mean(early.lengths) < 0.6 * np.mean(uniform.lengths)
    # A prefix probability of 0.3 cuts about 30 % of the light curves (some draws keep all 20 points).
    some = augment_sequences(long, AugmentConfig(prefix=0.3), augmentation_rng(0, 1))
    assert np.mean(some.lengths < 20) == pytest.approx(0.3 * 19 / 20, abs=0.03)


def test_point_dropout_keeps_original_points_and_measures_time_from_the_new_first(raw):
    aug = augment_sequences(raw, AugmentConfig(point_dropout=0.5), augmentation_rng(0, 3))
    assert 1 - aug.lengths.sum() / raw.lengths.sum() == pytest.approx(0.5, abs=0.05)
    for i in np.flatnonzero(raw.lengths >= 5)[:20]:
        original = raw.values[i, :raw.lengths[i]]
        kept = aug.values[i, :aug.lengths[i]]
        rows = [int(np.flatnonzero((original[:, 1] == m) & (original[:, 2] == e))[0]) for _, m, e in kept]
        assert rows == sorted(rows)  # order kept
        np.testing.assert_allclose(kept[:, 0], original[rows, 0] - original[rows[0], 0], atol=1e-4)


def test_a_magnitude_offset_moves_a_whole_light_curve_and_its_errors_with_the_flux(raw):
    aug = augment_sequences(raw, AugmentConfig(mag_offset=1.5), augmentation_rng(0, 1))
    mask = raw.mask
    shift = aug.values[..., 1] - raw.values[..., 1]
    delta = shift[:, 0]
    np.testing.assert_allclose(shift[mask], np.broadcast_to(delta[:, None], shift.shape)[mask], atol=1e-5)
    assert np.abs(delta).max() <= 1.5 and delta.min() < -1.0 and delta.max() > 1.0
    np.testing.assert_array_equal(aug.values[..., 0], raw.values[..., 0])
    # The toy's errors are 0.05 mag: sqrt(0.05^2 - floor^2) * 10^(0.4 delta) in quadrature with the floor.
    stat = np.sqrt(0.05 ** 2 - ERROR_FLOOR_MAG ** 2) * 10 ** (0.4 * delta)
    np.testing.assert_allclose(aug.values[:, 0, 2], np.hypot(stat, ERROR_FLOOR_MAG), rtol=1e-5)
    kept = augment_sequences(raw, AugmentConfig(mag_offset=1.5, offset_errors="keep"), augmentation_rng(0, 1))
    np.testing.assert_array_equal(kept.values[..., 2], raw.values[..., 2])


def test_a_noisy_offset_makes_a_fainter_copy_scatter_as_much_as_its_errors_say(raw):
    """offset_errors="noisy": the flux rule's errors, plus Gaussian scatter of sqrt(new^2 - old^2) per point when
    the source is made fainter; a brighter copy keeps its scatter (it cannot be taken away)."""
    flux = augment_sequences(raw, AugmentConfig(mag_offset=1.5), augmentation_rng(0, 1))
    noisy = augment_sequences(raw, AugmentConfig(mag_offset=1.5, offset_errors="noisy"), augmentation_rng(0, 1))
    np.testing.assert_allclose(noisy.values[..., 2], flux.values[..., 2], rtol=1e-6)  # same errors
    shift = noisy.values[..., 1] - raw.values[..., 1]
    delta = flux.values[:, 0, 1] - raw.values[:, 0, 1]
    extra = np.sqrt(np.maximum(flux.values[..., 2] ** 2 - raw.values[..., 2] ** 2, 0.0))
    pulls = ((shift - delta[:, None]) / np.where(extra > 0, extra, 1.0))[raw.mask & (extra > 1e-3)]
    assert len(pulls) > 100 and np.std(pulls) == pytest.approx(1.0, abs=0.1) and abs(np.mean(pulls)) < 0.15
    brighter = raw.mask & (delta[:, None] < 0)
    np.testing.assert_allclose(shift[brighter], np.broadcast_to(delta[:, None], shift.shape)[brighter], atol=1e-5)


def test_error_rescaling_multiplies_each_light_curves_errors_by_one_factor(raw):
    aug = augment_sequences(raw, AugmentConfig(error_scale=0.3), augmentation_rng(0, 1))
    ratio = aug.values[..., 2][raw.mask] / raw.values[..., 2][raw.mask]
    rows = np.nonzero(raw.mask)[0]
    per_curve = aug.values[:, 0, 2] / raw.values[:, 0, 2]
    np.testing.assert_allclose(ratio, per_curve[rows], rtol=1e-5)
    assert np.std(np.log(per_curve)) == pytest.approx(0.3, abs=0.05)
    np.testing.assert_array_equal(aug.values[..., :2], raw.values[..., :2])


def test_noisier_photometry_grows_each_curves_errors_by_one_factor_and_scatters_to_match(raw):
    """noise_scale: errors times one factor f in [1, noise_scale] per light curve, log-uniform, and the magnitudes
    scattered by sqrt(f^2 - 1) sigma, so the pulls against the new errors keep unit spread."""
    aug = augment_sequences(raw, AugmentConfig(noise_scale=4.0), augmentation_rng(0, 1))
    factor = aug.values[:, 0, 2] / raw.values[:, 0, 2]
    rows = np.nonzero(raw.mask)[0]
    np.testing.assert_allclose(aug.values[..., 2][raw.mask], (raw.values[..., 2] * factor[:, None])[raw.mask],
                               rtol=1e-5)
    assert factor.min() >= 1.0 and factor.max() <= 4.0 + 1e-5
    log_f = np.log(factor) / np.log(4.0)  # uniform on [0, 1]
    assert abs(np.mean(log_f) - 0.5) < 0.06 and abs(np.std(log_f) - np.sqrt(1 / 12)) < 0.04
    extra = (raw.values[..., 2] * np.sqrt(factor[:, None] ** 2 - 1.0))[raw.mask]
    shift = (aug.values[..., 1] - raw.values[..., 1])[raw.mask]
    pulls = shift[extra > 1e-3] / extra[extra > 1e-3]
    assert len(pulls) > 500 and np.std(pulls) == pytest.approx(1.0, abs=0.08) and abs(np.mean(pulls)) < 0.1
    # Times are untouched, and a curve with f near 1 barely moves.
    np.testing.assert_array_equal(aug.values[..., 0], raw.values[..., 0])
    calm = factor[rows] < 1.01
    assert np.abs(shift[calm]).max() < 0.05
    assert not AugmentConfig(noise_scale=1.0).active and AugmentConfig(noise_scale=1.5).active


def test_time_jitter_keeps_each_observation_and_time_order(raw):
    aug = augment_sequences(raw, AugmentConfig(time_jitter_days=3.0), augmentation_rng(0, 1))
    np.testing.assert_array_equal(aug.lengths, raw.lengths)
    for i in range(20):
        n = raw.lengths[i]
        assert sorted(aug.values[i, :n, 1].tolist()) == sorted(raw.values[i, :n, 1].tolist())
    moved = (aug.values[..., 0] - raw.values[..., 0])[raw.mask & (np.arange(24) > 0)]
    assert 2.0 < np.std(moved) < 6.0  # two draws of sigma 3 d: the point's and the origin's


def test_bad_settings_are_refused_by_name():
    for bad in ({"prefix": 1.5}, {"point_dropout": 1.0}, {"mag_offset": -1}, {"prefix_weights": "late"},
                {"offset_errors": "double"}, {"offset_errors": "flux+noise"}, {"error_scale": float("nan")},
                {"noise_scale": 0.5}, {"noise_scale": float("inf")}):
        with pytest.raises(InvalidConfigError, match=next(iter(bad))):
            AugmentConfig(**bad)
    with pytest.raises(InvalidConfigError, match="augmentation settings"):
        Classifier(prefx=0.5)
    assert Classifier(prefix=0.5, mag_offset=1.0).augment == AugmentConfig(prefix=0.5, mag_offset=1.0)


def test_augmentation_trains_differently_scores_unaugmented_and_is_recorded(toy_survey, tmp_path):
    photometry, objects, galaxies = toy_survey
    settings = dict(hidden=8, dense=8, epochs=3, lr=1e-2, batch_size=32, device="cpu", progress=False)
    plain = Classifier(**settings).fit(photometry, objects, galaxies)
    robust = Classifier(**settings, augment=ROBUST).fit(photometry, objects, galaxies)
    assert not np.allclose(plain.history_["train_loss"], robust.history_["train_loss"])
    # The kept epoch's validation loss is that of the kept weights on the unaugmented validation part.
    seqs = robust.prepare(photometry, objects, galaxies)
    val = seqs.subset(np.flatnonzero(robust.split_.part_of(seqs.object_ids) == "val"))
    scaled = SequenceTensors.from_set(robust.scaler_.transform(val), torch.device("cpu"))
    logits = predict_logits(robust.network_, scaled)  # logits: whatever probabilities the classifier reports
    counts = list(robust.class_counts_.values())
    with torch.no_grad():
        loss = float(make_loss("focal", counts, gamma=2.0)(logits, torch.as_tensor(val.labels))
                     + robust.network_.l2_penalty())
    kept = robust.history_.loc[robust.history_["kept"]]
    assert len(kept) == 1 and int(kept["epoch"].iloc[0]) == robust.best_epoch_
    assert float(kept["val_loss"].iloc[0]) == pytest.approx(loss, rel=1e-4)
    np.testing.assert_array_equal(robust.predict_proba_sequences(val), robust.predict_proba_sequences(val))
    path = robust.save(tmp_path / "robust")
    assert json.loads((path / "config.json").read_text())["augment"] == ROBUST.to_dict()
    assert load_run(path).augment == ROBUST
    assert Classifier.load(path).augment == ROBUST
