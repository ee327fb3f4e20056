"""The feature scaler: one arithmetic for whole sequences (batch route) and single steps (served route)."""

from __future__ import annotations

import numpy as np
import pytest

from lcrnn.data.scaling import FeatureScaler
from lcrnn.data.sequences import build_sequences, step_features
from lcrnn.errors import InvalidConfigError


def test_single_steps_scale_to_the_same_float32_numbers_as_whole_sequences(toy_survey):
    photometry, objects, _ = toy_survey
    seqs = build_sequences(photometry, max_len=30)
    scaler = FeatureScaler().fit(seqs)
    whole = scaler.transform(seqs).values  # (n, T, 3)
    for i in range(0, len(seqs), 7):
        n = int(seqs.lengths[i])
        steps = step_features(seqs.values[i, :n, 0], seqs.values[i, :n, 1], seqs.values[i, :n, 2])
        np.testing.assert_array_equal(scaler.scale_steps(steps), whole[i, :n])
        assert (whole[i, n:] == 0).all()


def test_a_saved_scaler_with_an_unknown_key_is_refused(toy_survey):
    photometry, _, _ = toy_survey
    saved = FeatureScaler().fit(build_sequences(photometry)).to_dict()
    with pytest.raises(InvalidConfigError, match=r"Unknown FeatureScaler setting\(s\) \['means'\]"):
        FeatureScaler.from_dict({**saved, "means": saved["mean"]})


def test_context_scaling_needs_a_scaler_fitted_with_context(toy_survey):
    photometry, _, _ = toy_survey
    scaler = FeatureScaler().fit(build_sequences(photometry))
    with pytest.raises(ValueError, match="without context"):
        scaler.scale_context(np.zeros((2, 3), np.float32))
