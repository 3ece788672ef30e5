"""The float sum of one block of a chunked kernel's reduction values, in an order fixed by its
IR: ``sg_block_sum(buf, m)`` over ``buf[:m]``.

A reduction summed with a reassociable ``fadd`` (``sg_radd``) in the element loop gets whatever
order the loop vectorizer picks (vector width, interleave count, epilogue), and that pick
depends on the loop body and the pass pipeline: numba's kernel and the LLVM renderer's copy of
the same kernel vectorized one ``tanh`` loop 8x4 and 8x2 and summed to different bits. This
function fixes the order instead, with no fast-math flags, so every correct compilation gives
the same bits: ``LANES`` lanes (128 bytes: 32 float32 / 16 float64; element ``i`` goes to lane
``i % LANES``, in order), explicit vector ``fadd``\\ s (four independent AVX2 registers in
flight), the lanes added in lane order at the end. Both renderers emit this very function
(built here with ``llvmlite.ir``, which needs no numba): numba's through the intrinsic in
:mod:`.accum`, the LLVM renderer's as text (:func:`function_text`).

before: for i in range(m): b = sg_radd(b, v)       (order: the vectorizer's)
after:  for i in range(m): rb[i] = v;  b = sg_block_sum(rb, m)   (order: this IR's)
"""

from __future__ import annotations

from llvmlite import ir

LANE_BYTES = 128
_I64 = ir.IntType(64)


def lanes(fty: ir.Type) -> int:
    return LANE_BYTES // (4 if isinstance(fty, ir.FloatType) else 8)


def symbol(fty: ir.Type) -> str:
    return f"sg_block_sum_{'f32' if isinstance(fty, ir.FloatType) else 'f64'}"


def define(module: ir.Module, fty: ir.Type) -> ir.Function:
    """``fty sg_block_sum_<f32|f64>(fty* buf, i64 m)`` in ``module`` (once per module)."""
    name = symbol(fty)
    if name in module.globals:
        return module.globals[name]
    n = lanes(fty)
    vty = ir.VectorType(fty, n)
    fn = ir.Function(module, ir.FunctionType(fty, [fty.as_pointer(), _I64]), name)
    fn.linkage = "internal"
    fn.attributes.add("nounwind")
    buf, m = fn.args
    entry, head, body, tail_h, tail_b, done = (fn.append_basic_block(s) for s in (
        "entry", "head", "body", "tail_h", "tail_b", "done"))
    b = ir.IRBuilder(entry)
    groups = b.sdiv(m, ir.Constant(_I64, n))
    base = b.mul(groups, ir.Constant(_I64, n))
    zero = ir.Constant(vty, [0.0] * n)
    b.branch(head)
    b.position_at_end(head)
    i = b.phi(_I64)
    acc = b.phi(vty)
    i.add_incoming(ir.Constant(_I64, 0), entry)
    acc.add_incoming(zero, entry)
    b.cbranch(b.icmp_signed("<", i, groups), body, tail_h)
    b.position_at_end(body)
    p = b.gep(buf, [b.mul(i, ir.Constant(_I64, n))], inbounds=True)
    v = b.load(b.bitcast(p, vty.as_pointer()), align=4 if isinstance(fty, ir.FloatType) else 8)
    acc2 = b.fadd(acc, v)
    i.add_incoming(b.add(i, ir.Constant(_I64, 1)), body)
    acc.add_incoming(acc2, body)
    b.branch(head)
    # the last m % n elements, each into its lane
    b.position_at_end(tail_h)
    j = b.phi(_I64)
    tacc = b.phi(vty)
    j.add_incoming(base, head)
    tacc.add_incoming(acc, head)
    b.cbranch(b.icmp_signed("<", j, m), tail_b, done)
    b.position_at_end(tail_b)
    lane = b.sub(j, base)
    x = b.load(b.gep(buf, [j], inbounds=True))
    tacc2 = b.insert_element(tacc, b.fadd(b.extract_element(tacc, lane), x), lane)
    j.add_incoming(b.add(j, ir.Constant(_I64, 1)), tail_b)
    tacc.add_incoming(tacc2, tail_b)
    b.branch(tail_h)
    b.position_at_end(done)
    s = b.extract_element(tacc, ir.Constant(_I64, 0))
    for k in range(1, n):  # lanes in lane order
        s = b.fadd(s, b.extract_element(tacc, ir.Constant(_I64, k)))
    b.ret(s)
    return fn


def function_text(t: str) -> str:
    """The definition of ``sg_block_sum_<f32|f64>`` for dtype name ``t`` as IR text."""
    mod = ir.Module()
    fn = define(mod, ir.FloatType() if t == "float32" else ir.DoubleType())
    return str(fn)
