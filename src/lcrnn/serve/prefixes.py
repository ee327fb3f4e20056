"""Served classification for a network with a features branch: every step is the batch model on a prefix.

Summary features (``NetworkConfig.summary``) describe the whole light curve seen so far, so one recurrent step
cannot update them. A features model therefore keeps no recurrent state between updates: while an object has
fewer than ``max_len`` detections, each update re-reads its stored light curve and runs the batch route itself
(:func:`lcrnn.data.inputs.network_inputs`, :func:`lcrnn.model.inference.predict_logits`) on every prefix the
update adds. Its served probabilities after ``k`` detections are the batch model's on the first ``k`` by
construction, at the price of up to ``max_len`` recurrent steps per new detection instead of one. Past
``max_len`` nothing is read: the batch model ignores later points too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from lcrnn.data.inputs import network_inputs
from lcrnn.data.scaling import FeatureScaler
from lcrnn.data.sequences import SequenceSet, step_features
from lcrnn.model.inference import SequenceTensors, predict_logits
from lcrnn.model.network import MixedInputRNN

__all__ = ["prefix_logits", "prefix_probabilities"]


def prefix_logits(
    network: MixedInputRNN,
    scaler: FeatureScaler,
    curves: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
    starts: Sequence[int],
    steps: Sequence[int],
    contexts: Sequence[np.ndarray | None],
) -> list[np.ndarray]:
    """Logits of each curve's first ``starts[i] + 1``, ..., ``starts[i] + steps[i]`` points, shape
    (steps[i], n_classes) per curve.

    ``curves`` are ``(t - t_first [days], mag, mag_err)`` in time order; ``contexts`` raw context rows (None for
    a network without context).
    """
    n_prefixes = int(sum(steps))
    if n_prefixes == 0:
        return [np.zeros((0, network.n_classes), np.float32) for _ in steps]
    width = max(s + k for s, k in zip(starts, steps) if k)  # a job past max_len (k = 0) must not widen it
    values = np.zeros((n_prefixes, width, 3), np.float32)
    lengths = np.zeros(n_prefixes, np.int64)
    row = 0
    for (t_rel, mag, err), start, k in zip(curves, starts, steps):
        if not k:
            continue
        end = start + k
        raw = step_features(t_rel[:end], mag[:end], err[:end])  # the batch route's one definition of a step
        keep = np.tri(k, width, start, dtype=bool)  # prefix j holds steps 0..start+j
        values[row : row + k] = np.where(keep[..., None], np.pad(raw, ((0, width - end), (0, 0)))[None], 0)
        lengths[row : row + k] = np.arange(start + 1, end + 1)
        row += k
    cfg = network.config
    if cfg.use_context:  # each curve's context row, once per prefix of it
        rows = np.stack([np.asarray(c, np.float32) for c, k in zip(contexts, steps) if k])
        context = np.repeat(rows, [k for k in steps if k], axis=0)
    elif scaler.context_mean_ is not None:  # fitted with context, which network_inputs drops after scaling
        context = np.zeros((n_prefixes, scaler.context_mean_.size), np.float32)
    else:
        context = None
    seqs = SequenceSet(np.arange(n_prefixes).astype(str), values, lengths, context=context)
    scaled = network_inputs(seqs, scaler, max_len=cfg.max_len, summary=cfg.summary, use_context=cfg.use_context)
    logits = predict_logits(network, SequenceTensors.from_set(scaled, torch.device("cpu"))).numpy()
    return np.split(logits, np.cumsum(steps)[:-1])


def prefix_probabilities(network: MixedInputRNN, scaler: FeatureScaler,
                         probabilities: Callable[[torch.Tensor], torch.Tensor], jobs: Sequence[Any],
                         n_classes: int) -> np.ndarray:
    """Probabilities after each step of each served update (``IncrementalClassifier``'s jobs), shape (jobs,
    longest, n_classes): a job reads its ``curve`` (or, rebuilt or new, its ``seq``) from step ``base`` on."""
    read = [job.seq if job.curve is None else job.curve for job in jobs]
    curves = [(c.mjd - (job.t_first or 0.0), c.mag, c.mag_err) for c, job in zip(read, jobs)]
    steps = [job.n_steps for job in jobs]
    logits = prefix_logits(network, scaler, curves, [job.base for job in jobs], steps, [job.context for job in jobs])
    out = np.zeros((len(jobs), max(steps, default=0), n_classes), np.float32)
    if sum(steps):
        with torch.inference_mode():  # one call of the calibration for every prefix of every job
            probs = np.split(probabilities(torch.from_numpy(np.concatenate(logits))).numpy(), np.cumsum(steps)[:-1])
        for i, part in enumerate(probs):
            out[i, : len(part)] = part
    return out
