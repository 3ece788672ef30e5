"""A packed-argument entry beside each LLVM kernel, and a sequence runner, so that a plan's
kernels are called with one pointer instead of dozens of ``ctypes`` arguments.

The kernel function keeps numba's calling convention (status return; ``ret``, ``excinfo``,
then per array meminfo, parent, nitems, itemsize, data, shape..., strides...). A ``ctypes``
call of it converts every one of those arguments from Python (37 for a kernel of five
vectors), and the caller builds them per call: ~17-60 us a call on a busy machine, against
~0.3 us for numba's dispatcher. So each module also defines::

    i32 sg_packed(ptr %a)   ; a: an int64 block holding exactly those arguments, in order
    i32 sg_seq(ptr %p)      ; p: records {entry, block, nfix, nfix x {array, at, ndim, descr}},
                            ; ended by a null entry

``sg_seq`` first describes every listed numpy array in its block (``array`` is the
``PyArrayObject*``, or 0 for anything that is not exactly an ndarray: its data pointer, shape,
strides and size written at ``at``, read from the object's public fields), after checking its
dtype descriptor, rank and C-contiguous + aligned flags; any mismatch returns 1 before anything
ran (the caller runs those kernels the slow way, copying what needs it). Then it calls each
entry with its block: 0 when all returned 0, else 2.

:mod:`..native_packed` keeps one block per kernel call (the addresses and shapes of the plan's
own buffers written once, only what changes between runs -- feeds, variables, escape buffers --
written per run) and runs a stretch of consecutive kernels with one ``sg_seq`` call.
"""

from __future__ import annotations

from ..native import PACKED, SEQ

