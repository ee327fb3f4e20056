"""`Classifier`: the scikit-learn-shaped front door to the whole pipeline.

``Classifier(rnn="gru", loss="focal", gamma=2).fit(photometry, objects, galaxies)`` validates the tables,
computes the context with the real cross-match, splits (stratified), scales on the training part only, trains
and keeps the best-validation-AUC weights. Its settings are a :class:`~lcrnn.model.config.NetworkConfig` and a
:class:`~lcrnn.train.config.TrainConfig` (the one source of every hyperparameter and its default); keyword
shorthands such as ``rnn="lstm"`` or ``epochs=20`` set their fields. A fitted classifier holds a
:class:`~lcrnn.train.run_dir.TrainedModel`, which :meth:`Classifier.save` writes as a run directory.
"""

from __future__ import annotations

import dataclasses
import logging
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from lcrnn.data.context import (
    CARRIED,
    ContextConfig,
    carries_context,
    catalogue_fingerprint,
    check_catalogue,
    objects_context,
)
from lcrnn.data.features import with_summary
from lcrnn.data.inputs import network_inputs
from lcrnn.data.scaling import FeatureScaler
from lcrnn.data.sequences import SequenceSet, build_sequences
from lcrnn.data.splits import Split, make_split
from lcrnn.data.tables import validate_survey
from lcrnn.errors import InvalidConfigError, InvalidTableError, LcrnnWarning, NotFittedError
from lcrnn.model.config import NetworkConfig
from lcrnn.model.inference import SequenceTensors, embed, predict_logits, resolve_device
from lcrnn.model.network import MixedInputRNN
from lcrnn.settings import field_names
from lcrnn.train.augment import AugmentConfig, augment_sequences, augmentation_rng
from lcrnn.train.calibrate import (
    calibrate,
    estimated_probabilities,
    held_priors,
    is_auto,
    output_description,
    probability_function,
)
from lcrnn.train.config import TrainConfig
from lcrnn.train.finetune import (
    SCALER_POLICIES,
    FineTuneConfig,
    check_same_classes,
    conflicting_settings,
    refuse_conflicts,
)
from lcrnn.train.loop import train
from lcrnn.train.run_dir import TrainedModel, load_run, save_run, weights_sha256

__all__ = ["PAPER_CLASS_ORDER", "Classifier", "KeptEpochWarning", "check_labels", "order_classes", "split_settings"]

PAPER_CLASS_ORDER = ("VS", "SN", "AGN")
logger = logging.getLogger(__name__)

# Fitted attributes, scikit-learn style, read from the TrainedModel the classifier holds.
_FITTED = {
    "network_": "network",
    "classes_": "classes",
    "scaler_": "scaler",
    "network_config_": "network_config",
    "train_config_": "train_config",
    "context_config_": "context_config",
    "class_counts_": "class_counts",
    "best_epoch_": "best_epoch",
    "best_val_auc_": "best_val_auc",
    "split_": "split",
    "history_": "history",
    "finetune_": "finetune",
}


class KeptEpochWarning(LcrnnWarning):
    """The kept epoch is the last one (the model may be undertrained), or a fine-tuning kept its start."""


def order_classes(labels, classes: Sequence[str] | None = None) -> tuple[str, ...]:
    """Classes present in `labels`: those of `classes` in its order (default: the paper's VS, SN, AGN), any
    others after, sorted."""
    present = set(pd.Series(labels).dropna().astype(str))
    known = [c for c in (PAPER_CLASS_ORDER if classes is None else classes) if c in present]
    return tuple(known + sorted(present - set(known)))


def check_labels(labels, classes: Sequence[str] | None = None) -> tuple[str, ...]:
    """The classes to train on (`classes`, default the paper's VS, SN, AGN); a label outside them is an error.

    Raises
    ------
    InvalidTableError
        Naming each stray label with its count and the ways to fix it: map it, drop it, or name it a class.
    """
    expected = PAPER_CLASS_ORDER if classes is None else tuple(str(c) for c in classes)
    if len(set(expected)) != len(expected) or not all(expected):
        raise InvalidConfigError(f"classes must be distinct, non-empty labels; got {list(expected)}.")
    present = pd.Series(labels).dropna().astype(str)
    stray = present[~present.isin(expected)].value_counts()
    if len(stray):
        listing = ", ".join(f"{label!r} ({n} object{'s' * (n != 1)})" for label, n in stray.items())
        every = [*expected, *stray.index]
        default = "" if classes is not None else " (the paper's, the default)"
        raise InvalidTableError(
            f"labels outside the classes {list(expected)}{default}: {listing}. Map them to these classes (a "
            "label mapping file, as `lcrnn label --mapping` and `lcrnn import --mapping` read), drop them "
            "(on_invalid=\"drop\"), or train on them too by naming every class: "
            f"classes={every} (lcrnn train --classes {','.join(every)}).")
    return expected


