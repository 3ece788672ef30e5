"""``torch.cuda`` on a CPU-only build: nothing is available, so device-agnostic tutorial code
(``"cuda" if torch.cuda.is_available() else "cpu"``) takes its CPU branch."""

from . import _unsupported


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def manual_seed(seed: int) -> None:
    """Seeding CUDA generators that do not exist does nothing (as on a CPU-only PyTorch)."""


manual_seed_all = manual_seed


__getattr__ = _unsupported.missing_names("torch.cuda", {"current_device": "CUDA is not available"})
