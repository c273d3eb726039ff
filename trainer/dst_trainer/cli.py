"""Command line: ``python -m dst_trainer {train,predict,convert-multiwoz21} ...``.

stdout carries only JSON-lines events; logs and tracebacks go to stderr. Exit codes:
0 done, 2 config or data error, 3 out of memory, 1 anything else, 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback

from . import __version__
from .errors import EXIT_INTERRUPTED, ConfigError, classify
from .events import emit, rank, take_over_stdout


class _Parser(argparse.ArgumentParser):
    """argparse that raises ConfigError (→ error event, exit 2) instead of exiting."""

    def error(self, message):
        raise ConfigError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    from . import options, predict

    parser = _Parser(prog="dst_trainer", description="DST fine-tuning and prediction (JSON-lines events on stdout)")
    parser.add_argument("--version", action="version", version=f"dst_trainer {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    options.add_arguments(sub.add_parser("train", help="fine-tune a causal LM on DST examples"))
    predict.add_arguments(sub.add_parser("predict", help="predict dialogue states"))
    conv = sub.add_parser("convert-multiwoz21", help="MultiWOZ 2.1/2.4 data.json(.zip) -> training JSON lines")
    conv.add_argument("--input", required=True)
    conv.add_argument("--out", required=True)
    conv.add_argument("--limit", type=int, default=None, help="first N dialogues")
    conv.add_argument("--ids", default=None, help="comma-separated dialogue ids")
    conv22 = sub.add_parser("convert-multiwoz22",
                            help="MultiWOZ 2.2-layout dialogues (a folder of dialogues_*.json, e.g. simulate's "
                                 "multiwoz22/) -> training JSON lines")
    conv22.add_argument("--input", required=True)
    conv22.add_argument("--out", required=True)
    conv22.add_argument("--limit", type=int, default=None, help="first N dialogues")
    return parser


def _convert(args) -> dict:
    from .errors import DataError
    from . import multiwoz21, multiwoz22

    if args.command == "convert-multiwoz22":
        rows = multiwoz22.convert(args.input, args.limit)
    else:
        rows = multiwoz21.convert(args.input, args.limit, args.ids.split(",") if args.ids else None)
    n = 0
    try:
        with open(args.out, "w", encoding="utf-8") as fh:
            for ex in rows:
                fh.write(json.dumps(ex, ensure_ascii=False) + "\n")
                n += 1
    except (OSError, ValueError, KeyError) as e:
        raise DataError(f"{args.input}: {e}") from e
    done = {"event": "done", "output": args.out, "count": n}
    emit(done)
    return done


def exit_with_parent() -> None:
    """With DST_TRAINER_EXIT_WITH_PARENT=1 the parent holds our stdin open: EOF means it died
    (a SIGKILLed worker), so stop too — a retried activity must never race an orphaned
    trainer writing the same --out."""
    import os
    import signal
    import threading

    if os.environ.get("DST_TRAINER_EXIT_WITH_PARENT") != "1":
        return

    def watch() -> None:
        # os.read on the raw descriptor: sys.stdin's buffered reader would hold its lock and
        # abort the interpreter at a normal exit.
        try:
            while os.read(0, 65536):
                pass
        except OSError:
            pass
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def main(argv: list[str] | None = None, *, own_stdout: bool = True) -> int:
    """Run a command; returns the exit code. ``own_stdout`` diverts fd 1 to stderr first."""
    # OpenMP threads that spin while waiting for each other are ruinous on a busy machine:
    # measured on 2 shared cores (load ~12), a SmolLM2-135M step took 50 s with 2 spinning
    # threads, 10 s with 1 thread, 11 s with 2 passive ones. Set before torch loads OpenMP.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if own_stdout:
        take_over_stdout()
    exit_with_parent()
    try:
        args = build_parser().parse_args(argv)
        if args.command == "train":
            from .train import run
        elif args.command == "predict":
            from .predict import run
        else:
            run = _convert
        run(args)
        return 0
    except SystemExit as e:  # --help / --version
        return int(e.code or 0) if isinstance(e.code, int) else 0
    except KeyboardInterrupt:
        emit({"event": "error", "kind": "other", "message": "interrupted", "rank": rank()}, all_ranks=True)
        return EXIT_INTERRUPTED
    except BaseException as e:  # noqa: BLE001 - every failure becomes an error event
        kind, code = classify(e)
        if kind in ("other", "oom", "disk"):
            traceback.print_exc(file=sys.stderr)
        message = str(e) or type(e).__name__
        if kind == "disk":
            message = f"writing failed, most likely a full disk ({_free_space(args_out(argv))}): {message}"
        if kind == "other":
            message = f"{type(e).__name__}: {message}"
        emit({"event": "error", "kind": kind, "message": message[:4000], "rank": rank()}, all_ranks=True)
        return code


def args_out(argv: list[str] | None) -> str:
    """The --out of the command line (where checkpoints are written), else the working folder."""
    argv = list(sys.argv[1:] if argv is None else argv)
    for i, a in enumerate(argv):
        if a == "--out" and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith("--out="):
            return a.split("=", 1)[1]
    return "."


def _free_space(path: str) -> str:
    import shutil

    probe = os.path.abspath(path)
    while probe and not os.path.exists(probe):
        probe = os.path.dirname(probe)
    try:
        free = shutil.disk_usage(probe or ".").free
    except OSError:
        return f"free space under {path} unknown"
    return f"{free / 2**30:.1f} GiB free under {probe}"


def console_main() -> None:
    """Entry point of the ``dst-trainer`` console script."""
    raise SystemExit(main())
