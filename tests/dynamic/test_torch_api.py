"""Issue #15 pieces that the printed corpus does not pin down: the "not supported" error and
its probes, and the mt19937 permutations against PyTorch's."""

from __future__ import annotations

import pytest

import dynamic
from dynamic._unsupported import UnsupportedError
from dynamic.utils.data import _mt19937


@pytest.mark.parametrize("module, name", [
    (dynamic, "jit"), (dynamic.nn, "MaxUnpool3d"), (dynamic.nn.functional, "max_unpool3d"),
    (dynamic.optim, "swa_utils"), (dynamic.autograd, "NestedIOFunction"),
    (dynamic.utils.data, "WeightedRandomSampler"), (dynamic.func, "functional_call"),
    (dynamic.accelerator, "current_stream"), (dynamic.cuda, "current_device"),
    (dynamic.profiler, "schedule"), (dynamic.backends, "mkldnn")])
def test_missing_name_says_not_supported_and_probes_answer_no(module, name):
    with pytest.raises(NotImplementedError, match="is not supported by this project"):
        getattr(module, name)
    with pytest.raises(UnsupportedError):
        getattr(module, name)
    assert not hasattr(module, name)
    assert getattr(module, name, None) is None


def test_from_import_of_a_missing_name_is_an_import_error_with_the_text():
    with pytest.raises(ImportError, match="torch.utils.data.WeightedRandomSampler is not "
                                          "supported by this project"):
        from dynamic.utils.data import WeightedRandomSampler  # noqa: F401
    with pytest.raises(AttributeError, match="has no attribute '__wrapped__'"):
        dynamic.__wrapped__  # noqa: B018 - private names stay plain AttributeErrors


def test_hint_names_what_to_use_instead():
    with pytest.raises(NotImplementedError, match="call the module with its own parameters"):
        dynamic.func.functional_call  # noqa: B018


def test_set_default_device():
    dynamic.set_default_device("cpu")
    dynamic.set_default_device(None)
    with pytest.raises(AssertionError, match="Torch not compiled with CUDA enabled"):
        dynamic.set_default_device("cuda:0")
    with pytest.raises(NotImplementedError, match="only the CPU exists"):
        dynamic.set_default_device("mps")
    with pytest.raises(RuntimeError, match="device type at start of device string: xyz"):
        dynamic.set_default_device("xyz")


def test_permutations_are_pytorchs():
    torch = pytest.importorskip("torch")
    for seed in (0, 1, 42, 2**40 + 3):
        g, tg = dynamic.Generator().manual_seed(seed), torch.Generator().manual_seed(seed)
        for n in (1, 2, 7, 100):
            assert _mt19937.randperm(n, g) == torch.randperm(n, generator=tg).tolist()
        assert _mt19937.randint(5, 40, g) == torch.randint(5, (40,), generator=tg).tolist()
        assert _mt19937.random64(g) == torch.empty((), dtype=torch.int64).random_(
            generator=tg).item()


def test_reseeding_restarts_the_stream():
    g = dynamic.Generator().manual_seed(3)
    first = _mt19937.randperm(10, g)
    assert _mt19937.randperm(10, g) != first
    g.manual_seed(3)
    assert _mt19937.randperm(10, g) == first
