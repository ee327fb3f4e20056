"""Classify objects as their observations arrive: one recurrent step per new observation.

The batch model reads an object's first ``max_len`` observations (sorted by time) and returns class
probabilities. Because its recurrent layers read the light curve left to right, the state after ``k``
observations is all it needs to continue: :class:`IncrementalClassifier` keeps that state per object and
advances it by one :meth:`MixedInputRNN.step <lcrnn.model.network.MixedInputRNN.step>` when a new observation
arrives, so its probabilities after ``k`` observations equal the batch model's on the first ``k``.

Three situations break the simple "one more step" picture, and each is handled so the state is never wrong:

* **past max_len** the batch model ignores every observation after the first ``max_len``; so do we (they are
  stored, counted and show up in the history with unchanged probabilities);
* **out of order** an observation older than the object's latest changes the sequence (and, if older than the
  first, every ``t - t_first``), so the object's state is rebuilt from its stored photometry;
* **many objects at once** all objects that get a new observation advance in one batched step call;
* **a features model** (``NetworkConfig.summary``) reads summary features of the whole light curve, which no
  step can update: it re-reads the stored light curve at each update (:mod:`lcrnn.serve.prefixes`).

The class works on plain arrays and :class:`ObjectState` records; the state store
(:mod:`lcrnn.serve.store`) loads and saves them atomically.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import torch

from lcrnn.data.scaling import FeatureScaler
from lcrnn.data.sequences import step_features
from lcrnn.errors import LcrnnError
from lcrnn.model.flat_step import FlatStep
from lcrnn.model.network import MixedInputRNN
from lcrnn.serve.prefixes import prefix_probabilities
from lcrnn.train.calibrate import output_description, probability_function
from lcrnn.train.run_dir import TrainedModel

__all__ = ["IncrementalClassifier", "ModelMismatchError", "ObjectState", "Photometry", "Update"]


class ModelMismatchError(LcrnnError, ValueError):
    """A stored state or input does not fit the loaded model (other classes, other state size)."""


class Photometry(NamedTuple):
    """Detections of one object: times (MJD), magnitudes and their errors, as 1-d arrays of equal length.

    The network reads them in time order: build with :meth:`Photometry.of`, which sorts.
    """

    mjd: np.ndarray
    mag: np.ndarray
    mag_err: np.ndarray

    @classmethod
    def of(cls, mjd: Sequence[float], mag: Sequence[float], mag_err: Sequence[float]) -> Photometry:
        """Build from any sequences, sorted by time (the order the network reads them in)."""
        mjd_a = np.asarray(mjd, dtype=np.float64).reshape(-1)
        mag_a = np.asarray(mag, dtype=np.float64).reshape(-1)
        err_a = np.asarray(mag_err, dtype=np.float64).reshape(-1)
        if not (len(mjd_a) == len(mag_a) == len(err_a)):
            raise ValueError(
                f"mjd, mag and mag_err must have equal lengths, got {len(mjd_a)}, {len(mag_a)}, {len(err_a)}."
            )
        order = np.argsort(mjd_a, kind="stable")
        return cls(mjd_a[order], mag_a[order], err_a[order])

    def __len__(self) -> int:  # NamedTuple's len would be 3
        return int(self.mjd.shape[0])


@dataclass(frozen=True)
class ObjectState:
    """What the classifier remembers about one object between updates.

    Parameters
    ----------
    context
        Raw (unscaled) context ``(gal_l, gal_b, galaxy_dist_arcsec)``, shape (3,), or None for a model
        without context input.
    n_obs
        Number of detections seen so far (including those past ``max_len``).
    first_mjd, last_mjd
        Time of the earliest and latest detection (None before the first).
    state
        Flat float32 recurrent state after ``min(n_obs, max_len)`` steps, or None before the first.
    probabilities
        Class probabilities after those steps, or None before the first detection.
    """

    context: np.ndarray | None = None
    n_obs: int = 0
    first_mjd: float | None = None
    last_mjd: float | None = None
    state: np.ndarray | None = None
    probabilities: np.ndarray | None = None


@dataclass(frozen=True)
class Update:
    """The outcome of feeding new detections of one object.

    ``history`` holds one row of class probabilities per detection, starting at detection number
    ``history_start`` (0-based, in time order): after an in-order update that is the first new detection,
    after a rebuild it is 0 (the whole history was recomputed). ``history_mjd`` gives each row's time.
    """

    state: ObjectState
    history: np.ndarray  # (m, n_classes)
    history_mjd: np.ndarray  # (m,)
    history_start: int
    rebuilt: bool


class _Job(NamedTuple):
    """The steps one object takes in an update: ``n_steps`` of ``seq`` from ``state0``."""

    seq: Photometry  # the detections fed (new ones, or all of them for a rebuild), in time order
    base: int  # detections already behind ``state0`` (0 for a rebuild)
    n_steps: int  # how many of ``seq`` the network reads (none past max_len)
    rebuilt: bool
    state0: np.ndarray  # flat state to start from, (state_size,)
    t_first: float | None  # time of the object's first detection: t = mjd - t_first
    context: np.ndarray | None
    curve: Photometry | None = None  # a features model's whole light curve, re-read (lcrnn.serve.prefixes)


def _as_scaler(scaler: Any) -> FeatureScaler:
    """The fitted scaler itself, or rebuilt from its ``to_dict()`` (the form a run's config.json holds)."""
    if isinstance(scaler, FeatureScaler):
        return scaler
    if isinstance(scaler, Mapping):
        return FeatureScaler.from_dict(scaler)
    raise ModelMismatchError(f"scaler must be a FeatureScaler or its to_dict(), got {type(scaler).__name__}.")


def _batch_axis(one: torch.Tensor, two: torch.Tensor) -> int:
    """Which axis of a state tensor indexes objects: the one that grows from batch size 1 to 2."""
    diff = [i for i, (a, b) in enumerate(zip(one.shape, two.shape)) if a != b]
    if len(diff) != 1 or one.shape[diff[0]] != 1 or two.shape[diff[0]] != 2:
        raise ModelMismatchError(
            f"Cannot tell the batch axis of a recurrent state of shape {tuple(one.shape)} / {tuple(two.shape)}; "
            "MixedInputRNN.initial_state(batch_size) must put batch_size on exactly one axis."
        )
    return diff[0]


class IncrementalClassifier:
    """Advance objects' recurrent states one observation at a time, in batches.

    Parameters
    ----------
    network
        A trained :class:`lcrnn.model.network.MixedInputRNN` (put in eval mode here).
    scaler
        The fitted :class:`~lcrnn.data.sequences.FeatureScaler` or its ``to_dict()``: means and standard
        deviations of ``(t - t_first, mag, mag_err)`` and of the context; features are scaled as
        ``(x - mean) / std``.
    classes
        Class names, in the order of the network's outputs.
    max_len
        The batch model keeps only the first ``max_len`` observations of each light curve; so do we.

    Examples
    --------
    >>> inc = IncrementalClassifier.from_trained(load_run("runs/gru-focal"))  # doctest: +SKIP
    >>> [u] = inc.update_many([ObjectState(context=ctx)], [Photometry.of([59000.1], [18.2], [0.05])])
    >>> dict(zip(inc.classes, u.state.probabilities))  # doctest: +SKIP
    """

    def __init__(
        self,
        network: torch.nn.Module,
        scaler: Any,
        classes: Sequence[str],
        max_len: int = 30,
        probabilities: Callable[[torch.Tensor], torch.Tensor] | None = None,
        output: str = "raw softmax",
    ) -> None:
        if isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 1:
            raise ValueError(f"max_len must be a positive integer, got {max_len!r}.")
        self.scaler = _as_scaler(scaler)
        self.network = network.eval()
        self.classes: tuple[str, ...] = tuple(str(c) for c in classes)
        self.max_len = max_len
        # Logits -> probabilities: the run's calibration (lcrnn.train.calibrate), as on the batch route.
        self._probabilities = probabilities or (lambda logits: torch.softmax(logits.to(torch.float32), dim=-1))
        self.output = output
        config = getattr(network, "config", None)
        # The features branch: no recurrent state between updates, each prefix through the batch route.
        self.summary: tuple[str, ...] = tuple(getattr(config, "summary", ()))
        self.uses_context = bool(getattr(config, "use_context", True))
        if self.uses_context:
            if self.scaler.context_mean_ is None:
                raise ModelMismatchError(
                    "The network reads context but the scaler has no context statistics; "
                    "pass the FeatureScaler (or its to_dict()) the network was trained with."
                )
        with torch.inference_mode():
            one = network.initial_state(1)
            two = network.initial_state(2)
        self._axes = [_batch_axis(a, b) for a, b in zip(one, two)]
        # Per-object shape of each state tensor once its batch axis is moved to the front.
        self._shapes = [tuple(np.delete(np.array(t.shape), ax)) for t, ax in zip(one, self._axes)]
        self._sizes = [int(np.prod(s)) for s in self._shapes]
        self.state_size = int(sum(self._sizes))
        self._initial = self._flatten(one)[0]
        # The paper's network steps on flat rows in one native call (lcrnn.model.flat_step); others via tensors.
        self._flat = FlatStep(network) if isinstance(network, MixedInputRNN) and not self.summary else None

    @classmethod
    def from_trained(cls, model: TrainedModel, raw: bool = False,
                     priors: str | Mapping[str, float] | None = None) -> IncrementalClassifier:
        """Wrap a trained model from :func:`lcrnn.train.run_dir.load_run` (or ``Classifier.model_``).

        Its probabilities are calibrated, or raw, or set to ``priors``, exactly as ``Classifier.predict_proba``
        gives them (:func:`lcrnn.train.calibrate.probability_function`).
        """
        function = probability_function(model.calibration, model.classes, raw, priors)
        return cls(model.network, model.scaler, model.classes, model.max_len, probabilities=function,
                   output=output_description(model.calibration, model.classes, raw, priors))

    # --- state tensors <-> flat float32 rows ------------------------------------------------------------

    def _flatten(self, state: Sequence[torch.Tensor]) -> np.ndarray:
        parts = [
            torch.movedim(t, ax, 0).reshape(t.shape[ax], -1).to(torch.float32)
            for t, ax in zip(state, self._axes)
        ]
        return torch.cat(parts, dim=1).numpy().copy()  # (B, state_size)

    def _unflatten(self, flat: np.ndarray) -> tuple[torch.Tensor, ...]:
        flat_t = torch.from_numpy(np.ascontiguousarray(flat, dtype=np.float32))
        out, start = [], 0
        for shape, size, ax in zip(self._shapes, self._sizes, self._axes):
            part = flat_t[:, start : start + size].reshape((flat_t.shape[0], *shape))
            out.append(torch.movedim(part, 0, ax).contiguous())
            start += size
        return tuple(out)

    def initial_state(self) -> np.ndarray:
        """The flat state of an object with no observations yet, shape (state_size,)."""
        return self._initial.copy()

    # --- one batched step ---------------------------------------------------------------------------------

    def _scale_context(self, context: np.ndarray | None, n: int) -> torch.Tensor | None:
        if not self.uses_context:
            return None
        if context is None:
            raise ModelMismatchError("The network reads context (l, b, galaxy distance) but none was given.")
        return torch.from_numpy(self.scaler.scale_context(np.asarray(context, dtype=np.float32).reshape(n, -1)))

    def step(
        self,
        states: np.ndarray,
        t_rel: np.ndarray,
        mag: np.ndarray,
        mag_err: np.ndarray,
        context: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Advance ``n`` objects by one observation each, in one network call.

        Parameters
        ----------
        states
            Flat states, shape (n, state_size).
        t_rel
            Days since each object's first detection, shape (n,).
        mag, mag_err
            The new observations, shape (n,).
        context
            Raw context, shape (n, 3), or None for a model without context.

        Returns
        -------
        probabilities : ndarray, shape (n, n_classes)
        new_states : ndarray, shape (n, state_size)
        """
        if self.summary:
            raise ModelMismatchError("A features model has no one-step update (its summary features describe the "
                                     "whole light curve); classify with update_many and the object's photometry.")
        n = int(np.asarray(states).shape[0])
        # The batch route's own arithmetic: step_features, then the fitted scaler (lcrnn.data).
        x = self.scaler.scale_steps(step_features(t_rel, mag, mag_err))  # (n, 3)
        ctx = self._scale_context(context, n)
        return self._advance(states, x, None if ctx is None else ctx.numpy())

    def _advance(
        self, states: np.ndarray, x: np.ndarray, context: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`step` on scaled inputs ``x`` (n, 3) and scaled context (n, C): probabilities, new states."""
        if self._flat is not None:
            logits, new_states = self._flat(x, states, context)
            with torch.inference_mode():
                return self._probabilities(logits).numpy().copy(), new_states
        ctx = None if context is None else torch.from_numpy(context)
        with torch.inference_mode():
            logits, new_state = self.network.step(torch.from_numpy(x), self._unflatten(states), ctx)
            probs = self._probabilities(logits)
        return probs.numpy().copy(), self._flatten(new_state)

    # --- whole updates -------------------------------------------------------------------------------------

    def needs_rebuild(self, current: ObjectState, new: Photometry) -> bool:
        """True when a new detection is not later than the object's latest, so appending would be wrong."""
        return current.last_mjd is not None and len(new) > 0 and float(new.mjd.min()) <= current.last_mjd

    def needs_photometry(self, current: ObjectState, new: Photometry) -> bool:
        """True when the update needs the object's stored detections: a rebuild, or a features model
        (:mod:`lcrnn.serve.prefixes`) that still reads (fewer than ``max_len`` detections so far)."""
        reads = bool(self.summary) and 0 < current.n_obs < self.max_len and len(new) > 0
        return reads or self.needs_rebuild(current, new)

    def update_many(
        self,
        current: Sequence[ObjectState],
        new: Sequence[Photometry],
        full: Sequence[Photometry | None] | None = None,
    ) -> list[Update]:
        """Feed new detections of many objects, advancing all of them together, one step call per round.

        Parameters
        ----------
        current
            Each object's state before this update.
        new
            Each object's new detections (may be empty).
        full
            For objects that need a rebuild (see :meth:`needs_rebuild`): all their detections, stored and
            new, without duplicates; None elsewhere. An object that needs a rebuild but has no ``full`` entry
            is an error, never a silently wrong state.

        Returns
        -------
        list of Update
            One per object, in the input order.
        """
        if full is None:
            full = [None] * len(current)
        if not (len(current) == len(new) == len(full)):
            raise ValueError("current, new and full must have one entry per object.")
        jobs = [self._plan(i, *job) for i, job in enumerate(zip(current, new, full))]
        step_probs, states = self._run(jobs)
        return [
            self._update(obj, job, probs, state)
            for obj, job, probs, state in zip(current, jobs, step_probs, states)
        ]

    def _plan(self, i: int, obj: ObjectState, add: Photometry, everything: Photometry | None) -> _Job:
        """The steps object ``i`` takes: its new detections from its state, or all of them from scratch.

        A features model given the full photometry of an in-order update re-reads it (``curve``) but takes only
        the new steps; out of order, or with nothing new (a retraction), it is rebuilt as any model is.
        """
        late = self.needs_rebuild(obj, add)
        curve = None
        if everything is not None and self.summary and obj.n_obs > 0 and len(add) and not late:
            curve, everything = everything, None
        if everything is not None:
            first = float(everything.mjd[0]) if len(everything) else None
            seq, base, state0, rebuilt = everything, 0, self._initial, True
        else:
            if self.needs_photometry(obj, add) and curve is None:
                why = (f"has a detection at MJD {float(add.mjd.min())} not later than its latest ({obj.last_mjd})"
                       if late else "is read again whole by a features model")
                raise ModelMismatchError(f"Object #{i} {why}; pass its full photometry.")
            seq, base, rebuilt = add, obj.n_obs, False
            state0 = self._initial if obj.state is None else np.asarray(obj.state, np.float32)
            if state0.shape != (self.state_size,):
                raise ModelMismatchError(
                    f"Stored state has {state0.size} numbers, the model needs {self.state_size}: "
                    "the store was written by another model; use a fresh database."
                )
            first = obj.first_mjd if obj.first_mjd is not None else (float(seq.mjd[0]) if len(seq) else None)
        if len(seq) > 1 and not np.all(np.diff(seq.mjd) > 0):
            raise ValueError(
                f"The detections of object #{i} are not in strictly increasing time order; build them with "
                "Photometry.of(...) (which sorts) and drop repeated times."
            )
        n_steps = max(0, min(len(seq), self.max_len - base))  # the batch model stops at max_len
        return _Job(seq, base, n_steps, rebuilt, state0, first, obj.context, curve)

    def _run(self, jobs: Sequence[_Job]) -> tuple[np.ndarray, np.ndarray]:
        """Run every job's steps, all objects with an r-th step in one network call per round r.

        Returns the probabilities after each step, shape (jobs, max_steps, n_classes), and the final states.
        """
        if self.summary:
            return self._run_prefixes(jobs)
        if len(jobs) == 1 and jobs[0].n_steps == 1:
            return self._run_one(jobs[0])
        n_jobs, n_classes = len(jobs), len(self.classes)
        steps = np.array([job.n_steps for job in jobs], dtype=np.int64)
        max_steps = int(steps.max(initial=0))
        # Pad the steps to run into (jobs, max_steps) arrays, so each round is a slice, not a Python loop.
        t_rel = np.zeros((n_jobs, max_steps))
        mag = np.zeros((n_jobs, max_steps))
        err = np.zeros((n_jobs, max_steps))
        for i, job in enumerate(jobs):
            k = job.n_steps
            if k:
                t_rel[i, :k] = job.seq.mjd[:k] - job.t_first
                mag[i, :k] = job.seq.mag[:k]
                err[i, :k] = job.seq.mag_err[:k]
        ctx_all = None
        if self.uses_context and max_steps:
            contexts = [job.context for job in jobs]
            if any(c is None for c, k in zip(contexts, steps) if k):
                raise ModelMismatchError("An object without context reached a model that reads context.")
            width = next(len(c) for c in contexts if c is not None)
            raw = np.stack(
                [np.zeros(width, np.float32) if c is None else np.asarray(c, np.float32) for c in contexts]
            )
            ctx_all = self.scaler.scale_context(raw)  # (jobs, C): scaled once, not once per round
        # Every step's features scaled at once: the same elementwise arithmetic as step() does per round.
        x_all = self.scaler.scale_steps(step_features(t_rel, mag, err))  # (jobs, max_steps, 3)
        states = np.zeros((n_jobs, self.state_size), np.float32)  # (jobs, state_size)
        for i, job in enumerate(jobs):
            states[i] = job.state0
        step_probs = np.zeros((n_jobs, max_steps, n_classes), np.float32)
        for r in range(max_steps):
            # Objects with an r-th step to take: one network call for all (a slice when that is everyone).
            idx = slice(None) if steps.min() > r else np.flatnonzero(steps > r)
            ctx = None if ctx_all is None else ctx_all[idx]
            step_probs[idx, r], states[idx] = self._advance(states[idx], x_all[idx, r], ctx)
        return step_probs, states

    def _run_prefixes(self, jobs: Sequence[_Job]) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`_run` for a features model: the batch network on every prefix each job adds."""
        if self.uses_context and any(job.context is None for job in jobs if job.n_steps):
            raise ModelMismatchError("An object without context reached a model that reads context.")
        probs = prefix_probabilities(self.network, self.scaler, self._probabilities, jobs, len(self.classes))
        return probs, np.tile(self._initial, (len(jobs), 1))  # no state: the next update re-reads the curve

    def _run_one(self, job: _Job) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`_run` for the usual served call, one object and one step: the same arithmetic, no padding."""
        seq = job.seq
        x = self.scaler.scale_steps(step_features(seq.mjd[:1] - job.t_first, seq.mag[:1], seq.mag_err[:1]))
        ctx = None
        if self.uses_context:
            if job.context is None:
                raise ModelMismatchError("An object without context reached a model that reads context.")
            ctx = self.scaler.scale_context(np.asarray(job.context, np.float32).reshape(1, -1))
        probs, states = self._advance(np.asarray(job.state0, np.float32).reshape(1, -1), x, ctx)
        return probs[:, None], states  # (1, 1, n_classes), (1, state_size)

    def _update(self, obj: ObjectState, job: _Job, step_probs: np.ndarray, state: np.ndarray) -> Update:
        """An object's new state and history rows from the probabilities after each step it took."""
        seq, n_steps, n_classes = job.seq, job.n_steps, len(self.classes)
        last = step_probs[n_steps - 1] if n_steps else obj.probabilities
        if n_steps == len(seq):  # the usual case: one row per step taken
            history = step_probs[:n_steps]
        elif last is None:
            history = np.zeros((0, n_classes), np.float32)
        else:  # past max_len: the probabilities stay as they were
            unchanged = np.repeat(np.asarray(last, np.float32)[None], len(seq) - n_steps, axis=0)
            history = np.concatenate([step_probs[:n_steps], unchanged])
        n_obs = len(seq) if job.rebuilt else obj.n_obs + len(seq)
        if len(seq):
            last_mjd = (
                float(seq.mjd[-1])
                if job.rebuilt or obj.last_mjd is None
                else max(obj.last_mjd, float(seq.mjd[-1]))
            )
        else:
            last_mjd = None if job.rebuilt else obj.last_mjd
        new_state = ObjectState(
            context=obj.context,
            n_obs=n_obs,
            first_mjd=job.t_first,
            last_mjd=last_mjd,
            state=state.copy() if n_obs > 0 else None,
            probabilities=None if last is None else np.asarray(last, np.float32).copy(),
        )
        return Update(
            state=new_state,
            history=history,
            history_mjd=np.asarray(seq.mjd, np.float64),
            history_start=0 if job.rebuilt else job.base,
            rebuilt=job.rebuilt,
        )

    def probabilities_of(self, photometry: Photometry, context: np.ndarray | None = None) -> np.ndarray:
        """Probabilities after each detection of one light curve (a rebuild from nothing), shape (n, K)."""
        [u] = self.update_many([ObjectState(context=context)], [photometry], [photometry])
        return u.history

    def describe(self) -> dict[str, Any]:
        """What a store records to refuse states written by another model."""
        return {"classes": list(self.classes), "state_size": self.state_size, "max_len": self.max_len}
