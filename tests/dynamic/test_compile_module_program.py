"""A real PyTorch-style training script under ``dynamic.compile`` (issue #14): ``nn.Sequential``
of ``nn.Linear``/``nn.ReLU``, ``nn.CrossEntropyLoss``, ``torch.optim.SGD``/``Adam`` with
``zero_grad``, ``backward`` and ``step``, compiled against the same script run eagerly (and by
PyTorch, where installed): parameters, ``.grad``, version counters, optimizer state and
``state_dict`` after N steps. The small program takes the direct driver path (the transpose of
``nn.Linear``'s weight gradient is a flag of the product: no fallback step); the MNIST-shaped
one runs the Python driver (BLAS products)."""

from __future__ import annotations

import numpy as np
import pytest

import dynamic as torch
from benchmarks import module_programs
from dynamic import nn
from staticgraph.compiler import block_until_ready

pytestmark = pytest.mark.handover_tier  # native first; block_until_ready(): numba's driver


def _script(name: str, set_to_none: bool = True):
    """``(train_step, model, opt, (x, y))``, PyTorch user code on ``dynamic``."""
    step, model, xy = module_programs.build_module(torch, name, compiled=False)
    opt = next(c.cell_contents for c in step.__closure__
               if isinstance(c.cell_contents, torch.optim.Optimizer))
    loss_fn = nn.CrossEntropyLoss()

    def train_step(x, y):
        opt.zero_grad(set_to_none=set_to_none)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return train_step, model, opt, xy


def _assert_same(m1, m2, o1, o2) -> None:
    for (k, p1), p2 in zip(m1.named_parameters(), m2.parameters(), strict=True):
        np.testing.assert_allclose(p1.detach().numpy(), p2.detach().numpy(), rtol=1e-5,
                                   atol=1e-6, err_msg=k)
        np.testing.assert_allclose(p1.grad.numpy(), p2.grad.numpy(), rtol=1e-5, atol=1e-6,
                                   err_msg=k)
        assert p1._version == p2._version and p1.grad._version == p2.grad._version
        assert (p1 in o1.state) == (p2 in o2.state)
        st1, st2 = o1.state.get(p1, {}), o2.state.get(p2, {})
        assert sorted(st1) == sorted(st2)
        for key, v in st2.items():
            np.testing.assert_allclose(st1[key], v, rtol=1e-5, atol=1e-7)
    sd1, sd2 = m1.state_dict(), m2.state_dict()
    assert list(sd1) == list(sd2)
    for k in sd1:
        np.testing.assert_allclose(sd1[k].numpy(), sd2[k].numpy(), rtol=1e-5, atol=1e-6)


def _run(name: str, steps: int, set_to_none: bool = True):
    s1, m1, o1, xy = _script(name, set_to_none)
    s2, m2, o2, _ = _script(name, set_to_none)
    compiled = torch.compile(s1)
    for k in range(steps):
        if k == 3:
            block_until_ready()  # the native tier's hand-over: the fast path is rebuilt
        np.testing.assert_allclose(compiled(*xy).item(), s2(*xy).item(), rtol=1e-5)
        _assert_same(m1, m2, o1, o2)
    return compiled, m1


@pytest.mark.parametrize("name", ["nn-xor-sgd", "nn-xor-adam"])
@pytest.mark.parametrize("set_to_none", [True, False])
def test_small_module_program_matches_eager_on_the_direct_path(name, set_to_none):
    compiled, _ = _run(name, 8, set_to_none)
    assert compiled._hot is not None and compiled._hot.direct  # the driver, our buffers
    # a second plan where the first step differs: Adam has no state yet, and zero_grad
    # without set_to_none finds no .grad to zero
    assert compiled.n_plans == (2 if name.endswith("adam") or not set_to_none else 1)


def test_mnist_shaped_module_program_matches_eager():
    compiled, _ = _run("nn-mnist-sgd", 5)
    assert compiled._hot is not None and compiled.n_plans == 1


def test_linear_weight_gradient_needs_no_fallback_step():
    """The plan of the small program has no fallback (numpy) step: the single driver runs it."""
    compiled, _ = _run("nn-xor-sgd", 4)
    (entry,) = compiled.cache.values()
    plan = entry.calls[0].plan
    kinds = set()
    for rp in list(plan.session._plans.young.values()):
        for inst in (getattr(rp.runner, "bound", None) or {}).values():
            assert inst.small
            kinds |= {s.kind for s in inst.plan.steps}
    assert kinds and "fallback" not in kinds, kinds


@pytest.mark.parametrize("name", ["nn-xor-sgd", "nn-xor-adam"])
def test_module_program_matches_torch(name):
    torch_ = pytest.importorskip("torch")
    ref, ref_model, (tx, ty) = module_programs.build_module(torch_, name, compiled=False)
    compiled, model = _run(name, 0)
    x, y = (torch.tensor(t.numpy()) for t in (tx, ty))
    for k in range(6):
        if k == 3:
            block_until_ready()
        np.testing.assert_allclose(compiled(x, y).item(), ref(tx, ty).item(), rtol=1e-5)
    assert compiled._hot.direct
    for (k, p), q in zip(model.named_parameters(), ref_model.parameters(), strict=True):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-5, atol=1e-6,
                                   err_msg=k)
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-5, atol=1e-6,
                                   err_msg=k)


def test_static_program_trains_the_same_model():
    """The benchmark's TF1 side is the same model: after 3 SGD steps its weights (transposed)
    equal the compiled module's."""
    a = module_programs.final_params("static", "nn-xor-sgd", 3)
    b = module_programs.final_params("dynamic-compile", "nn-xor-sgd", 3)
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-5, atol=1e-6, err_msg=k)


def test_adam_parameters_at_different_steps_get_their_own_bias_corrections():
    """Adam's bias corrections are computed once per call for the parameters at one step
    (fast_optim.py); a parameter whose step count differs (set by hand, as a loaded
    ``state_dict`` may) gets its own, as in eager."""
    s1, m1, o1, xy = _script("nn-xor-adam")
    s2, m2, o2, _ = _script("nn-xor-adam")
    compiled = torch.compile(s1)
    for k in range(8):
        if k == 3:
            block_until_ready()
        if k == 5:
            for o, m in ((o1, m1), (o2, m2)):
                o.state[m[0].bias]["step"] += 7
        if k == 6:  # a new learning rate: a new value for every parameter
            for o in (o1, o2):
                o.param_groups[0]["lr"] = 3e-3
        np.testing.assert_allclose(compiled(*xy).item(), s2(*xy).item(), rtol=1e-5)
        _assert_same(m1, m2, o1, o2)
    assert compiled._hot.direct and compiled.n_plans == 2
