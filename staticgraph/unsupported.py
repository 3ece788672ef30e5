"""What a TF1 program meets when it uses an API staticgraph does not provide: an error that says so
and names the replacement, instead of a bare ``AttributeError``.

The error class is an ``AttributeError`` (so ``hasattr`` and ``getattr(tf, name, default)`` keep
working); its text names the full TF1 path (``tf.nn.top_k``), says that this project does not
support it, and gives what to use instead where there is something.
"""

from __future__ import annotations

import types
from typing import Any

DOC = "see docs/static.md, \"What TF1 code runs\""

# "module.name" (or a whole module: "contrib") -> what to use instead
HINTS: dict[str, str] = {
    "contrib": "tf.layers.dense for contrib.layers.fully_connected, tf.nn.rnn_cell for "
               "contrib.rnn",
    "contrib.rnn": "the cells and wrappers of tf.nn.rnn_cell (BasicRNNCell, BasicLSTMCell, "
                   "LSTMCell, GRUCell, MultiRNNCell, DropoutWrapper) with tf.nn.dynamic_rnn",
    "contrib.layers": "tf.layers.dense, or tf.get_variable with tf.matmul",
    "data": "feed numpy batches through tf.placeholder and feed_dict",
    "estimator": "a Session training loop (tf.Session, sess.run(train_op, feed_dict))",
    "keras": "tf.layers.dense and tf.losses in graphs, or the eager mode (import dynamic)",
    "saved_model": "tf.train.Saver with tf.train.import_meta_graph",
    "io": "numpy file I/O; feed the arrays through placeholders",
    "gfile": "os and open()",
    "app": "a plain `if __name__ == \"__main__\":` block",
    "flags": "argparse",
    "nn.rnn_cell": "BasicRNNCell, BasicLSTMCell, LSTMCell, GRUCell or MultiRNNCell (with "
                   "DropoutWrapper, ResidualWrapper), or a cell written as a function of "
                   "(state, input) inside tf.scan",
    "nn.raw_rnn": "tf.nn.dynamic_rnn, or tf.while_loop with a TensorArray",
    "nn.static_bidirectional_rnn": "tf.nn.bidirectional_dynamic_rnn",
    "train.MonitoredTrainingSession": "tf.Session with a tf.train.Saver",
    "train.Coordinator": "a plain feed_dict loop (no queue runners)",
    "train.start_queue_runners": "a plain feed_dict loop (no queue runners)",
    "train.Checkpoint": "tf.train.Saver",
    "layers.conv3d": "tf.nn.conv3d with tf.get_variable",
    "layers.separable_conv2d": "tf.nn.depthwise_conv2d then a 1x1 tf.layers.conv2d",
    "py_func": "a separate sess.run, then numpy, then a feed",
    "Print": "fetch the tensor with sess.run and print it",
    "summary.FileWriterCache": "tf.summary.FileWriter",
    "summary.image": "tf.summary.scalar or tf.summary.histogram (event files hold those)",
    "summary.audio": "tf.summary.scalar or tf.summary.histogram (event files hold those)",
    "summary.text": "tf.summary.scalar, or print the text",
}


class UnsupportedError(AttributeError):
    """A TF1 API that this project does not provide."""


def unsupported(module: str, name: str) -> AttributeError:
    """The error for ``tf.<module>.<name>`` (``module`` "" for the top level)."""
    path = f"{module}.{name}" if module else name
    if name.startswith("_"):  # Python protocol probes (copy, pickle, pytest): the usual error
        return AttributeError(f"module 'staticgraph{'.' + module if module else ''}' has no "
                              f"attribute {name!r}")
    hint = HINTS.get(path)
    if hint is None:
        parts = path.split(".")
        for k in range(len(parts) - 1, 0, -1):
            hint = HINTS.get(".".join(parts[:k]))
            if hint is not None:
                break
    text = f"tf.{path} is not supported by staticgraph (this project provides a subset of the " \
           f"TF1 API; {DOC})."
    if hint:
        text += f" Instead: {hint}."
    return UnsupportedError(text)


def module_getattr(module: str) -> Any:
    """A PEP 562 ``__getattr__`` for the TF1 submodule ``tf.<module>``."""

    def __getattr__(name: str) -> Any:
        raise unsupported(module, name)

    return __getattr__


class UnsupportedNamespace:
    """A whole TF1 module this project lacks (``tf.contrib``): every attribute raises, naming it."""

    def __init__(self, path: str) -> None:
        self._path = path

    def __getattr__(self, name: str) -> Any:
        raise unsupported(self._path, name)

    def __repr__(self) -> str:
        return f"<unsupported TF1 module tf.{self._path}>"


class Namespace(types.SimpleNamespace):
    """A small TF1 namespace (``tf.math``, ``tf.layers``) whose missing names raise
    :class:`UnsupportedError`."""

    def __init__(self, path: str, **members: Any) -> None:
        super().__init__(_path=path, **members)

    def __getattr__(self, name: str) -> Any:
        raise unsupported(self._path, name)

    def __repr__(self) -> str:
        return f"<staticgraph namespace tf.{self._path}>"
