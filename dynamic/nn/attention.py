"""Attention: ``F.scaled_dot_product_attention``, ``F.multi_head_attention_forward`` and
``nn.MultiheadAttention``, with PyTorch's formulas, mask conventions, parameter names
(``in_proj_weight``, ``in_proj_bias``, ``out_proj``...), shapes, initialisation and error texts.

Everything is built from registry ops (``matmul``, ``softmax``, ``where``, ``dropout``'s
``mul``), so gradients are the ops' own. Two mask conventions meet here, as in PyTorch: for
``scaled_dot_product_attention`` a bool ``attn_mask`` entry ``True`` means *may attend*; for
``MultiheadAttention`` (and the Transformer layers) ``True`` means *masked out*. Float masks are
added to the scores in both. A row whose keys are all masked attends to nothing (zeros), as
PyTorch's CPU kernels give, rather than NaN.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from staticgraph import ops

from .. import _dtypes
from .._tensor import Tensor, make, to_tensor
from ..autograd.graph import renamed
from . import functional as F
from . import init
from .modules import Linear, Module, Parameter
from .norm import dropout as _dropout


def _bias_of(mask: Tensor, dtype: np.dtype, masked: bool) -> Tensor:
    """A bool mask as an additive float bias: ``-inf`` where the entry equals ``masked``, else 0
    (a traced op, so ``dynamic.compile`` captures masks passed as inputs)."""
    inf, zero = make(np.array(-np.inf, dtype)), make(np.array(0.0, dtype))
    return ops.where(mask, inf, zero) if masked else ops.where(mask, zero, inf)


def _check_sdpa(q: Tensor, k: Tensor, v: Tensor, attn_mask: Tensor | None) -> None:
    if k.shape[-1] != q.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise RuntimeError(f"scaled_dot_product_attention: query {list(q.shape)}, key "
                           f"{list(k.shape)} and value {list(v.shape)} do not fit: query and key "
                           "need the same last size, key and value the same sequence length")
    if attn_mask is not None and attn_mask.dtype != _dtypes.bool and \
            not attn_mask.is_floating_point():
        raise RuntimeError("Expected attn_mask dtype to be bool or float or to match query "
                           f"dtype, but got attn_mask.dtype: {_c_name(attn_mask)} and  "
                           f"query.dtype: {_c_name(q)} instead.")


def _c_name(t: Tensor) -> str:
    """The C++ type name PyTorch's error texts use (``float``, ``double``, ``long int``)."""
    return _C_NAMES.get(t._data.dtype.name, t._data.dtype.name)


_C_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half", "int32": "int",
            "int64": "long int", "int16": "short int", "int8": "signed char",
            "uint8": "unsigned char", "bool": "bool"}


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor,
                                 attn_mask: Tensor | None = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """``softmax(q k^T * scale + bias) v`` over the last two dims (any leading batch dims).

    ``attn_mask``: bool (``True`` = may attend) or float (added); ``is_causal``: the top-left
    lower triangle; ``dropout_p``: dropout on the attention weights (always applied, as in
    PyTorch: pass ``dropout_p=0.0`` in eval). The result of a 4-D call without dropout has
    PyTorch's CPU node name ``ScaledDotProductFlashAttentionForCpuBackward0`` (its
    ``next_functions`` lead to the softmax and ``value``, not to ``query, key, value``)."""
    q, k, v = to_tensor(query), to_tensor(key), to_tensor(value)
    mask = None if attn_mask is None else to_tensor(attn_mask)
    if enable_gqa:
        raise NotImplementedError("scaled_dot_product_attention(enable_gqa=True) is not "
                                  "supported by this project (dynamic); repeat key and value "
                                  "along the head dim instead")
    _check_sdpa(q, k, v, mask)
    if is_causal and mask is not None and q.dim() != 4:  # PyTorch's 4-D CPU kernel takes both
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set "
                           "when is_causal=True")
    dt = q._data.dtype
    big, small = q.shape[-2], k.shape[-2]
    factor = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    scores = ops.mul(ops.matmul(q, k.transpose(-2, -1)), factor)
    if is_causal:
        causal = np.tril(np.ones((big, small), bool))
        scores = ops.add(scores, make(np.where(causal, 0.0, -np.inf).astype(dt)))
    if mask is not None:
        scores = ops.add(scores, _bias_of(mask, dt, False) if mask.dtype == _dtypes.bool
                         else mask)
    weights = ops.softmax(scores, -1) if mask is None else _safe_softmax(scores)
    if dropout_p > 0.0:
        weights = _dropout(weights, dropout_p, True)
    out = ops.matmul(weights, v)
    if q.dim() != 4 or dropout_p > 0.0:
        return out
    # the name only: a composite node's create_graph replay would differentiate q, k and v
    # as independent inputs, wrong for self-attention where k and v derive from q
    return renamed(out, "ScaledDotProductFlashAttentionForCpuBackward0")


