"""The spinning pool's native code: LLVM IR for the worker loop and the program executor.

The eager pool (:mod:`dynamic._pool_native`) runs large elementwise ops as *programs*: a list of
steps, each a numpy ufunc inner loop (``PyUFuncGenericFunction``: ``fn(args, dims, steps,
data)``, the very loop numpy runs for that ufunc and dtype, :mod:`dynamic._pool_loops`) over one
chunk of the arrays, tile by tile. This module holds the native side, x86-64 only:

``sg_pool_worker``, ``sg_pool_run``, ``sg_pool_finish``
    the worker loop and the caller's side (:mod:`dynamic._pool_ir_sync`).
``sg_sigmoid_end_float32`` / ``float64``
    the one op loop of our own (:data:`_SIGMOID_DOC`).

A job block is int64 words (offsets: the ``J_*`` constants). Each chunk runs with the calling
thread's MXCSR control bits (rounding, flush-to-zero), its exception flags collected per step
(``MXCSR | x87 status word``: invalid, divide-by-zero, overflow, underflow, the four numpy
reports, not denormal-operand or inexact; glibc raises overflow and underflow on the x87 unit),
so that the caller can report them as numpy would (``np.errstate``).
Every worker's control block is 64 bytes (its own cache line): job sequence number, done
sequence number, sleeping flag, job block, chunk index, exit flag.
"""

from __future__ import annotations

from ._pool_ir_sync import WORKER

J_NSTEPS, J_NCHUNKS, J_TILE, J_MXCSR, J_NWORKERS = 0, 1, 2, 3, 5
J_BOUNDS = 16  # lo, hi per chunk
J_SUMMARY = 48  # per chunk: the union of its steps' flags
J_FLAGS = 64  # per chunk, per step (8 steps a chunk)
J_SCRATCH = 192  # per chunk: its scratch buffer's address
J_ACC = 224  # per chunk: an accumulator (a full sum's part), 8 bytes
J_STEPS = 240  # 16 words a step: fn, data, nargs, -, base x4, step x4, mode x4
J_CLAIM = 368  # per chunk: 2 * generation, + 1 once a thread has claimed it
J_DONE = 384  # per chunk: the generation whose chunk has run
J_GEN = 4  # the job's generation (one per op)
J_WORDS = 400
MAX_CHUNKS, MAX_STEPS, MAX_ARGS = 16, 8, 4
W_WORDS = 8  # a worker's control block: seq, done, sleeping, job, chunk, exit

MODE_RAW, MODE_ARRAY, MODE_SCRATCH, MODE_CHUNK_SLOT = 0, 1, 2, 3
"""How an argument's pointer is formed for a tile starting at element ``tlo`` of chunk ``c``:
``base + tlo * step``; the ndarray object at ``base``'s data pointer ``+ tlo * step``; the
chunk's scratch buffer ``+ base``; the job block ``+ base + 8 * c`` (a per-chunk slot)."""

