"""The training loop: Adam over mini-batches, best-validation-AUC checkpointing, resumable.

The paper (section 4.3) trains for a fixed number of epochs with no early stopping and keeps the model with the
best validation AUC; that is the default here. Class-stratified batches, early stopping and keeping the epoch
of lowest validation loss (steadier than the AUC on small validation sets) are options beyond the paper, all
off by default. So are fresh augmentations of the training set each epoch (:mod:`lcrnn.train.augment`, given as
``train_inputs``) and, for a pretrained start (:mod:`lcrnn.train.finetune`), an epoch 0 that scores the
starting weights and recurrent layers held fixed for the first ``freeze_rnn_epochs``. The history marks the
kept epoch; :func:`kept_epoch_note` says when it is the last one (the model may be undertrained).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from lcrnn.data.sequences import SequenceSet
from lcrnn.errors import InvalidTableError
from lcrnn.model.inference import SequenceTensors, predict_logits, resolve_device
from lcrnn.model.losses import make_loss
from lcrnn.model.network import MixedInputRNN
from lcrnn.train.checkpoint import load_training_state, save_training_state
from lcrnn.train.config import TrainConfig
from lcrnn.train.finetune import freeze_recurrent
from lcrnn.train.scores import hand_till_auc

__all__ = ["TrainResult", "kept_epoch_note", "train"]


@dataclass
class TrainResult:
    """What a finished training run hands back: the best weights and the per-epoch record."""

    best_state: dict[str, torch.Tensor]
    history: pd.DataFrame
    best_epoch: int
    best_val_auc: float
    seconds: float
    stopped_early: bool = False
    note: str | None = None  # kept_epoch_note: the last epoch kept (maybe undertrained), or none beat the start
    extra: dict = field(default_factory=dict)


def _epoch_order(labels: torch.Tensor, generator: torch.Generator, stratified: bool) -> torch.Tensor:
    """The order rows are visited in one epoch.

    Stratified: each class is shuffled, then its members are spread evenly over the epoch (rank / class size plus
    a random jitter), so every consecutive batch holds close to the training set's class proportions.
    """
    n = labels.shape[0]
    if not stratified:
        return torch.randperm(n, generator=generator)
    keys = torch.empty(n, dtype=torch.float64)
    labels_cpu = labels.cpu()
    for cls in torch.unique(labels_cpu):
        members = torch.nonzero(labels_cpu == cls).flatten()
        shuffled = members[torch.randperm(len(members), generator=generator)]
        jitter = torch.rand(len(members), generator=generator, dtype=torch.float64)
        keys[shuffled] = (torch.arange(len(members), dtype=torch.float64) + jitter) / len(members)
    return torch.argsort(keys)


def _class_counts(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Training examples per class; every class needs some for the weighted losses (paper eq. 5)."""
    counts = np.bincount(labels, minlength=n_classes)
    if (counts == 0).any():
        raise InvalidTableError(
            f"class(es) {[i for i, c in enumerate(counts) if c == 0]} have no training examples; "
            "every class needs some for the weighted losses")
    return counts


def _train_one_epoch(network: MixedInputRNN, data: SequenceTensors, order: torch.Tensor, loss_fn: torch.nn.Module,
                     optimiser: torch.optim.Optimizer, batch_size: int, frozen: bool = False) -> float:
    """One pass over the training rows in ``order``; returns the mean training loss (L2 term included).

    ``frozen`` holds the recurrent branch fixed (fine-tuning's first epochs): only the dense head learns.
    """
    network.train()
    freeze_recurrent(network, frozen)
    total, seen = 0.0, 0
    for start in range(0, len(order), batch_size):
        index = order[start:start + batch_size]
        if len(index) < 2:  # batch norm cannot train on a single example
            continue
        values, lengths, context = data.batch(index)
        targets = data.labels[index.to(data.labels.device)]
        logits = network(values, lengths, context)
        loss = loss_fn(logits, targets) + network.l2_penalty()
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        total += loss.detach() * len(index)
        seen += len(index)
    freeze_recurrent(network, False)
    return float(total) / max(seen, 1)


def _validate(network: MixedInputRNN, data: SequenceTensors, labels: np.ndarray, loss_fn: torch.nn.Module,
              device: torch.device) -> tuple[float, float]:
    """Validation loss (as trained: L2 term included) and Hand & Till AUC of the network as it is now."""
    logits = predict_logits(network, data)
    with torch.no_grad():
        val_loss = float(loss_fn(logits.to(device), data.labels) + network.l2_penalty())
    proba = torch.softmax(logits, dim=1).numpy()
    return val_loss, hand_till_auc(labels, proba)


@dataclass
class _Best:
    """The kept epoch so far: its score (higher is better), number and weights."""

    score: float = -math.inf
    epoch: int = 0
    state: dict[str, torch.Tensor] | None = None

    def offer(self, row: dict, network: MixedInputRNN, select_by: str) -> None:
        """Keep the network as it is now when ``row`` (one epoch of the history) scores better."""
        # The validation loss is the fallback when the AUC is undefined (a class missing from validation).
        use_auc = select_by == "val_auc" and not math.isnan(row["val_auc"])
        score = row["val_auc"] if use_auc else -row["val_loss"]
        if self.state is None or score > self.score:
            self.score, self.epoch = score, row["epoch"]
            self.state = {k: v.detach().to("cpu", copy=True) for k, v in network.state_dict().items()}


