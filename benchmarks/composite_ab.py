"""A/B in one process: composite wrapping on vs off (wrap -> identity), small layers."""
import time

import numpy as np

import dynamic as t
import dynamic.nn.functional as F
from dynamic.autograd import composite

real = composite.wrap
x = t.randn(4, 3, 8, 8, requires_grad=True); w = t.randn(4, 3, 3, 3, requires_grad=True)
b = t.randn(4, requires_grad=True); lw = t.randn(8, requires_grad=True)
def step():
    y = F.conv2d(x, w, b, padding=1)
    y = F.layer_norm(y, (8,), lw)
    y = F.max_pool2d(y, 2)
    y.sum().backward()
res = {"on": [], "off": []}
for rep in range(6):
    for mode in ("on", "off"):
        composite.wrap = real if mode == "on" else (lambda y, *a, **k: y)
        for _ in range(3): step()
        t0 = time.perf_counter()
        for _ in range(30): step()
        res[mode].append((time.perf_counter() - t0) / 30 * 1e6)
for m, v in res.items():
    print(m, "us/step median %.0f min %.0f max %.0f" % (np.median(v), min(v), max(v)))
print("ratio on/off (medians) %.3f" % (np.median(res["on"]) / np.median(res["off"])))
