"""Shared fixtures: real MultiWOZ 2.1 test dialogues converted to trainer JSON lines, and a
runner for the CLI as a child process (as the TypeScript activity runs it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

TRAINER_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = TRAINER_DIR.parent

# Tiny models are slowed down badly by OpenMP's second thread on a busy 2-core machine.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def multiwoz_dir() -> Path:
    """Same search order as multiwoz/paths.ts: $MULTIWOZ_DIR, ../shared next to the repo."""
    for cand in (os.environ.get("MULTIWOZ_DIR"), REPO_ROOT.parent / "shared/data/multiwoz",
                 "/work/shared/data/multiwoz"):
        if cand and (Path(cand) / "2.1/test.json.zip").exists():
            return Path(cand)
    pytest.skip("MultiWOZ 2.1 test.json.zip not found (set MULTIWOZ_DIR)")


@pytest.fixture(scope="session")
def mwz_rows() -> list[dict]:
    """Examples of the first 6 dialogues of the real MultiWOZ 2.1 test split (~50 turns)."""
    from dst_trainer.multiwoz21 import convert

    return list(convert(str(multiwoz_dir() / "2.1/test.json.zip"), limit=6))


@pytest.fixture(scope="session")
def train_file(tmp_path_factory, mwz_rows) -> Path:
    path = tmp_path_factory.mktemp("data") / "train.jsonl"
    with open(path, "w") as fh:
        for row in mwz_rows:
            fh.write(json.dumps(row) + "\n")
    return path


@pytest.fixture(scope="session")
def tiny_tokenizer(mwz_rows):
    from dst_trainer.data import parse_example, training_texts
    from dst_trainer.tiny import train_tokenizer

    examples = [parse_example(r, "fixture", i, need_state=True) for i, r in enumerate(mwz_rows, 1)]
    return train_tokenizer(training_texts(examples), 1024)


class CliResult:
    def __init__(self, proc: subprocess.CompletedProcess):
        self.rc = proc.returncode
        self.stderr = proc.stderr
        self.stdout = proc.stdout
        # Every stdout line must be a JSON event: that is the protocol.
        self.events = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]

    def of(self, kind: str) -> list[dict]:
        return [e for e in self.events if e.get("event") == kind]

    def __repr__(self):
        # The error first: pytest -q cuts a long assertion message after its first lines.
        # torchrun's own summary names the failed rank, its exit code or signal and the root cause.
        markers = ("Error", "error:", "exitcode", "Root Cause", "traceback :", "signal")
        errors = [ln.strip() for ln in self.stderr.splitlines() if any(m in ln for m in markers)][-8:]
        return (f"rc={self.rc}; errors: {' | '.join(errors)}\nstderr (tail):\n{self.stderr[-3000:]}"
                f"\nstdout:\n{self.stdout}")


def run_cli(*args: str, timeout: float = 300) -> CliResult:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(TRAINER_DIR) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-m", "dst_trainer", *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=timeout, cwd=TRAINER_DIR)
    return CliResult(proc)


@pytest.fixture(scope="session")
def cli():
    return run_cli
