"""``torch.backends.cudnn``: not available; its flags are plain attributes (no effect)."""

enabled = True
deterministic = False
benchmark = False
allow_tf32 = True


def is_available() -> bool:
    return False


def version() -> None:
    return None
