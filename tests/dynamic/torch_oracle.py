"""Run the PyTorch program corpora and record what PyTorch printed.

``python -m tests.dynamic.torch_oracle --record`` (from the repository root, with PyTorch
installed) runs every program of ``torch_programs.py``, ``tutorial_programs.py``,
``torch_corpus_api.py``, ``torch_corpus_models.py``, ``torch_corpus_learn.py``,
``torch_corpus_nn.py`` and ``torch_corpus_attn.py`` under ``import torch`` and stores the
outputs in ``torch_expected.json`` (``--record-new``: only the programs not yet recorded), so
``test_torch_corpus.py`` compares ``dynamic`` against PyTorch even where PyTorch is not
installed. Under ``dynamic`` the program's ``import torch...`` and ``from torch... import`` lines
resolve to ``dynamic`` (the modules are aliased while it runs).
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

from . import (
    torch_corpus_api,
    torch_corpus_attn,
    torch_corpus_learn,
    torch_corpus_models,
    torch_corpus_nn,
    torch_programs,
    tutorial_programs,
)

EXPECTED_PATH = Path(__file__).with_name("torch_expected.json")


def programs() -> dict[str, str]:
    """Every program, by name (the older corpora keep their test_vs_torch names)."""
    return {**torch_programs.PROGS,
            **{f"tutorial_{k}": v for k, v in tutorial_programs.PROGS.items()},
            **{f"api_{k}": v for k, v in torch_corpus_api.PROGRAMS.items()},
            **{f"models_{k}": v for k, v in torch_corpus_models.PROGRAMS.items()},
            **{f"learn_{k}": v for k, v in torch_corpus_learn.PROGRAMS.items()},
            **{f"nn_{k}": v for k, v in torch_corpus_nn.PROGRAMS.items()},
            **{f"attn_{k}": v for k, v in torch_corpus_attn.PROGRAMS.items()}}


@contextlib.contextmanager
def imported_as_torch(mod: ModuleType) -> Iterator[None]:
    """While active, ``import torch.x`` finds ``mod.x`` (nothing to do for PyTorch itself)."""
    if mod.__name__ == "torch":
        yield
        return
    prefix = mod.__name__
    saved = {k: v for k, v in sys.modules.items() if k == "torch" or k.startswith("torch.")}
    for k in saved:
        del sys.modules[k]
    for k, v in list(sys.modules.items()):
        if k == prefix or k.startswith(prefix + "."):
            sys.modules["torch" + k[len(prefix):]] = v
    try:
        yield
    finally:
        for k in [k for k in sys.modules if k == "torch" or k.startswith("torch.")]:
            del sys.modules[k]
        sys.modules.update(saved)


def run_program(mod: ModuleType, src: str) -> str:
    """What ``src`` prints with ``torch`` bound to ``mod`` (a crash is printed, not raised);
    object addresses are blanked."""
    buf = io.StringIO()
    with imported_as_torch(mod), contextlib.redirect_stdout(buf), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            exec(compile(src, "<torch-program>", "exec"), {"torch": mod, "__name__": "__prog__"})  # noqa: S102
        except Exception as e:  # noqa: BLE001 - the crash itself is part of the behaviour
            print("CRASH", type(e).__name__, e)
    return re.sub(r"0x[0-9a-f]+", "0x", buf.getvalue())


def load_expected() -> dict[str, str]:
    return json.loads(EXPECTED_PATH.read_text())["programs"]


if __name__ == "__main__":
    import torch

    results = {name: run_program(torch, src) for name, src in sorted(programs().items())}
    if "--record-new" in sys.argv:  # add programs without a recording, keep the others
        old = load_expected()
        results = {**{k: v for k, v in results.items() if k not in old}, **old}
    if "--record" in sys.argv or "--record-new" in sys.argv:
        EXPECTED_PATH.write_text(json.dumps({"torch": torch.__version__, "programs": results},
                                            indent=1, sort_keys=True) + "\n")
    else:
        json.dump(results, sys.stdout)


_NUMBER = re.compile(r"-?\d+\.(\d+)(?:e[+-]?\d+)?")


def print_differs(live: str, recorded: str) -> str | None:
    """The first line where a program's output (``dynamic``'s, or a live PyTorch run's) differs
    from the recording, or ``None``. A printed decimal may differ by one unit in its last
    printed place: float results move in the last bits with the CPU (numpy's and PyTorch's
    vector kernels and BLAS choose by the machine's instruction set: on one machine live torch
    prints a loss ``1.169133`` recorded as ``1.169134`` elsewhere, and ``dynamic`` a
    ``1.726343`` recorded as ``1.726344``). Everything else, the text and every other number,
    must be the same."""
    a, b = live.splitlines(), recorded.splitlines()
    if len(a) != len(b):
        return f"{len(a)} lines live, {len(b)} recorded"
    for x, y in zip(a, b):
        if x == y:
            continue
        nx, ny = list(_NUMBER.finditer(x)), list(_NUMBER.finditer(y))
        if _NUMBER.sub("#", x) != _NUMBER.sub("#", y) or len(nx) != len(ny) or any(
                len(m.group(1)) != len(n.group(1)) or abs(float(m.group()) - float(n.group()))
                > 1.5 * 10.0 ** -len(m.group(1)) * (10.0 ** int(m.group().split("e")[1])
                                                     if "e" in m.group() else 1.0)
                for m, n in zip(nx, ny)):
            return f"live {x!r} != recorded {y!r}"
    return None
