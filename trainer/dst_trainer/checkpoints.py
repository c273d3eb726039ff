"""The ``--out`` folder: ``checkpoint-N`` directories (complete once ``trainer_state.json``,
written last by the HF Trainer, is readable), and the run's JSON files written atomically."""

from __future__ import annotations

import json
import os
import re
import shutil

CHECKPOINT_RE = re.compile(r"^checkpoint-(\d+)$")
META_FILE = "dst_trainer.json"
ARGS_FILE = "training_args.json"


def find_checkpoints(out: str) -> list[tuple[int, str]]:
    """Complete ``checkpoint-N`` dirs in ``out`` (trainer_state.json readable), oldest first."""
    found = []
    if not os.path.isdir(out):
        return found
    for name in os.listdir(out):
        m = CHECKPOINT_RE.match(name)
        path = os.path.join(out, name)
        if not m or not os.path.isdir(path):
            continue
        try:
            with open(os.path.join(path, "trainer_state.json")) as fh:
                json.load(fh)
        except (OSError, ValueError):
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