def split_settings(network: NetworkConfig | None = None, train: TrainConfig | None = None,
                   augment: AugmentConfig | None = None,
                   **settings: Any) -> tuple[NetworkConfig, TrainConfig, AugmentConfig]:
    """Apply keyword shorthands (any NetworkConfig, TrainConfig or AugmentConfig field) to the three configs.

    An unknown keyword is an :class:`~lcrnn.errors.InvalidConfigError` that lists the known ones, so a typo
    never trains with a default the user did not ask for.
    """
    configs = [network or NetworkConfig(), train or TrainConfig(), augment or AugmentConfig()]
    fields = [set(field_names(type(config))) for config in configs]
    unknown = sorted(set(settings) - set().union(*fields))
    if unknown:
        raise InvalidConfigError(
            f"unknown setting(s) {unknown}; the network settings are {sorted(fields[0])}, the training "
            f"settings {sorted(fields[1])} and the augmentation settings {sorted(fields[2])}.")
    network, train, augment = (dataclasses.replace(config, **{k: v for k, v in settings.items() if k in names})
                               for config, names in zip(configs, fields))
    return network, train, augment


class Classifier:
    """Light-curve classifier: two stacked GRU/LSTM layers plus sky context (Burhanudin et al. 2021).

    Parameters
    ----------
    network : NetworkConfig, optional
        Architecture and the observations read per light curve (defaults: the paper's).
    train : TrainConfig, optional
        Loss, optimiser and schedule (defaults: the paper's weighted focal loss, 200 epochs, Adam 1e-4).
    context : ContextConfig, optional
        Galaxy cross-match radius and the dummy distance beyond it.
    progress : bool
        Progress bars during fit.
    allow_missing_catalogue : bool
        Predict without a galaxy catalogue although the model was trained with one (every object then gets
        the dummy galaxy distance). By default that is refused; each prediction method can also opt out.
    augment : AugmentConfig, optional
        Training-time augmentations of the light curves (:mod:`lcrnn.train.augment`; all off by default,
        ``lcrnn.train.augment.ROBUST`` is a recipe).
    raw : bool
        The network's softmax as trained, not calibrated.
    priors : str or mapping, optional
        Class frequencies of the survey classified (``"VS=0.99,SN=0.002,AGN=0.008"``), or ``"auto"`` to
        estimate them from the objects classified (``estimated_priors_``; one estimate per call, from the whole
        light curves in ``predict_proba_over_time``): probabilities at the survey's own class mix.
    **settings
        Shorthands for fields of the three configs, e.g. ``rnn="lstm"``, ``hidden=100``, ``epochs=20``,
        ``use_context=False``, ``prefix=0.5``, ``mag_offset=1.0``.

    Examples
    --------
    >>> clf = Classifier(rnn="gru", loss="focal", gamma=2, epochs=20)  # doctest: +SKIP
    >>> clf = Classifier(network=NetworkConfig(hidden=100), train=TrainConfig(lr=1e-3))  # doctest: +SKIP
    >>> clf = Classifier(epochs=20, freeze_rnn_epochs=3).fit(phot, objs, gals, init="runs/sim")  # doctest: +SKIP
    """

    def __init__(self, network: NetworkConfig | None = None, train: TrainConfig | None = None,
                 context: ContextConfig | None = None, *, progress: bool = True,
                 allow_missing_catalogue: bool = False, augment: AugmentConfig | None = None,
                 raw: bool = False, priors: str | Mapping[str, float] | None = None, **settings: Any) -> None:
        self.network, self.train, self.augment = split_settings(network, train, augment, **settings)
        self.context = context if context is not None else ContextConfig()
        self.progress = progress
        self.allow_missing_catalogue = allow_missing_catalogue
        self.raw, self.priors = raw, priors  # calibrated probabilities unless raw; priors of the survey classified
        self.estimated_priors_: dict[str, float] | None = None  # priors="auto": the last batch's class mix
        self.catalogue_note: str | None = None  # what the last prediction said about its catalogue, if anything
        self._catalogues_warned: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        # Only reached when normal lookup fails: fitted attributes and config fields as read-only shorthands.
        if name in _FITTED:
            model = self.__dict__.get("model_")
            if model is None:
                raise AttributeError(f"{name}: this Classifier is not fitted; call fit(...) or Classifier.load(path)")
            return getattr(model, _FITTED[name])
        for config_name in ("network", "train", "augment"):
            config = self.__dict__.get(config_name)
            if config is not None and name in field_names(type(config)):
                return getattr(config, name)
        raise AttributeError(f"'Classifier' object has no attribute {name!r}")

    @property
    def name(self) -> str:
        """The run's name: the directory it was saved to or loaded from."""
        model = self.__dict__.get("model_")
        return "lcrnn" if model is None else model.name

    @property
    def probabilities_(self) -> Callable[[torch.Tensor], torch.Tensor]:
        """Logits -> the probabilities asked for (calibrated by default; see lcrnn.train.calibrate)."""
        self._check_fitted()
        return probability_function(self.model_.calibration, self.classes_, self.raw, self.priors)

    @property
    def output_(self) -> str:
        """What :meth:`predict_proba` returns, in words: "calibrated", "raw softmax", or with priors."""
        self._check_fitted()
        words = output_description(self.model_.calibration, self.classes_, self.raw, self.priors)
        if is_auto(self.priors) and self.estimated_priors_ is not None:
            words += ": " + ",".join(f"{c}={p:.3g}" for c, p in self.estimated_priors_.items())
        return words

    def _check_fitted(self) -> None:
        if "model_" not in self.__dict__:
            raise NotFittedError("this Classifier is not fitted: call fit(...) or Classifier.load(path) first")

    # --- data preparation ---------------------------------------------------------------------------------

    def _check_catalogue(self, galaxies: pd.DataFrame | None, source: Any, allow_missing: bool | None) -> None:
        """Refuse a context model without its catalogue unless opted out; warn once about another catalogue."""
        allow = self.allow_missing_catalogue if allow_missing is None else allow_missing
        check = check_catalogue(
            self.model_.galaxies, catalogue_fingerprint(galaxies, source), uses_context=self.use_context,
            allow_missing=allow, give_hint="galaxies=<table>; lcrnn predict: --galaxies FILE or galaxies.parquet "
            "in the survey directory", opt_out_hint="allow_missing_catalogue=True (lcrnn predict --no-galaxies)")
        self.catalogue_note = check.message
        if check.message is not None and check.message not in self._catalogues_warned:
            self._catalogues_warned.add(check.message)
            warnings.warn(check.message, LcrnnWarning, stacklevel=4)

    def _context_frame(self, objects: pd.DataFrame, galaxies: pd.DataFrame | None, source: Any = None,
                       allow_missing: bool | None = None) -> pd.DataFrame:
        """Context for the validated `objects`: the columns they carry, else cross-matched against `galaxies`."""
        if not carries_context(objects):
            self._check_catalogue(galaxies, source, allow_missing)
        return objects_context(objects, galaxies, self.model_.context_config if "model_" in self.__dict__ else
                               self.context)

    def prepare(self, photometry: pd.DataFrame, objects: pd.DataFrame, galaxies: pd.DataFrame | None = None,
                first_n: int | None = None, on_invalid: str = "raise",
                allow_missing_catalogue: bool | None = None) -> SequenceSet:
        """Validated, unscaled sequences with context (and labels when `objects` has them) for a fitted model.

        A model that reads context needs `galaxies` (or objects carrying the context columns): without it
        :class:`~lcrnn.data.context.MissingCatalogueError` names the catalogue the model was trained with,
        unless `allow_missing_catalogue` (default: the classifier's attribute) opts out. A catalogue other
        than the training one gives one :class:`~lcrnn.errors.LcrnnWarning` naming both.
        """
        self._check_fitted()
        survey, _ = validate_survey(photometry, objects, galaxies, on_invalid=on_invalid)
        context = self._context_frame(survey.objects, survey.galaxies, _source_of(galaxies), allow_missing_catalogue)
        labels = None
        if "label" in survey.objects.columns and survey.objects["label"].notna().all():
            unknown = sorted(set(survey.objects["label"].astype(str)) - set(self.classes_))
            if not unknown:
                labels = survey.objects["label"].astype(str).to_numpy()
        return build_sequences(survey.photometry, context=context, labels=labels,
                               classes=self.classes_ if labels is not None else None,
                               max_len=self.max_len, first_n=first_n)

    # --- fit ----------------------------------------------------------------------------------------------

    def fit(self, photometry: pd.DataFrame, objects: pd.DataFrame, galaxies: pd.DataFrame | None = None,
            split: Split | None = None, checkpoint_dir: str | Path | None = None,
            on_invalid: str = "raise", classes: Sequence[str] | None = None,
            init: str | Path | TrainedModel | None = None, scaler: str = "keep") -> Classifier:
        """Train on every labelled object; `split` (default: stratified 70/30, then 30 % of train) decides which
        objects train, which validate (model selection) and which are held out for testing.

        `classes` are the labels to train on (default: the paper's VS, SN, AGN); a label outside them is an
        error naming it (see :func:`check_labels`), or with ``on_invalid="drop"`` its objects are dropped.
        The classes found and their counts are logged (logger ``lcrnn.classifier``, level INFO). Objects that
        carry ``gal_l``, ``gal_b``, ``galaxy_dist_arcsec`` give the context, as in `prepare` (run: ``CARRIED``).

        `init` fine-tunes a trained run (a run directory or a :class:`~lcrnn.train.run_dir.TrainedModel`):
        training starts from its weights, with its network and context settings (asking for others is an
        error naming them) and its classes (the new data must hold exactly these); the loss weights come from
        the new data. `scaler` is ``"keep"`` (the run's scaler) or ``"refit"`` (fitted on the new training
        part). The history's epoch 0 is the starting weights scored on the new validation part.
        A :class:`KeptEpochWarning` says when the kept epoch is the last one (the model may be undertrained).
        """
        if scaler not in SCALER_POLICIES:
            raise InvalidConfigError(f"scaler must be 'keep' or 'refit', not {scaler!r}")
        start = None if init is None else self._adopt(init)
        if start is None and self.train.freeze_rnn_epochs:
            raise InvalidConfigError(
                f"freeze_rnn_epochs={self.train.freeze_rnn_epochs} holds pretrained recurrent layers fixed; "
                "pass init=RUN (lcrnn train --init RUN) or drop it.")
        expected = check_labels([], classes if classes is not None or start is None else start.classes)
        survey, _ = validate_survey(photometry, objects, galaxies, on_invalid=on_invalid,
                                    classes=expected if on_invalid == "drop" else None)
        if "label" not in survey.objects.columns or survey.objects["label"].isna().any():
            raise InvalidTableError("fit needs a 'label' for every object in the objects table")
        check_labels(survey.objects["label"], classes if start is None else expected)
        classes = order_classes(survey.objects["label"], expected)
        if start is not None:
            classes = check_same_classes(_init_name(init), start.classes, classes)
        found = survey.objects["label"].astype(str).value_counts()
        logger.info("training on %d classes: %s", len(classes), ", ".join(f"{c} {found[c]}" for c in classes))
        if len(classes) < 2:
            raise InvalidTableError(f"fit needs at least two classes, got {list(classes)}")
        labels = survey.objects["label"].astype(str).to_numpy()
        catalogue = (CARRIED if carries_context(survey.objects)
                     else catalogue_fingerprint(survey.galaxies, _source_of(galaxies)))
        seqs = build_sequences(survey.photometry, context=objects_context(survey.objects, survey.galaxies,
                                                                          self.context),
                               labels=labels, classes=classes, max_len=self.network.max_len)
        split = split or make_split(seqs.object_ids, seqs.labels, seed=self.train.seed, classes=classes)
        part = split.part_of(seqs.object_ids)
        train_set, val_set = seqs.subset(np.flatnonzero(part == "train")), seqs.subset(np.flatnonzero(part == "val"))
        if len(train_set) == 0 or len(val_set) == 0:
            raise InvalidTableError("the split left no training or no validation objects among these data")

        counts = np.bincount(train_set.labels, minlength=len(classes))
        model = TrainedModel(
            network=_initial_network(self.network, len(classes), self.train.seed, start), classes=classes,
            network_config=self.network, train_config=self.train, context_config=self.context,
            scaler=_initial_scaler(start, scaler, train_set, self.network), split=split,
            class_counts={c: int(n) for c, n in zip(classes, counts)},
            galaxies=catalogue, band=_band_of(survey.photometry),
            augment=self.augment, finetune=None if start is None else FineTuneConfig(
                init=_init_name(init), init_sha256=weights_sha256(start.network), scaler=scaler))
        result = train(model.network, _network_inputs(model, train_set), _network_inputs(model, val_set),
                       self.train, checkpoint_dir=checkpoint_dir, progress=self.progress,
                       train_inputs=_augmented_inputs(model, train_set), score_start=start is not None)
        model.network.to("cpu").eval()
        model.history, model.best_epoch, model.best_val_auc = result.history, result.best_epoch, result.best_val_auc
        model.calibration = calibrate(model.network, _network_inputs(model, val_set))
        self.model_, self.fit_note_ = model, result.note
        if result.note is not None:
            warnings.warn(result.note, KeptEpochWarning, stacklevel=2)
        return self

    def _adopt(self, init: str | Path | TrainedModel) -> TrainedModel:
        """The starting run; its network and context settings become this classifier's (others asked: error)."""
        start = init if isinstance(init, TrainedModel) else load_run(init)
        refuse_conflicts(_init_name(init), conflicting_settings(start.network_config, self.network))
        refuse_conflicts(_init_name(init), conflicting_settings(start.context_config, self.context), "context")
        self.network, self.context = start.network_config, start.context_config
        return start

    # --- prediction ---------------------------------------------------------------------------------------

    def predict_proba_sequences(self, seqs: SequenceSet, batch_size: int = 8192) -> np.ndarray:
        """Class probabilities (n, n_classes) for unscaled sequences from `prepare` / `build_sequences`."""
        self._check_fitted()
        self.estimated_priors_ = None
        if len(seqs) == 0:
            return np.empty((0, len(self.classes_)), dtype=np.float32)
        device = resolve_device(self.device)
        self.network_.to(device)
        data = SequenceTensors.from_set(_network_inputs(self.model_, seqs), device)
        logits = predict_logits(self.network_, data, batch_size=batch_size)
        if is_auto(self.priors) and not self.raw and self.model_.calibration is not None:
            proba, self.estimated_priors_ = estimated_probabilities(self.model_.calibration, logits, self.classes_)
            return proba.numpy()
        return self.probabilities_(logits).numpy()

    def embed_sequences(self, seqs: SequenceSet, batch_size: int = 8192) -> dict[str, np.ndarray]:
        """Learned representations for t-SNE: the last recurrent layer's and the last dense layer's outputs."""
        self._check_fitted()
        self.network_.to("cpu")
        data = SequenceTensors.from_set(_network_inputs(self.model_, seqs), torch.device("cpu"))
        return embed(self.network_, data, batch_size=batch_size)

    def predict_proba(self, photometry: pd.DataFrame, objects: pd.DataFrame, galaxies: pd.DataFrame | None = None,
                      first_n: int | None = None, on_invalid: str = "raise",
                      allow_missing_catalogue: bool | None = None) -> pd.DataFrame:
        """A DataFrame `object_id, p_<class>...` (one row per object, the objects table's order); the
        catalogue rule is :meth:`prepare`'s."""
        seqs = self.prepare(photometry, objects, galaxies, first_n=first_n, on_invalid=on_invalid,
                            allow_missing_catalogue=allow_missing_catalogue)
        proba = self.predict_proba_sequences(seqs)
        frame = pd.DataFrame(proba, columns=[f"p_{c}" for c in self.classes_])
        frame.insert(0, "object_id", seqs.object_ids)
        return frame

    def predict(self, photometry: pd.DataFrame, objects: pd.DataFrame, galaxies: pd.DataFrame | None = None,
                first_n: int | None = None, allow_missing_catalogue: bool | None = None) -> pd.DataFrame:
        """`predict_proba` plus a `predicted` column holding the most probable class."""
        frame = self.predict_proba(photometry, objects, galaxies, first_n=first_n,
                                   allow_missing_catalogue=allow_missing_catalogue)
        columns = [f"p_{c}" for c in self.classes_]
        frame["predicted"] = np.asarray(self.classes_)[frame[columns].to_numpy().argmax(axis=1)]
        return frame

    def predict_proba_over_time(self, photometry: pd.DataFrame, objects: pd.DataFrame,
                                galaxies: pd.DataFrame | None = None,
                                allow_missing_catalogue: bool | None = None) -> pd.DataFrame:
        """The real-time view: one row per object and observation k = 1..max_len, the probabilities after k."""
        seqs = self.prepare(photometry, objects, galaxies, allow_missing_catalogue=allow_missing_catalogue)
        frames = []
        with held_priors(self, seqs):
            for k in range(1, int(seqs.lengths.max()) + 1):
                has_k = np.flatnonzero(seqs.lengths >= k)
                sub = seqs.subset(has_k).truncate(k)
                proba = self.predict_proba_sequences(sub)
                frame = pd.DataFrame(proba, columns=[f"p_{c}" for c in self.classes_])
                frame.insert(0, "n_obs", k)
                frame.insert(0, "object_id", sub.object_ids)
                frame.insert(2, "t_days", sub.values[:, k - 1, 0])
                frames.append(frame)
        return pd.concat(frames, ignore_index=True).sort_values(["object_id", "n_obs"], ignore_index=True)

    # --- persistence --------------------------------------------------------------------------------------

    def config_dict(self) -> dict:
        """Everything inference needs, as plain JSON."""
        self._check_fitted()
        return self.model_.config_dict()

    def save(self, path: str | Path) -> Path:
        """Write the run directory (``model.safetensors``, ``config.json``, ``history.csv``); it names the run."""
        self._check_fitted()
        self.model_.name = Path(path).name
        return save_run(path, self.model_)

    @classmethod
    def from_trained(cls, model: TrainedModel, device: str = "auto") -> Classifier:
        """Wrap a loaded :class:`~lcrnn.train.run_dir.TrainedModel`."""
        clf = cls(network=model.network_config, train=dataclasses.replace(model.train_config, device=device),
                  context=model.context_config, progress=False, augment=model.augment)
        clf.model_ = model
        return clf

    @classmethod
    def load(cls, path: str | Path, device: str = "auto") -> Classifier:
        """Read a run directory written by `save` (safetensors + JSON; nothing is unpickled)."""
        return cls.from_trained(load_run(path), device=device)

    def __repr__(self) -> str:
        fitted = f", classes={list(self.classes_)}" if "model_" in self.__dict__ else ""
        return (f"Classifier(rnn={self.rnn!r}, loss={self.loss!r}, gamma={self.gamma}, hidden={self.hidden}, "
                f"dense={self.dense}, use_context={self.use_context}{fitted})")