_EXEC = """
define internal void @exec(ptr %J, i64 %c) nounwind alwaysinline {
entry:
  %args = alloca [4 x ptr], align 8
  %steps = alloca [4 x i64], align 8
  %dims = alloca i64, align 8
  %mx = alloca i32, align 4
  %mxo = alloca i32, align 4
  %sw = alloca i16, align 2
  call void @llvm.x86.sse.stmxcsr(ptr %mxo)
  %nsteps = load i64, ptr %J
  %tilep = getelementptr i64, ptr %J, i64 2
  %tile = load i64, ptr %tilep
  %ctlp = getelementptr i64, ptr %J, i64 3
  %ctl64 = load i64, ptr %ctlp
  %ctl32 = trunc i64 %ctl64 to i32
  %ctl = and i32 %ctl32, -64
  %c2 = shl i64 %c, 1
  %lop = getelementptr i64, ptr %J, i64 %c2
  %lop2 = getelementptr i64, ptr %lop, i64 16
  %lo = load i64, ptr %lop2
  %hip = getelementptr i64, ptr %lop2, i64 1
  %hi = load i64, ptr %hip
  %scrp0 = getelementptr i64, ptr %J, i64 %c
  %scrp = getelementptr i64, ptr %scrp0, i64 192
  %scr = load i64, ptr %scrp
  %sump = getelementptr i64, ptr %scrp0, i64 48
  store i64 0, ptr %sump
  %c8 = shl i64 %c, 3
  %flp0 = getelementptr i64, ptr %J, i64 %c8
  %flp = getelementptr i64, ptr %flp0, i64 64
  call void @llvm.memset.p0.i64(ptr %flp, i8 0, i64 64, i1 false)
  %Jint = ptrtoint ptr %J to i64
  br label %tiles
tiles:
  %tlo = phi i64 [ %lo, %entry ], [ %tnext, %tend ]
  %more = icmp slt i64 %tlo, %hi
  br i1 %more, label %tbody, label %done
tbody:
  %rem = sub i64 %hi, %tlo
  %short = icmp slt i64 %rem, %tile
  %len = select i1 %short, i64 %rem, i64 %tile
  store i64 %len, ptr %dims
  br label %stepl
stepl:
  %s = phi i64 [ 0, %tbody ], [ %s1, %called ]
  %sm = icmp slt i64 %s, %nsteps
  br i1 %sm, label %sbody, label %tend
sbody:
  %s16 = shl i64 %s, 4
  %rec0 = getelementptr i64, ptr %J, i64 %s16
  %rec = getelementptr i64, ptr %rec0, i64 240
  %fni = load i64, ptr %rec
  %fn = inttoptr i64 %fni to ptr
  %datap = getelementptr i64, ptr %rec, i64 1
  %datai = load i64, ptr %datap
  %data = inttoptr i64 %datai to ptr
  %nargsp = getelementptr i64, ptr %rec, i64 2
  %nargs = load i64, ptr %nargsp
  br label %argl
argl:
  %i = phi i64 [ 0, %sbody ], [ %i1, %aset ]
  %am = icmp slt i64 %i, %nargs
  br i1 %am, label %abody, label %call
abody:
  %bp0 = getelementptr i64, ptr %rec, i64 %i
  %bp = getelementptr i64, ptr %bp0, i64 4
  %base = load i64, ptr %bp
  %stp = getelementptr i64, ptr %bp0, i64 8
  %st = load i64, ptr %stp
  %mdp = getelementptr i64, ptr %bp0, i64 12
  %md = load i64, ptr %mdp
  %off = mul i64 %tlo, %st
  %is1 = icmp eq i64 %md, 1
  br i1 %is1, label %m1, label %n1
n1:
  %is2 = icmp eq i64 %md, 2
  br i1 %is2, label %m2, label %n2
n2:
  %is3 = icmp eq i64 %md, 3
  br i1 %is3, label %m3, label %m0
m0:
  %p0 = add i64 %base, %off
  br label %aset
m1:
  %objd = add i64 %base, 16
  %objdp = inttoptr i64 %objd to ptr
  %arrdata = load i64, ptr %objdp
  %p1 = add i64 %arrdata, %off
  br label %aset
m2:
  %p2 = add i64 %scr, %base
  br label %aset
m3:
  %jb = add i64 %Jint, %base
  %p3 = add i64 %jb, %c8
  br label %aset
aset:
  %p = phi i64 [ %p0, %m0 ], [ %p1, %m1 ], [ %p2, %m2 ], [ %p3, %m3 ]
  %pp = inttoptr i64 %p to ptr
  %ap = getelementptr ptr, ptr %args, i64 %i
  store ptr %pp, ptr %ap
  %sp = getelementptr i64, ptr %steps, i64 %i
  store i64 %st, ptr %sp
  %i1 = add i64 %i, 1
  br label %argl
call:
  store i32 %ctl, ptr %mx
  call void @llvm.x86.sse.ldmxcsr(ptr %mx)
  call void asm sideeffect "fnclex", "~{fpsr},~{dirflag}"()
  call void %fn(ptr %args, ptr %dims, ptr %steps, ptr %data)
  call void @llvm.x86.sse.stmxcsr(ptr %mx)
  %mxv = load i32, ptr %mx
  call void asm sideeffect "fnstsw $0", "=*m,~{dirflag}"(ptr elementtype(i16) %sw)
  %swv = load i16, ptr %sw
  %sw32 = zext i16 %swv to i32
  %both = or i32 %mxv, %sw32
  %fl32 = and i32 %both, 29
  %fl = zext i32 %fl32 to i64
  %fp = getelementptr i64, ptr %flp, i64 %s
  %fo = load i64, ptr %fp
  %fn2 = or i64 %fo, %fl
  store i64 %fn2, ptr %fp
  %so = load i64, ptr %sump
  %sn = or i64 %so, %fl
  store i64 %sn, ptr %sump
  br label %called
called:
  %s1 = add i64 %s, 1
  br label %stepl
tend:
  %tnext = add i64 %tlo, %tile
  br label %tiles
done:
  call void @llvm.x86.sse.ldmxcsr(ptr %mxo)
  ret void
}
"""

