"""One eval-mode step on flat float32 state rows: the served per-observation path, in one native call.

:meth:`MixedInputRNN.step` is the reference: tensors in, tensors out, checked. A service that classifies one
new observation of one object keeps the state as a flat row ``[h1, h2]`` (GRU) or ``[h1, c1, h2, c2]`` (LSTM)
and wants the logits and the next row back; through torch that is ~20 ATen calls of a few hundred
multiply-adds each, where dispatch costs more than the arithmetic. :class:`FlatStep` does the same step on
the same BN-folded weights (:meth:`MixedInputRNN._folded`) in one call of a small C kernel
(``native_step.c``, compiled with the system C compiler on first use and cached per CPU), and falls back to
the torch step wherever no compiler is found, ``LCRNN_NATIVE=0`` is set, or the batch is large (a GEMM then
beats row-by-row matrix-vector products). Both give the reference's numbers to float rounding.
"""

from __future__ import annotations

import ctypes
import threading

import numpy as np
import torch

from lcrnn.model.native import address as _address
from lcrnn.model.native import native_library
from lcrnn.model.network import MixedInputRNN

__all__ = ["NATIVE_MAX_BATCH", "FlatStep", "native_library"]

NATIVE_MAX_BATCH = 16  # above this many objects one torch GEMM per layer beats per-row matrix-vector products
_ACT_CODES = {"sigmoid": 0, "relu": 1, "tanh": 2, "elu": 3}


class FlatStep:
    """``(x, state rows, context) -> (logits, next state rows)`` for a :class:`MixedInputRNN` in eval mode.

    Parameters
    ----------
    network
        The network; its weights may change between calls (the folded weights are re-read when they do).
    native
        Use the C kernel when it is available (default); False always runs the torch step.
    """

    def __init__(self, network: MixedInputRNN, native: bool = True) -> None:
        cfg = network.config
        self.network = network
        self.hidden = cfg.hidden
        self.n_states = 2 if cfg.rnn == "gru" else 4
        self.state_size = self.n_states * cfg.hidden
        self.n_context = cfg.n_context if cfg.use_context else 0
        self._lib = native_library() if native else None
        self._dims = np.array([0 if cfg.rnn == "gru" else 1, _ACT_CODES[cfg.activation], cfg.n_features,
                               cfg.hidden, self.n_context, cfg.dense, network.n_classes], dtype=np.int32)
        # Preallocated kernel buffers (their addresses looked up once), guarded by a lock: ctypes releases
        # the GIL, and a service may step from several threads.
        m = NATIVE_MAX_BATCH
        self._buf = [np.empty(shape, np.float32) for shape in (
            (m, cfg.n_features), (m, max(self.n_context, 1)), (m, self.state_size), (m, self.state_size),
            (m, network.n_classes), (8 * cfg.hidden + 2 * cfg.dense,))]
        self._addr = [_address(b) for b in self._buf]
        self._dims_addr = _address(self._dims)
        self._lock = threading.Lock()
        self._source: tuple | None = None  # the folded tuple the arrays below were made from
        self._keep: list[np.ndarray] = []
        self._pointers = (ctypes.c_void_p * 15)()

    @property
    def native(self) -> bool:
        """Whether calls with up to NATIVE_MAX_BATCH objects run the C kernel."""
        return self._lib is not None

    def _weights(self) -> int:
        """Address of the kernel's weight pointer table, rebuilt when the network's folded weights change."""
        folded = self.network._folded()  # cached by the network; a new tuple whenever a weight changed
        if folded is not self._source:
            # Matrices transposed to (in, out) rows for the kernel's matrix-vector loop; vectors as they are.
            mats = {0, 1, 4, 5}  # recurrent input/hidden maps: stored (gates, in) in torch
            arrays = [
                np.ascontiguousarray((t.t() if i in mats else t).detach().to(torch.float32).cpu().numpy())
                for i, t in enumerate(folded)
            ]
            self._keep = arrays
            for i, a in enumerate(arrays):
                self._pointers[i] = _address(a)
            self._source = folded
        return ctypes.addressof(self._pointers)

    def __call__(
        self, x: np.ndarray, states: np.ndarray, context: np.ndarray | None
    ) -> tuple[torch.Tensor, np.ndarray]:
        """Advance ``n`` objects by one step.

        Parameters
        ----------
        x
            ``(n, n_features)`` scaled inputs, float32.
        states
            ``(n, state_size)`` flat state rows, float32.
        context
            ``(n, n_context)`` scaled context (float32), or None for a network without context.

        Returns
        -------
        logits : Tensor
            ``(n, n_classes)`` float32.
        states : ndarray
            ``(n, state_size)`` float32, new rows (the input is not modified).
        """
        n = x.shape[0]
        if self._lib is None or n > NATIVE_MAX_BATCH or self.network.training:
            return self._torch(x, states, context)
        bx, bc, bs, bo, bl, _ = self._buf
        ax, ac, as_, ao, al, scratch = self._addr
        with self._lock:
            bx[:n] = x
            bs[:n] = states
            if self.n_context:
                bc[:n] = context
            self._lib.lcrnn_step(self._dims_addr, self._weights(), n, ax, ac, as_, ao, al, scratch)
            return torch.from_numpy(bl[:n].copy()), bo[:n].copy()

    def _torch(self, x: np.ndarray, states: np.ndarray, context: np.ndarray | None
               ) -> tuple[torch.Tensor, np.ndarray]:
        """The reference step on tensor views of the flat rows."""
        flat = torch.from_numpy(np.ascontiguousarray(states, np.float32))
        state = tuple(part.contiguous() for part in flat.split(self.hidden, dim=1))
        ctx = None if not self.n_context else torch.from_numpy(np.ascontiguousarray(context, np.float32))
        with torch.inference_mode():
            logits, new = self.network.step(torch.from_numpy(np.ascontiguousarray(x, np.float32)), state, ctx)
            return logits.clone(), torch.cat(new, dim=1).numpy().copy()
