"""Convert MultiWOZ 2.1/2.4 ``data.json`` dialogues into trainer JSON lines (dev utility).

The TypeScript side writes the real training files; this converter exists for smoke tests
and for trying the trainer on real dialogues. Layout: even ``log`` entries are user
turns, odd ones system turns whose ``metadata`` holds the belief state after the preceding
user turn (``semi`` + ``book`` per domain). Only the 5 tracked domains are kept; slot
names are canonicalised (``leaveAt`` → ``leaveat``, book ``day`` → ``bookday``); empty and
``not mentioned`` values are dropped and the ``dont care`` spellings become ``dontcare``.
``turn`` is the 0-based index of the user turn, as ``dst-synth eval`` expects.
"""

from __future__ import annotations

import json
import zipfile
from typing import Iterator

TRACKED_DOMAINS = ("restaurant", "hotel", "attraction", "train", "taxi")
EMPTY = {"", "not mentioned", "none"}
DONTCARE = {"dont care", "don't care", "do n't care", "do not care", "dontcare"}


def load_data_json(path: str) -> dict:
    """A ``data.json`` file, or a zip holding exactly one ``.json`` member."""
    if path.endswith(".zip"):
        with zipfile.ZipFile(path) as z:
            names = [n for n in z.namelist() if n.endswith(".json")]
            if len(names) != 1:
                raise ValueError(f"{path}: expected one .json member, found {names}")
            return json.loads(z.read(names[0]))
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def metadata_state(metadata: dict) -> dict[str, str]:
    state: dict[str, str] = {}
    for domain in TRACKED_DOMAINS:
        d = metadata.get(domain) or {}
        slots = [(k, v) for k, v in (d.get("semi") or {}).items()]
        slots += [("book" + k, v) for k, v in (d.get("book") or {}).items() if k != "booked"]
        for slot, value in slots:
            if not isinstance(value, str):
                continue
            v = value.strip().lower()
            if v in EMPTY:
                continue
            if v in DONTCARE:
                v = "dontcare"
            state[f"{domain}-{slot.lower().replace(' ', '')}"] = v
    return state


def dialogue_examples(dialogue_id: str, dialogue: dict) -> Iterator[dict]:
    log = dialogue.get("log") or []
    did = dialogue_id[:-5] if dialogue_id.endswith(".json") else dialogue_id
    for k in range(0, len(log), 2):
        if k + 1 >= len(log):
            break  # a trailing user turn has no labelled state
        history = [{"speaker": "USER" if i % 2 == 0 else "SYSTEM", "text": log[i]["text"]} for i in range(k)]
        yield {
            "dialogue_id": did,
            "turn": k // 2,
            "history": history,
            "utterance": log[k]["text"],
            "state": metadata_state(log[k + 1].get("metadata") or {}),
        }


def convert(path: str, limit: int | None = None, ids: list[str] | None = None) -> Iterator[dict]:
    data = load_data_json(path)
    keys = list(data)
    if ids:
        wanted = {i if i.endswith(".json") else i + ".json" for i in ids} | set(ids)
        keys = [k for k in keys if k in wanted]
    if limit is not None:
        keys = keys[:limit]
    for key in keys:
        yield from dialogue_examples(key, data[key])
