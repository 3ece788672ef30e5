"""The ``checkpoint`` file next to the checkpoints (TF's ``CheckpointState`` in protobuf text
format) and the helpers that read it: ``tf.train.get_checkpoint_state``,
``tf.train.latest_checkpoint``, ``tf.train.checkpoint_exists``."""

from __future__ import annotations

import os
from dataclasses import dataclass, field


@dataclass
class CheckpointState:
    """TF's ``CheckpointState``: the latest checkpoint and all those kept, as paths."""

    model_checkpoint_path: str = ""
    all_model_checkpoint_paths: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f'model_checkpoint_path: "{self.model_checkpoint_path}"']
        lines += [f'all_model_checkpoint_paths: "{p}"' for p in self.all_model_checkpoint_paths]
        return "\n".join(lines) + "\n"


def checkpoint_exists(checkpoint_prefix: str) -> bool:
    """Whether a checkpoint was written at ``checkpoint_prefix``."""
    return os.path.exists(checkpoint_prefix + ".index")


def update_checkpoint_state(save_dir: str, model_checkpoint_path: str, all_paths: list[str],
                            latest_filename: str | None = None, relative: bool = False) -> None:
    """Write ``save_dir/checkpoint`` (paths as the Saver was given them, or relative)."""

    def fmt(p: str) -> str:
        return os.path.relpath(p, save_dir) if relative and os.path.isabs(p) else p

    state = CheckpointState(fmt(model_checkpoint_path), [fmt(p) for p in all_paths])
    with open(os.path.join(save_dir, latest_filename or "checkpoint"), "w") as f:
        f.write(str(state))


def get_checkpoint_state(checkpoint_dir: str,
                         latest_filename: str | None = None) -> CheckpointState | None:
    """The ``checkpoint`` file of ``checkpoint_dir`` (relative paths joined to the directory),
    or ``None`` when there is none."""
    path = os.path.join(checkpoint_dir, latest_filename or "checkpoint")
    if not os.path.exists(path):
        return None
    state = CheckpointState()
    with open(path) as f:
        for line in f:
            key, _, value = line.partition(":")
            value = value.strip().strip('"')
            if not os.path.isabs(value):
                value = os.path.join(checkpoint_dir, value)
            if key.strip() == "model_checkpoint_path":
                state.model_checkpoint_path = value
            elif key.strip() == "all_model_checkpoint_paths":
                state.all_model_checkpoint_paths.append(value)
    if not state.model_checkpoint_path:
        raise ValueError(f"Invalid checkpoint state loaded from {checkpoint_dir}")
    return state


def latest_checkpoint(checkpoint_dir: str, latest_filename: str | None = None) -> str | None:
    """The latest checkpoint's prefix in ``checkpoint_dir``, or ``None``."""
    state = get_checkpoint_state(checkpoint_dir, latest_filename)
    if state is not None and checkpoint_exists(state.model_checkpoint_path):
        return state.model_checkpoint_path
    return None
