"""Recurrent layers: ``nn.RNN``, ``nn.LSTM``, ``nn.GRU`` and their cells, PyTorch's equations,
parameter names (``weight_ih_l0``, ``bias_hh_l1_reverse``...), shapes, initialisation
(U(-1/sqrt(hidden), 1/sqrt(hidden))) and reprs.

Each time step is a handful of registry ops (two ``linear``s, the gate nonlinearities), so the
backward graph is PyTorch's unrolled loop rather than its fused kernels; ``output`` and ``h_n``
are ``stack``s of the steps' hidden states (``StackBackward0`` as in PyTorch)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from staticgraph import ops

from .. import _dtypes
from .._tensor import Tensor, make, to_tensor
from . import functional as F
from . import init
from .modules import Module, Parameter
from .rnn_utils import PackedSequence, run_packed

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}
State = tuple[Tensor, Tensor | None]


def _step(mode: str, x: Tensor, h: Tensor, c: Tensor | None, w_ih: Tensor, w_hh: Tensor,
          b_ih: Tensor | None, b_hh: Tensor | None) -> State:
    """One time step of ``mode`` for a batch: the new hidden (and, for an LSTM, cell) state."""
    gi, gh = F.linear(x, w_ih, b_ih), F.linear(h, w_hh, b_hh)
    if mode == "LSTM":
        i, f, g, o = ops.add(gi, gh).chunk(4, -1)
        c = ops.add(ops.mul(ops.sigmoid(f), c), ops.mul(ops.sigmoid(i), ops.tanh(g)))
        return ops.mul(ops.sigmoid(o), ops.tanh(c)), c
    if mode == "GRU":
        ir, iz, i_n = gi.chunk(3, -1)
        hr, hz, hn = gh.chunk(3, -1)
        r, z = ops.sigmoid(ops.add(ir, hr)), ops.sigmoid(ops.add(iz, hz))
        n = ops.tanh(ops.add(i_n, ops.mul(r, hn)))
        return ops.add(n, ops.mul(z, ops.sub(h, n))), None
    pre = ops.add(gi, gh)
    return (ops.relu(pre) if mode == "RNN_RELU" else ops.tanh(pre)), None


def _uniform_init(module: Module, hidden_size: int) -> None:
    std = 1.0 / math.sqrt(hidden_size) if hidden_size > 0 else 0
    for p in module.parameters():
        init.uniform_(p, -std, std)


def _param(shape: tuple, dtype: Any) -> Parameter:
    return Parameter(make(np.empty(shape, _dtypes.to_numpy_dtype(dtype or _dtypes.float32))))


class RNNBase(Module):
    """The multi-layer, optionally bidirectional recurrent layer behind RNN, LSTM and GRU."""

    mode = "RNN_TANH"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        if not 0 <= dropout <= 1 or isinstance(dropout, bool):
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        if proj_size:
            raise NotImplementedError("nn.LSTM(proj_size=...) is not supported by this project "
                                      "(dynamic); add an nn.Linear after the LSTM instead")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.proj_size = bidirectional, proj_size
        gates = _GATES[self.mode] * hidden_size
        dirs = 2 if bidirectional else 1
        for layer in range(num_layers):
            for sfx in ("", "_reverse")[:dirs]:
                width = input_size if layer == 0 else hidden_size * dirs
                setattr(self, f"weight_ih_l{layer}{sfx}", _param((gates, width), dtype))
                setattr(self, f"weight_hh_l{layer}{sfx}", _param((gates, hidden_size), dtype))
                if bias:
                    setattr(self, f"bias_ih_l{layer}{sfx}", _param((gates,), dtype))
                    setattr(self, f"bias_hh_l{layer}{sfx}", _param((gates,), dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _uniform_init(self, self.hidden_size)

    def _weights(self, layer: int, sfx: str) -> tuple:
        return tuple(self._parameters.get(f"{k}_l{layer}{sfx}")
                     for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))

    def _check(self, x: Tensor, h: Tensor, name: str, batch: int) -> None:
        want = (self.num_layers * (2 if self.bidirectional else 1), batch, self.hidden_size)
        if tuple(h.shape) != want:
            raise RuntimeError(f"Expected {name} size {want}, got {list(h.shape)}")

    def forward(self, input: Tensor, hx: Any = None) -> tuple:  # noqa: A002
        if isinstance(input, PackedSequence):
            return run_packed(self, input, hx, _step)
        x = to_tensor(input)
        if x.dim() not in (2, 3):
            raise ValueError(f"{type(self).__name__}: Expected input to be 2D or 3D, got "
                             f"{x.dim()}D tensor instead")
        if x.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {x.shape[-1]}")
        batched = x.dim() == 3
        lstm = self.mode == "LSTM"
        if not batched:
            x = x.unsqueeze(1)
            if hx is not None:
                hx = tuple(t.unsqueeze(1) for t in hx) if lstm else hx.unsqueeze(1)
        elif self.batch_first:
            x = x.transpose(0, 1)
        steps, batch = x.shape[0], x.shape[1]
        dirs = 2 if self.bidirectional else 1
        if hx is None:
            zeros = make(np.zeros((self.num_layers * dirs, batch, self.hidden_size),
                                  x._data.dtype))
            h0, c0 = zeros, (zeros if lstm else None)
        else:
            h0, c0 = hx if lstm else (hx, None)
            self._check(x, h0, "hidden" if not lstm else "hidden[0]", batch)
            if lstm:
                self._check(x, c0, "hidden[1]", batch)
        seq, hs, cs = x, [], []
        for layer in range(self.num_layers):
            outs = []
            for d, sfx in enumerate(("", "_reverse")[:dirs]):
                k = layer * dirs + d
                h, c = h0[k], (c0[k] if lstm else None)
                w = self._weights(layer, sfx)
                step_out: list = [None] * steps
                for t in (reversed(range(steps)) if d else range(steps)):
                    h, c = _step(self.mode, seq[t], h, c, *w)
                    step_out[t] = h
                hs.append(h)
                cs.append(c)
                outs.append(ops.stack(step_out, 0))
            seq = outs[0] if dirs == 1 else ops.cat(outs, 2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                seq = F.dropout(seq, self.dropout, True)
        h_n = ops.stack(hs, 0)
        c_n = ops.stack(cs, 0) if lstm else None
        if not batched:
            seq, h_n = seq.squeeze(1), h_n.squeeze(1)
            c_n = c_n.squeeze(1) if lstm else None
        elif self.batch_first:
            seq = seq.transpose(0, 1)
        return seq, ((h_n, c_n) if lstm else h_n)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s


class RNN(RNNBase):
    """Elman RNN: ``h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)`` (or ``relu``)."""

    def __init__(self, *args: Any, nonlinearity: str = "tanh", **kwargs: Any) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or "
                             "'relu'.")
        self.__dict__["nonlinearity"] = nonlinearity
        self.__dict__["mode"] = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(*args, **kwargs)

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s + (f", nonlinearity={self.nonlinearity}" if self.nonlinearity != "tanh" else "")


class LSTM(RNNBase):
    """Long short-term memory: gates ``i, f, g, o`` in PyTorch's order; returns
    ``output, (h_n, c_n)``."""

    mode = "LSTM"


class GRU(RNNBase):
    """Gated recurrent unit: gates ``r, z, n`` in PyTorch's order (``b_hn`` inside ``r *``)."""

    mode = "GRU"