def _safe_softmax(scores: Tensor) -> Tensor:
    """Softmax over the last dim; a row that is ``-inf`` throughout (every key masked) gives
    zeros (PyTorch's ``_safe_softmax``), without a NaN in the forward or the backward. Only a
    mask can empty a row (a causal one keeps the diagonal), so plain calls skip the ops."""
    dead = ops.eq(ops.amax(scores.detach(), (-1,), True), -np.inf)
    return ops.where(dead, 0.0, ops.softmax(ops.where(dead, 0.0, scores), -1))


def _canonical_mask(mask: Any, name: str, dtype: np.dtype, other: Any = None,
                    other_name: str = "") -> Tensor | None:
    """``MultiheadAttention``'s masks as float: bool ``True`` (masked out) becomes ``-inf``;
    PyTorch's deprecation warning when ``other`` (the other mask) has another dtype."""
    if mask is None:
        return None
    m = to_tensor(mask)
    if m.dtype != _dtypes.bool and not m.is_floating_point():
        raise AssertionError(f"only bool and floating types of {name} are supported")
    if other is not None and to_tensor(other).dtype != m.dtype:
        warnings.warn(f"Support for mismatched {name} and {other_name} is deprecated. Use same "
                      "type for both instead.", UserWarning, stacklevel=3)
    return m if m.is_floating_point() else _bias_of(m, dtype, True)


def _shape_check(query: Tensor, key: Tensor, value: Tensor, kpm: Any, attn_mask: Any,
                 num_heads: int) -> bool:
    """PyTorch's ``_mha_shape_check``: whether the call is batched (3-D query)."""
    if query.dim() == 3:
        if key.dim() != 3 or value.dim() != 3:
            raise AssertionError("For batched (3-D) `query`, expected `key` and `value` to be 3-D"
                                 f" but found {key.dim()}-D and {value.dim()}-D tensors "
                                 "respectively")
        if kpm is not None and kpm.dim() != 2:
            raise AssertionError("For batched (3-D) `query`, expected `key_padding_mask` to be "
                                 f"`None` or 2-D but found {kpm.dim()}-D tensor instead")
        if attn_mask is not None and attn_mask.dim() not in (2, 3):
            raise AssertionError("For batched (3-D) `query`, expected `attn_mask` to be `None`, "
                                 f"2-D or 3-D but found {attn_mask.dim()}-D tensor instead")
        return True
    if query.dim() == 2:
        if key.dim() != 2 or value.dim() != 2:
            raise AssertionError("For unbatched (2-D) `query`, expected `key` and `value` to be "
                                 f"2-D but found {key.dim()}-D and {value.dim()}-D tensors "
                                 "respectively")
        if kpm is not None and kpm.dim() != 1:
            raise AssertionError("For unbatched (2-D) `query`, expected `key_padding_mask` to be "
                                 f"`None` or 1-D but found {kpm.dim()}-D tensor instead")
        if attn_mask is not None:
            if attn_mask.dim() not in (2, 3):
                raise AssertionError("For unbatched (2-D) `query`, expected `attn_mask` to be "
                                     f"`None`, 2-D or 3-D but found {attn_mask.dim()}-D tensor "
                                     "instead")
            if attn_mask.dim() == 3:
                want = (num_heads, query.shape[0], key.shape[0])
                if tuple(attn_mask.shape) != want:
                    raise AssertionError(f"Expected `attn_mask` shape to be {want} but got "
                                         f"{attn_mask.shape}")
        return False
    raise AssertionError("query should be unbatched 2D or batched 3D tensor but received "
                         f"{query.dim()}-D query tensor")


