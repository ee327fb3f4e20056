"""`Classifier`: the scikit-learn-shaped front door to the whole pipeline.

``Classifier(rnn="gru", loss="focal", gamma=2).fit(photometry, objects, galaxies)`` validates the tables,
computes the context with the real cross-match, splits (stratified), scales on the training part only, trains
and keeps the best-validation-AUC weights. Everything needed at inference (architecture, scaling, class names,
context settings, the split) goes into ``config.json`` beside ``model.safetensors``.
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import torch

from lcrnn.data.context import CONTEXT_COLUMNS, ContextConfig, compute_context
from lcrnn.data.sequences import FeatureScaler, SequenceSet, build_sequences
from lcrnn.data.splits import Split, make_split
from lcrnn.data.tables import validate_survey
from lcrnn.errors import InvalidTableError, LcrnnWarning, NotFittedError
from lcrnn.model.config import NetworkConfig
from lcrnn.model.network import MixedInputRNN
from lcrnn.train.checkpoint import load_model, save_model
from lcrnn.train.loop import SequenceTensors, TrainConfig, predict_logits, resolve_device, train

__all__ = ["Classifier", "order_classes"]

PAPER_CLASS_ORDER = ("VS", "SN", "AGN")


def order_classes(labels) -> tuple[str, ...]:
    """Classes present in `labels`: the paper's VS, SN, AGN first in that order, any others after, sorted."""
    present = set(pd.Series(labels).dropna().astype(str))
    known = [c for c in PAPER_CLASS_ORDER if c in present]
    return tuple(known + sorted(present - set(known)))


