"""Error kinds of the CLI protocol and their exit codes.

``config`` and ``data`` exit 2, ``oom`` exits 3, ``disk`` (no space left while writing a
checkpoint or the model) exits 4, anything else 1 (130 on Ctrl-C).
"""

import errno

EXIT_OK = 0
EXIT_OTHER = 1
EXIT_CONFIG = 2
EXIT_DATA = 2
EXIT_OOM = 3
EXIT_DISK = 4
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


# torch.save reports a failed write (measured: a full disk while saving a 7B checkpoint's
# optimizer state) only as a stream error, not as ENOSPC.
_WRITE_MARKERS = ("no space left on device", "unexpected pos", "iostream error", "pytorchstreamwriter failed")


def is_disk_full(exc: BaseException) -> bool:
    """True when ``exc`` or an exception it was raised from is ENOSPC or a failed torch.save write."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
            return True
        if isinstance(exc, (OSError, RuntimeError)) and any(m in str(exc).lower() for m in _WRITE_MARKERS):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def classify(exc: BaseException) -> tuple[str, int]:
    """(kind, exit code) for an exception escaping a command."""
    if isinstance(exc, TrainerError):
        return exc.kind, exc.exit_code
    if is_oom(exc):
        return "oom", EXIT_OOM
    if is_disk_full(exc):
        return "disk", EXIT_DISK
    return "other", EXIT_OTHER
