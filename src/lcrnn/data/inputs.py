"""Sequences as the network reads them: cut to ``max_len``, summary features of those steps, scaled.

The one piece of code between a validated, sequenced light curve and the network, on every route: the
Classifier's fit and predictions (:mod:`lcrnn.classifier`) and a features model's served updates
(:mod:`lcrnn.serve.prefixes`) all call :func:`network_inputs`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from lcrnn.data.features import with_summary
from lcrnn.data.scaling import FeatureScaler
from lcrnn.data.sequences import SequenceSet

__all__ = ["network_inputs"]


def network_inputs(seqs: SequenceSet, scaler: FeatureScaler, *, max_len: int, summary: Sequence[str] = (),
                   use_context: bool = True) -> SequenceSet:
    """``seqs`` (raw steps) cut to ``max_len``, with the ``summary`` features of those steps, scaled by
    ``scaler``; the context is dropped after scaling for a network that reads none (the scaler was fitted
    with it)."""
    if seqs.values.shape[1] > max_len:
        seqs = seqs.truncate(max_len)
    if summary:  # the features branch: of exactly the steps the network reads
        seqs = with_summary(seqs, summary)
    scaled = scaler.transform(seqs)
    return scaled if use_context else dataclasses.replace(scaled, context=None)