class Classifier:
    """Light-curve classifier: two stacked GRU/LSTM layers plus sky context (Burhanudin et al. 2021).

    Parameters
    ----------
    rnn : {"gru", "lstm"}
        Recurrent cell.
    loss : {"ce", "wce", "focal"}
        Unweighted cross entropy, weighted cross entropy, or weighted focal loss (paper eqs. 2-5).
    gamma : float
        Focal-loss focusing parameter (ignored by the cross-entropy losses).
    hidden, dense, dropout, activation, use_context
        Network shape (paper Table 1: hidden 100/150, dense 100/200, dropout 0.4; sigmoid dense activations).
    epochs, batch_size, lr, seed, stratified_batches, early_stopping, device
        Training schedule (paper: 200 epochs, batch 128, Adam lr 1e-4).
    select_by : {"val_auc", "val_loss"}
        Which epoch is kept: the best validation Hand & Till AUC (the paper's), or the lowest validation
        loss, which is steadier when the validation set holds only a few objects of a class.
    max_len : int
        Observations kept per light curve (paper: the first 30).
    context : ContextConfig
        Galaxy cross-match radius and the dummy distance beyond it.
    progress : bool
        Progress bars during fit.
    """

    def __init__(
        self,
        rnn: Literal["gru", "lstm"] = "gru",
        loss: Literal["ce", "wce", "focal"] = "focal",
        gamma: float = 2.0,
        hidden: int = 150,
        dense: int = 200,
        dropout: float = 0.4,
        activation: str = "sigmoid",
        use_context: bool = True,
        epochs: int = 200,
        batch_size: int = 128,
        lr: float = 1e-4,
        seed: int = 0,
        stratified_batches: bool = False,
        early_stopping: int | None = None,
        select_by: Literal["val_auc", "val_loss"] = "val_auc",
        device: str = "auto",
        max_len: int = 30,
        context: ContextConfig | None = None,
        progress: bool = True,
    ) -> None:
        self.rnn = rnn
        self.loss = loss
        self.gamma = gamma
        self.hidden = hidden
        self.dense = dense
        self.dropout = dropout
        self.activation = activation
        self.use_context = use_context
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.seed = seed
        self.stratified_batches = stratified_batches
        self.early_stopping = early_stopping
        self.select_by = select_by
        self.device = device
        self.max_len = max_len
        self.context = context
        self.progress = progress
        self.name = "lcrnn"

    # --- configuration ------------------------------------------------------------------------------------

    def network_config(self) -> NetworkConfig:
        return NetworkConfig(rnn=self.rnn, hidden=self.hidden, dense=self.dense, dropout=self.dropout,
                             use_context=self.use_context, activation=self.activation)

    def train_config(self) -> TrainConfig:
        return TrainConfig(loss=self.loss, gamma=self.gamma, epochs=self.epochs, batch_size=self.batch_size,
                           lr=self.lr, seed=self.seed, stratified_batches=self.stratified_batches,
                           early_stopping=self.early_stopping, select_by=self.select_by, device=self.device)

    def _check_fitted(self) -> None:
        if not hasattr(self, "network_"):
            raise NotFittedError("this Classifier is not fitted: call fit(...) or Classifier.load(path) first")

    # --- data preparation ---------------------------------------------------------------------------------

    def _context_frame(self, objects: pd.DataFrame, galaxies: pd.DataFrame | None) -> pd.DataFrame:
        """Context for `objects`: taken from its columns when present, else cross-matched against `galaxies`."""
        config = getattr(self, "context_config_", None) or self.context or ContextConfig()
        if all(c in objects.columns for c in CONTEXT_COLUMNS):
            return objects[["object_id", *CONTEXT_COLUMNS]].reset_index(drop=True)
        if galaxies is None and self.use_context:
            warnings.warn(
                "no galaxy catalogue given: every object gets the dummy galaxy distance "
                f"({config.dummy_distance_arcsec}\"), which the model reads as 'no galaxy within "
                f"{config.max_distance_arcsec}\"'. Pass the catalogue the model was trained with.",
                LcrnnWarning, stacklevel=3)
        return compute_context(objects, galaxies, config)

    def prepare(self, photometry: pd.DataFrame, objects: pd.DataFrame, galaxies: pd.DataFrame | None = None,
                first_n: int | None = None, on_invalid: str = "raise") -> SequenceSet:
        """Validated, unscaled sequences with context (and labels when `objects` has them) for a fitted model."""
        self._check_fitted()
        survey, _ = validate_survey(photometry, objects, galaxies, on_invalid=on_invalid)
        context = self._context_frame(survey.objects, survey.galaxies)
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
            on_invalid: str = "raise") -> Classifier:
        """Train on every labelled object; `split` (default: stratified 70/30, then 30 % of train) decides which
        objects train, which validate (model selection) and which are held out for testing."""
        survey, _ = validate_survey(photometry, objects, galaxies, on_invalid=on_invalid)
        if "label" not in survey.objects.columns or survey.objects["label"].isna().any():
            raise InvalidTableError("fit needs a 'label' for every object in the objects table")
        self.context_config_ = self.context or ContextConfig()
        self.classes_ = order_classes(survey.objects["label"])
        if len(self.classes_) < 2:
            raise InvalidTableError(f"fit needs at least two classes, got {list(self.classes_)}")
        context = compute_context(survey.objects, survey.galaxies, self.context_config_)
        labels = survey.objects["label"].astype(str).to_numpy()
        seqs = build_sequences(survey.photometry, context=context, labels=labels, classes=self.classes_,
                               max_len=self.max_len)
        self.split_ = split or make_split(seqs.object_ids, seqs.labels, seed=self.seed)
        part = self.split_.part_of(seqs.object_ids)
        train_set, val_set = seqs.subset(np.flatnonzero(part == "train")), seqs.subset(np.flatnonzero(part == "val"))
        if len(train_set) == 0 or len(val_set) == 0:
            raise InvalidTableError("the split left no training or no validation objects among these data")

        self.scaler_ = FeatureScaler().fit(train_set)
        self.network_config_ = self.network_config()
        self.train_config_ = self.train_config()
        self.class_counts_ = {c: int(n) for c, n in zip(self.classes_,
                                                          np.bincount(train_set.labels, minlength=len(self.classes_)))}
        torch.manual_seed(self.seed)
        self.network_ = MixedInputRNN(self.network_config_, n_classes=len(self.classes_))
        result = train(self.network_, self._scaled_for_network(train_set), self._scaled_for_network(val_set),
                       self.train_config_, checkpoint_dir=checkpoint_dir, progress=self.progress)
        self.network_.to("cpu").eval()
        self.history_ = result.history
        self.best_epoch_ = result.best_epoch
        self.best_val_auc_ = result.best_val_auc
        return self

    # --- prediction ---------------------------------------------------------------------------------------

    def predict_proba_sequences(self, seqs: SequenceSet, batch_size: int = 8192) -> np.ndarray:
        """Class probabilities (n, n_classes) for unscaled sequences from `prepare` / `build_sequences`."""
        self._check_fitted()
        if len(seqs) == 0:
            return np.empty((0, len(self.classes_)), dtype=np.float32)
        device = resolve_device(self.device)
        self.network_.to(device)
        data = SequenceTensors.from_set(self._scaled_for_network(seqs), device)
        logits = predict_logits(self.network_, data, batch_size=batch_size)
        return torch.softmax(logits, dim=1).numpy()

    def _scaled_for_network(self, seqs: SequenceSet) -> SequenceSet:
        if seqs.values.shape[1] > self.max_len:
            seqs = seqs.truncate(self.max_len)
        scaled = self.scaler_.transform(seqs)
        if not self.network_config_.use_context:
            scaled = replace(scaled, context=None)
        return scaled

    @torch.no_grad()
    def embed_sequences(self, seqs: SequenceSet, batch_size: int = 8192) -> dict[str, np.ndarray]:
        """Learned representations for t-SNE: the last recurrent layer's and the last dense layer's outputs."""
        self._check_fitted()
        self.network_.to("cpu").eval()
        data = SequenceTensors.from_set(self._scaled_for_network(seqs), torch.device("cpu"))
        parts: dict[str, list[np.ndarray]] = {}
        for start in range(0, len(data), batch_size):
            index = torch.arange(start, min(start + batch_size, len(data)))
            values, lengths, context = data.batch(index)
            for key, value in self.network_.embed(values, lengths, context).items():
                parts.setdefault(key, []).append(value.numpy())
        return {key: np.concatenate(chunks) for key, chunks in parts.items()}

    def predict_proba(self, photometry: pd.DataFrame, objects: pd.DataFrame, galaxies: pd.DataFrame | None = None,
                      first_n: int | None = None, on_invalid: str = "raise") -> pd.DataFrame:
        """A DataFrame `object_id, p_<class>...` (one row per object, the objects table's order)."""
        seqs = self.prepare(photometry, objects, galaxies, first_n=first_n, on_invalid=on_invalid)
        proba = self.predict_proba_sequences(seqs)
        frame = pd.DataFrame(proba, columns=[f"p_{c}" for c in self.classes_])
        frame.insert(0, "object_id", seqs.object_ids)
        return frame

    def predict(self, photometry: pd.DataFrame, objects: pd.DataFrame, galaxies: pd.DataFrame | None = None,
                first_n: int | None = None) -> pd.DataFrame:
        """`predict_proba` plus a `predicted` column holding the most probable class."""
        frame = self.predict_proba(photometry, objects, galaxies, first_n=first_n)
        columns = [f"p_{c}" for c in self.classes_]
        frame["predicted"] = np.asarray(self.classes_)[frame[columns].to_numpy().argmax(axis=1)]
        return frame

    def predict_proba_over_time(self, photometry: pd.DataFrame, objects: pd.DataFrame,
                                galaxies: pd.DataFrame | None = None) -> pd.DataFrame:
        """The real-time view: one row per object and observation k = 1..max_len, the probabilities after k."""
        seqs = self.prepare(photometry, objects, galaxies)
        frames = []
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
        from lcrnn import __version__

        self._check_fitted()
        return {
            "lcrnn_version": __version__,
            "name": self.name,
            "classes": list(self.classes_),
            "max_len": self.max_len,
            "network": self.network_config_.to_dict(),
            "train": self.train_config_.to_dict(),
            "context": self.context_config_.to_dict(),
            "scaler": self.scaler_.to_dict(),
            "class_counts": self.class_counts_,
            "best_epoch": getattr(self, "best_epoch_", None),
            "best_val_auc": getattr(self, "best_val_auc_", None),
            "split": self.split_.to_dict() if getattr(self, "split_", None) is not None else None,
        }

    def save(self, path: str | Path) -> Path:
        """Write `model.safetensors`, `config.json` and (when trained here) `history.csv` into `path`."""
        path = save_model(path, self.network_.state_dict(), self.config_dict())
        if getattr(self, "history_", None) is not None:
            self.history_.to_csv(path / "history.csv", index=False)
        return path

    @classmethod
    def load(cls, path: str | Path, device: str = "auto") -> Classifier:
        """Read a model written by `save` (safetensors + JSON; nothing is unpickled)."""
        path = Path(path)
        state, config = load_model(path)
        network_config = NetworkConfig.from_dict(config["network"])
        train_config = TrainConfig.from_dict(config.get("train", {}))
        clf = cls(rnn=network_config.rnn, loss=train_config.loss, gamma=train_config.gamma,
                  hidden=network_config.hidden, dense=network_config.dense, dropout=network_config.dropout,
                  activation=network_config.activation, use_context=network_config.use_context,
                  epochs=train_config.epochs, batch_size=train_config.batch_size, lr=train_config.lr,
                  seed=train_config.seed, stratified_batches=train_config.stratified_batches,
                  early_stopping=train_config.early_stopping, select_by=train_config.select_by,
                  device=device, max_len=int(config["max_len"]),
                  context=ContextConfig.from_dict(config["context"]), progress=False)
        clf.name = path.name
        clf.classes_ = tuple(config["classes"])
        clf.network_config_, clf.train_config_ = network_config, train_config
        clf.context_config_ = ContextConfig.from_dict(config["context"])
        clf.scaler_ = FeatureScaler.from_dict(config["scaler"])
        clf.class_counts_ = config.get("class_counts", {})
        clf.best_epoch_, clf.best_val_auc_ = config.get("best_epoch"), config.get("best_val_auc")
        clf.split_ = Split.from_dict(config["split"]) if config.get("split") else None
        clf.network_ = MixedInputRNN(network_config, n_classes=len(clf.classes_))
        clf.network_.load_state_dict(state)
        clf.network_.eval()
        history = path / "history.csv"
        clf.history_ = pd.read_csv(history) if history.is_file() else None
        return clf

    def __repr__(self) -> str:
        fitted = f", classes={list(self.classes_)}" if hasattr(self, "classes_") else ""
        return (f"Classifier(rnn={self.rnn!r}, loss={self.loss!r}, gamma={self.gamma}, hidden={self.hidden}, "
                f"dense={self.dense}, use_context={self.use_context}{fitted})")
