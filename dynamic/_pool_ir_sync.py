"""The spinning pool's synchronisation, in LLVM IR: the worker loop and the caller's side.

Part of the module :mod:`dynamic._pool_ir` assembles (it calls that module's ``@exec``, which
runs one chunk of a job block, and ``@yield``, the ``sched_yield`` system call).

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

A chunk is claimed by a compare-and-swap of its claim word (``J_CLAIM``) from ``2 * gen`` to
``2 * gen + 1``, so it runs exactly once, and a worker that wakes up after its job is over
(its ``gen`` is old) claims nothing; ``J_DONE`` holds, per chunk, the generation that ran.
"""

from __future__ import annotations

WORKER = """
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
"""The IR of ``sg_pool_worker``, ``sg_pool_finish``, ``sg_pool_run`` and their helpers."""