def kept_epoch_note(history: pd.DataFrame, best_epoch: int) -> str | None:
    """What to tell the user about the kept epoch, or None: the last epoch kept (the validation score was still
    improving, so the model may be undertrained), or a fine-tuning that never beat its starting weights."""
    last = int(history["epoch"].max())
    if len(history) < 2:  # a single epoch: there was no choice to make
        return None
    if best_epoch == 0:
        return ("no fine-tuning epoch beat the starting run on validation, so its weights were kept unchanged "
                "(epoch 0); try a lower learning rate or more data")
    if best_epoch == last:
        return (f"the kept epoch is the last one ({last}): the validation score was still improving, so the "
                "model may be undertrained; train for more epochs (early stopping ends a run once it stops "
                "improving)")
    return None


def train(
    network: MixedInputRNN,
    train_set: SequenceSet,
    val_set: SequenceSet,
    config: TrainConfig,
    checkpoint_dir: str | Path | None = None,
    progress: bool = True,
    train_inputs: Callable[[int], SequenceSet] | None = None,
    score_start: bool = False,
) -> TrainResult:
    """Train `network` in place on scaled sequences and return the best-validation-score weights.

    Parameters
    ----------
    network : MixedInputRNN
        A freshly built (or resumed, or pretrained) network.
    train_set, val_set : SequenceSet
        Scaled sequences with integer labels (see ``FeatureScaler``).
    config : TrainConfig
        Optimiser, loss and schedule.
    checkpoint_dir : path, optional
        Where the last epoch's full training state goes after every epoch (weights, Adam moments, random
        generator, history), as safetensors + JSON. A later call with the same directory resumes from it.
    progress : bool
        Show a progress bar over epochs.
    train_inputs : callable, optional
        ``epoch -> scaled training set`` for that epoch (fresh augmentations, :mod:`lcrnn.train.augment`),
        the same rows and labels as ``train_set``; by default ``train_set`` every epoch.
    score_start : bool
        Score the network before any update as epoch 0 of the history (a pretrained start), which can then be
        the kept epoch.
    """
    if train_set.labels is None or val_set.labels is None:
        raise InvalidTableError("training needs labels for the training and validation sets")
    device = resolve_device(config.device)
    torch.manual_seed(config.seed)
    network.to(device)
    counts = _class_counts(train_set.labels, network.n_classes)
    loss_fn = make_loss(config.loss, counts.tolist(), gamma=config.gamma).to(device)
    optimiser = torch.optim.Adam(network.parameters(), lr=config.lr)
    generator = torch.Generator().manual_seed(config.seed)
    train_t, val_t = SequenceTensors.from_set(train_set, device), SequenceTensors.from_set(val_set, device)

    rows, best, start_epoch = _resume(checkpoint_dir, network, optimiser, generator, device)
    if score_start and not rows:
        rows.append(_row(0, math.nan, *_validate(network, val_t, val_set.labels, loss_fn, device), 0.0))
        best.offer(rows[-1], network, config.select_by)

    t0 = time.perf_counter()
    stopped_early = False
    bar = tqdm(range(start_epoch, config.epochs + 1), desc=f"training {network.config.rnn.upper()}", unit="epoch",
               disable=not progress, initial=start_epoch - 1, total=config.epochs)
    for epoch in bar:
        if train_inputs is not None:
            train_t = SequenceTensors.from_set(train_inputs(epoch), device)
        order = _epoch_order(train_t.labels, generator, config.stratified_batches)
        train_loss = _train_one_epoch(network, train_t, order, loss_fn, optimiser, config.batch_size,
                                      frozen=epoch <= config.freeze_rnn_epochs)
        rows.append(_row(epoch, train_loss, *_validate(network, val_t, val_set.labels, loss_fn, device),
                         time.perf_counter() - t0))
        best.offer(rows[-1], network, config.select_by)
        bar.set_postfix(loss=f"{train_loss:.4f}", val_loss=f"{rows[-1]['val_loss']:.4f}",
                        val_auc=f"{rows[-1]['val_auc']:.4f}", best=best.epoch)
        if checkpoint_dir is not None:
            save_training_state(checkpoint_dir, network, optimiser, generator, epoch, rows, best.state,
                                best.score, best.epoch)
        if config.early_stopping is not None and epoch - best.epoch >= config.early_stopping:
            stopped_early = True
            break
    bar.close()

    history = pd.DataFrame(rows, columns=["epoch", "train_loss", "val_loss", "val_auc", "seconds"])
    history["kept"] = history["epoch"] == best.epoch  # the history says which epoch the run is
    network.load_state_dict(best.state)
    network.eval()
    kept_auc = float(history.loc[history["kept"], "val_auc"].iloc[0])
    note = kept_epoch_note(history, best.epoch)
    return TrainResult(best_state=best.state, history=history, best_epoch=best.epoch, best_val_auc=kept_auc,
                       seconds=time.perf_counter() - t0, stopped_early=stopped_early, note=note)


def _resume(checkpoint_dir: str | Path | None, network: MixedInputRNN, optimiser: torch.optim.Optimizer,
            generator: torch.Generator, device: torch.device) -> tuple[list[dict], _Best, int]:
    """History rows, kept epoch and first epoch to run: from the checkpoint when there is one, else a fresh start."""
    resumed = None if checkpoint_dir is None else load_training_state(
        checkpoint_dir, network, optimiser, generator, device)
    if resumed is None:
        return [], _Best(), 1
    best = _Best(resumed["best_val_auc"], resumed["best_epoch"], resumed["best_state"])
    return resumed["history"], best, resumed["epoch"] + 1


def _row(epoch: int, train_loss: float, val_loss: float, val_auc: float, seconds: float) -> dict:
    return {"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss, "val_auc": val_auc, "seconds": seconds}
