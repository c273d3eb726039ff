"""Prompt/target layout, state grouping and flattening, input validation, the 2.1 converter."""

import json

import pytest

from dst_trainer.data import (
    HEADER,
    INSTRUCTION,
    STATE_MARKER,
    Example,
    Turn,
    build_prompt,
    flatten_state,
    group_state,
    parse_answer,
    parse_example,
    read_examples,
    state_to_target,
)
from dst_trainer.errors import DataError

# The standard 30 slots, canonical spelling (multiwoz/slots.ts TRACKED_SLOTS).
TRACKED = [
    "hotel-area", "hotel-bookday", "hotel-bookpeople", "hotel-bookstay", "hotel-internet", "hotel-name",
    "hotel-parking", "hotel-pricerange", "hotel-stars", "hotel-type", "train-arriveby", "train-bookpeople",
    "train-day", "train-departure", "train-destination", "train-leaveat", "restaurant-area",
    "restaurant-bookday", "restaurant-bookpeople", "restaurant-booktime", "restaurant-food", "restaurant-name",
    "restaurant-pricerange", "attraction-area", "attraction-name", "attraction-type", "taxi-arriveby",
    "taxi-departure", "taxi-destination", "taxi-leaveat",
]


def test_group_and_flatten_round_trip_all_30_slots():
    flat = {slot: f"v{i}" for i, slot in enumerate(TRACKED)}
    grouped = group_state(flat)
    assert list(grouped) == ["restaurant", "hotel", "attraction", "train", "taxi"]
    assert grouped["hotel"]["bookday"] == flat["hotel-bookday"]
    assert grouped["train"]["leaveat"] == flat["train-leaveat"]
    assert all(list(slots) == sorted(slots) for slots in grouped.values())
    assert flatten_state(grouped) == flat
    assert flatten_state(json.loads(state_to_target(flat))) == flat


def test_target_json_shape():
    assert state_to_target({}) == "{}"
    assert state_to_target({"hotel-area": "north", "hotel-pricerange": "cheap", "taxi-leaveat": "17:15"}) == (
        '{"hotel": {"area": "north", "pricerange": "cheap"}, "taxi": {"leaveat": "17:15"}}'
    )
    # Equal states give equal targets whatever the key order.
    a = {"train-day": "monday", "hotel-area": "north"}
    assert state_to_target(a) == state_to_target(dict(reversed(list(a.items()))))


def test_prompt_has_instruction_history_and_last_utterance_last():
    ex = Example("PMUL1", 1, [Turn("USER", "I need a  hotel."), Turn("SYSTEM", "Which area?")], "The north, please.")
    prompt = build_prompt(ex)
    assert prompt.startswith(INSTRUCTION)
    assert prompt == HEADER + "USER: I need a hotel.\nSYSTEM: Which area?\nUSER: The north, please.\n" + STATE_MARKER
    assert prompt.endswith("USER: The north, please.\n\nState:\n")
    # First turn: no history.
    assert build_prompt(Example("PMUL1", 0, [], "Hi")) == HEADER + "USER: Hi\n" + STATE_MARKER


@pytest.mark.parametrize("text,state,valid", [
    ('{"hotel": {"area": "north"}}', {"hotel-area": "north"}, True),
    (' {"hotel": {"area": "north", "stars": 4}, "taxi": {}}</s> junk', {"hotel-area": "north", "hotel-stars": "4"}, True),
    ("{}", {}, True),
    ('{"hotel-area": "north"}', {"hotel-area": "north"}, True),  # flat answers are accepted too
    ('{"hotel": {"area": ["north", "east"], "name": null, "type": ""}}', {"hotel-area": "north"}, True),
    ('{"hotel": "north"}', {}, True),
    ('{"hotel": {"area": "nor', {}, False),  # cut off by max_new_tokens
    ("no idea", {}, False),
    ("", {}, False),
    ("[1, 2]", {}, False),
    ('{"hotel": {"area": "north"', {}, False),
])
def test_parse_answer(text, state, valid):
    assert parse_answer(text) == (state, valid)


def test_parse_example_validation():
    good = {"dialogue_id": "d", "turn": 0, "history": [], "utterance": "hi", "state": {"hotel-area": ["north"]}}
    ex = parse_example(good, "f", 1, need_state=True)
    assert ex.state == {"hotel-area": "north"}  # list -> first value
    ex = parse_example({**good, "state": {"hotel-area": "", "hotel-name": "none", "hotel-stars": 4}}, "f", 1,
                       need_state=True)
    assert ex.state == {"hotel-stars": "4"}
    no_state = {k: v for k, v in good.items() if k != "state"}
    assert parse_example(no_state, "f", 1, need_state=False).state is None
    bad = [
        (no_state, "'state' is required"),
        ({**good, "turn": -1}, "'turn'"),
        ({**good, "turn": "3"}, "'turn'"),
        ({**good, "dialogue_id": ""}, "'dialogue_id'"),
        ({**good, "utterance": None}, "'utterance'"),
        ({**good, "history": [{"speaker": "BOT", "text": "x"}]}, "speaker"),
        ({**good, "state": {"area": "north"}}, "domain-slot"),
        ([1], "not a JSON object"),
    ]
    for obj, msg in bad:
        with pytest.raises(DataError, match=msg):
            parse_example(obj, "f.jsonl", 7, need_state=True)


def test_read_examples_reports_file_and_line(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"dialogue_id": "a", "turn": 0, "utterance": "hi", "state": {}}\n\n{not json\n')
    with pytest.raises(DataError, match=r"x.jsonl:3: not JSON"):
        read_examples(str(path), need_state=True)
    with pytest.raises(DataError, match="cannot read"):
        read_examples(str(tmp_path / "missing.jsonl"), need_state=True)
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(DataError, match="no examples"):
        read_examples(str(tmp_path / "empty.jsonl"), need_state=True)


def test_multiwoz21_conversion_of_a_real_dialogue(mwz_rows):
    # SNG0073 is the first test dialogue: a taxi from Saint John's college to Pizza Hut Fen Ditton.
    rows = [r for r in mwz_rows if r["dialogue_id"] == "SNG0073"]
    assert [r["turn"] for r in rows] == list(range(len(rows)))
    first = rows[0]
    assert first["history"] == []
    assert first["state"] == {"taxi-destination": "pizza hut fenditton", "taxi-departure": "saint johns college"}
    second = rows[1]
    assert [t["speaker"] for t in second["history"]] == ["USER", "SYSTEM"]
    assert second["history"][0]["text"] == first["utterance"]
    assert second["state"]["taxi-leaveat"] == "17:15"
    # Cumulative: later states keep earlier slots.
    for a, b in zip(rows, rows[1:]):
        assert set(a["state"]) <= set(b["state"])
    # Every converted line parses as a training example with canonical slot names.
    for i, r in enumerate(mwz_rows, 1):
        ex = parse_example(r, "converted", i, need_state=True)
        assert all(k == k.lower() and " " not in k and "-" in k for k in ex.state)
    assert 40 <= len(mwz_rows) <= 80
