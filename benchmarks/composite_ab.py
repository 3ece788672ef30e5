"""A/B in one process: composite layer nodes on vs off (``composite.wrap`` -> identity), for a
small conv + layer_norm + max_pool forward and backward. Run: ``python -m benchmarks.composite_ab``.
"""

from __future__ import annotations

import time

import numpy as np

import dynamic as t
import dynamic.nn.functional as F
from dynamic.autograd import composite


def main() -> None:
    real = composite.wrap
    x = t.randn(4, 3, 8, 8, requires_grad=True)
    w = t.randn(4, 3, 3, 3, requires_grad=True)
    b = t.randn(4, requires_grad=True)
    lw = t.randn(8, requires_grad=True)

    def step() -> None:
        y = F.max_pool2d(F.layer_norm(F.conv2d(x, w, b, padding=1), (8,), lw), 2)
        y.sum().backward()

    res: dict[str, list[float]] = {"on": [], "off": []}
    for _ in range(6):
        for mode in ("on", "off"):
            composite.wrap = real if mode == "on" else (lambda y, *a, **k: y)
            for _ in range(3):
                step()
            t0 = time.perf_counter()
            for _ in range(30):
                step()
            res[mode].append((time.perf_counter() - t0) / 30 * 1e6)
    composite.wrap = real
    for m, v in res.items():
        print(f"{m:3} us/step median {np.median(v):.0f} min {min(v):.0f} max {max(v):.0f}")
    print(f"ratio on/off (medians) {np.median(res['on']) / np.median(res['off']):.3f}")


if __name__ == "__main__":
    main()
