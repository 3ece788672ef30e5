"""The spinning pool's native code: LLVM IR for the worker loop and the program executor.

The eager pool (:mod:`dynamic._pool_native`) runs large elementwise ops as *programs*: a list of
steps, each a numpy ufunc inner loop (``PyUFuncGenericFunction``: ``fn(args, dims, steps,
data)``, the very loop numpy runs for that ufunc and dtype, :mod:`dynamic._pool_loops`) over one
chunk of the arrays, tile by tile. This module holds the native side, x86-64 only:

``sg_pool_worker(w, budget)``
    a worker's loop, called by a Python thread through ``ctypes`` (so without the GIL): spins
    on its control block's job word (``pause`` between reads, ``sched_yield`` every 256: a
    busy machine's other threads get the core) and runs each job it sees; idle for ``budget``
    time-stamp-counter ticks, it marks itself sleeping and returns 0 (the thread then blocks
    on a queue until the next job wakes it), 2 when told to exit.
``sg_pool_run(J, W, nc)``
    the calling thread: starts the job's generation (the job block's ``J_GEN`` + 1; each
    chunk's claim word ``2 * gen``), posts it to workers 1..``J_NWORKERS``, each of which
    claims and runs chunks from its own number on, wrapping around; if one of them is asleep,
    returns ``mask << 8`` (the caller wakes them, then calls ``sg_pool_finish``), else finishes
    here.
``sg_pool_finish(J, W, nc)``
    claims and runs every chunk no worker has claimed yet (chunk 0 first: a late or
    descheduled worker costs no wait), waits until every chunk has run and returns the union of
    their floating-point exception flags.

A chunk is claimed by a compare-and-swap of its claim word from ``2 * gen`` to ``2 * gen + 1``,
so it runs exactly once, and a worker that wakes up after its job is over (its ``gen`` is old)
claims nothing.

A job block is int64 words (offsets: the ``J_*`` constants). Each chunk runs with the calling
thread's MXCSR control bits (rounding, flush-to-zero), its exception flags collected per step
(``MXCSR | x87 status word``: invalid, divide-by-zero, overflow, underflow, the four numpy
reports, not denormal-operand or inexact; glibc raises overflow and underflow on the x87 unit) so that the caller can report them as numpy would (``np.errstate``).
Every worker's control block is 64 bytes (its own cache line): job sequence number, done
sequence number, sleeping flag, job block, chunk index, exit flag.
"""

from __future__ import annotations

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