_SIGMOID = "".join(f"""
define void @sg_sigmoid_end_{name}(ptr %args, ptr %dims, ptr %steps, ptr %data) nounwind {{
entry:
  %n = load i64, ptr %dims
  %xb = load ptr, ptr %args
  %ep = getelementptr ptr, ptr %args, i64 1
  %eb = load ptr, ptr %ep
  %op = getelementptr ptr, ptr %args, i64 2
  %ob = load ptr, ptr %op
  %one = load {ty}, ptr %data
  %nsp = getelementptr {ity}, ptr %data, i64 1
  %nosign = load {ity}, ptr %nsp
  %infp = getelementptr {ity}, ptr %data, i64 2
  %inf = load {ity}, ptr %infp
  br label %l
l:
  %i = phi i64 [ 0, %entry ], [ %i1, %b ]
  %more = icmp slt i64 %i, %n
  br i1 %more, label %b, label %e
b:
  %xp = getelementptr {ty}, ptr %xb, i64 %i
  %xi = load {ity}, ptr %xp, !llvm.access.group !1
  %epi = getelementptr {ty}, ptr %eb, i64 %i
  %ev = load {ty}, ptr %epi, !llvm.access.group !1
  %mag = and {ity} %xi, %nosign
  %zero = icmp eq {ity} %mag, 0
  %pos = icmp sge {ity} %xi, 0
  %num = icmp ule {ity} %mag, %inf
  %posnum = and i1 %pos, %num
  %ge0 = or i1 %zero, %posnum
  %m = select i1 %ge0, {ty} %one, {ty} %ev
  %d = fadd {ty} %ev, %one
  %r = fdiv {ty} %m, %d
  %opi = getelementptr {ty}, ptr %ob, i64 %i
  store {ty} %r, ptr %opi, !llvm.access.group !1
  %i1 = add i64 %i, 1
  br label %l, !llvm.loop !2
e:
  ret void
}}
""" for name, ty, ity in (("float32", "float", "i32"), ("float64", "double", "i64")))
_SIGMOID_DOC = """``out = (x >= 0 ? 1 : e) / (1 + e)`` over contiguous ``x, e, out``:
``tiles.sigmoid``'s last four passes (``1 + e``, ``x >= 0``, the max with it, the quotient)
in one, bit for bit
(``e = exp(-|x|)`` is in [0, 1] or NaN with ``x``; both operations are IEEE's; ``x >= 0`` is
read from the bits, so it raises no flag, as numpy's comparison reports none). Its constants
(1, the sign mask, the infinity's bits) come through ``data``
(:data:`SIGMOID_DATA`): immediates would become constant-pool loads, which need relocations."""
SIGMOID_DATA = {"float32": ("<fii", 1.0, 0x7FFFFFFF, 0x7F800000),
                "float64": ("<dqq", 1.0, 0x7FFFFFFFFFFFFFFF, 0x7FF0000000000000)}

