"""Fast GRU/LSTM layers over packed light curves, with hand-written backward passes.

Why this exists: ``nn.GRU`` on packed CPU data runs the input projection one step at a time and, in the
backward pass, accumulates every weight gradient step by step (thousands of small GEMMs plus autograd
bookkeeping per batch; about half of a training epoch). Here only the recurrent product ``h @ W_hh`` runs
inside the time loop. Everything that does not depend on the previous step runs once over all real rows:

* forward: the input projection ``x @ W_ih`` of every packed row is one GEMM;
* backward: the gate gradients of every row are collected first, then ``dW_ih``, ``dW_hh``, the biases and
  the input gradient are each ONE GEMM (or sum) over all real steps.

Rows follow :class:`torch.nn.utils.rnn.PackedSequence` layout (time-major, longest light curve first), so the
results equal ``nn.GRU`` / ``nn.LSTM`` on the same packed data to rounding (tested to 1e-5), dropout masks
drawn on the rows included. Gate orders and equations are PyTorch's: GRU ``(r, z, n)``, LSTM ``(i, f, g, o)``.
"""

from __future__ import annotations

import ctypes

import torch
from torch import Tensor

from lcrnn.model.native import native_library

__all__ = ["gru_packed", "last_rows", "lstm_packed", "previous_rows"]


def previous_rows(batch_sizes: Tensor) -> Tensor:
    """Index of each row's previous time step, for rows of steps 1..T-1 (step 0 has no predecessor).

    Parameters
    ----------
    batch_sizes : Tensor
        ``(T,)`` int64 CPU tensor of a PackedSequence: light curves still running at each step.

    Returns
    -------
    Tensor
        ``(N - batch_sizes[0],)`` int64: for the j-th row of step t >= 1, the j-th row of step t - 1.
    """
    offsets = torch.cumsum(batch_sizes, 0) - batch_sizes  # (T,) first row of each step
    step = torch.repeat_interleave(torch.arange(len(batch_sizes)), batch_sizes)  # (N,)
    position = torch.arange(len(step)) - offsets[step]  # (N,) rank within its step
    later = step >= 1
    return offsets[step[later] - 1] + position[later]


def last_rows(batch_sizes: Tensor, sorted_lengths: Tensor) -> Tensor:
    """Packed row of each light curve's last real step, in the packed (length-sorted) order.

    Parameters
    ----------
    batch_sizes : Tensor
        ``(T,)`` int64 from the PackedSequence.
    sorted_lengths : Tensor
        ``(B,)`` int64 lengths in the packed order (``lengths[packed.sorted_indices]``).
    """
    offsets = torch.cumsum(batch_sizes, 0) - batch_sizes
    return offsets[sorted_lengths - 1] + torch.arange(len(sorted_lengths))


def _hprev(out: Tensor, first: int, prev: Tensor) -> Tensor:
    """Previous hidden state of every row (zeros for step 0): ``(N, H)``."""
    return torch.cat([out.new_zeros(first, out.shape[1]), out[prev]])


def _eval_kernels(x: Tensor, keep: bool) -> ctypes.CDLL | None:
    """The C gate kernels for an eval-mode (no saved gates) float32 CPU loop, else None (torch ops)."""
    if keep:
        return None
    return _kernels(x)


def _kernels(x: Tensor) -> ctypes.CDLL | None:
    """The C gate kernels for a float32 CPU loop, else None (torch ops: float64 gradcheck, CUDA)."""
    if x.device.type != "cpu" or x.dtype != torch.float32:
        return None
    return native_library()


# --- GRU ------------------------------------------------------------------------------------------------


