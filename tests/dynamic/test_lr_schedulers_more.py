"""The schedulers beyond the chainable basics: ``MultiplicativeLR``, ``ConstantLR``,
``PolynomialLR``, ``CyclicLR``, ``OneCycleLR``, ``CosineAnnealingWarmRestarts``, ``SequentialLR``,
``ChainedScheduler``. Rates (and cycled momenta) over 50 steps equal PyTorch's bit for bit
(live where PyTorch is installed; the closed forms are asserted without it), state dicts resume
the sequence exactly and carry PyTorch's keys, errors carry PyTorch's texts."""

from __future__ import annotations

import math
import warnings

import pytest

import dynamic


def _opt(lib, kind="sgd"):
    a = lib.nn.Parameter(lib.zeros(2))
    b = lib.nn.Parameter(lib.zeros(3))
    groups = [{"params": [a]}, {"params": [b], "lr": 0.05}]
    if kind == "adam":
        return lib.optim.Adam(groups, lr=0.1)
    return lib.optim.SGD(groups, lr=0.1, momentum=0.9)


class _Halve:
    """A callable object (its ``__dict__`` goes into the state dict, a function does not)."""

    def __init__(self) -> None:
        self.factor = 0.5

    def __call__(self, epoch: int) -> float:
        return self.factor if epoch % 4 == 0 else 1.0


CASES = {
    "multiplicative": lambda m, o: m.MultiplicativeLR(o, lr_lambda=lambda e: 0.95),
    "multiplicative_obj": lambda m, o: m.MultiplicativeLR(o, lr_lambda=_Halve()),
    "constant": lambda m, o: m.ConstantLR(o, factor=0.5, total_iters=7),
    "polynomial": lambda m, o: m.PolynomialLR(o, total_iters=30, power=2.0),
    "cyclic": lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=6),
    "cyclic2": lambda m, o: m.CyclicLR(o, base_lr=[0.01, 0.02], max_lr=0.1, step_size_up=4,
                                       step_size_down=7, mode="triangular2"),
    "cyclic_exp": lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=5,
                                          mode="exp_range", gamma=0.97),
    "cyclic_adam": lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=5),
    "onecycle": lambda m, o: m.OneCycleLR(o, max_lr=0.1, total_steps=50),
    "onecycle3": lambda m, o: m.OneCycleLR(o, max_lr=[0.1, 0.2], epochs=5, steps_per_epoch=10,
                                           anneal_strategy="linear", three_phase=True),
    "onecycle_adam": lambda m, o: m.OneCycleLR(o, max_lr=0.1, total_steps=60, pct_start=0.25),
    "warm_restarts": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=5, eta_min=0.001),
    "warm_restarts2": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2),
    "sequential": lambda m, o: m.SequentialLR(o, [m.LinearLR(o, start_factor=0.1, total_iters=5),
                                                  m.ExponentialLR(o, gamma=0.9),
                                                  m.StepLR(o, step_size=4, gamma=0.5)],
                                              milestones=[5, 20]),
    "chained": lambda m, o: m.ChainedScheduler([m.ConstantLR(o, factor=0.1, total_iters=4),
                                                m.ExponentialLR(o, gamma=0.95)]),
}


def _kind(name):
    return "adam" if name.endswith("adam") else "sgd"


def _momentum(group):
    return group["betas"][0] if "betas" in group else group.get("momentum")


def _run(lib, name, steps=50):
    opt = _opt(lib, _kind(name))
    sched = CASES[name](lib.optim.lr_scheduler, opt)
    out = [(tuple(sched.get_last_lr()), tuple(_momentum(g) for g in opt.param_groups))]
    for _ in range(steps):
        opt.step()
        sched.step()
        out.append((tuple(sched.get_last_lr()), tuple(_momentum(g) for g in opt.param_groups)))
    return out


