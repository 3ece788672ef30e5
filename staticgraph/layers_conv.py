"""``tf.layers.conv2d``/``Conv2D``, ``max_pooling2d``, ``average_pooling2d``, ``flatten`` and
``dropout`` (TF1's layer functions, channels last) and ``tf.nn.conv2d_transpose``.

Each layer opens a ``variable_scope`` with TF's default name (``conv2d``, ``conv2d_1``, ...),
so its variables are ``<name>/kernel`` and ``<name>/bias`` as in TF and checkpoints and
``reuse`` line up. The arithmetic is the ``tf.nn`` ops of ``conv_ops.py``."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from . import ops
from .conv_ops import _hw, _plan, avg_pool, max_pool
from .conv_ops import conv2d as nn_conv2d
from .graph.array_ops import identity, reshape
from .graph.core import Tensor, get_default_graph
from .graph.frontend import as_graph_tensor
from .graph.math_ops import _final, _require, _t, add, composite
from .graph.math_ops import where as _select
from .nn import dropout as nn_dropout
from .ops import windows as window_ops
from .variable_scope import get_variable, get_variable_scope, variable_scope, zeros_initializer


def _padding(padding: str) -> str:
    p = str(padding).upper()
    if p not in ("VALID", "SAME"):
        raise ValueError('The `padding` argument must be a list/tuple or one of "valid", "same" '
                         f'(or "causal", only for `Conv1D). Received: {padding}')
    return p


def _channels_last(data_format: str) -> None:
    if data_format != "channels_last":
        raise NotImplementedError(f"tf.layers supports data_format='channels_last' only, got "
                                  f"{data_format!r}")


def is_tensor_flag(training: Any) -> bool:
    """Whether a ``training`` argument is a tensor (decided at run time), not a Python value."""
    return isinstance(training, Tensor) or as_graph_tensor(training) is not None


def pick(training: Any, if_true: Any, if_false: Any) -> Any:
    """TF's ``smart_cond``: a Python value picks a branch now; a bool tensor (fed or computed)
    selects at run time (both branches are built)."""
    if not is_tensor_flag(training):
        return if_true() if bool(training) else if_false()
    return _select(training, if_true(), if_false())


@contextlib.contextmanager
def layer_scope(layer: Any, default: str) -> Iterator[None]:
    """A layer object's scope, as TF's legacy layers: the first call opens a variable scope
    (``layer.name`` or a unique ``default``); later calls re-enter it with ``reuse=True`` and
    its original name scope, so ops are ``<name>/BiasAdd_1``, not ``<name>_1/BiasAdd``."""
    first = getattr(layer, "_scope", None)
    if first is None:
        with variable_scope(layer.name, default_name=default) as vs:
            yield
        layer._scope, layer.name = vs, vs.name
        return
    with variable_scope(first, reuse=True), get_default_graph().name_scope(first._name_scope):
        yield


def _conv2d_here(inputs: Any, filters: int, kernel_size: Any, strides: Any, padding: str,
                 dilation_rate: Any, activation: Any, use_bias: bool, kernel_initializer: Any,
                 bias_initializer: Any, kernel_regularizer: Any, bias_regularizer: Any,
                 trainable: bool) -> tuple:
    """The conv layer in the current variable scope: ``(output, kernel, bias or None)``."""
    x = _t(inputs)
    shape = x.shape.as_list() if x.shape.ndims is not None else None
    if shape is None or len(shape) != 4:
        layer = get_variable_scope().name.rsplit("/", 1)[-1]
        raise ValueError(f"Input 0 of layer \"{layer}\" is incompatible with the layer: expected "
                         f"ndim=4, found ndim={x.shape.ndims}. Full shape received: {x.shape}")
    if shape[-1] is None:
        raise ValueError("The channel dimension of the inputs should be defined. Found `None`.")
    kh, kw = _hw(kernel_size, "kernel_size")
    kernel = get_variable("kernel", [kh, kw, shape[-1], int(filters)], dtype=x.dtype,
                          initializer=kernel_initializer, regularizer=kernel_regularizer,
                          trainable=trainable)
    y = nn_conv2d(x, kernel, strides=list(_hw(strides, "strides")), padding=_padding(padding),
                  dilations=list(_hw(dilation_rate, "dilation_rate")), name="Conv2D")
    bias = None
    if use_bias:
        bias = get_variable("bias", [int(filters)], dtype=x.dtype,
                            initializer=bias_initializer or zeros_initializer(),
                            regularizer=bias_regularizer, trainable=trainable)
        y = add(y, bias, name="BiasAdd")
    return (activation(y) if activation is not None else y), kernel, bias


def conv2d(inputs: Any, filters: int, kernel_size: Any, strides: Any = (1, 1),
           padding: str = "valid", data_format: str = "channels_last", dilation_rate: Any = (1, 1),
           activation: Any = None, use_bias: bool = True, kernel_initializer: Any = None,
           bias_initializer: Any = None, kernel_regularizer: Any = None,
           bias_regularizer: Any = None, trainable: bool = True, name: str | None = None,
           reuse: Any = None, **_: Any) -> Any:
    """``activation(conv(inputs, kernel) + bias)`` with ``<name>/kernel`` of shape
    ``[kh, kw, in, filters]`` (glorot-uniform by default, as TF) and ``<name>/bias``."""
    _channels_last(data_format)
    with variable_scope(name, default_name="conv2d", reuse=reuse):
        return _conv2d_here(inputs, filters, kernel_size, strides, padding, dilation_rate,
                            activation, use_bias, kernel_initializer, bias_initializer,
                            kernel_regularizer, bias_regularizer, trainable)[0]


class KernelLayer:
    """What ``tf.layers``' kernel-and-bias layer objects share: built once the kernel exists,
    their variables in TF's order (kernel, bias)."""

    kernel: Any = None
    bias: Any = None
    trainable: bool = True

    @property
    def built(self) -> bool:
        return self.kernel is not None

    @property
    def variables(self) -> list:
        return [v for v in (self.kernel, self.bias) if v is not None]

    weights = variables

    @property
    def trainable_variables(self) -> list:
        return self.variables if self.trainable else []


