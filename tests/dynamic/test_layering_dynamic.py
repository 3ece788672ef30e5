"""The eager mode's modules import each other in one direction only (docs/architecture.md)."""

from __future__ import annotations

from tests.import_graph import cycles, import_graph

# the leaves the tensor core may import: dtypes, the device, the repr
CORE_IMPORTS = {"dynamic._dtypes", "dynamic._device", "dynamic._format"}


def test_no_import_circle_among_dynamic_modules():
    assert cycles(["dynamic"]) == []


def test_the_tensor_core_imports_only_leaves():
    top, lazy = import_graph(["dynamic"])
    assert top["dynamic._tensor"] | lazy["dynamic._tensor"] <= CORE_IMPORTS


def test_no_function_level_import_between_dynamic_modules():
    """A function-level import between two eager modules hides an import circle (or a layer
    placed upside down) from Python at load time; import at the top instead."""
    _, lazy = import_graph(["dynamic"])
    assert {m: sorted(t) for m, t in lazy.items() if t} == {}