def _resume(lib, name, split=17, steps=50):
    """A checkpoint's way back: a new optimizer and scheduler, then the optimizer's and the
    scheduler's state dicts loaded (in that order); the steps after equal the uninterrupted
    run's."""
    opt = _opt(lib, _kind(name))
    first = CASES[name](lib.optim.lr_scheduler, opt)
    for _ in range(split):
        opt.step()
        first.step()
    state = first.state_dict()
    keys = sorted(state)
    opt2 = _opt(lib, _kind(name))
    second = CASES[name](lib.optim.lr_scheduler, opt2)
    opt2.load_state_dict(opt.state_dict())
    second.load_state_dict(state)
    out = []
    for _ in range(steps - split):
        opt2.step()
        second.step()
        out.append(tuple(second.get_last_lr()))
    return keys, out


@pytest.mark.parametrize("name", sorted(CASES))
def test_equal_to_pytorch(name):
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert _run(dynamic, name) == _run(torch, name)
        assert _resume(dynamic, name) == _resume(torch, name)


@pytest.mark.parametrize("name", sorted(CASES))
def test_state_dict_resumes_the_sequence(name):
    keys, resumed = _resume(dynamic, name)
    assert "optimizer" not in keys
    assert resumed == [lr for lr, _ in _run(dynamic, name)[18:]]


def test_closed_forms():
    run = {n: [lr[0] for lr, _ in _run(dynamic, n)] for n in CASES}
    for e, lr in enumerate(run["constant"]):
        assert lr == (0.05 if e < 7 else 0.1)
    for e, lr in enumerate(run["polynomial"]):
        assert math.isclose(lr, 0.1 * (1 - min(e, 30) / 30) ** 2, abs_tol=1e-15)
    for e, lr in enumerate(run["cyclic"]):  # a triangle of period 12
        assert math.isclose(lr, 0.01 + 0.09 * (1 - abs(e % 12 - 6) / 6))
    oc = run["onecycle"]
    assert math.isclose(oc[0], 0.1 / 25) and math.isclose(max(oc), 0.1)
    assert oc.index(max(oc)) == 14 and math.isclose(oc[49], 0.1 / 25 / 1e4)
    for e, lr in enumerate(run["warm_restarts"]):
        assert math.isclose(lr, 0.001 + 0.099 * (1 + math.cos(math.pi * (e % 5) / 5)) / 2)
    seq = run["sequential"]
    assert math.isclose(seq[0], 0.01) and math.isclose(seq[5], 0.1)
    assert math.isclose(seq[6], 0.09) and math.isclose(seq[20], 0.1)
    assert math.isclose(seq[24], 0.05)
    chained = run["chained"]
    assert math.isclose(chained[3], 0.01 * 0.95 ** 3) and math.isclose(chained[4], 0.1 * 0.95 ** 4)


def test_cycled_momentum_and_betas():
    moms = [m[0] for _, m in _run(dynamic, "cyclic")]
    assert moms[0] == 0.9 and math.isclose(moms[6], 0.8) and math.isclose(moms[12], 0.9)
    betas = [m[0] for _, m in _run(dynamic, "onecycle_adam")]
    assert betas[0] == 0.95 and math.isclose(min(betas), 0.85)


def test_step_with_epoch_and_float_epochs():
    opt = _opt(dynamic)
    s = dynamic.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=4, T_mult=2)
    s.step(6.5)  # inside the second cycle (length 8, from epoch 4)
    assert s.T_i == 8 and s.T_cur == 2.5 and s.last_epoch == 6
    assert math.isclose(s.get_last_lr()[0], 0.05 * (1 + math.cos(math.pi * 2.5 / 8)))
    with pytest.warns(UserWarning, match="The epoch parameter"):
        opt = _opt(dynamic)
        p = dynamic.optim.lr_scheduler.PolynomialLR(opt, total_iters=4)
        opt.step()
        p.step(2)
    assert math.isclose(p.get_last_lr()[0], 0.05)


M = dynamic.optim.lr_scheduler