def _gru_loop(
    x: Tensor, sizes: list[int], w_ih: Tensor, w_hh: Tensor, b_ih: Tensor, b_hh: Tensor, keep: bool
) -> tuple[Tensor, ...]:
    """Forward recurrence; with ``keep`` also returns the per-row gate values the backward pass needs."""
    n_rows, hidden = x.shape[0], w_hh.shape[1]
    gi = torch.addmm(b_ih, x, w_ih.t())  # (N, 3H): every real step's input projection at once
    out = x.new_empty(n_rows, hidden)  # (N, H)
    gh_all = x.new_empty(n_rows, 3 * hidden) if keep else None  # (N, 3H) h_{t-1} @ W_hh^T + b_hh
    rz_all = x.new_empty(n_rows, 2 * hidden) if keep else None  # (N, 2H) reset and update gates
    n_all = x.new_empty(n_rows, hidden) if keep else None  # (N, H) candidate state
    w_hh_t = w_hh.t()
    h = x.new_zeros(sizes[0], hidden)  # (B, H)
    start = 0
    h2 = 2 * hidden
    kernels = _eval_kernels(x, keep)
    train_kernels = _kernels(x) if keep else None
    for bs in sizes:
        end = start + bs
        hp = h[:bs]  # rows are sorted by length: the first bs light curves are the ones still running
        gi_t = gi[start:end]
        if kernels is not None:  # eval: the five element-wise calls below in one pass of C, same equations
            gh = torch.addmm(b_hh, hp, w_hh_t)
            h = out[start:end]
            kernels.lcrnn_gru_gates(bs, hidden, gi_t.data_ptr(), gh.data_ptr(), hp.data_ptr(), h.data_ptr())
            start = end
            continue
        if keep and train_kernels is not None:  # training: the same pass, keeping the gates for backward
            gh = torch.addmm(b_hh, hp, w_hh_t, out=gh_all[start:end])
            h = out[start:end]
            train_kernels.lcrnn_gru_gates_keep(bs, hidden, gi_t.data_ptr(), gh.data_ptr(), hp.data_ptr(),
                                               h.data_ptr(), rz_all[start:end].data_ptr(),
                                               n_all[start:end].data_ptr())
            start = end
            continue
        if keep:
            gh = torch.addmm(b_hh, hp, w_hh_t, out=gh_all[start:end])
            rz = torch.sigmoid(gi_t[:, :h2] + gh[:, :h2], out=rz_all[start:end])
            n = torch.tanh(torch.addcmul(gi_t[:, h2:], rz[:, :hidden], gh[:, h2:]), out=n_all[start:end])
        else:
            gh = torch.addmm(b_hh, hp, w_hh_t)
            rz = torch.sigmoid(gi_t[:, :h2] + gh[:, :h2])
            n = torch.tanh(torch.addcmul(gi_t[:, h2:], rz[:, :hidden], gh[:, h2:]))
        h = torch.lerp(n, hp, rz[:, hidden:], out=out[start:end])  # (1 - z) * n + z * h_{t-1}
        start = end
    if not keep:
        return (out,)
    return out, gh_all, rz_all, n_all


class _PackedGRU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, batch_sizes, w_ih, w_hh, b_ih, b_hh):
        sizes = batch_sizes.tolist()
        out, gh, rz, n = _gru_loop(x, sizes, w_ih, w_hh, b_ih, b_hh, keep=True)
        hidden = w_hh.shape[1]
        prev = previous_rows(batch_sizes)
        hp = _hprev(out, sizes[0], prev)  # (N, H)
        r, z = rz[:, :hidden], rz[:, hidden:]
        a_n = (1 - z) * (1 - n * n)  # dL/d(n pre-activation) per unit dL/dh
        # dL/d(gh) = dh * q, row by row: q = [reset, update, candidate] parts.
        q = torch.stack([a_n * gh[:, 2 * hidden :] * r * (1 - r), (hp - n) * z * (1 - z), a_n * r], dim=1)
        ctx.save_for_backward(x, w_ih, w_hh, z.contiguous(), a_n, q, hp, batch_sizes)
        ctx.sizes = sizes
        return out

    @staticmethod
    def backward(ctx, grad_out):
        x, w_ih, w_hh, z, a_n, q, hp, batch_sizes = ctx.saved_tensors
        sizes = ctx.sizes
        n_rows, hidden = grad_out.shape
        dh_all = grad_out.contiguous().clone()  # (N, H) receives the recurrent carry step by step
        dgh = q.new_empty(n_rows, 3, hidden)  # (N, 3, H)
        ends = torch.cumsum(batch_sizes, 0).tolist()
        carry = None
        for t in range(len(sizes) - 1, -1, -1):
            end, bs = ends[t], sizes[t]
            start = end - bs
            dh = dh_all[start:end]
            if carry is not None:
                dh[: carry.shape[0]] += carry
            dg = torch.mul(dh.unsqueeze(1), q[start:end], out=dgh[start:end])  # (bs, 3, H)
            if t > 0:  # step 0 starts from a zero state: its carry is never used
                carry = torch.addmm(dh * z[start:end], dg.view(bs, 3 * hidden), w_hh)  # (bs, H)
        dgh2 = dgh.view(n_rows, 3 * hidden)
        dgi = dgh2.clone()
        dgi[:, 2 * hidden :] = dh_all * a_n  # the input path of n is not scaled by the reset gate
        grad_x = dgi @ w_ih if ctx.needs_input_grad[0] else None
        return grad_x, None, dgi.t() @ x, dgh2.t() @ hp, dgi.sum(0), dgh2.sum(0)