_WORKER = """
define internal void @claim_run(ptr %J, i64 %c, i64 %g) nounwind alwaysinline {
entry:
  %cp0 = getelementptr i64, ptr %J, i64 %c
  %cp = getelementptr i64, ptr %cp0, i64 368
  %free = shl i64 %g, 1
  %mine = or i64 %free, 1
  %r = cmpxchg ptr %cp, i64 %free, i64 %mine acq_rel monotonic
  %won = extractvalue { i64, i1 } %r, 1
  br i1 %won, label %run, label %out
run:
  call void @exec(ptr %J, i64 %c)
  %dp = getelementptr i64, ptr %cp0, i64 384
  store atomic i64 %g, ptr %dp release, align 8
  br label %out
out:
  ret void
}

define internal void @claim_from(ptr %J, i64 %first, i64 %g) nounwind alwaysinline {
entry:
  %ncp = getelementptr i64, ptr %J, i64 1
  %nc = load i64, ptr %ncp
  br label %l
l:
  %i = phi i64 [ 0, %entry ], [ %i1, %b ]
  %more = icmp slt i64 %i, %nc
  br i1 %more, label %b, label %e
b:
  %ci = add i64 %first, %i
  %c = urem i64 %ci, %nc
  call void @claim_run(ptr %J, i64 %c, i64 %g)
  %i1 = add i64 %i, 1
  br label %l
e:
  ret void
}

define i32 @sg_pool_worker(ptr %w, i64 %budget) nounwind {
entry:
  %slp = getelementptr i64, ptr %w, i64 2
  store atomic i64 0, ptr %slp seq_cst, align 8
  %donep = getelementptr i64, ptr %w, i64 1
  %jobp = getelementptr i64, ptr %w, i64 3
  %ji = load i64, ptr %jobp
  %J = inttoptr i64 %ji to ptr
  %chp = getelementptr i64, ptr %w, i64 4
  %ch = load i64, ptr %chp
  %exitp = getelementptr i64, ptr %w, i64 5
  %t0 = call i64 @llvm.readcyclecounter()
  br label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ 0, %ran ], [ %i1, %idle ], [ %i1, %yld ], [ 0, %late ]
  %t = phi i64 [ %t0, %entry ], [ %tr, %ran ], [ %t, %idle ], [ %t, %yld ], [ %tl, %late ]
  %s = load atomic i64, ptr %w acquire, align 8
  %d = load atomic i64, ptr %donep monotonic, align 8
  %new = icmp ne i64 %s, %d
  br i1 %new, label %job, label %idle
job:
  %ex = load atomic i64, ptr %exitp acquire, align 8
  %quit = icmp ne i64 %ex, 0
  br i1 %quit, label %exit, label %ran
ran:
  call void @claim_from(ptr %J, i64 %ch, i64 %s)
  store atomic i64 %s, ptr %donep release, align 8
  %tr = call i64 @llvm.readcyclecounter()
  br label %loop
idle:
  call void @llvm.x86.sse2.pause()
  %i1 = add i64 %i, 1
  %i255 = and i64 %i1, 255
  %check = icmp eq i64 %i255, 0
  br i1 %check, label %yld, label %loop
yld:
  call void @yield()
  %now = call i64 @llvm.readcyclecounter()
  %spent = sub i64 %now, %t
  %over = icmp ugt i64 %spent, %budget
  br i1 %over, label %sleep, label %loop
sleep:
  store atomic i64 1, ptr %slp seq_cst, align 8
  %s2 = load atomic i64, ptr %w seq_cst, align 8
  %late1 = icmp ne i64 %s2, %d
  br i1 %late1, label %late, label %out
late:
  store atomic i64 0, ptr %slp seq_cst, align 8
  %tl = call i64 @llvm.readcyclecounter()
  br label %loop
out:
  ret i32 0
exit:
  ret i32 2
}

define i64 @sg_pool_finish(ptr %J, ptr %W, i64 %nc) nounwind {
  %r = call i64 @finish(ptr %J, ptr %W, i64 %nc)
  ret i64 %r
}

define internal i64 @finish(ptr %J, ptr %W, i64 %nc) nounwind alwaysinline {
entry:
  %gp = getelementptr i64, ptr %J, i64 4
  %g = load i64, ptr %gp
  br label %cl
cl:
  %c = phi i64 [ 0, %entry ], [ %c1, %cl1 ]
  %cin = icmp slt i64 %c, %nc
  br i1 %cin, label %cl1, label %wl
cl1:
  call void @claim_run(ptr %J, i64 %c, i64 %g)
  %c1 = add i64 %c, 1
  br label %cl
wl:
  %k = phi i64 [ 0, %cl ], [ %k1, %wdone ]
  %acc = phi i64 [ 0, %cl ], [ %acc1, %wdone ]
  %kin = icmp slt i64 %k, %nc
  br i1 %kin, label %wait, label %end
wait:
  %dk0 = getelementptr i64, ptr %J, i64 %k
  %dk = getelementptr i64, ptr %dk0, i64 384
  br label %poll
poll:
  %n = phi i64 [ 0, %wait ], [ %n1, %pz ], [ %n1, %pzy ]
  %dv = load atomic i64, ptr %dk acquire, align 8
  %fin = icmp eq i64 %dv, %g
  br i1 %fin, label %wdone, label %pz
pz:
  call void @llvm.x86.sse2.pause()
  %n1 = add i64 %n, 1
  %n255 = and i64 %n1, 255
  %py = icmp eq i64 %n255, 0
  br i1 %py, label %pzy, label %poll
pzy:
  call void @yield()
  br label %poll
wdone:
  %sp = getelementptr i64, ptr %dk0, i64 48
  %sv = load i64, ptr %sp
  %acc1 = or i64 %acc, %sv
  %k1 = add i64 %k, 1
  br label %wl
end:
  ret i64 %acc
}

define i64 @sg_pool_run(ptr %J, ptr %W, i64 %nc) nounwind {
entry:
  %mx = alloca i32, align 4
  call void @llvm.x86.sse.stmxcsr(ptr %mx)
  %mxv = load i32, ptr %mx
  %mx64 = zext i32 %mxv to i64
  %ctlp = getelementptr i64, ptr %J, i64 3
  store i64 %mx64, ptr %ctlp
  %gp = getelementptr i64, ptr %J, i64 4
  %g0 = load i64, ptr %gp
  %g = add i64 %g0, 1
  store i64 %g, ptr %gp
  %free = shl i64 %g, 1
  br label %reset
reset:
  %c = phi i64 [ 0, %entry ], [ %c1, %reset1 ]
  %cin = icmp slt i64 %c, %nc
  br i1 %cin, label %reset1, label %post
reset1:
  %cp0 = getelementptr i64, ptr %J, i64 %c
  %cp = getelementptr i64, ptr %cp0, i64 368
  store i64 %free, ptr %cp
  %c1 = add i64 %c, 1
  br label %reset
post:
  %k = phi i64 [ 1, %reset ], [ %k1, %one ]
  %mask = phi i64 [ 0, %reset ], [ %mask1, %one ]
  %nwp = getelementptr i64, ptr %J, i64 5
  %nw = load i64, ptr %nwp
  %kin = icmp sle i64 %k, %nw
  br i1 %kin, label %one, label %after
one:
  %k8 = shl i64 %k, 3
  %wk = getelementptr i64, ptr %W, i64 %k8
  store atomic i64 %g, ptr %wk seq_cst, align 8
  %slp = getelementptr i64, ptr %wk, i64 2
  %sl = load atomic i64, ptr %slp seq_cst, align 8
  %bit = shl i64 %sl, %k
  %mask1 = or i64 %mask, %bit
  %k1 = add i64 %k, 1
  br label %post
after:
  %asleep = icmp ne i64 %mask, 0
  br i1 %asleep, label %wake, label %work
wake:
  %m8 = shl i64 %mask, 8
  ret i64 %m8
work:
  %f = call i64 @finish(ptr %J, ptr %W, i64 %nc)
  ret i64 %f
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
_SIGMOID_DOC = """``out = (x >= 0 ? 1 : e) / (1 + e)`` over contiguous ``x, e, out``: ``tiles.sigmoid``'s
last four passes (``1 + e``, ``x >= 0``, the max with it, the quotient) in one, bit for bit
(``e = exp(-|x|)`` is in [0, 1] or NaN with ``x``; both operations are IEEE's; ``x >= 0`` is
read from the bits, so it raises no flag, as numpy's comparison reports none). Its constants
(1, the sign mask, the infinity's bits) come through ``data``
(:data:`SIGMOID_DATA`): immediates would become constant-pool loads, which need relocations."""
SIGMOID_DATA = {"float32": ("<fii", 1.0, 0x7FFFFFFF, 0x7F800000),
                "float64": ("<dqq", 1.0, 0x7FFFFFFFFFFFFFFF, 0x7FF0000000000000)}

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

MODULE = _DECLS + _EXEC + _WORKER + _SIGMOID + _META
"""The whole module's IR text."""
SYMBOLS = ("sg_pool_worker", "sg_pool_run", "sg_pool_finish", "sg_sigmoid_end_float32",
           "sg_sigmoid_end_float64")