_PAIRWISE = "".join(f"""
define internal {ty} @pw_{name}(ptr %a, i64 %n) nounwind {{
entry:
  %small = icmp slt i64 %n, 8
  br i1 %small, label %tiny, label %notiny
tiny:
  %ti = phi i64 [ 0, %entry ], [ %ti1, %tinyb ]
  %tr = phi {ty} [ 0.0, %entry ], [ %tr1, %tinyb ]
  %tm = icmp slt i64 %ti, %n
  br i1 %tm, label %tinyb, label %tinyend
tinyb:
  %tp = getelementptr {ty}, ptr %a, i64 %ti
  %tv = load {ty}, ptr %tp
  %tr1 = fadd {ty} %tr, %tv
  %ti1 = add i64 %ti, 1
  br label %tiny
tinyend:
  ret {ty} %tr
notiny:
  %block = icmp sle i64 %n, 128
  br i1 %block, label %blk, label %split
blk:
  %r0 = load <8 x {ty}>, ptr %a, align {al}
  %rem8 = srem i64 %n, 8
  %lim = sub i64 %n, %rem8
  br label %bl
bl:
  %bi = phi i64 [ 8, %blk ], [ %bi1, %blb ]
  %r = phi <8 x {ty}> [ %r0, %blk ], [ %r1, %blb ]
  %bm = icmp slt i64 %bi, %lim
  br i1 %bm, label %blb, label %bend
blb:
  %bp = getelementptr {ty}, ptr %a, i64 %bi
  %bv = load <8 x {ty}>, ptr %bp, align {al}
  %r1 = fadd <8 x {ty}> %r, %bv
  %bi1 = add i64 %bi, 8
  br label %bl
bend:
  %e0 = extractelement <8 x {ty}> %r, i64 0
  %e1 = extractelement <8 x {ty}> %r, i64 1
  %e2 = extractelement <8 x {ty}> %r, i64 2
  %e3 = extractelement <8 x {ty}> %r, i64 3
  %e4 = extractelement <8 x {ty}> %r, i64 4
  %e5 = extractelement <8 x {ty}> %r, i64 5
  %e6 = extractelement <8 x {ty}> %r, i64 6
  %e7 = extractelement <8 x {ty}> %r, i64 7
  %s01 = fadd {ty} %e0, %e1
  %s23 = fadd {ty} %e2, %e3
  %s45 = fadd {ty} %e4, %e5
  %s67 = fadd {ty} %e6, %e7
  %s03 = fadd {ty} %s01, %s23
  %s47 = fadd {ty} %s45, %s67
  %s07 = fadd {ty} %s03, %s47
  br label %tail
tail:
  %qi = phi i64 [ %bi, %bend ], [ %qi1, %tailb ]
  %qr = phi {ty} [ %s07, %bend ], [ %qr1, %tailb ]
  %qm = icmp slt i64 %qi, %n
  br i1 %qm, label %tailb, label %tailend
tailb:
  %qp = getelementptr {ty}, ptr %a, i64 %qi
  %qv = load {ty}, ptr %qp
  %qr1 = fadd {ty} %qr, %qv
  %qi1 = add i64 %qi, 1
  br label %tail
tailend:
  ret {ty} %qr
split:
  %h = sdiv i64 %n, 2
  %h8 = srem i64 %h, 8
  %n2 = sub i64 %h, %h8
  %left = call {ty} @pw_{name}(ptr %a, i64 %n2)
  %a2 = getelementptr {ty}, ptr %a, i64 %n2
  %n3 = sub i64 %n, %n2
  %right = call {ty} @pw_{name}(ptr %a2, i64 %n3)
  %sum = fadd {ty} %left, %right
  ret {ty} %sum
}}

define void @sg_sum_{name}(ptr %args, ptr %dims, ptr %steps, ptr %data) nounwind {{
entry:
  %n = load i64, ptr %dims
  %accp = load ptr, ptr %args
  %ip = getelementptr ptr, ptr %args, i64 1
  %in = load ptr, ptr %ip
  %acc = load {ty}, ptr %accp
  %pw = call {ty} @pw_{name}(ptr %in, i64 %n)
  %r = fadd {ty} %acc, %pw
  store {ty} %r, ptr %accp
  ret void
}}
""" for name, ty, al in (("float32", "float", 4), ("float64", "double", 8)))
"""``acc += pairwise_sum(x)`` over contiguous ``x`` (the reduce form of numpy's add loop,
``args = (acc, x, acc)``): numpy's ``@TYPE@_pairwise_sum`` step for step -- below 8 elements
``0 + x0 + x1 ...``; up to 128, eight running sums (one vector of 8 lanes, lane ``j`` adding
``x[j], x[j+8], ...`` in order), combined ``((r0+r1)+(r2+r3))+((r4+r5)+(r6+r7))``, then the
rest one by one; above, the halves at ``n/2`` less its remainder mod 8, added. The same
additions in the same order, so the same bits, vectorized where numpy's compiled loop may not
be."""

_DECLS = """
define internal void @yield() nounwind alwaysinline {
  %r = call i64 asm sideeffect "syscall", "={rax},{rax},~{rcx},~{r11},~{memory},~{dirflag}"(i64 24)
  ret void
}

declare void @llvm.x86.sse2.pause()
declare i64 @llvm.readcyclecounter()
declare void @llvm.x86.sse.stmxcsr(ptr)
declare void @llvm.x86.sse.ldmxcsr(ptr)
declare void @llvm.memset.p0.i64(ptr, i8, i64, i1)
"""

_META = """
!1 = distinct !{}
!2 = distinct !{!2, !3}
!3 = !{!"llvm.loop.parallel_accesses", !1}
"""
# the sigmoid loop's iterations are independent even in place (``e`` is ``out``): vectorized
# without the overlap check that would send the in-place call to the scalar loop

MODULE = _DECLS + _EXEC + WORKER + _SIGMOID + _PAIRWISE + _META
"""The whole module's IR text."""
SYMBOLS = ("sg_pool_worker", "sg_pool_run", "sg_pool_finish", "sg_sigmoid_end_float32",
           "sg_sigmoid_end_float64", "sg_sum_float32", "sg_sum_float64")
