"""``torch.cuda`` on a CPU-only build: nothing is available, so device-agnostic tutorial code
(``"cuda" if torch.cuda.is_available() else "cpu"``) takes its CPU branch."""


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0
