"""File formats, the prompt/target text layout and the answer parser (no torch here).

Training / prediction input (JSON lines, one example per user turn)::

    {"dialogue_id": "PMUL4648", "turn": 3,
     "history": [{"speaker": "USER", "text": "..."}, {"speaker": "SYSTEM", "text": "..."}],
     "utterance": "the last user utterance",
     "state": {"hotel-area": "north", "hotel-bookday": "friday"}}

``history`` holds the turns *before* ``utterance``; ``state`` is the cumulative state after
it with canonical slot names (``domain-slot``, 2.2 spelling). ``state`` is required for
training and ignored by prediction. A value given as a list keeps its first element.

Prediction output (JSON lines, one per input line, same order)::

    {"dialogue_id": "PMUL4648", "turn": 3, "state": {"hotel-area": "north"}}

Model text: ``prompt`` = instruction + history + last user utterance, ending in
``State:\\n``; ``target`` = the state as JSON grouped by domain,
``{"hotel": {"area": "north"}}`` (``{}`` when empty), domains in MultiWOZ order and
slots sorted, so equal states always give equal targets.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Iterable, Iterator

from .errors import DataError

INSTRUCTION = (
    "Track the dialogue state: give every slot value the user has asked for so far, "
    "as JSON grouped by domain (restaurant, hotel, attraction, train, taxi), or {} if none."
)
HEADER = INSTRUCTION + "\n\nDialogue:\n"
STATE_MARKER = "\nState:\n"
SPEAKERS = ("USER", "SYSTEM")

# MultiWOZ's usual domain order; other domains follow alphabetically.
DOMAIN_ORDER = ("restaurant", "hotel", "attraction", "train", "taxi")
_DOMAIN_RANK = {d: i for i, d in enumerate(DOMAIN_ORDER)}


@dataclass
class Turn:
    speaker: str
    text: str


@dataclass
class Example:
    dialogue_id: str
    turn: int
    history: list[Turn]
    utterance: str
    state: dict[str, str] | None = None
    line_no: int = 0
    extra: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- state shape


def _domain_key(domain: str) -> tuple[int, str]:
    return (_DOMAIN_RANK.get(domain, len(DOMAIN_ORDER)), domain)


def group_state(flat: dict[str, str]) -> dict[str, dict[str, str]]:
    """``{"hotel-area": "north"}`` → ``{"hotel": {"area": "north"}}`` (canonical order).

    The key is split at its first ``-``; a key without one is kept under its own name as a
    domain with slot ``""`` is not meaningful, so it is rejected by ``parse_state``.
    """
    grouped: dict[str, dict[str, str]] = {}
    for key in sorted(flat, key=lambda k: (_domain_key(k.split("-", 1)[0]), k)):
        domain, slot = key.split("-", 1)
        grouped.setdefault(domain, {})[slot] = flat[key]
    return grouped


def flatten_state(grouped: dict) -> dict[str, str]:
    """``{"hotel": {"area": "north"}}`` → ``{"hotel-area": "north"}``.

    Tolerant, because it reads model output: a domain whose value is not an object is
    ignored; an already flat ``"hotel-area": "north"`` pair is kept; values that are
    numbers or booleans become strings; a list keeps its first element; empty values,
    ``null`` and ``"none"`` are dropped.
    """
    flat: dict[str, str] = {}
    if not isinstance(grouped, dict):
        return flat
    for domain, slots in grouped.items():
        if not isinstance(domain, str) or not domain.strip():
            continue
        domain = domain.strip().lower()
        if isinstance(slots, dict):
            for slot, value in slots.items():
                if not isinstance(slot, str) or not slot.strip():
                    continue
                v = _value_text(value)
                if v is not None:
                    flat[f"{domain}-{slot.strip().lower()}"] = v
        elif "-" in domain:
            v = _value_text(slots)
            if v is not None:
                flat[domain] = v
    return flat


def _value_text(value) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None or isinstance(value, (dict, list)):
        return None
    if isinstance(value, bool):
        value = "yes" if value else "no"
    text = str(value).strip()
    if not text or text.lower() in ("none", "null"):
        return None
    return text


def state_to_target(flat: dict[str, str]) -> str:
    """The training target: grouped state as compact-but-spaced JSON."""
    return json.dumps(group_state(flat), ensure_ascii=False)


def parse_answer(text: str) -> tuple[dict[str, str], bool]:
    """Parse generated text into a flat state. Returns ``(state, valid)``.

    The first JSON object in the text is decoded (anything after it is ignored). Text with
    no decodable object, or a decoded value that is not an object, counts as the empty
    state with ``valid=False``.
    """
    start = text.find("{")
    if start < 0:
        return {}, False
    try:
        obj, _ = json.JSONDecoder().raw_decode(text, start)
    except ValueError:
        return {}, False
    if not isinstance(obj, dict):
        return {}, False
    return flatten_state(obj), True


# --------------------------------------------------------------------------- prompt layout


def turn_line(speaker: str, text: str) -> str:
    return f"{speaker}: {' '.join(text.split())}\n"


def prompt_segments(ex: Example) -> tuple[str, list[str], str]:
    """(header, one line per history turn, tail with the last user utterance + marker).

    Tokenised segment by segment, so truncation can drop the oldest history lines while
    keeping the instruction and the last utterance (see ``features.encode_prompt``).
    """
    lines = [turn_line(t.speaker, t.text) for t in ex.history]
    tail = turn_line("USER", ex.utterance) + STATE_MARKER
    return HEADER, lines, tail


def build_prompt(ex: Example) -> str:
    header, lines, tail = prompt_segments(ex)
    return header + "".join(lines) + tail


# --------------------------------------------------------------------------- JSONL reading


def _fail(path: str, line_no: int, msg: str) -> DataError:
    return DataError(f"{path}:{line_no}: {msg}")


def _parse_state(raw, path: str, line_no: int) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise _fail(path, line_no, "'state' must be an object of slot -> value")
    state: dict[str, str] = {}
    for slot, value in raw.items():
        if not isinstance(slot, str) or "-" not in slot or slot.startswith("-") or slot.endswith("-"):
            raise _fail(path, line_no, f"slot name {slot!r} is not 'domain-slot'")
        v = _value_text(value)
        if v is not None:
            state[slot.strip().lower()] = v
    return state


def parse_example(obj, path: str, line_no: int, *, need_state: bool) -> Example:
    if not isinstance(obj, dict):
        raise _fail(path, line_no, "line is not a JSON object")
    did = obj.get("dialogue_id")
    if not isinstance(did, str) or not did:
        raise _fail(path, line_no, "'dialogue_id' must be a non-empty string")
    turn = obj.get("turn")
    if isinstance(turn, bool) or not isinstance(turn, int) or turn < 0:
        raise _fail(path, line_no, "'turn' must be an integer >= 0")
    utterance = obj.get("utterance")
    if not isinstance(utterance, str):
        raise _fail(path, line_no, "'utterance' must be a string")
    raw_history = obj.get("history", [])
    if not isinstance(raw_history, list):
        raise _fail(path, line_no, "'history' must be a list")
    history: list[Turn] = []
    for i, t in enumerate(raw_history):
        if not isinstance(t, dict) or not isinstance(t.get("text"), str):
            raise _fail(path, line_no, f"history[{i}] must be {{speaker, text}}")
        speaker = str(t.get("speaker", "")).upper()
        if speaker not in SPEAKERS:
            raise _fail(path, line_no, f"history[{i}].speaker must be USER or SYSTEM")
        history.append(Turn(speaker, t["text"]))
    if need_state and "state" not in obj:
        raise _fail(path, line_no, "'state' is required for training")
    state = _parse_state(obj.get("state"), path, line_no) if "state" in obj else None
    return Example(did, turn, history, utterance, state, line_no)


def iter_jsonl(path: str) -> Iterator[tuple[int, object]]:
    """(1-based line number, decoded object) for every non-blank line."""
    try:
        fh = open(path, "r", encoding="utf-8")
    except OSError as e:
        raise DataError(f"{path}: cannot read: {e.strerror or e}") from e
    with fh:
        try:
            for line_no, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    yield line_no, json.loads(line)
                except json.JSONDecodeError as e:
                    raise _fail(path, line_no, f"not JSON: {e.msg}") from e
        except UnicodeDecodeError as e:
            raise DataError(f"{path}: not UTF-8 text: {e}") from e


def read_examples(path: str, *, need_state: bool) -> list[Example]:
    if os.path.isdir(path):
        raise DataError(f"{path}: is a directory, expected a JSON-lines file")
    examples = [parse_example(obj, path, n, need_state=need_state) for n, obj in iter_jsonl(path)]
    if not examples:
        raise DataError(f"{path}: no examples (empty file)")
    return examples


def file_info(path: str) -> dict:
    """sha256, byte size and line count of a file (for dst_trainer.json)."""
    h = hashlib.sha256()
    size = 0
    lines = 0
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
            size += len(chunk)
            lines += chunk.count(b"\n")
    return {"path": os.path.abspath(path), "sha256": h.hexdigest(), "bytes": size, "lines": lines}


def training_texts(examples: Iterable[Example]) -> Iterator[str]:
    """Every distinct text the model will see (for training the --tiny tokenizer)."""
    yield HEADER + STATE_MARKER
    seen: set[str] = set()
    for ex in examples:
        for t in ex.history:
            line = turn_line(t.speaker, t.text)
            if line not in seen:
                seen.add(line)
                yield line
        yield turn_line("USER", ex.utterance)
        yield state_to_target(ex.state or {})
