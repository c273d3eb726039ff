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

That is the default layout (``--prompt full --target json``, the paper's). A shorter,
documented alternative for small models on CPUs (``Layout``):

- ``--prompt short``: instruction + the *previous* state + the last system turn + the last
  user utterance (not the whole history). Training takes the previous state from the gold
  state of the dialogue's previous turn in the same file; prediction carries its *own*
  predicted state forward turn by turn (``predict`` runs the turns of each dialogue in order).
- ``--target pairs``: the full state as ``domain-slot=value; domain-slot=value`` (``none``
  when empty), canonical order.
- ``--target update`` (needs ``--prompt short``): only what the last turn changes, as
  ``domain-slot=value; …`` pairs (``domain-slot=none`` removes a slot; ``none`` = no
  change); the predicted state is the previous state with the changes applied.
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

# --prompt short: the instruction, then "Previous state: <pairs>" (never truncated), the last
# system turn (dropped first when too long), the last user utterance and the marker.
SHORT_INSTRUCTION = "Track the dialogue state (domain-slot=value pairs) after the user's last turn."
SHORT_STATE_MARKER = "State:\n"
SHORT_UPDATE_MARKER = "Changes:\n"
NONE_TEXT = "none"

PROMPTS = ("full", "short")
TARGETS = ("json", "pairs", "update")

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
    # --prompt short: the state before this turn (gold when training, predicted when predicting).
    prev_state: dict[str, str] | None = None


@dataclass(frozen=True)
class Layout:
    """How an example becomes text: ``prompt`` full|short, ``target`` json|pairs|update."""

    prompt: str = "full"
    target: str = "json"

    def check(self) -> "Layout":
        if self.prompt not in PROMPTS:
            raise ValueError(f"prompt layout {self.prompt!r}: expected one of {', '.join(PROMPTS)}")
        if self.target not in TARGETS:
            raise ValueError(f"target layout {self.target!r}: expected one of {', '.join(TARGETS)}")
        if self.target == "update" and self.prompt != "short":
            raise ValueError("--target update needs --prompt short (it is relative to the previous state)")
        return self

    @property
    def carries_state(self) -> bool:
        """Prediction must feed each turn the state predicted for the turn before."""
        return self.prompt == "short"

    def as_dict(self) -> dict:
        return {"prompt": self.prompt, "target": self.target}

    @classmethod
    def from_meta(cls, meta: dict | None) -> "Layout":
        fmt = (meta or {}).get("format") or {}
        return cls(fmt.get("prompt", "full"), fmt.get("target", "json")).check()


DEFAULT_LAYOUT = Layout()


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


def ordered_items(flat: dict[str, str]) -> list[tuple[str, str]]:
    """``(slot, value)`` in canonical order: MultiWOZ domain order, then slot name."""
    return sorted(flat.items(), key=lambda kv: (_domain_key(kv[0].split("-", 1)[0]), kv[0]))


def state_to_pairs(flat: dict[str, str]) -> str:
    """``{"hotel-area": "north", "hotel-stars": "4"}`` → ``hotel-area=north; hotel-stars=4`` (``none`` if empty)."""
    items = ordered_items(flat)
    return "; ".join(f"{k}={' '.join(str(v).split())}" for k, v in items) if items else NONE_TEXT


def state_changes(prev: dict[str, str], state: dict[str, str]) -> dict[str, str]:
    """What turns ``prev`` into ``state``: new or changed slots, and ``slot: "none"`` for removed ones."""
    changes = {k: v for k, v in state.items() if prev.get(k) != v}
    changes.update({k: NONE_TEXT for k in prev if k not in state})
    return changes


def apply_changes(prev: dict[str, str], changes: dict[str, str]) -> dict[str, str]:
    state = dict(prev)
    for k, v in changes.items():
        if v == NONE_TEXT:
            state.pop(k, None)
        else:
            state[k] = v
    return state


def parse_pairs(text: str, *, keep_none: bool = False) -> tuple[dict[str, str], bool]:
    """``hotel-area=north; hotel-stars=4`` → flat state. Returns ``(state, valid)``.

    ``none`` alone is the empty state. A part that is not ``domain-slot=value`` makes the
    answer invalid (the well-formed parts are still returned). ``keep_none`` keeps
    ``slot=none`` pairs (removals in an update); otherwise they are dropped.
    """
    text = text.strip()
    if not text or text.lower() == NONE_TEXT:
        return {}, bool(text)
    state: dict[str, str] = {}
    valid = True
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        slot, sep, value = part.partition("=")
        slot, value = slot.strip().lower(), " ".join(value.split())
        if not sep or "-" not in slot or slot.startswith("-") or slot.endswith("-") or " " in slot or not value:
            valid = False
            continue
        if value.lower() in ("none", "null"):
            if keep_none:
                state[slot] = NONE_TEXT
            continue
        state[slot] = value
    return state, valid


def target_text(ex: "Example", layout: Layout = DEFAULT_LAYOUT) -> str:
    """The training target of ``ex`` in ``layout``."""
    state = ex.state or {}
    if layout.target == "json":
        return state_to_target(state)
    if layout.target == "pairs":
        return state_to_pairs(state)
    return state_to_pairs(state_changes(ex.prev_state or {}, state))


def answer_to_state(text: str, finished: bool, prev: dict[str, str] | None,
                    layout: Layout = DEFAULT_LAYOUT) -> tuple[dict[str, str], bool]:
    """Generated text → ``(predicted state, valid)``.

    ``finished`` is False when generation stopped at ``--max-new-tokens`` (no eos): JSON then
    fails to parse by itself; for pairs the last, possibly cut, pair is dropped and the answer
    counts as invalid. An invalid update keeps the previous state plus its well-formed pairs.
    """
    if layout.target == "json":
        return parse_answer(text)
    if not finished:
        text = text.rsplit(";", 1)[0] if ";" in text else ""
    if layout.target == "pairs":
        state, valid = parse_pairs(text)
        return state, valid and finished
    changes, valid = parse_pairs(text, keep_none=True)
    return apply_changes(prev or {}, changes), valid and finished


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


def prompt_segments(ex: Example, layout: Layout = DEFAULT_LAYOUT) -> tuple[str, list[str], str]:
    """(header, one line per history turn, tail with the last user utterance + marker).

    Tokenised segment by segment, so truncation can drop the oldest history lines while
    keeping the instruction and the last utterance (see ``features.encode_prompt``).
    ``--prompt short``: the header holds the previous state, the only history line is the
    last system turn.
    """
    if layout.prompt == "short":
        header = f"{SHORT_INSTRUCTION}\nPrevious state: {state_to_pairs(ex.prev_state or {})}\n"
        system = next((t for t in reversed(ex.history) if t.speaker == "SYSTEM"), None)
        lines = [turn_line("SYSTEM", system.text)] if system is not None else []
        marker = SHORT_UPDATE_MARKER if layout.target == "update" else SHORT_STATE_MARKER
        return header, lines, turn_line("USER", ex.utterance) + marker
    lines = [turn_line(t.speaker, t.text) for t in ex.history]
    tail = turn_line("USER", ex.utterance) + STATE_MARKER
    return HEADER, lines, tail


def build_prompt(ex: Example, layout: Layout = DEFAULT_LAYOUT) -> str:
    header, lines, tail = prompt_segments(ex, layout)
    return header + "".join(lines) + tail


def attach_previous_states(examples: list[Example]) -> None:
    """Sets each example's ``prev_state`` to the gold state of the same dialogue's previous
    turn in the list (by ``turn``; the nearest earlier one when turns are missing), ``{}`` for
    its first turn. For training with ``--prompt short``."""
    by_dialogue: dict[str, list[Example]] = {}
    for ex in examples:
        by_dialogue.setdefault(ex.dialogue_id, []).append(ex)
    for turns in by_dialogue.values():
        prev: dict[str, str] = {}
        for ex in sorted(turns, key=lambda e: e.turn):
            ex.prev_state = prev
            prev = ex.state or {}


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


def training_texts(examples: Iterable[Example], layout: Layout = DEFAULT_LAYOUT) -> Iterator[str]:
    """Every distinct text the model will see (for training the --tiny tokenizer)."""
    yield HEADER + STATE_MARKER
    if layout.prompt == "short":
        yield f"{SHORT_INSTRUCTION}\nPrevious state: {NONE_TEXT}\n{SHORT_STATE_MARKER}{SHORT_UPDATE_MARKER}"
    seen: set[str] = set()
    for ex in examples:
        for t in ex.history:
            line = turn_line(t.speaker, t.text)
            if line not in seen:
                seen.add(line)
                yield line
        yield turn_line("USER", ex.utterance)
        yield target_text(ex, layout)