def _project(query: Tensor, key: Tensor, value: Tensor, w: tuple, b: Tensor | None) -> tuple:
    """The q, k, v in-projections (one ``linear`` and a chunk for self-attention)."""
    if len(w) == 1 and query is key and key is value:
        return tuple(F.linear(query, w[0], b).chunk(3, -1))
    ws = w if len(w) == 3 else tuple(w[0].chunk(3, 0))
    bs = (None,) * 3 if b is None else tuple(b.chunk(3, 0))
    return tuple(F.linear(x, wi, bi) for x, wi, bi in zip((query, key, value), ws, bs,
                                                            strict=True))


def _pad_last(mask: Tensor) -> Tensor:
    """One more zero column (an extra always-visible key)."""
    zeros = make(np.zeros(tuple(mask.shape[:-1]) + (1,), mask._data.dtype))
    return ops.cat([mask, zeros], mask.dim() - 1)


def multi_head_attention_forward(query: Tensor, key: Tensor, value: Tensor,
                                 embed_dim_to_check: int, num_heads: int,
                                 in_proj_weight: Tensor | None, in_proj_bias: Tensor | None,
                                 bias_k: Tensor | None, bias_v: Tensor | None,
                                 add_zero_attn: bool, dropout_p: float,
                                 out_proj_weight: Tensor, out_proj_bias: Tensor | None,
                                 training: bool = True, key_padding_mask: Any = None,
                                 need_weights: bool = True, attn_mask: Any = None,
                                 use_separate_proj_weight: bool = False,
                                 q_proj_weight: Tensor | None = None,
                                 k_proj_weight: Tensor | None = None,
                                 v_proj_weight: Tensor | None = None,
                                 static_k: Any = None, static_v: Any = None,
                                 average_attn_weights: bool = True,
                                 is_causal: bool = False) -> tuple:
    """PyTorch's ``F.multi_head_attention_forward`` (sequence-first ``(L, N, E)`` or unbatched
    ``(L, E)``): returns ``(output, weights or None)``."""
    if static_k is not None or static_v is not None:
        raise NotImplementedError("multi_head_attention_forward(static_k=, static_v=) is not "
                                  "supported by this project (dynamic)")
    query, key, value = to_tensor(query), to_tensor(key), to_tensor(value)
    kpm = None if key_padding_mask is None else to_tensor(key_padding_mask)
    mask = None if attn_mask is None else to_tensor(attn_mask)
    batched = _shape_check(query, key, value, kpm, mask, num_heads)
    if not batched:
        same_q, same_k = query is key, key is value
        query = query.unsqueeze(1)
        key = query if same_q else key.unsqueeze(1)
        value = key if same_k else value.unsqueeze(1)
        kpm = None if kpm is None else kpm.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    dt = query._data.dtype
    kpm = _canonical_mask(kpm, "key_padding_mask", dt, mask, "attn_mask")
    if is_causal and mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the "
                           "Transformer module method `generate_square_subsequent_mask` to "
                           "create this mask.")
    if is_causal and kpm is None and not need_weights:
        mask = None
    else:
        mask = _canonical_mask(mask, "attn_mask", dt)
        if kpm is not None:
            is_causal = False
    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but "
                             f"got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if tuple(key.shape[:2]) != tuple(value.shape[:2]):
            raise AssertionError(f"key's sequence and batch dims {key.shape[:2]} do not match "
                                 f"value's {value.shape[:2]}")
        q, k, v = _project(query, key, value, (q_proj_weight, k_proj_weight, v_proj_weight),
                           in_proj_bias)
    else:
        if tuple(key.shape) != tuple(value.shape):
            raise AssertionError(f"key shape {key.shape} does not match value shape "
                                 f"{value.shape}")
        q, k, v = _project(query, key, value, (in_proj_weight,), in_proj_bias)
    src_len = key.shape[0]
    if mask is not None:
        if mask.dim() == 2:
            if tuple(mask.shape) != (tgt_len, src_len):
                raise RuntimeError(f"The shape of the 2D attn_mask is {mask.shape}, but should "
                                   f"be {(tgt_len, src_len)}.")
            mask = mask.unsqueeze(0)
        elif mask.dim() == 3:
            if tuple(mask.shape) != (bsz * num_heads, tgt_len, src_len):
                raise RuntimeError(f"The shape of the 3D attn_mask is {mask.shape}, but should "
                                   f"be {(bsz * num_heads, tgt_len, src_len)}.")
        else:
            raise RuntimeError(f"attn_mask's dimension {mask.dim()} is not supported")
    if (bias_k is None) != (bias_v is None):
        raise AssertionError("bias_k is set but bias_v is None" if bias_v is None
                             else "bias_v is set but bias_k is None")
    if bias_k is not None:
        k = ops.cat([k, bias_k.repeat(1, bsz, 1)], 0)
        v = ops.cat([v, bias_v.repeat(1, bsz, 1)], 0)
        mask = None if mask is None else _pad_last(mask)
        kpm = None if kpm is None else _pad_last(kpm)
    q = q.reshape(tgt_len, bsz * num_heads, head_dim).transpose(0, 1)
    k = k.reshape(k.shape[0], bsz * num_heads, head_dim).transpose(0, 1)
    v = v.reshape(v.shape[0], bsz * num_heads, head_dim).transpose(0, 1)
    if add_zero_attn:
        zeros = make(np.zeros((bsz * num_heads, 1, head_dim), dt))
        k, v = ops.cat([k, zeros], 1), ops.cat([v, zeros], 1)
        mask = None if mask is None else _pad_last(mask)
        kpm = None if kpm is None else _pad_last(kpm)
    src_len = k.shape[1]
    if kpm is not None:
        if kpm.shape[0] != bsz:
            raise AssertionError(f"Expected key_padded_mask.shape[0] to be {bsz}, but got "
                                 f"{kpm.shape[0]}")
        if kpm.shape[1] != src_len:
            raise AssertionError(f"Expected key_padded_mask.shape[1] to be {src_len}, but got "
                                 f"{kpm.shape[1]}")
        kpm = kpm.reshape(bsz, 1, 1, src_len).expand(-1, num_heads, -1, -1) \
            .reshape(bsz * num_heads, 1, src_len)
        mask = kpm if mask is None else ops.add(mask, kpm)
    if not training:
        dropout_p = 0.0
    if need_weights:
        return _weights_path(q, k, v, mask, dropout_p, (tgt_len, bsz, embed_dim, num_heads),
                             out_proj_weight, out_proj_bias, average_attn_weights, batched)
    if mask is not None:
        mask = mask.unsqueeze(0) if mask.shape[0] == 1 and mask.dim() == 3 else \
            mask.reshape(bsz, num_heads, -1, src_len)
    q = q.reshape(bsz, num_heads, tgt_len, head_dim)
    k = k.reshape(bsz, num_heads, src_len, head_dim)
    v = v.reshape(bsz, num_heads, src_len, head_dim)
    out = scaled_dot_product_attention(q, k, v, mask, dropout_p, is_causal)
    out = out.permute(2, 0, 1, 3).reshape(bsz * tgt_len, embed_dim)
    out = F.linear(out, out_proj_weight, out_proj_bias)
    out = out.reshape(tgt_len, bsz, out.shape[1])
    return (out if batched else out.squeeze(1)), None