def gru_packed(
    x: Tensor, batch_sizes: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor, b_hh: Tensor
) -> Tensor:
    """One GRU layer over packed rows; equal to ``nn.GRU`` on the same PackedSequence.

    Parameters
    ----------
    x : Tensor
        ``(N, F)`` PackedSequence ``data``.
    batch_sizes : Tensor
        ``(T,)`` int64 CPU PackedSequence ``batch_sizes``.
    w_ih, w_hh, b_ih, b_hh : Tensor
        The layer's ``weight_ih_l0`` ``(3H, F)``, ``weight_hh_l0`` ``(3H, H)``, ``bias_ih_l0``, ``bias_hh_l0``.

    Returns
    -------
    Tensor
        ``(N, H)`` hidden state at every packed row (differentiable when autograd is on).
    """
    if torch.is_grad_enabled() and any(t.requires_grad for t in (x, w_ih, w_hh, b_ih, b_hh)):
        return _PackedGRU.apply(x, batch_sizes, w_ih, w_hh, b_ih, b_hh)
    return _gru_loop(x, batch_sizes.tolist(), w_ih, w_hh, b_ih, b_hh, keep=False)[0]


# --- LSTM -----------------------------------------------------------------------------------------------


def _lstm_loop(
    x: Tensor, sizes: list[int], w_ih: Tensor, w_hh: Tensor, b_ih: Tensor, b_hh: Tensor, keep: bool
) -> tuple[Tensor, ...]:
    """Forward recurrence; with ``keep`` also returns activated gates, cell states and tanh(cell)."""
    n_rows, hidden = x.shape[0], w_hh.shape[1]
    gi = torch.addmm(b_ih + b_hh, x, w_ih.t())  # (N, 4H): both biases enter the gates additively
    out = x.new_empty(n_rows, hidden)  # (N, H)
    c_all = x.new_empty(n_rows, hidden)  # (N, H) cell state
    w_hh_t = w_hh.t()
    h = x.new_zeros(sizes[0], hidden)
    c = x.new_zeros(sizes[0], hidden)
    kernels = _eval_kernels(x, keep)
    if kernels is not None:  # eval: gate arithmetic in one pass of C per step, same equations
        start = 0
        for bs in sizes:
            end = start + bs
            g = torch.addmm(gi[start:end], h[:bs], w_hh_t)  # (bs, 4H) pre-activations
            cp, h, c = c[:bs], out[start:end], c_all[start:end]
            kernels.lcrnn_lstm_gates(bs, hidden, g.data_ptr(), cp.data_ptr(), h.data_ptr(), c.data_ptr())
            start = end
        return (out,)
    act_all = x.new_empty(n_rows, 4 * hidden)  # (N, 4H) activated i, f, g, o
    tc_all = x.new_empty(n_rows, hidden)  # (N, H) tanh(cell)
    h2, h3 = 2 * hidden, 3 * hidden
    start = 0
    for bs in sizes:
        end = start + bs
        g = torch.addmm(gi[start:end], h[:bs], w_hh_t)  # (bs, 4H) pre-activations
        act = torch.sigmoid(g, out=act_all[start:end])
        torch.tanh(g[:, h2:h3], out=act[:, h2:h3])
        c = torch.addcmul(act[:, hidden:h2] * c[:bs], act[:, :hidden], act[:, h2:h3], out=c_all[start:end])
        h = torch.mul(act[:, h3:], torch.tanh(c, out=tc_all[start:end]), out=out[start:end])
        start = end
    if not keep:
        return (out,)
    return out, act_all, c_all, tc_all


