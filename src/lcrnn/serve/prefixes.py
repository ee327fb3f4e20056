"""Served classification for a network with a features branch: every step is the batch model on a prefix.

Summary features (``NetworkConfig.summary``) describe the whole light curve seen so far, so one recurrent step
cannot update them. A features model therefore keeps no recurrent state between updates: at each update it
re-reads the object's light curve (at most ``max_len`` points, which the store keeps) and runs the batch route
itself (:func:`lcrnn.data.features.with_summary`, the fitted scaler, :func:`lcrnn.model.inference.predict_logits`)
on every prefix the update adds. Its served probabilities after ``k`` detections are the batch model's on the
first ``k`` by construction, at the price of up to ``max_len`` recurrent steps per update instead of one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import torch

from lcrnn.data.features import with_summary
from lcrnn.data.scaling import FeatureScaler
from lcrnn.data.sequences import SequenceSet, step_features
from lcrnn.model.inference import SequenceTensors, predict_logits
from lcrnn.model.network import MixedInputRNN

__all__ = ["prefix_logits"]


def prefix_logits(
    network: MixedInputRNN,
    scaler: FeatureScaler,
    curves: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
    steps: Sequence[int],
    contexts: Sequence[np.ndarray | None],
) -> list[np.ndarray]:
    """Logits of each curve's first 1, 2, ..., ``steps[i]`` points, shape (steps[i], n_classes) per curve.

    ``curves`` are ``(t - t_first [days], mag, mag_err)`` in time order; ``contexts`` raw context rows (None for
    a network without context).
    """
    n_prefixes = int(sum(steps))
    if n_prefixes == 0:
        return [np.zeros((0, network.n_classes), np.float32) for _ in steps]
    width = max(steps)
    values = np.zeros((n_prefixes, width, 3), np.float32)
    lengths = np.zeros(n_prefixes, np.int64)
    owner = np.repeat(np.arange(len(steps)), steps)
    row = 0
    for (t_rel, mag, err), k in zip(curves, steps):
        if not k:
            continue
        raw = step_features(t_rel[:k], mag[:k], err[:k])  # (k, 3): the batch route's one definition of a step
        keep = np.tri(k, width, dtype=bool)  # prefix j holds steps 0..j
        values[row : row + k] = np.where(keep[..., None], np.pad(raw, ((0, width - k), (0, 0)))[None], 0)
        lengths[row : row + k] = np.arange(1, k + 1)
        row += k
    uses_context = network.config.use_context
    if uses_context:
        context = np.stack([np.asarray(contexts[i], np.float32) for i in owner])
    elif scaler.context_mean_ is not None:  # fitted with context, dropped after scaling as the batch route does
        context = np.zeros((n_prefixes, scaler.context_mean_.size), np.float32)
    else:
        context = None
    seqs = SequenceSet(np.arange(n_prefixes).astype(str), values, lengths, context=context)
    scaled = scaler.transform(with_summary(seqs, network.config.summary))
    if not uses_context:
        scaled = dataclasses.replace(scaled, context=None)
    logits = predict_logits(network, SequenceTensors.from_set(scaled, torch.device("cpu"))).numpy()
    return np.split(logits, np.cumsum(steps)[:-1])
