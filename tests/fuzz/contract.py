"""The executors' contract beyond values (docs/guarantees.md, "State is never corrupted
or shared"), checked on every fuzz program by the static oracles and the eager one:

* a run never writes into the caller's feed arrays;
* a result never shares memory with a feed or with another distinct fetch (the same tensor
  fetched twice may be one object), and writing into a result changes nothing a later run sees
  (it is not a variable's, a constant's or a cached buffer);
* a failed ``Session.run`` (a missing feed, a feed of the wrong rank or of strings, an op that
  raises at run time) raises and changes no variable, optimizer slots included;
* eager: ``backward()`` after an in-place ``mul_(1.0)`` of every intermediate either raises
  and leaves ``.grad`` as it was, or gives a clean backward's gradients bit for bit.

Each breach is one line of text; :func:`tests.fuzz.compare.compare` reports it as a ``contract``
finding of that oracle, whatever the reference did.
"""

from __future__ import annotations

from typing import Any

import numpy as np

SCRIBBLE = 7.25  # written into every writable result before the run is repeated


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Bit for bit (NaN payloads and signed zeros included)."""
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def flat(out: dict) -> dict:
    """Fetched results by name, a fetched ``IndexedSlicesValue`` (the gradient of a gathered
    parameter) as its arrays ``name.values``/``name.indices``: each is held to the contract."""
    res = {}
    for k, v in out.items():
        if type(v).__name__ == "IndexedSlicesValue":
            res.update({f"{k}.{f}": a for f, a in zip(v._fields, v, strict=True)
                        if isinstance(a, np.ndarray)})
        else:
            res[k] = v
    return res


def copies(arrays: dict) -> dict:
    return {k: np.array(v, copy=True) for k, v in arrays.items()}


def written_feeds(before: dict, feeds: dict) -> list[str]:
    """Feeds whose contents a run changed."""
    return [f"the run wrote into the caller's feed array {k}" for k, v in feeds.items()
            if not _same(v, before[k])]


def _component(tensors: dict, name: str) -> Any:
    """The graph tensor of a flattened result name: ``g0`` or a component of a fetched
    IndexedSlices, ``g0.indices`` (two gradients of one embedding share its ids tensor, and one
    tensor fetched twice is one array, as in TF: fuzz seed 102101)."""
    base, *parts = name.split(".")
    t = tensors[base]
    for p in parts:
        t = getattr(t, p, t)
    return t


def shared_results(out: dict, tensors: dict, feeds: dict) -> list[str]:
    """Results sharing memory with a feed, or with the result of another tensor."""
    bad = []
    out = flat(out)
    names = sorted(out)
    for i, a in enumerate(names):
        va = out[a]
        if not isinstance(va, np.ndarray):
            continue
        for f, fv in feeds.items():
            if np.shares_memory(va, fv):
                bad.append(f"result {a} shares memory with the caller's feed {f}")
        for b in names[i + 1:]:
            vb = out[b]
            if _component(tensors, a) is _component(tensors, b) or not isinstance(vb, np.ndarray):
                continue
            if va.size and vb.size and np.shares_memory(va, vb):
                bad.append(f"results {a} and {b} (distinct tensors) share memory")
    return bad


def scribble_rerun(sess: Any, fetch: dict, feeds: dict, out: dict) -> list[str]:
    """Write into every writable result, run the same fetches again: the values must not
    move (a result that is a variable's or a cached buffer would carry the scribble)."""
    out = flat(out)
    kept = copies(out)
    for v in out.values():
        if isinstance(v, np.ndarray) and v.flags.writeable and v.size:
            v[...] = SCRIBBLE
    again = flat(sess.run(fetch, feeds))
    return [f"writing into result {k} changed the next run's value of {k}"
            for k in sorted(again) if not _unmoved(again[k], kept[k])]


def _unmoved(a: Any, b: Any) -> bool:
    """Bit for bit, except float values within rounding: a compiled instance may switch tiers
    between the two runs (quick LLVM -> optimised -> numba, each summing in its own order),
    which moves the last bits; a result aliasing a buffer would carry the scribble (7.25)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind not in "fc":
        return _same(a, b)
    return bool(np.allclose(a, b, rtol=1e-4, atol=1e-4, equal_nan=True))


def failed_runs(sess: Any, targets: list, ns: dict, feeds: dict,
                needed: list[str]) -> list[str]:
    """Runs of ``targets`` that must fail, each followed by a check that no variable moved:
    the feed of a placeholder an output reads (``needed``: their data names) left out, fed
    with an extra axis, fed strings, and (when the build made ``ns["CHECK"]``) a gather out of
    range in the same run as the training step."""
    import staticgraph as tf

    xs = [ns["FEED_OF"][n] for n in sorted(needed) if ns["FEED_OF"].get(n) in feeds]
    variables = [v for v in tf.global_variables() if v.graph is sess.graph]
    if not variables or not xs:
        return []
    before = [np.array(x, copy=True) for x in sess.run(variables)]
    ph, a = xs[0], feeds[xs[0]]
    tries = {
        f"a missing feed ({ph.name})": ({k: v for k, v in feeds.items() if k is not ph}, []),
        f"a feed with an extra axis ({ph.name})": ({**feeds, ph: np.stack([a, a])}, []),
        f"a feed of strings ({ph.name})": ({**feeds, ph: np.full(np.shape(a), "x")}, []),
    }
    if ns.get("CHECK") is not None:
        tries["a gather out of range in the training step's run"] = (
            {**feeds, ns["BAD_IDX"]: np.array([5], np.int64)}, [ns["CHECK"]])
    bad = []
    for what, (fd, extra) in tries.items():
        try:
            sess.run(list(targets) + extra, fd)
            bad.append(f"a run with {what} answered instead of raising")
        except Exception:  # noqa: BLE001, S110 - the failure is the point
            pass
        after = sess.run(variables)
        moved = [v.name for v, x, y in zip(variables, before, after, strict=True)
                 if not _same(x, y)]
        if moved:
            bad.append(f"a failed run ({what}) changed variables {moved}")
            before = [np.array(x, copy=True) for x in after]
    return bad


# ------------------------------------------------------------------------------ eager
def inplace_backward(forward: Any, prog: Any, params: dict, dynamic: Any) -> list[str]:
    """The eager mode's backward after every intermediate was multiplied by 1 in place
    (``mul_(1.0)``: same values, new versions): it raises (a saved tensor was modified) and
    leaves every ``.grad`` as it was (each set to 0.5 beforehand), or it answers and the
    gradients are bit for bit those of a clean backward. ``.grad`` is None again after."""
    from staticgraph import ops

    def loss_of(ns: dict) -> Any:
        ys = [ns[f"v{o}"] for o in prog.outputs if ns[f"v{o}"].requires_grad]
        loss = ops.mean(ys[0]) if ys else None
        for y in ys[1:]:
            loss = ops.add(loss, ops.mean(y))
        return loss

    def grads() -> dict:
        return {i: None if p.grad is None else p.grad.detach().numpy().copy()
                for i, p in params.items()}

    def reset() -> None:
        for p in params.values():
            p.grad = dynamic.tensor(np.full(p.shape, 0.5, p.detach().numpy().dtype))

    n_in, bad = len(prog.inputs), []
    try:
        reset()
        before = grads()
        try:
            ns = forward()
        except Exception:  # noqa: BLE001 - the run raises: compared as the run's own error
            return []
        loss = loss_of(ns)
        if loss is None:
            return []
        for k in range(len(prog.nodes)):
            v = ns.get(f"v{n_in + k}")
            if getattr(v, "requires_grad", False) and v.detach().numpy().dtype.kind == "f":
                try:
                    v.mul_(1.0)
                except Exception:  # noqa: BLE001, S112 - a view of a leaf: PyTorch refuses too
                    continue
        try:
            loss.backward()
        except Exception:  # noqa: BLE001 - a saved tensor was modified: state must be intact
            moved = [f"w{i}" for i, g in grads().items() if not _same(g, before[i])]
            if moved:
                bad.append(f"a failed backward() changed .grad of {moved}")
            return bad
        got = grads()
        reset()
        loss_of(forward()).backward()
        clean = grads()
        differ = [f"w{i}" for i in got if not _same(got[i], clean[i])]
        if differ:
            bad.append(f"backward() after mul_(1.0) of the intermediates gave other .grad of "
                       f"{differ} than a clean backward()")
        return bad
    except Exception as e:  # noqa: BLE001 - a crash of the check itself is a finding too
        return [f"the in-place backward check raised {type(e).__name__}: {e}"[:300]]
    finally:
        for p in params.values():
            p.grad = None