class Conv2D(KernelLayer):
    """``tf.layers.Conv2D``: the first call makes ``<name>/kernel`` and ``<name>/bias``; later
    calls reuse them (on inputs with the same channel count)."""

    def __init__(self, filters: int, kernel_size: Any, strides: Any = (1, 1),
                 padding: str = "valid", data_format: str = "channels_last",
                 dilation_rate: Any = (1, 1), activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = None, bias_initializer: Any = None,
                 kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 trainable: bool = True, name: str | None = None, **_: Any) -> None:
        _channels_last(data_format)
        _padding(padding)
        self.filters, self.kernel_size, self.strides = int(filters), kernel_size, strides
        self.padding, self.dilation_rate, self.activation = padding, dilation_rate, activation
        self.use_bias, self.trainable, self.name = use_bias, trainable, name
        self._init = (kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer)
        self.kernel: Any = None
        self.bias: Any = None

    def __call__(self, inputs: Any) -> Any:
        with layer_scope(self, "conv2d"):
            y, self.kernel, self.bias = _conv2d_here(
                inputs, self.filters, self.kernel_size, self.strides, self.padding,
                self.dilation_rate, self.activation, self.use_bias, *self._init, self.trainable)
        return y

    apply = __call__


def conv2d_transpose_layer(inputs: Any, filters: int, kernel_size: Any, strides: Any = (1, 1),
                           padding: str = "valid", data_format: str = "channels_last",
                           activation: Any = None, use_bias: bool = True,
                           kernel_initializer: Any = None, bias_initializer: Any = None,
                           kernel_regularizer: Any = None, bias_regularizer: Any = None,
                           trainable: bool = True, name: str | None = None, reuse: Any = None,
                           **_: Any) -> Any:
    """``tf.layers.conv2d_transpose``: ``<name>/kernel`` ``[kh, kw, filters, in]`` and
    ``<name>/bias``; the output is ``in * stride`` (SAME) or ``in * stride + max(k - stride,
    0)`` (VALID) along each spatial dim, as TF."""
    _channels_last(data_format)
    x = _t(inputs)
    dims = x.shape.as_list() if x.shape.ndims is not None else None
    with variable_scope(name, default_name="conv2d_transpose", reuse=reuse):
        if dims is None or len(dims) != 4 or None in dims[1:]:
            layer = get_variable_scope().name.rsplit("/", 1)[-1]
            raise ValueError(f"Input 0 of layer \"{layer}\" is incompatible with the layer: "
                             f"expected ndim=4 with known height, width and channels, found "
                             f"shape {x.shape}")
        k, s, pad = _hw(kernel_size, "kernel_size"), _hw(strides, "strides"), _padding(padding)
        size = [n * st + (max(kk - st, 0) if pad == "VALID" else 0)
                for n, kk, st in zip(dims[1:3], k, s, strict=True)]
        kernel = get_variable("kernel", [*k, int(filters), dims[-1]], dtype=x.dtype,
                              initializer=kernel_initializer, regularizer=kernel_regularizer,
                              trainable=trainable)
        y = conv2d_transpose(x, kernel, [-1, *size, int(filters)], [1, *s, 1], pad,
                             name="conv2d_transpose")
        if use_bias:
            bias = get_variable("bias", [int(filters)], dtype=x.dtype,
                                initializer=bias_initializer or zeros_initializer(),
                                regularizer=bias_regularizer, trainable=trainable)
            y = add(y, bias, name="BiasAdd")
        return activation(y) if activation is not None else y


