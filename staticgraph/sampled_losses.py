"""TF1's sampled losses: ``tf.nn.sampled_softmax_loss``, ``tf.nn.nce_loss`` and their default
sampler ``tf.nn.log_uniform_candidate_sampler`` (also ``tf.random.``).

The losses are TF's ``_compute_sampled_logits`` written with graph functions: given the same
``sampled_values`` they compute TF's values and gradients. The sampler draws anew on every run
(``random_sampling.fresh_uniform``, not TF's stream): ``unique=False`` inverts the log-uniform
CDF as TF's kernel does; ``unique=True`` (TF's default) draws without replacement by the Gumbel
top-k trick, the distribution of TF's draw-until-distinct loop. TF's expected counts for
``unique=True`` use the number of tries its loop took; here ``num_tries = num_sampled`` (the
chance that ``num_sampled`` draws hit the class), so ``subtract_log_q`` differs slightly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import ops
from .graph.array_ops import concat, expand_dims, reshape, stop_gradient
from .graph.core import Tensor
from .graph.math_ops import _t, cast, composite, matmul
from .graph.vector_ops import top_k
from .nn import embedding_lookup, sigmoid_cross_entropy_with_logits
from .nn import softmax_cross_entropy_with_logits_v2 as _softmax_xent
from .random_sampling import fresh_uniform


def log_uniform_candidate_sampler(true_classes: Any, num_true: int, num_sampled: int,
                                  unique: bool, range_max: int, seed: int | None = None,
                                  name: str | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """``(sampled_candidates [num_sampled] int64, true_expected_count [batch, num_true],
    sampled_expected_count [num_sampled])`` from ``P(k) = log((k+2)/(k+1)) / log(range_max+1)``
    (frequent classes, low ids, first)."""
    tc = _t(true_classes)
    if not tc.dtype.is_integer:
        raise TypeError(f"Value passed to parameter 'true_classes' has DataType "
                        f"{tc.dtype.name} not in list of allowed values: int64")
    k, n = int(num_sampled), int(range_max)
    if unique and k > n:
        raise ValueError(f"Sampler's range is too small: num_sampled {k} > range_max {n}")
    log_range = float(np.log(n + 1.0))
    with composite(name, "LogUniformCandidateSampler", tc):
        if unique:  # Gumbel top-k: k distinct classes, drawn proportionally to P
            classes = np.arange(n, dtype=np.float64)
            log_p = np.log(np.log((classes + 2.0) / (classes + 1.0)) / log_range)
            u = fresh_uniform(tc.graph, (n,), seed)
            gumbel = ops.neg(ops.log(ops.neg(ops.log(ops.maximum(u, 1e-300)))))
            sampled = cast(top_k(ops.add(gumbel, log_p), k).indices, np.int64)
        else:  # TF's kernel: floor(exp(u * log(range_max + 1))) - 1
            u = fresh_uniform(tc.graph, (k,), seed)
            sampled = ops.minimum(ops.sub(cast(ops.floor(ops.exp(ops.mul(u, log_range))),
                                                np.int64), 1), n - 1)

        def expected(ids: Tensor) -> Tensor:
            f = cast(ids, np.float64)
            p = ops.div(ops.log(ops.div(ops.add(f, 2.0), ops.add(f, 1.0))), log_range)
            if not unique:
                return cast(ops.mul(p, float(k)), np.float32)
            return cast(ops.neg(ops.expm1(ops.mul(ops.log1p(ops.neg(p)), float(k)))),
                        np.float32)

        return sampled, expected(tc), expected(sampled)


def _compute_sampled_logits(weights: Any, biases: Any, labels: Any, inputs: Any,
                            num_sampled: int, num_classes: int, num_true: int,
                            sampled_values: Any, subtract_log_q: bool,
                            remove_accidental_hits: bool, seed: int | None
                            ) -> tuple[Tensor, Tensor]:
    """TF's ``_compute_sampled_logits``: ``[batch, num_true + num_sampled]`` logits (true
    classes first) and the matching labels (``1/num_true`` for the true ones)."""
    if isinstance(weights, (list, tuple)):
        if len(weights) != 1:
            raise NotImplementedError("sampled losses over sharded (partitioned) weights")
        weights = weights[0]
    if isinstance(biases, (list, tuple)):
        biases = biases[0]
    x = _t(inputs)
    lab = cast(_t(labels), np.int64)
    if lab.aval.shape is None or lab.ndim != 2 or lab.aval.shape[1] != num_true:
        raise ValueError(f"labels must have shape [batch_size, num_true={num_true}], got "
                         f"{lab.shape}")
    labels_flat = reshape(lab, [-1])
    if sampled_values is None:
        sampled_values = log_uniform_candidate_sampler(lab, num_true, num_sampled, True,
                                                       num_classes, seed=seed)
    sampled, true_expected, sampled_expected = (stop_gradient(_t(s)) for s in sampled_values)
    sampled = cast(sampled, np.int64)
    all_ids = concat([labels_flat, sampled], 0)
    all_w = embedding_lookup(weights, all_ids)
    true_w = all_w[:-num_sampled] if num_sampled else all_w
    sampled_w = all_w[-num_sampled:] if num_sampled else all_w[:0]
    sampled_logits = matmul(x, sampled_w, transpose_b=True)
    all_b = embedding_lookup(biases, all_ids)
    true_b, sampled_b = all_b[:-num_sampled] if num_sampled else all_b, all_b[-num_sampled:]
    dim = x.aval.shape[-1]
    rows = ops.mul(expand_dims(x, 1), reshape(true_w, [-1, num_true, dim]))
    true_logits = ops.add(ops.sum(rows, (-1,)), reshape(true_b, [-1, num_true]))
    sampled_logits = ops.add(sampled_logits, sampled_b)
    if remove_accidental_hits:  # a sampled class equal to a true one: logit -FLOAT_MAX
        same = ops.eq(expand_dims(lab, 2), reshape(sampled, [1, 1, -1]))
        hit = ops.gt(ops.sum(cast(same, np.int32), (1,)), 0)
        low = np.asarray(-np.finfo(x.aval.dtype).max, x.aval.dtype)
        sampled_logits = ops.add(sampled_logits, ops.where(hit, low, np.zeros((), x.aval.dtype)))
    if subtract_log_q:
        true_logits = ops.sub(true_logits, ops.log(cast(true_expected, x.aval.dtype)))
        sampled_logits = ops.sub(sampled_logits, ops.log(cast(sampled_expected, x.aval.dtype)))
    logits = concat([true_logits, sampled_logits], 1)
    out_labels = concat([ops.div(ops.ones_like(true_logits), float(num_true)),
                         ops.zeros_like(sampled_logits)], 1)
    return logits, out_labels


def sampled_softmax_loss(weights: Any, biases: Any, labels: Any, inputs: Any, num_sampled: int,
                         num_classes: int, num_true: int = 1, sampled_values: Any = None,
                         remove_accidental_hits: bool = True, partition_strategy: str = "mod",
                         name: str = "sampled_softmax_loss", seed: int | None = None) -> Tensor:
    """Per-example softmax cross entropy over the true class(es) and ``num_sampled`` sampled
    classes (logits corrected by ``log Q``); ``weights`` ``[num_classes, dim]``."""
    with composite(name, name, _t(inputs)):
        logits, lab = _compute_sampled_logits(weights, biases, labels, inputs, num_sampled,
                                              num_classes, num_true, sampled_values, True,
                                              remove_accidental_hits, seed)
        return _softmax_xent(labels=stop_gradient(lab), logits=logits)


def nce_loss(weights: Any, biases: Any, labels: Any, inputs: Any, num_sampled: int,
             num_classes: int, num_true: int = 1, sampled_values: Any = None,
             remove_accidental_hits: bool = False, partition_strategy: str = "mod",
             name: str = "nce_loss") -> Tensor:
    """Per-example noise-contrastive estimation loss: the sum over the true and sampled
    classes of the logistic loss (true classes labelled ``1/num_true``)."""
    with composite(name, name, _t(inputs)):
        logits, lab = _compute_sampled_logits(weights, biases, labels, inputs, num_sampled,
                                              num_classes, num_true, sampled_values, True,
                                              remove_accidental_hits, None)
        losses = sigmoid_cross_entropy_with_logits(labels=lab, logits=logits)
        return ops.sum(losses, (1,))


__all__ = ["log_uniform_candidate_sampler", "sampled_softmax_loss", "nce_loss"]