class _PackedLSTM(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, batch_sizes, w_ih, w_hh, b_ih, b_hh):
        sizes = batch_sizes.tolist()
        out, act, c, tc = _lstm_loop(x, sizes, w_ih, w_hh, b_ih, b_hh, keep=True)
        hidden = w_hh.shape[1]
        prev = previous_rows(batch_sizes)
        hp, cp = _hprev(out, sizes[0], prev), _hprev(c, sizes[0], prev)
        i, f, g, o = act.split(hidden, dim=1)
        a_c = o * (1 - tc * tc)  # dL/dc per unit dL/dh through h = o * tanh(c)
        p = torch.stack([g * i * (1 - i), cp * f * (1 - f), i * (1 - g * g)], dim=1)  # (N, 3, H) per unit dL/dc
        q_o = tc * o * (1 - o)  # dL/d(o pre-activation) per unit dL/dh
        ctx.save_for_backward(x, w_ih, w_hh, f.contiguous(), a_c, p, q_o, hp, batch_sizes)
        ctx.sizes = sizes
        return out

    @staticmethod
    def backward(ctx, grad_out):
        x, w_ih, w_hh, f, a_c, p, q_o, hp, batch_sizes = ctx.saved_tensors
        sizes = ctx.sizes
        n_rows, hidden = grad_out.shape
        dh_all = grad_out.contiguous().clone()  # (N, H)
        dgates = p.new_empty(n_rows, 4, hidden)  # (N, 4, H)
        ends = torch.cumsum(batch_sizes, 0).tolist()
        carry_h = carry_c = None
        for t in range(len(sizes) - 1, -1, -1):
            end, bs = ends[t], sizes[t]
            start = end - bs
            dh = dh_all[start:end]
            if carry_h is not None:
                dh[: carry_h.shape[0]] += carry_h
            dc = dh * a_c[start:end]  # (bs, H)
            if carry_c is not None:
                dc[: carry_c.shape[0]] += carry_c
            dg = dgates[start:end]
            torch.mul(dc.unsqueeze(1), p[start:end], out=dg[:, :3])
            torch.mul(dh, q_o[start:end], out=dg[:, 3])
            if t > 0:
                carry_c = dc * f[start:end]
                carry_h = dg.view(bs, 4 * hidden) @ w_hh  # (bs, H)
        dg_all = dgates.view(n_rows, 4 * hidden)
        grad_x = dg_all @ w_ih if ctx.needs_input_grad[0] else None
        db = dg_all.sum(0)
        return grad_x, None, dg_all.t() @ x, dg_all.t() @ hp, db, db


def lstm_packed(
    x: Tensor, batch_sizes: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor, b_hh: Tensor
) -> Tensor:
    """One LSTM layer over packed rows; equal to ``nn.LSTM`` on the same PackedSequence.

    Parameters and return value as :func:`gru_packed`, with ``4H`` gate rows ``(i, f, g, o)``.
    """
    if torch.is_grad_enabled() and any(t.requires_grad for t in (x, w_ih, w_hh, b_ih, b_hh)):
        return _PackedLSTM.apply(x, batch_sizes, w_ih, w_hh, b_ih, b_hh)
    return _lstm_loop(x, batch_sizes.tolist(), w_ih, w_hh, b_ih, b_hh, keep=False)[0]