def _pool(fn: Any, op_name: str, default: str, inputs: Any, pool_size: Any, strides: Any,
          padding: str, data_format: str, name: str | None) -> Any:
    _channels_last(data_format)
    k, s = _hw(pool_size, "pool_size"), _hw(strides, "strides")
    with variable_scope(name, default_name=default):
        return fn(inputs, [1, *k, 1], [1, *s, 1], _padding(padding), name=op_name)


def max_pooling2d(inputs: Any, pool_size: Any, strides: Any, padding: str = "valid",
                  data_format: str = "channels_last", name: str | None = None) -> Any:
    """``tf.nn.max_pool`` under the layer's scope (``max_pooling2d/MaxPool``)."""
    return _pool(max_pool, "MaxPool", "max_pooling2d", inputs, pool_size, strides, padding,
                 data_format, name)


def average_pooling2d(inputs: Any, pool_size: Any, strides: Any, padding: str = "valid",
                      data_format: str = "channels_last", name: str | None = None) -> Any:
    """``tf.nn.avg_pool`` under the layer's scope (``average_pooling2d/AvgPool``)."""
    return _pool(avg_pool, "AvgPool", "average_pooling2d", inputs, pool_size, strides,
                 padding, data_format, name)


def flatten(inputs: Any, name: str | None = None, data_format: str = "channels_last") -> Any:
    """``[batch, ...]`` reshaped to ``[batch, prod(...)]`` (``flatten/Reshape``)."""
    x = _t(inputs)
    dims = x.shape.as_list() if x.shape.ndims is not None else None
    if dims is None or len(dims) < 1:
        raise ValueError(f"Input 0 of layer \"flatten\" is incompatible with the layer: expected "
                         f"min_ndim=1, found ndim={x.shape.ndims}. Full shape received: "
                         f"{x.shape}")
    with variable_scope(name, default_name="flatten"):
        if len(dims) == 1:
            return reshape(x, [-1, 1], name="Reshape")
        if None in dims[1:]:
            raise ValueError(f"flatten needs the non-batch dimensions known, got {x.shape}")
        return reshape(x, [-1, int(np.prod(dims[1:]))], name="Reshape")


def dropout(inputs: Any, rate: Any = 0.5, noise_shape: Any = None, seed: Any = None,
            training: Any = False, name: str | None = None) -> Any:
    """``tf.nn.dropout(inputs, rate=rate)`` when ``training`` (a bool or a bool tensor),
    else ``inputs`` unchanged (``dropout/Identity``). The mask is not TF's random numbers."""
    x = _t(inputs)
    with variable_scope(name, default_name="dropout"):
        return pick(training, lambda: nn_dropout(x, rate=rate, noise_shape=noise_shape,
                                                 seed=seed),
                    lambda: identity(x, name="Identity"))


