"""Completes ``Tensor``: attaches its method groups and the eager frontend to the core class.

The core class (``_tensor``) is the leaf every eager module imports. The method groups import the
core and what they call (the registry, the engine, the creation functions), so they cannot be its
base classes; instead this module copies each group's attributes onto ``Tensor`` once, when
``dynamic`` is imported (it is the first thing ``dynamic/__init__`` imports). A call then costs
what a method written in the class body costs: nothing is looked up per op.
"""

from __future__ import annotations

from ._allocator import tune_malloc
from ._autograd_attrs import AutogradAttrs
from ._frontend import Frontend
from ._inference import InferenceMethods
from ._inplace import InplaceMethods
from ._inplace_shape import InplaceShapeMethods
from ._math_methods import MathMethods
from ._scatter_methods import ScatterMethods
from ._shape_methods import ShapeMethods
from ._tensor import Tensor
from ._torch_index_methods import IndexMethods
from ._torch_methods import TorchApiMethods
from ._torch_order_methods import OrderMethods
from ._torch_strided import StridedMethods

# what ``class`` itself puts in a class namespace
_CLASS_BOOKKEEPING = frozenset({"__module__", "__qualname__", "__doc__", "__dict__", "__weakref__",
                                "__firstlineno__", "__static_attributes__"})


def attach(cls: type, *groups: type) -> None:
    """Copy the attributes of each method group onto ``cls`` (a name defined twice is an error)."""
    for group in groups:
        for name, value in vars(group).items():
            if name in _CLASS_BOOKKEEPING:
                continue
            if name in vars(cls):
                raise TypeError(f"{cls.__name__}.{name} is defined twice ({group.__name__})")
            setattr(cls, name, value)


attach(Tensor, AutogradAttrs, MathMethods, ShapeMethods, InplaceMethods, InplaceShapeMethods,
       InferenceMethods, ScatterMethods, TorchApiMethods,
       IndexMethods, OrderMethods, StridedMethods)
Tensor.__sg_frontend__ = Frontend()  # how ``staticgraph.ops.bind`` finds the eager frontend
tune_malloc()  # freed temporaries are reused without page faults (``_allocator``)