_SEQ_TEXT = f"""define i32 @{SEQ}(ptr %p) nounwind {{
entry:
  %q = alloca ptr
  %i = alloca i64
  %j = alloca i64
  %n = alloca i64
  store ptr %p, ptr %q
  br label %vhead
vhead:                                  ; pass 1: check and describe every listed array
  %vq = load ptr, ptr %q
  %vfn = load ptr, ptr %vq
  %vend = icmp eq ptr %vfn, null
  br i1 %vend, label %run, label %vkernel
vkernel:
  %vbp = getelementptr inbounds i64, ptr %vq, i64 1
  %vblk = load ptr, ptr %vbp
  %vnp = getelementptr inbounds i64, ptr %vq, i64 2
  %vnf = load i64, ptr %vnp
  %recs = getelementptr inbounds i64, ptr %vq, i64 3
  store i64 0, ptr %i
  br label %fhead
fhead:
  %fi = load i64, ptr %i
  %fend = icmp eq i64 %fi, %vnf
  br i1 %fend, label %vnext, label %fcheck
fcheck:
  %ri = mul i64 %fi, 4
  %rec = getelementptr inbounds i64, ptr %recs, i64 %ri
  %obj = load ptr, ptr %rec
  %none = icmp eq ptr %obj, null
  br i1 %none, label %bad, label %fread
fread:
  %offp = getelementptr inbounds i64, ptr %rec, i64 1
  %off = load i64, ptr %offp
  %ndp = getelementptr inbounds i64, ptr %rec, i64 2
  %nd = load i64, ptr %ndp
  %dsp = getelementptr inbounds i64, ptr %rec, i64 3
  %ds = load i64, ptr %dsp
  %odsp = getelementptr inbounds i8, ptr %obj, i64 56
  %ods = load i64, ptr %odsp
  %ondp = getelementptr inbounds i8, ptr %obj, i64 24
  %ond32 = load i32, ptr %ondp
  %ond = sext i32 %ond32 to i64
  %oflp = getelementptr inbounds i8, ptr %obj, i64 64
  %ofl = load i32, ptr %oflp
  %cf = and i32 %ofl, 257
  %c1 = icmp eq i64 %ods, %ds
  %c2 = icmp eq i64 %ond, %nd
  %c3 = icmp eq i32 %cf, 257
  %c12 = and i1 %c1, %c2
  %ok = and i1 %c12, %c3
  br i1 %ok, label %fix, label %bad
fix:
  %datap = getelementptr inbounds i8, ptr %obj, i64 16
  %data = load i64, ptr %datap
  %dimsp = getelementptr inbounds i8, ptr %obj, i64 32
  %dims = load ptr, ptr %dimsp
  %strsp = getelementptr inbounds i8, ptr %obj, i64 40
  %strs = load ptr, ptr %strsp
  %dst = getelementptr inbounds i64, ptr %vblk, i64 %off
  %dd = getelementptr inbounds i64, ptr %dst, i64 4
  store i64 %data, ptr %dd
  store i64 0, ptr %j
  store i64 1, ptr %n
  br label %dhead
dhead:
  %dj = load i64, ptr %j
  %dend = icmp eq i64 %dj, %nd
  br i1 %dend, label %dnext, label %dbody
dbody:
  %sp = getelementptr inbounds i64, ptr %dims, i64 %dj
  %sz = load i64, ptr %sp
  %tp = getelementptr inbounds i64, ptr %strs, i64 %dj
  %st = load i64, ptr %tp
  %o1 = add i64 %dj, 5
  %w1 = getelementptr inbounds i64, ptr %dst, i64 %o1
  store i64 %sz, ptr %w1
  %o2 = add i64 %o1, %nd
  %w2 = getelementptr inbounds i64, ptr %dst, i64 %o2
  store i64 %st, ptr %w2
  %n0 = load i64, ptr %n
  %n1 = mul i64 %n0, %sz
  store i64 %n1, ptr %n
  %dj1 = add i64 %dj, 1
  store i64 %dj1, ptr %j
  br label %dhead
dnext:
  %nn = load i64, ptr %n
  %dn = getelementptr inbounds i64, ptr %dst, i64 2
  store i64 %nn, ptr %dn
  %fi1 = add i64 %fi, 1
  store i64 %fi1, ptr %i
  br label %fhead
vnext:
  %skip = mul i64 %vnf, 4
  %skip3 = add i64 %skip, 3
  %vq1 = getelementptr inbounds i64, ptr %vq, i64 %skip3
  store ptr %vq1, ptr %q
  br label %vhead
bad:
  ret i32 1
run:
  store ptr %p, ptr %q
  br label %rhead
rhead:                                  ; pass 2: call every entry with its block
  %rq = load ptr, ptr %q
  %rfn = load ptr, ptr %rq
  %rend = icmp eq ptr %rfn, null
  br i1 %rend, label %done, label %rcall
rcall:
  %rbp = getelementptr inbounds i64, ptr %rq, i64 1
  %rblk = load ptr, ptr %rbp
  %rnp = getelementptr inbounds i64, ptr %rq, i64 2
  %rnf = load i64, ptr %rnp
  %r = call i32 %rfn(ptr %rblk)
  %rbad = icmp ne i32 %r, 0
  br i1 %rbad, label %failed, label %rnext
rnext:
  %rskip = mul i64 %rnf, 4
  %rskip3 = add i64 %rskip, 3
  %rq1 = getelementptr inbounds i64, ptr %rq, i64 %rskip3
  store ptr %rq1, ptr %q
  br label %rhead
failed:
  ret i32 2
done:
  ret i32 0
}}"""


def packed_entry(params: list[str], kernel_symbol: str) -> str:
    """``sg_packed``: loads each of the kernel's parameters (``params``: their IR
    declarations, ``"ptr %x"`` / ``"i64 %x.n"``) from the block, then calls the kernel."""
    lines = [f"define i32 @{PACKED}(ptr %a) nounwind {{", "entry:"]
    args = []
    for k, p in enumerate(params):
        ty = p.split()[0]
        lines.append(f"  %p{k} = getelementptr inbounds i64, ptr %a, i64 {k}")
        lines.append(f"  %v{k} = load {ty}, ptr %p{k}")
        args.append(f"{ty} %v{k}")
    lines += [f"  %r = call i32 @{kernel_symbol}({', '.join(args)})", "  ret i32 %r", "}"]
    return "\n".join(lines)


def entries(params: list[str], kernel_symbol: str) -> list[str]:
    """The IR functions to add to a kernel module: its packed entry and the sequence runner."""
    return [packed_entry(params, kernel_symbol), _SEQ_TEXT]
