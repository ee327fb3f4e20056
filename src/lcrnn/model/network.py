"""The mixed-input recurrent network of Burhanudin et al. 2021 (section 3.2, Figure 4).

Time series -> RNN -> dropout -> BN -> RNN -> dropout -> BN -> [concat context] -> dense -> act -> dropout
-> BN -> dense -> act -> linear logits. Sequences travel packed, so padded steps cost no compute and
cannot change any output, batch-normalisation statistics included (BN sees only the real steps).

The real-time view (:meth:`MixedInputRNN.step`) feeds one observation at a time through the same weights,
so a light curve can be re-classified at every new point without re-reading its history.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence

from lcrnn.model.config import InvalidConfigError, InvalidModelInputError, ModelModeError, NetworkConfig
from lcrnn.model.fused import gru_packed, last_rows, lstm_packed

__all__ = ["MixedInputRNN", "forward_padded"]

_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "sigmoid": nn.Sigmoid,
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "elu": nn.ELU,
}

# The same activations as plain functions, for the module-free eval step.
_FUNCTIONAL = {"sigmoid": torch.sigmoid, "relu": torch.relu, "tanh": torch.tanh, "elu": F.elu}

# Keras defaults (the paper trains with TF 2 / Keras): BN momentum 0.99 on the running mean, i.e. 0.01 as
# PyTorch counts it, and epsilon 1e-3.
_BN_MOMENTUM = 0.01
_BN_EPS = 1e-3


class MixedInputRNN(nn.Module):
    """Two stacked GRU/LSTM layers over the light curve, merged with the context vector, then two dense layers.

    Parameters
    ----------
    config : NetworkConfig, optional
        Architecture; the paper's GRU 150 / dense 200 by default.
    n_classes : int
        Number of output classes (3 in the paper: VS, SN, AGN).

    Notes
    -----
    ``forward`` returns logits; apply a softmax (or :meth:`predict_proba`) for class probabilities.
    On CPU the recurrent layers run through :mod:`lcrnn.model.fused` (same numbers as ``nn.GRU`` /
    ``nn.LSTM`` on the packed rows, several times faster to train); set ``model.fused = False`` to use the
    ``nn.GRU`` / ``nn.LSTM`` modules themselves (they always hold the weights, so checkpoints do not change).
    Weights start from the Keras initialisers the authors used (Glorot-uniform input and dense kernels,
    orthogonal recurrent kernels, zero biases, LSTM forget-gate bias 1).
    """

    def __init__(self, config: NetworkConfig | None = None, n_classes: int = 3) -> None:
        super().__init__()
        config = NetworkConfig() if config is None else config
        if not isinstance(config, NetworkConfig):
            raise InvalidConfigError(f"config must be a NetworkConfig, got {type(config).__name__}.")
        if isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 2:
            raise InvalidConfigError(f"n_classes={n_classes!r} must be an integer >= 2.")
        self.config = config
        self.n_classes = n_classes
        rnn_cls = nn.GRU if config.rnn == "gru" else nn.LSTM
        h, d = config.hidden, config.dense
        self.rnn1 = rnn_cls(config.n_features, h, batch_first=True)
        self.drop1 = nn.Dropout(config.dropout)
        self.bn1 = nn.BatchNorm1d(h, momentum=_BN_MOMENTUM, eps=_BN_EPS)
        self.rnn2 = rnn_cls(h, h, batch_first=True)
        self.drop2 = nn.Dropout(config.dropout)
        self.bn2 = nn.BatchNorm1d(h, momentum=_BN_MOMENTUM, eps=_BN_EPS)
        merged = h + config.static_width
        self.dense1 = nn.Linear(merged, d)
        self.act1 = _ACTIVATIONS[config.activation]()
        self.drop3 = nn.Dropout(config.dropout)
        self.bn3 = nn.BatchNorm1d(d, momentum=_BN_MOMENTUM, eps=_BN_EPS)
        self.dense2 = nn.Linear(d, d)
        self.act2 = _ACTIVATIONS[config.activation]()
        self.out = nn.Linear(d, n_classes)
        self.fused = True  # CPU fast path of lcrnn.model.fused; False runs nn.GRU / nn.LSTM themselves
        self._keras_init()

    # --- construction -------------------------------------------------------------------------------

    def _keras_init(self) -> None:
        """Start from the Keras initialisers so training behaves like the authors' runs."""
        for rnn in (self.rnn1, self.rnn2):
            h = rnn.hidden_size
            for name, param in rnn.named_parameters():
                if name.startswith("weight_ih"):
                    nn.init.xavier_uniform_(param)  # Keras glorot_uniform over the whole stacked kernel
                elif name.startswith("weight_hh"):
                    nn.init.orthogonal_(param)
                else:
                    nn.init.zeros_(param)
            if isinstance(rnn, nn.LSTM):
                with torch.no_grad():
                    rnn.bias_ih_l0[h : 2 * h].fill_(1.0)  # gate order i, f, g, o: Keras unit_forget_bias
        for layer in (self.dense1, self.dense2, self.out):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)

    # --- input checks -------------------------------------------------------------------------------

    def _check_inputs(self, values: Tensor, lengths: Tensor, context: Tensor | None) -> Tensor:
        """Validate shapes and lengths; return lengths as a CPU int64 tensor (what packing needs)."""
        cfg = self.config
        if not isinstance(values, Tensor) or values.ndim != 3 or values.shape[-1] != cfg.n_features:
            shape = tuple(values.shape) if isinstance(values, Tensor) else type(values).__name__
            raise InvalidModelInputError(
                f"values must be a float tensor of shape (batch, steps, {cfg.n_features}), got {shape}."
            )
        if not values.is_floating_point():
            raise InvalidModelInputError(f"values must be float32, got {values.dtype}; use values.float().")
        batch, steps = values.shape[0], values.shape[1]
        if not isinstance(lengths, Tensor) or lengths.shape != (batch,):
            shape = tuple(lengths.shape) if isinstance(lengths, Tensor) else type(lengths).__name__
            raise InvalidModelInputError(f"lengths must be an int64 tensor of shape ({batch},), got {shape}.")
        if lengths.is_floating_point() or lengths.dtype == torch.bool:
            raise InvalidModelInputError(f"lengths must be int64, got {lengths.dtype}.")
        lengths = lengths.to(device="cpu", dtype=torch.int64)
        bad = torch.nonzero((lengths < 1) | (lengths > steps)).flatten()
        if len(bad):
            rows = ", ".join(f"row {i} has {int(lengths[i])}" for i in bad[:5].tolist())
            raise InvalidModelInputError(
                f"{len(bad)} light curve length(s) outside [1, {steps}] ({rows}); every light curve needs "
                f"at least one observation and at most as many as the padded values tensor holds."
            )
        if self.training and batch < 2:
            raise InvalidModelInputError(
                "batch normalisation needs at least 2 light curves per batch in training mode; merge the "
                "last batch into another (or drop it), or call .eval() for inference."
            )
        self._check_context(context, batch)
        return lengths

    def _check_context(self, context: Tensor | None, batch: int) -> None:
        """The static inputs: context columns (if ``use_context``), then the summary features (if any)."""
        cfg = self.config
        width = cfg.static_width
        if width == 0:
            if context is not None:
                raise InvalidModelInputError(
                    "this network was built with use_context=False and no summary features; pass context=None."
                )
            return
        parts = " + ".join(p for p in (f"{cfg.n_context} context" if cfg.use_context else "",
                                        f"{len(cfg.summary)} summary features" if cfg.summary else "") if p)
        if context is None:
            raise InvalidModelInputError(
                f"this network reads static inputs ({parts}); pass a ({batch}, {width}) context tensor, or "
                "build the network with NetworkConfig(use_context=False, summary=())."
            )
        if not isinstance(context, Tensor) or tuple(context.shape) != (batch, width):
            shape = tuple(context.shape) if isinstance(context, Tensor) else type(context).__name__
            raise InvalidModelInputError(f"context must have shape ({batch}, {width}) ({parts}), got {shape}.")

    # --- the network --------------------------------------------------------------------------------

    def _summary(self, values: Tensor, lengths: Tensor) -> Tensor:
        """Recurrent branch over packed sequences: the last real step of layer 2, after dropout and BN."""
        packed = pack_padded_sequence(values, lengths, batch_first=True, enforce_sorted=False)
        if self.fused and packed.data.device.type == "cpu":
            return self._summary_fused(packed, lengths)
        out1, _ = self.rnn1(packed)  # PackedSequence, data (sum(lengths), hidden)
        # Dropout and BN on the packed rows only: padded steps never enter the batch statistics.
        data = self.bn1(self.drop1(out1.data))  # (sum(lengths), hidden)
        out1 = PackedSequence(data, out1.batch_sizes, out1.sorted_indices, out1.unsorted_indices)
        _, state2 = self.rnn2(out1)
        h2 = state2[0] if isinstance(state2, tuple) else state2  # (1, batch, hidden), original order
        return self.bn2(self.drop2(h2[0]))  # (batch, hidden)

    def _summary_fused(self, packed: PackedSequence, lengths: Tensor) -> Tensor:
        """As :meth:`_summary`, through the fused layers: same rows, same dropout draws, same numbers."""
        layer = gru_packed if self.config.rnn == "gru" else lstm_packed
        sizes = packed.batch_sizes
        r1, r2 = self.rnn1, self.rnn2
        out1 = layer(packed.data, sizes, r1.weight_ih_l0, r1.weight_hh_l0, r1.bias_ih_l0, r1.bias_hh_l0)
        data = self.bn1(self.drop1(out1))  # (sum(lengths), hidden): BN over real steps only
        out2 = layer(data, sizes, r2.weight_ih_l0, r2.weight_hh_l0, r2.bias_ih_l0, r2.bias_hh_l0)
        rows = last_rows(sizes, lengths[packed.sorted_indices])[packed.unsorted_indices]  # (batch,)
        return self.bn2(self.drop2(out2[rows]))  # (batch, hidden), original order

    def _head(self, summary: Tensor, context: Tensor | None) -> tuple[Tensor, Tensor]:
        """Merged branch: returns (logits, output of the last dense layer)."""
        if context is not None:
            summary = torch.cat([summary, context.to(summary.dtype)], dim=1)  # (batch, hidden + static_width)
        x = self.bn3(self.drop3(self.act1(self.dense1(summary))))  # (batch, dense)
        dense = self.act2(self.dense2(x))  # (batch, dense)
        return self.out(dense), dense  # (batch, n_classes), (batch, dense)

    def forward(self, values: Tensor, lengths: Tensor, context: Tensor | None = None) -> Tensor:
        """Class logits for a padded batch of light curves.

        Parameters
        ----------
        values : Tensor
            ``(batch, steps, n_features)`` float32, zero (or anything) after each light curve's end.
        lengths : Tensor
            ``(batch,)`` int64, real observations per light curve, each in ``[1, steps]``.
        context : Tensor or None
            ``(batch, config.static_width)``: the context (when ``config.use_context``), then the summary
            features (when ``config.summary``); None when the network reads neither.

        Returns
        -------
        Tensor
            ``(batch, n_classes)`` logits.
        """
        lengths = self._check_inputs(values, lengths, context)
        logits, _ = self._head(self._summary(values, lengths), context)
        return logits

    def predict_proba(self, values: Tensor, lengths: Tensor, context: Tensor | None = None) -> Tensor:
        """Softmax of :meth:`forward`; call ``eval()`` first for inference (dropout off, BN running stats)."""
        return torch.softmax(self.forward(values, lengths, context), dim=-1)  # (batch, n_classes)

    def embed(self, values: Tensor, lengths: Tensor, context: Tensor | None = None) -> dict[str, Tensor]:
        """Internal representations for t-SNE plots (paper section 5.3).

        Returns
        -------
        dict
            ``"rnn"``: ``(batch, hidden)`` last recurrent layer's output after its BN;
            ``"dense"``: ``(batch, dense)`` the last dense layer's activated output.
        """
        lengths = self._check_inputs(values, lengths, context)
        summary = self._summary(values, lengths)
        _, dense = self._head(summary, context)
        return {"rnn": summary, "dense": dense}

    def l2_penalty(self) -> Tensor:
        """Keras-style ``lambda * sum(w**2)`` over dense2's weights, for the training loss to add."""
        return self.config.l2 * self.dense2.weight.pow(2).sum()

    # --- real-time, one observation at a time -------------------------------------------------------

    def initial_state(self, batch_size: int) -> tuple[Tensor, ...]:
        """Zero recurrent state for :meth:`step`: ``(h1, h2)`` for GRU, ``(h1, c1, h2, c2)`` for LSTM.

        Each tensor is ``(batch_size, hidden)`` so a caller can keep one row per object.
        """
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise InvalidModelInputError(f"batch_size={batch_size!r} must be a positive integer.")
        ref = self.out.weight
        n = 2 if self.config.rnn == "gru" else 4
        return tuple(ref.new_zeros(batch_size, self.config.hidden) for _ in range(n))

    def step(
        self, x: Tensor, state: tuple[Tensor, ...], context: Tensor | None = None
    ) -> tuple[Tensor, tuple[Tensor, ...]]:
        """Advance every light curve by one observation and classify it with what has been seen so far.

        Feeding observations 1..k through ``step`` gives the logits of :meth:`forward` on those k
        observations. Needs eval mode: in training, dropout is random and BN uses batch statistics,
        which a single step cannot reproduce.

        Parameters
        ----------
        x : Tensor
            ``(batch, n_features)`` the new observation of each light curve.
        state : tuple of Tensor
            From :meth:`initial_state` or the previous ``step``.
        context : Tensor or None
            ``(batch, n_context)`` when ``config.use_context``.

        Returns
        -------
        logits : Tensor
            ``(batch, n_classes)``.
        state : tuple of Tensor
            The new recurrent state.
        """
        if self.config.summary:
            raise ModelModeError(
                "this network reads summary features of the whole light curve (NetworkConfig.summary), which "
                "one step cannot update; classify whole light curves with forward()."
            )
        if self.training:
            raise ModelModeError("step() needs eval mode (dropout off, BN running statistics); call .eval().")
        cfg = self.config
        if not isinstance(x, Tensor) or x.ndim != 2 or x.shape[1] != cfg.n_features:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise InvalidModelInputError(f"x must have shape (batch, {cfg.n_features}), got {shape}.")
        batch = x.shape[0]
        n = 2 if cfg.rnn == "gru" else 4
        if len(state) != n or any(tuple(s.shape) != (batch, cfg.hidden) for s in state):
            raise InvalidModelInputError(
                f"state must be {n} tensors of shape ({batch}, {cfg.hidden}); start from initial_state({batch})."
            )
        self._check_context(context, batch)
        return self._step_eval(x, tuple(state), context)

    def _folded(self) -> tuple[Tensor, ...]:
        """Eval-mode weights with each BN folded into the linear map after it, cached until a weight changes.

        In eval mode BN is ``a * x + b`` per unit, so ``W (a * x + b) + c = (W a) x + (W b + c)``: the step
        then needs no BN calls at all. The cache key holds every source tensor's storage and version counter,
        so training, ``load_state_dict`` or ``.to()`` rebuild it on the next call.
        """
        sources = self.__dict__.get("_fold_sources")
        # Walking the module tree every step would cost more than the step itself, so the tensors are listed
        # once; load_state_dict(assign=True) swaps the tensor objects, which the identity checks catch.
        if sources is None or sources[0] is not self.rnn1.weight_ih_l0 or sources[-1] is not self.bn3.num_batches_tracked:
            sources = tuple(self.parameters()) + tuple(self.buffers())
            self.__dict__["_fold_sources"] = sources
        key = [t._version for t in sources] + [t.data_ptr() for t in sources]
        cached = self.__dict__.get("_folded_cache")
        if cached is not None and cached[0] == key:
            return cached[1]
        with torch.no_grad():
            def affine(bn: nn.BatchNorm1d) -> tuple[Tensor, Tensor]:
                scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
                return scale, bn.bias - bn.running_mean * scale

            a1, c1 = affine(self.bn1)
            a2, c2 = affine(self.bn2)
            a3, c3 = affine(self.bn3)
            r1, r2, h = self.rnn1, self.rnn2, self.config.hidden
            w2_ih = r2.weight_ih_l0 * a1  # (gates, hidden): bn1 folded into layer 2's input map
            b2_ih = r2.bias_ih_l0 + r2.weight_ih_l0 @ c1
            wd1 = self.dense1.weight  # (dense, hidden [+ n_context])
            wd1_h = wd1[:, :h] * a2  # bn2 folded into the summary columns of dense1
            bd1 = self.dense1.bias + wd1[:, :h] @ c2
            wd1_c = wd1[:, h:].t().contiguous()  # (n_context, dense) context columns, untouched
            wd2 = self.dense2.weight * a3  # bn3 folded into dense2
            bd2 = self.dense2.bias + self.dense2.weight @ c3
            folded = (
                r1.weight_ih_l0, r1.weight_hh_l0, r1.bias_ih_l0, r1.bias_hh_l0,
                w2_ih.contiguous(), r2.weight_hh_l0, b2_ih, r2.bias_hh_l0,
                wd1_h.t().contiguous(), bd1, wd1_c, wd2.t().contiguous(), bd2,
                self.out.weight.t().contiguous(), self.out.bias,
            )  # fmt: skip
        self.__dict__["_folded_cache"] = (key, folded)
        return folded

    def _step_eval(
        self, x: Tensor, state: tuple[Tensor, ...], context: Tensor | None
    ) -> tuple[Tensor, tuple[Tensor, ...]]:
        """Eval-mode step as a short run of ATen calls on BN-folded weights: no module dispatch, no BN.

        Dropout is the identity in eval mode and BN an affine map folded into the next linear map
        (:meth:`_folded`), so the numbers equal the modules' to rounding.
        """
        (w1i, w1h, b1i, b1h, w2i, w2h, b2i, b2h, wd1, bd1, wd1c, wd2, bd2, wo, bo) = self._folded()
        if self.config.rnn == "gru":
            h1 = torch.gru_cell(x, state[0], w1i, w1h, b1i, b1h)  # (batch, hidden)
            h2 = torch.gru_cell(h1, state[1], w2i, w2h, b2i, b2h)  # (batch, hidden)
            new_state: tuple[Tensor, ...] = (h1, h2)
        else:
            h1, c1 = torch.lstm_cell(x, (state[0], state[1]), w1i, w1h, b1i, b1h)
            h2, c2 = torch.lstm_cell(h1, (state[2], state[3]), w2i, w2h, b2i, b2h)
            new_state = (h1, c1, h2, c2)
        if self.config.use_context:
            bd1 = torch.addmm(bd1, context.to(h2.dtype), wd1c)  # (batch, dense): context part of dense1
        act = _FUNCTIONAL[self.config.activation]
        z = act(torch.addmm(bd1, h2, wd1))  # (batch, dense)
        z = act(torch.addmm(bd2, z, wd2))  # (batch, dense)
        return torch.addmm(bo, z, wo), new_state  # (batch, n_classes)


def forward_padded(
    model: MixedInputRNN, values: Tensor, lengths: Tensor, context: Tensor | None = None
) -> Tensor:
    """Naive baseline for benchmarks only: run both recurrent layers over every padded step.

    This is what a plain padded implementation does (all ``steps`` computed, the last real output gathered
    afterwards, BN statistics over padded steps too). In eval mode it gives the same logits as
    ``model(values, lengths, context)``; in training mode its BN statistics include the padding, which is
    why the model itself never uses it.
    """
    lengths = model._check_inputs(values, lengths, context).to(values.device)
    batch, steps, _ = values.shape
    out1, _ = model.rnn1(values)  # (batch, steps, hidden)
    hidden = out1.shape[-1]
    y1 = model.bn1(model.drop1(out1).reshape(batch * steps, hidden)).reshape(batch, steps, hidden)
    out2, _ = model.rnn2(y1)  # (batch, steps, hidden)
    last = out2[torch.arange(batch, device=values.device), lengths - 1]  # (batch, hidden)
    logits, _ = model._head(model.bn2(model.drop2(last)), context)
    return logits
