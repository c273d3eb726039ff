"""The JSON-lines event stream on stdout.

stdout carries *only* events, one JSON object per line, flushed at once. Everything else
(library warnings, prints from dependencies, even C-level writes) is diverted to stderr by
``take_over_stdout`` before any heavy import, so a reader can parse every stdout line.

Events: ``start``, ``progress``, ``checkpoint``, ``done``, ``error`` (see README.md).
Under torchrun/accelerate only the main process emits, except ``error`` which any rank may
emit (with its ``rank``).
"""

from __future__ import annotations

import json
import math
import os
import sys
import threading
from typing import Any, Callable, TextIO

_lock = threading.Lock()
_stream: TextIO | None = None


def take_over_stdout() -> None:
    """Keep a private handle on the real stdout and point fd 1 (and sys.stdout) at stderr."""
    global _stream
    if _stream is not None:
        return
    sys.stdout.flush()
    real_fd = os.dup(1)
    _stream = os.fdopen(real_fd, "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def rank() -> int:
    for var in ("RANK", "LOCAL_RANK"):
        if os.environ.get(var):
            try:
                return int(os.environ[var])
            except ValueError:
                pass
    return 0


def is_main_process() -> bool:
    return rank() == 0


Emitter = Callable[[dict], None]


def emit(event: dict, *, all_ranks: bool = False) -> None:
    """Write one event line (main process only unless ``all_ranks``)."""
    if not all_ranks and not is_main_process():
        return
    line = json.dumps(_clean(event), ensure_ascii=False, allow_nan=False)
    with _lock:
        stream = _stream if _stream is not None else sys.stdout
        stream.write(line + "\n")
        stream.flush()
