"""Error kinds of the CLI protocol and their exit codes.

``config`` and ``data`` exit 2, ``oom`` exits 3, anything else 1 (130 on Ctrl-C).
"""

EXIT_OK = 0
EXIT_OTHER = 1
EXIT_CONFIG = 2
EXIT_DATA = 2
EXIT_OOM = 3
EXIT_INTERRUPTED = 130


class TrainerError(Exception):
    kind = "other"
    exit_code = EXIT_OTHER


class ConfigError(TrainerError):
    """Bad arguments, unknown/unloadable model, unusable output directory."""

    kind = "config"
    exit_code = EXIT_CONFIG


class DataError(TrainerError):
    """Missing/unreadable input file, a line that is not JSON or lacks a field."""

    kind = "data"
    exit_code = EXIT_DATA


_OOM_MARKERS = (
    "out of memory",
    "can't allocate memory",
    "cannot allocate memory",
    "defaultcpuallocator",
    "cublas_status_alloc_failed",
)


def is_oom(exc: BaseException) -> bool:
    """True for CUDA/CPU/MPS out-of-memory errors however torch reports them."""
    if isinstance(exc, MemoryError):
        return True
    try:
        import torch

        oom_type = getattr(torch, "OutOfMemoryError", None) or getattr(torch.cuda, "OutOfMemoryError", None)
        if oom_type is not None and isinstance(exc, oom_type):
            return True
    except Exception:  # pragma: no cover - torch missing or broken
        pass
    if isinstance(exc, RuntimeError):
        text = str(exc).lower()
        return any(m in text for m in _OOM_MARKERS)
    return False


def classify(exc: BaseException) -> tuple[str, int]:
    """(kind, exit code) for an exception escaping a command."""
    if isinstance(exc, TrainerError):
        return exc.kind, exc.exit_code
    if is_oom(exc):
        return "oom", EXIT_OOM
    return "other", EXIT_OTHER