def _weights_path(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None, dropout_p: float,
                  dims: tuple, w_out: Tensor, b_out: Tensor | None, average: bool,
                  batched: bool) -> tuple:
    """``need_weights=True``: the explicit ``bmm``/``softmax`` path that returns the weights."""
    tgt_len, bsz, embed_dim, num_heads = dims
    scores = ops.matmul(ops.mul(q, math.sqrt(1.0 / float(q.shape[-1]))), k.transpose(-2, -1))
    if mask is not None:
        scores = renamed(ops.add(mask, scores), "BaddbmmBackward0")
    weights = ops.softmax(scores, -1) if mask is None else _safe_softmax(scores)
    if dropout_p > 0.0:
        weights = _dropout(weights, dropout_p, True)
    out = ops.matmul(weights, v).transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
    out = F.linear(out, w_out, b_out)
    out = out.reshape(tgt_len, bsz, out.shape[1])
    weights = weights.reshape(bsz, num_heads, tgt_len, weights.shape[-1])
    if average:
        weights = weights.mean(dim=1)
    if not batched:
        out, weights = out.squeeze(1), weights.squeeze(0)
    return out, weights


class NonDynamicallyQuantizableLinear(Linear):
    """``MultiheadAttention.out_proj``: a ``Linear`` under PyTorch's class name (its repr)."""


