"""Convert MultiWOZ 2.2-layout dialogues into trainer JSON lines (dev utility, like
``multiwoz21``): ``dialogues_*.json`` files (or any ``.json`` file holding a list of
dialogues) — what ``dst-synth simulate`` writes under ``multiwoz22/``.

Each dialogue is ``{dialogue_id, turns: [{speaker, utterance, frames: [{service, state:
{slot_values: {"hotel-area": ["north"]}}}]}]}``; the state after a user turn is the union of
its frames' ``slot_values`` (first value of each list), 5 tracked domains only. ``turn`` is
the 0-based index of the user turn.
"""

from __future__ import annotations

import json
import os
from typing import Iterator

from .multiwoz21 import DONTCARE, EMPTY, TRACKED_DOMAINS


def _files(path: str) -> list[str]:
    if os.path.isfile(path):
        return [path]
    found = []
    for root, _dirs, names in os.walk(path):
        for name in names:
            if name.endswith(".json") and name != "schema.json":
                found.append(os.path.join(root, name))
    # dialogues_001.json, dialogues_002.json, ... in order
    return sorted(found)


def turn_state(turn: dict) -> dict[str, str]:
    state: dict[str, str] = {}
    for frame in turn.get("frames") or []:
        if frame.get("service") not in TRACKED_DOMAINS:
            continue
        for slot, values in ((frame.get("state") or {}).get("slot_values") or {}).items():
            value = values[0] if isinstance(values, list) and values else values
            if not isinstance(value, str):
                continue
            v = value.strip().lower()
            if v in EMPTY:
                continue
            state[slot.strip().lower().replace(" ", "")] = "dontcare" if v in DONTCARE else v
    return state


def dialogue_examples(dialogue: dict) -> Iterator[dict]:
    history: list[dict] = []
    k = 0
    for turn in dialogue.get("turns") or []:
        speaker = str(turn.get("speaker", "")).upper()
        text = turn.get("utterance") or ""
        if speaker == "USER":
            yield {"dialogue_id": dialogue["dialogue_id"], "turn": k, "history": list(history),
                   "utterance": text, "state": turn_state(turn)}
            k += 1
        history.append({"speaker": "USER" if speaker == "USER" else "SYSTEM", "text": text})


def convert(path: str, limit: int | None = None) -> Iterator[dict]:
    n = 0
    for file in _files(path):
        with open(file, encoding="utf-8") as fh:
            data = json.load(fh)
        if not isinstance(data, list):
            continue  # not a dialogue file (summary.json, data.json, ...)
        for dialogue in data:
            if limit is not None and n >= limit:
                return
            if isinstance(dialogue, dict) and "turns" in dialogue and "dialogue_id" in dialogue:
                n += 1
                yield from dialogue_examples(dialogue)
