"""The ``--out`` folder: ``checkpoint-N`` directories (complete once ``trainer_state.json``,
written last by the HF Trainer's rank 0, is readable, and — for a multi-process run, whose
other ranks write their own files after it — once every rank is done, which rank 0 marks
with ``COMPLETE_FILE``), and the run's JSON files written atomically."""

from __future__ import annotations

import json
import os
import re
import shutil

CHECKPOINT_RE = re.compile(r"^checkpoint-(\d+)$")
META_FILE = "dst_trainer.json"
ARGS_FILE = "training_args.json"
COMPLETE_FILE = "dst_trainer_complete"
# One RNG file per rank (rng_state_<rank>.pth) marks a checkpoint of a multi-process run.
RANK_RNG_RE = re.compile(r"^rng_state_\d+\.pth$")


def mark_complete(checkpoint: str) -> None:
    """Rank 0, after every rank has saved: the checkpoint may be resumed from."""
    with open(os.path.join(checkpoint, COMPLETE_FILE), "w") as fh:
        fh.write("every rank saved\n")


def is_complete(checkpoint: str) -> bool:
    try:
        with open(os.path.join(checkpoint, "trainer_state.json")) as fh:
            json.load(fh)
        names = os.listdir(checkpoint)
    except (OSError, ValueError):
        return False
    return COMPLETE_FILE in names or not any(RANK_RNG_RE.match(n) for n in names)


def find_checkpoints(out: str) -> list[tuple[int, str]]:
    """Complete ``checkpoint-N`` dirs in ``out`` (see the module comment), oldest first."""
    found = []
    if not os.path.isdir(out):
        return found
    for name in os.listdir(out):
        m = CHECKPOINT_RE.match(name)
        path = os.path.join(out, name)
        if not m or not os.path.isdir(path) or not is_complete(path):
            continue
        found.append((int(m.group(1)), path))
    return sorted(found)


def remove_incomplete_checkpoints(out: str) -> list[str]:
    complete = {p for _, p in find_checkpoints(out)}
    removed = []
    if not os.path.isdir(out):
        return removed
    for name in os.listdir(out):
        path = os.path.join(out, name)
        if CHECKPOINT_RE.match(name) and os.path.isdir(path) and path not in complete:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def read_json(path: str):
    try:
        with open(path) as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def write_json(path: str, obj) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(obj, fh, indent=2, ensure_ascii=False, default=str)
        fh.write("\n")
    os.replace(tmp, path)