class RNNCellBase(Module):
    """One step of a recurrent layer, parameters ``weight_ih``, ``weight_hh``, ``bias_*``."""

    mode = "RNN_TANH"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        gates = _GATES[self.mode] * hidden_size
        self.weight_ih = _param((gates, input_size), dtype)
        self.weight_hh = _param((gates, hidden_size), dtype)
        if bias:
            self.bias_ih, self.bias_hh = _param((gates,), dtype), _param((gates,), dtype)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        _uniform_init(self, hidden_size)

    def forward(self, input: Tensor, hx: Any = None) -> Any:  # noqa: A002
        x = to_tensor(input)
        if x.dim() not in (1, 2):
            raise ValueError(f"{type(self).__name__}: Expected input to be 1D or 2D, got "
                             f"{x.dim()}D instead")
        batched = x.dim() == 2
        lstm = self.mode == "LSTM"
        if not batched:
            x = x.unsqueeze(0)
            if hx is not None:
                hx = tuple(t.unsqueeze(0) for t in hx) if lstm else hx.unsqueeze(0)
        if hx is None:
            z = make(np.zeros((x.shape[0], self.hidden_size), x._data.dtype))
            hx = (z, z) if lstm else z
        h, c = hx if lstm else (hx, None)
        h, c = _step(self.mode, x, h, c, self.weight_ih, self.weight_hh, self.bias_ih,
                     self.bias_hh)
        if not batched:
            h, c = h.squeeze(0), (c.squeeze(0) if lstm else None)
        return (h, c) if lstm else h

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.__dict__.get("nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s


class RNNCell(RNNCellBase):
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device: Any = None, dtype: Any = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}")
        self.__dict__["nonlinearity"] = nonlinearity
        self.__dict__["mode"] = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(input_size, hidden_size, bias, device, dtype)


class LSTMCell(RNNCellBase):
    mode = "LSTM"


class GRUCell(RNNCellBase):
    mode = "GRU"