@pytest.mark.parametrize("make,err,msg", [
    (lambda o: M.ConstantLR(o, factor=2.0), ValueError,
     "Constant multiplicative factor expected to be between 0 and 1."),
    (lambda o: M.MultiplicativeLR(o, lr_lambda=3), TypeError,
     "lr_lambda should be a function, but got int"),
    (lambda o: M.CyclicLR(o, 0.1, 1.0, mode="zigzag"), ValueError,
     "mode is invalid and scale_fn is None"),
    (lambda o: M.CyclicLR(o, [0.1], 1.0), ValueError,
     "base_lr must have the same length as optimizer.param_groups. base_lr has 1 values, "
     "param_groups has 2."),
    (lambda o: M.OneCycleLR(o, 0.1), ValueError,
     "You must define either total_steps OR (epochs AND steps_per_epoch)"),
    (lambda o: M.OneCycleLR(o, 0.1, total_steps=0), ValueError,
     "Expected positive integer total_steps, but got 0"),
    (lambda o: M.OneCycleLR(o, 0.1, total_steps=10, pct_start=1), ValueError,
     "Expected float between 0 and 1 pct_start, but got 1"),
    (lambda o: M.OneCycleLR(o, 0.1, total_steps=10, anneal_strategy="exp"), ValueError,
     "anneal_strategy must be one of 'cos' or 'linear', instead got exp"),
    (lambda o: M.CosineAnnealingWarmRestarts(o, T_0=0), ValueError,
     "Expected positive integer T_0, but got 0"),
    (lambda o: M.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=0), ValueError,
     "Expected integer T_mult >= 1, but got 0"),
    (lambda o: M.SequentialLR(o, [], milestones=[]), ValueError,
     "SequentialLR expects at least one scheduler, but got no scheduler."),
    (lambda o: M.SequentialLR(o, [M.StepLR(o, 2)], milestones=[3]), ValueError,
     "Sequential Schedulers expects number of schedulers provided to be one more than the "
     "number of milestone points, but got number of schedulers 1 and the number of milestones "
     "to be equal to 1"),
    (lambda o: M.ChainedScheduler([M.ReduceLROnPlateau(o)]), ValueError,
     "ChainedScheduler does not support `ReduceLROnPlateau` scheduler as it requires additional "
     "kwargs to be specified when calling `step`, but got one at index 0 in the given "
     "schedulers sequence."),
    (lambda o: M.ChainedScheduler([]), ValueError,
     "ChainedScheduler expects at least one scheduler to be chained, but got no scheduler."),
])
def test_errors(make, err, msg):
    opt = _opt(dynamic)
    with pytest.raises(err) as e:
        make(opt)
    assert str(e.value) == msg


def test_cycle_momentum_needs_a_momentum():
    opt = dynamic.optim.Adagrad([dynamic.nn.Parameter(dynamic.zeros(2))], lr=0.1)
    with pytest.raises(ValueError, match="^optimizer must support momentum or beta1 with "
                                         "`cycle_momentum` option enabled$"):
        M.CyclicLR(opt, 0.01, 0.1)
    M.CyclicLR(opt, 0.01, 0.1, cycle_momentum=False)  # fine without


def test_onecycle_past_the_end_and_get_lr_outside_step():
    opt = _opt(dynamic)
    s = M.OneCycleLR(opt, 0.1, total_steps=3)
    for _ in range(3):
        opt.step()
        s.step()
    with pytest.raises(ValueError, match="^Tried to step 4 times. The specified number of total "
                                         "steps is 3$"):
        s.step()
    with pytest.warns(UserWarning, match="please use `get_last_lr\\(\\)`"):
        M.PolynomialLR(_opt(dynamic)).get_lr()


def test_error_messages_equal_pytorchs():
    torch = pytest.importorskip("torch")
    T = torch.optim.lr_scheduler
    for ours, theirs in [(lambda o: M.CyclicLR(o, [0.1], 1.0), lambda o: T.CyclicLR(o, [0.1], 1.0)),
                         (lambda o: M.SequentialLR(o, [M.StepLR(o, 2)], milestones=[3]),
                          lambda o: T.SequentialLR(o, [T.StepLR(o, 2)], milestones=[3]))]:
        msgs = []
        for lib, make in ((dynamic, ours), (torch, theirs)):
            with pytest.raises(ValueError) as e:
                make(_opt(lib))
            msgs.append(str(e.value))
        assert msgs[0] == msgs[1]