def _band_of(photometry: pd.DataFrame) -> str | None:
    """The one band the light curves were read in (build_sequences refuses several), recorded in the run."""
    bands = photometry["band"].dropna().astype(str).unique() if "band" in photometry.columns else []
    return str(bands[0]) if len(bands) == 1 else None


def _source_of(galaxies: Any) -> Any:
    """The file a galaxy table was read from (:func:`lcrnn.data.io.read_table` records it), or None."""
    return getattr(galaxies, "attrs", {}).get("source")


def _network_inputs(model: TrainedModel, seqs: SequenceSet) -> SequenceSet:
    """Scaled sequences as the network reads them (:func:`lcrnn.data.inputs.network_inputs`)."""
    cfg = model.network_config
    return network_inputs(seqs, model.scaler, max_len=model.max_len, summary=cfg.summary,
                          use_context=cfg.use_context)


def _init_name(init: str | Path | TrainedModel) -> str:
    """How a fine-tuned run records its start: the path as given, or a loaded model's name."""
    return init.name if isinstance(init, TrainedModel) else str(init)


def _initial_network(config: NetworkConfig, n_classes: int, seed: int, start: TrainedModel | None) -> MixedInputRNN:
    """Fresh weights drawn from `seed`, or a copy of the starting run's weights (fine-tuning)."""
    torch.manual_seed(seed)
    network = MixedInputRNN(config, n_classes=n_classes)
    if start is not None:
        network.load_state_dict(start.network.state_dict())
    return network


def _initial_scaler(start: TrainedModel | None, policy: str, train_set: SequenceSet,
                    network: NetworkConfig) -> FeatureScaler:
    """The scaler fitted on this training part, or (fine-tuning with ``keep``) a copy of the starting run's."""
    if start is not None and policy == "keep":
        return FeatureScaler.from_dict(start.scaler.to_dict())
    return FeatureScaler().fit(with_summary(train_set, network.summary) if network.summary else train_set)


def _augmented_inputs(model: TrainedModel, train_set: SequenceSet) -> Callable[[int], SequenceSet] | None:
    """``epoch -> scaled training set`` with that epoch's fresh augmentations, or None when none is on; the
    augmented raw steps go through :func:`_network_inputs`, the scaler every other input goes through."""
    if not model.augment.active:
        return None
    seed = model.train_config.seed
    return lambda epoch: _network_inputs(model, augment_sequences(train_set, model.augment,
                                                                  augmentation_rng(seed, epoch)))