def _param(shape: tuple, dtype: Any) -> Parameter:
    return Parameter(make(np.empty(shape, _dtypes.to_numpy_dtype(dtype or _dtypes.float32))))


class MultiheadAttention(Module):
    """PyTorch's ``nn.MultiheadAttention``: packed ``in_proj_weight`` (or ``q/k/v_proj_weight``
    when ``kdim``/``vdim`` differ from ``embed_dim``), ``in_proj_bias``, ``out_proj``,
    optional ``bias_k``/``bias_v``; same state_dict keys, init and forward signature."""

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
                 vdim: int | None = None, batch_first: bool = False, device: Any = None,
                 dtype: Any = None) -> None:
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got "
                             f"embed_dim={embed_dim} and num_heads={num_heads} instead")
        super().__init__()
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads, self.dropout, self.batch_first = num_heads, dropout, batch_first
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != embed_dim:
            raise AssertionError("embed_dim must be divisible by num_heads")
        if not self._qkv_same_embed_dim:
            self.q_proj_weight = _param((embed_dim, embed_dim), dtype)
            self.k_proj_weight = _param((embed_dim, self.kdim), dtype)
            self.v_proj_weight = _param((embed_dim, self.vdim), dtype)
            self.register_parameter("in_proj_weight", None)
        else:
            self.in_proj_weight = _param((3 * embed_dim, embed_dim), dtype)
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        if bias:
            self.in_proj_bias = _param((3 * embed_dim,), dtype)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias,
                                                        dtype=dtype)
        if add_bias_kv:
            self.bias_k = _param((1, 1, embed_dim), dtype)
            self.bias_v = _param((1, 1, embed_dim), dtype)
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        """PyTorch's init: xavier-uniform projections, zero biases, xavier-normal ``bias_k/v``."""
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Any = None,
                need_weights: bool = True, attn_mask: Any = None,
                average_attn_weights: bool = True, is_causal: bool = False) -> tuple:
        """``(attn_output, attn_weights)``; weights averaged over heads unless
        ``average_attn_weights=False``, ``None`` when ``need_weights=False``."""
        query = to_tensor(query)
        batched = query.dim() == 3
        if self.batch_first and batched:
            if key is value:
                if query is key:
                    query = key = value = query.transpose(1, 0)
                else:
                    query, key = query.transpose(1, 0), to_tensor(key).transpose(1, 0)
                    value = key
            else:
                query, key, value = (to_tensor(t).transpose(1, 0) for t in (query, key, value))
        out, weights = multi_head_attention_forward(
            query, key, value, self.embed_dim, self.num_heads, self.in_proj_weight,
            self.in_proj_bias, self.bias_k, self.bias_v, self.add_zero_attn, self.dropout,
            self.out_proj.weight, self.out_proj.bias, training=self.training,
            key_padding_mask=key_padding_mask, need_weights=need_weights, attn_mask=attn_mask,
            use_separate_proj_weight=not self._qkv_same_embed_dim,
            q_proj_weight=self.q_proj_weight, k_proj_weight=self.k_proj_weight,
            v_proj_weight=self.v_proj_weight, average_attn_weights=average_attn_weights,
            is_causal=is_causal)
        if self.batch_first and batched:
            return out.transpose(1, 0), weights
        return out, weights