def conv2d_transpose(value: Any = None, filter: Any = None, output_shape: Any = None,  # noqa: A002
                     strides: Any = (1, 1, 1, 1), padding: str = "SAME",
                     data_format: str = "NHWC", name: str | None = None, input: Any = None,  # noqa: A002
                     filters: Any = None, dilations: Any = None) -> Tensor:
    """The gradient of ``tf.nn.conv2d`` with respect to its input, as a layer: ``filter`` is
    ``[kh, kw, out_channels, in_channels]`` and ``output_shape`` ``[batch, h, w, out]`` (its
    batch entry may be a tensor; h, w, out must be known). Built as the input dilated by the
    strides, padded, and correlated with the spatially flipped, channel-swapped filter."""
    if data_format != "NHWC":
        raise NotImplementedError("conv2d_transpose supports data_format='NHWC' only")
    if dilations is not None and max(_hw(dilations, "dilations")) > 1:
        raise NotImplementedError("conv2d_transpose with dilations > 1")
    x = _t(value if value is not None else input)
    w = _t(filter if filter is not None else filters)
    _require("f", x, w)
    xs, ws = x.aval.shape, w.aval.shape
    if ws is None or len(ws) != 4 or None in ws:
        raise ValueError(f"filter must be [height, width, out, in] with known sizes, got "
                         f"{w.shape}")
    if xs is None or len(xs) != 4 or None in xs[1:]:
        raise ValueError(f"value must be NHWC with known height, width and channels, got "
                         f"{x.shape}")
    out = _static_shape(output_shape)
    if xs[-1] != ws[3]:
        raise ValueError(f"input depth {xs[-1]} must equal the filter's in_channels {ws[3]} "
                         f"(filter [height, width, out, in] = {list(ws)})")
    if out[3] != ws[2]:
        raise ValueError(f"output_shape's depth {out[3]} must equal the filter's out_channels "
                         f"{ws[2]}")
    k, s, pad = (ws[0], ws[1]), _hw(strides, "strides"), str(padding).upper()
    pads = []
    for size, kk, ss, got in zip(out[1:3], k, s, xs[1:3], strict=True):
        before, _, n = _plan(size, kk, ss, pad)
        if n != got:
            raise ValueError(f"Conv2DCustomBackpropInput: Size of out_backprop doesn't match "
                             f"computed: actual = {got}, computed = {n} spatial_dim: "
                             f"input: {size} filter: {kk} output: {got} stride: {ss}")
        dilated = (got - 1) * ss + 1
        pads.append((kk - 1 - before, size + before - dilated))
    with composite(name, "conv2d_transpose", x, w) as stem:
        xd = window_ops.dilate(x, x.aval.dtype, s, xs[1:3])
        xp = window_ops.pad_spatial(xd, x.aval.dtype, pads, 0.0)
        wf = ops.permute(ops.getitem(w, (slice(None, None, -1), slice(None, None, -1))),
                         (0, 1, 3, 2))
        acc = window_ops.conv_sum(xp, wf, k, (1, 1), tuple(out[1:3]))
        return _final(stem, ops.add, acc, np.zeros((), x.aval.dtype))


def _static_shape(output_shape: Any) -> list:
    """``output_shape`` as ``[batch or -1, h, w, c]``: a list (the batch may be a tensor) or
    a constant tensor."""
    if output_shape is None:
        raise ValueError("conv2d_transpose needs output_shape")
    t = as_graph_tensor(output_shape)
    if t is not None:
        const = t.op.params.get("value") if t.op.type == "Const" else None
        if const is None:
            raise ValueError("conv2d_transpose needs output_shape's height, width and depth "
                             "known when the graph is built (a list such as "
                             "[tf.shape(x)[0], h, w, c])")
        output_shape = list(np.asarray(const))
    dims = list(output_shape)
    if len(dims) != 4:
        raise ValueError(f"output_shape must have 4 entries (NHWC), got {len(dims)}")
    rest = []
    for d in dims[1:]:
        if as_graph_tensor(d) is not None or isinstance(d, Tensor):
            raise ValueError("conv2d_transpose needs output_shape's height, width and depth "
                             "as Python ints")
        rest.append(int(d))
    return [-1, *rest]
