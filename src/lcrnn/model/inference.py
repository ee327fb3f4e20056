"""Running a trained network: sequences as device tensors, eval-mode logits in large batches, embeddings.

Pure torch and no I/O: training (validation scores), the Classifier (batch prediction) and the benchmarks all
call these, so a light curve meets the network through one piece of code whichever route it takes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from lcrnn.model.network import MixedInputRNN

__all__ = ["ScaledSequences", "SequenceTensors", "embed", "predict_logits", "resolve_device"]


class ScaledSequences(Protocol):
    """What the network reads from a scaled ``lcrnn.data.sequences.SequenceSet`` (duck-typed: model imports no data)."""

    values: np.ndarray           # (n, T, F) float32, zero after each light curve's end
    lengths: np.ndarray          # (n,) int64
    context: np.ndarray | None   # (n, C) float32
    labels: np.ndarray | None    # (n,) int64
    summary: np.ndarray | None   # (n, S) float32: the features branch's inputs, or None


def resolve_device(name: str = "auto") -> torch.device:
    """'auto' -> CUDA when available, else CPU; anything else is passed to torch."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


@dataclass(frozen=True)
class SequenceTensors:
    """Scaled sequences as ready tensors on one device, so the hot loop only slices."""

    values: torch.Tensor          # (n, T, F) float32
    lengths: torch.Tensor         # (n,) int64, kept on CPU as packing wants
    context: torch.Tensor | None  # (n, C + S) float32: the network's static inputs, context then summary
    labels: torch.Tensor | None   # (n,) int64

    @classmethod
    def from_set(cls, seqs: ScaledSequences, device: torch.device) -> SequenceTensors:
        static = [a for a in (seqs.context, getattr(seqs, "summary", None)) if a is not None]
        context = (None if not static else
                   torch.as_tensor(np.concatenate(static, axis=1), dtype=torch.float32, device=device))
        labels = None if seqs.labels is None else torch.as_tensor(seqs.labels, dtype=torch.int64, device=device)
        return cls(
            values=torch.as_tensor(seqs.values, dtype=torch.float32, device=device),
            lengths=torch.as_tensor(seqs.lengths, dtype=torch.int64),
            context=context,
            labels=labels,
        )

    def __len__(self) -> int:
        return int(self.lengths.shape[0])

    def batch(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Rows `index`, trimmed to the longest light curve among them (no compute on all-padding columns)."""
        lengths = self.lengths[index.cpu()]
        longest = int(lengths.max())
        values = self.values[index.to(self.values.device), :longest]
        context = None if self.context is None else self.context[index.to(self.context.device)]
        return values, lengths, context


# On CPU, rows per network call: a step's gate arrays (256 x 450 floats) then stay in cache. Measured with
# benchmarks/inference.py (issue 18): 15,200 light curves per CPU-second at 256 rows, 11,000 at 4,096.
CPU_BATCH = 256


@torch.no_grad()
def predict_logits(network: MixedInputRNN, data: SequenceTensors, batch_size: int = 4096) -> torch.Tensor:
    """Eval-mode logits for every row, in order, in large batches.

    Rows are batched longest first: in eval mode every row is computed independently, so the order cannot
    change any number, and each batch then runs only as many recurrent steps as its own longest light curve.
    On CPU a batch holds at most :data:`CPU_BATCH` rows (faster there; the same numbers).
    """
    was_training = network.training
    network.eval()
    order = torch.argsort(data.lengths, descending=True, stable=True)
    out = torch.empty(len(data), network.n_classes)
    if data.values.device.type == "cpu":
        batch_size = min(batch_size, CPU_BATCH)
    for start in range(0, len(data), batch_size):
        index = order[start:start + batch_size]
        values, lengths, context = data.batch(index)
        out[index] = network(values, lengths, context).float().cpu()
    network.train(was_training)
    return out


@torch.no_grad()
def embed(network: MixedInputRNN, data: SequenceTensors, batch_size: int = 8192) -> dict[str, np.ndarray]:
    """Learned representations for t-SNE: the last recurrent layer's and the last dense layer's outputs."""
    was_training = network.training
    network.eval()
    parts: dict[str, list[np.ndarray]] = {}
    for start in range(0, len(data), batch_size):
        index = torch.arange(start, min(start + batch_size, len(data)))
        values, lengths, context = data.batch(index)
        for key, value in network.embed(values, lengths, context).items():
            parts.setdefault(key, []).append(value.cpu().numpy())
    network.train(was_training)
    return {key: np.concatenate(chunks) for key, chunks in parts.items()}
