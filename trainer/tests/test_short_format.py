"""--prompt short / --target pairs|update: the text layout, the targets, and prediction that
carries its own predicted state forward turn by turn (also across chunks and after a resume);
--time-budget; the logits-only-where-needed loss."""

import argparse
import json

import pytest
import torch

from dst_trainer import predict
from dst_trainer.data import (
    SHORT_INSTRUCTION,
    Example,
    Layout,
    Turn,
    answer_to_state,
    apply_changes,
    attach_previous_states,
    build_prompt,
    parse_example,
    parse_pairs,
    state_changes,
    state_to_pairs,
    target_text,
)
from dst_trainer.features import IGNORE_INDEX, encode_example, encode_prompt

SHORT_UPDATE = Layout("short", "update")
SHORT_PAIRS = Layout("short", "pairs")


def test_layout_checks():
    assert Layout().as_dict() == {"prompt": "full", "target": "json"}
    assert Layout.from_meta({}) == Layout() and Layout.from_meta({"format": SHORT_UPDATE.as_dict()}) == SHORT_UPDATE
    with pytest.raises(ValueError, match="needs --prompt short"):
        Layout("full", "update").check()
    with pytest.raises(ValueError):
        Layout("long", "json").check()
    assert Layout("full", "pairs").check() and SHORT_UPDATE.carries_state and not Layout().carries_state


def test_pairs_text_round_trip_and_canonical_order():
    state = {"taxi-leaveat": "17:15", "hotel-area": "north", "restaurant-food": "modern  european"}
    text = state_to_pairs(state)
    assert text == "restaurant-food=modern european; hotel-area=north; taxi-leaveat=17:15"
    assert parse_pairs(text) == ({**state, "restaurant-food": "modern european"}, True)
    assert state_to_pairs({}) == "none" and parse_pairs("none") == ({}, True)
    assert parse_pairs("") == ({}, False)
    assert parse_pairs("hotel-area=north; garbage; =x") == ({"hotel-area": "north"}, False)
    assert parse_pairs("hotel-area=none; hotel-stars=4") == ({"hotel-stars": "4"}, True)
    assert parse_pairs("hotel-area=none", keep_none=True) == ({"hotel-area": "none"}, True)


def test_changes_and_their_application():
    prev = {"hotel-area": "north", "hotel-stars": "4", "train-day": "monday"}
    state = {"hotel-area": "south", "hotel-stars": "4", "hotel-parking": "yes"}
    changes = state_changes(prev, state)
    assert changes == {"hotel-area": "south", "hotel-parking": "yes", "train-day": "none"}
    assert apply_changes(prev, changes) == state
    assert state_changes(state, state) == {}


def test_short_prompt_has_previous_state_and_only_the_last_exchange():
    ex = Example("PMUL1", 2, [Turn("USER", "I need a hotel."), Turn("SYSTEM", "Which area?"),
                              Turn("USER", "North."), Turn("SYSTEM", "How many  stars?")],
                 "Four, with parking.", state={"hotel-area": "north", "hotel-stars": "4", "hotel-parking": "yes"},
                 prev_state={"hotel-area": "north"})
    prompt = build_prompt(ex, SHORT_UPDATE)
    assert prompt == (f"{SHORT_INSTRUCTION}\nPrevious state: hotel-area=north\n"
                      "SYSTEM: How many stars?\nUSER: Four, with parking.\nChanges:\n")
    assert "I need a hotel" not in prompt
    assert build_prompt(ex, SHORT_PAIRS).endswith("USER: Four, with parking.\nState:\n")
    assert target_text(ex, SHORT_UPDATE) == "hotel-parking=yes; hotel-stars=4"
    assert target_text(ex, SHORT_PAIRS) == "hotel-area=north; hotel-parking=yes; hotel-stars=4"
    assert target_text(Example("x", 0, [], "hi", state={}, prev_state={}), SHORT_UPDATE) == "none"
    # First turn: no system line, previous state "none".
    first = Example("PMUL1", 0, [], "Hi", state={})
    assert build_prompt(first, SHORT_UPDATE) == f"{SHORT_INSTRUCTION}\nPrevious state: none\nUSER: Hi\nChanges:\n"


def test_training_previous_states_come_from_the_gold_previous_turn(mwz_rows):
    rows = list(reversed(mwz_rows))  # order in the file does not matter
    examples = [parse_example(r, "f", i, need_state=True) for i, r in enumerate(rows, 1)]
    attach_previous_states(examples)
    by_key = {(e.dialogue_id, e.turn): e for e in examples}
    for e in examples:
        if e.turn == 0:
            assert e.prev_state == {}
        else:
            assert e.prev_state == by_key[(e.dialogue_id, e.turn - 1)].state
    # Applying each gold update to the gold previous state gives the gold state.
    for e in examples:
        assert apply_changes(e.prev_state, parse_pairs(target_text(e, SHORT_UPDATE), keep_none=True)[0]) == e.state


def test_short_encoding_masks_the_prompt_and_truncates_the_system_turn_first(tiny_tokenizer, mwz_rows):
    examples = [parse_example(r, "f", i, need_state=True) for i, r in enumerate(mwz_rows, 1)]
    attach_previous_states(examples)
    ex = next(e for e in examples if e.turn >= 2 and e.prev_state)
    enc = encode_example(tiny_tokenizer, ex, 4096, SHORT_UPDATE)
    prompt = encode_prompt(tiny_tokenizer, ex, 4096, SHORT_UPDATE)
    n = len(prompt)
    assert enc["labels"][:n] == [IGNORE_INDEX] * n and enc["labels"][n:] == enc["input_ids"][n:]
    assert tiny_tokenizer.decode(enc["input_ids"][n:-1]) == target_text(ex, SHORT_UPDATE)
    full = tiny_tokenizer.decode(prompt[1:])
    assert "Previous state: " + state_to_pairs(ex.prev_state) in full and "SYSTEM:" in full
    # Too long for the system turn: it goes, the previous state and the user turn stay.
    short = encode_prompt(tiny_tokenizer, ex, n - 1, SHORT_UPDATE)
    text = tiny_tokenizer.decode(short[1:])
    assert "SYSTEM:" not in text and "Previous state: " + state_to_pairs(ex.prev_state) in text
    assert text.endswith("Changes:\n")


def test_answers_of_each_target_kind():
    prev = {"hotel-area": "north", "hotel-stars": "4"}
    assert answer_to_state("hotel-stars=5; hotel-area=none", True, prev, SHORT_UPDATE) == ({"hotel-stars": "5"}, True)
    assert answer_to_state("none", True, prev, SHORT_UPDATE) == (prev, True)
    # Cut off by --max-new-tokens: the last, possibly cut, pair is dropped; invalid.
    assert answer_to_state("hotel-stars=5; hotel-parking=y", False, prev, SHORT_UPDATE) == (
        {"hotel-area": "north", "hotel-stars": "5"}, False)
    assert answer_to_state("garbage", True, prev, SHORT_UPDATE) == (prev, False)
    assert answer_to_state("hotel-area=east", True, prev, SHORT_PAIRS) == ({"hotel-area": "east"}, True)
    assert answer_to_state('{"hotel": {"area": "east"}}', True, None, Layout()) == ({"hotel-area": "east"}, True)


# --------------------------------------------------------------------------- carry-forward prediction


class _Updater:
    """Stands in for generation: every turn adds ``t<turn>-slot=<turn>`` to the previous state,
    read back from the prompt, so the output shows what state each turn was given."""

    def __init__(self, tokenizer):
        self.tok = tokenizer
        self.seen = []

    def __call__(self, model, tokenizer, prompts, *, max_new_tokens, num_beams, prev_states=None,
                 layout=None):
        assert layout == SHORT_UPDATE and prev_states is not None and len(prev_states) == len(prompts)
        out = []
        for ids, prev in zip(prompts, prev_states):
            text = self.tok.decode(ids)
            shown = text.split("Previous state: ", 1)[1].split("\n", 1)[0]
            assert parse_pairs(shown)[0] == prev  # the prompt holds exactly the carried state
            turn = len(prev)
            self.seen.append(dict(prev))
            out.append((apply_changes(prev, {f"t{turn}-slot": str(turn)}), True))
        return out


def _short_model(tmp_path):
    model = tmp_path / "short-model"
    model.mkdir()
    (model / "dst_trainer.json").write_text(json.dumps({
        "prompt_format": 1, "format": SHORT_UPDATE.as_dict(), "max_length": 100_000}))
    return model


def _input(tmp_path, rows):
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps({k: v for k, v in r.items() if k != "state"}) + "\n" for r in rows))
    return path


def _args(model, inp, out, batch_size=4):
    return argparse.Namespace(model=str(model), input=str(inp), out=str(out), batch_size=batch_size,
                              max_new_tokens=8, num_beams=1, max_length=None, dtype="auto", threads=1)


def _expected(rows):
    return [{f"t{k}-slot": str(k) for k in range(r["turn"] + 1)} for r in rows]


@pytest.mark.parametrize("batch_size", [1, 4])
def test_prediction_carries_its_own_state_turn_by_turn(monkeypatch, tiny_tokenizer, mwz_rows, tmp_path,
                                                       batch_size):
    updater = _Updater(tiny_tokenizer)
    monkeypatch.setattr(predict, "generate_states", updater)
    monkeypatch.setattr(predict, "load_for_inference", lambda name, dtype: (tiny_tokenizer, torch.nn.Linear(1, 1)))
    monkeypatch.setattr(predict, "CARRY_CHUNK_BATCHES", 2)  # several chunks: dialogues span chunk borders
    rows = mwz_rows
    out = tmp_path / "preds.jsonl"
    done = predict.run(_args(_short_model(tmp_path), _input(tmp_path, rows), out, batch_size))
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [(x["dialogue_id"], x["turn"]) for x in lines] == [(r["dialogue_id"], r["turn"]) for r in rows]
    # Turn k of each dialogue saw the state predicted for turn k-1 (k slots), so it predicts k+1 slots.
    assert [x["state"] for x in lines] == _expected(rows)
    assert done["count"] == len(rows) and done["invalid"] == 0


def test_carried_prediction_resumes_from_the_written_lines(monkeypatch, tiny_tokenizer, mwz_rows, tmp_path):
    updater = _Updater(tiny_tokenizer)
    monkeypatch.setattr(predict, "generate_states", updater)
    monkeypatch.setattr(predict, "load_for_inference", lambda name, dtype: (tiny_tokenizer, torch.nn.Linear(1, 1)))
    rows = mwz_rows[:12]
    cut = next(i for i in range(3, len(rows)) if rows[i]["turn"] > 0)  # a crash in mid-dialogue
    expected = _expected(rows)
    partial = tmp_path / "preds.jsonl.partial"
    partial.write_text("".join(json.dumps({"dialogue_id": r["dialogue_id"], "turn": r["turn"], "state": s}) + "\n"
                               for r, s in zip(rows[:cut], expected[:cut])) + '{"dialogue_id": "x')
    out = tmp_path / "preds.jsonl"
    done = predict.run(_args(_short_model(tmp_path), _input(tmp_path, rows), out))
    assert done["resumed_at"] == cut and len(updater.seen) == len(rows) - cut
    assert [json.loads(x)["state"] for x in out.read_text().splitlines()] == expected


# --------------------------------------------------------------------------- training


def test_tiny_short_update_training_and_prediction(cli, train_file, mwz_rows, tmp_path):
    out = tmp_path / "model"
    res = cli("train", "--train", train_file, "--out", out, "--tiny", "--prompt", "short", "--target", "update",
              "--batch-size", "8", "--lr", "3e-3", "--max-length", "256", "--max-steps", "3", "--save-steps", "100")
    assert res.rc == 0, res
    meta = json.loads((out / "dst_trainer.json").read_text())
    assert meta["format"] == {"prompt": "short", "target": "update"}
    assert meta["data"]["prompt_truncated"] == 0 and meta["data"]["mean_length"] < 150
    inp = _input(tmp_path, mwz_rows[:10])
    res = cli("predict", "--model", out, "--input", inp, "--out", tmp_path / "p.jsonl", "--max-new-tokens", "12")
    assert res.rc == 0, res
    lines = [json.loads(x) for x in (tmp_path / "p.jsonl").read_text().splitlines()]
    assert [(x["dialogue_id"], x["turn"]) for x in lines] == [(r["dialogue_id"], r["turn"]) for r in mwz_rows[:10]]
    # A layout that needs the previous state is refused with the full prompt.
    res = cli("train", "--train", train_file, "--out", tmp_path / "bad", "--tiny", "--target", "update")
    assert res.rc == 2 and res.of("error")[0]["kind"] == "config"


def test_time_budget_stops_with_a_checkpoint_and_a_final_model(cli, train_file, tmp_path):
    out = tmp_path / "model"
    res = cli("train", "--train", train_file, "--out", out, "--tiny", "--batch-size", "2", "--lr", "3e-3",
              "--max-length", "512", "--max-steps", "500", "--save-steps", "1000", "--time-budget", "0.5s")
    assert res.rc == 0, res
    done = res.of("done")[0]
    assert done["stopped_by_time_budget"] is True and done["planned_steps"] == 500
    assert 1 <= done["global_step"] < 500
    assert [c["step"] for c in res.of("checkpoint")] == [done["global_step"]]
    meta = json.loads((out / "dst_trainer.json").read_text())
    assert meta["completed"] and meta["stopped_by_time_budget"] and (out / "model.safetensors").exists()
    res = cli("train", "--train", train_file, "--out", tmp_path / "m2", "--tiny", "--time-budget", "soon")
    assert res.rc == 2 and "duration" in res.of("error")[0]["message"]


def test_loss_on_kept_logits_equals_the_full_loss(tiny_tokenizer, mwz_rows, tmp_path):
    from transformers import TrainingArguments

    from dst_trainer.features import Collator, encode_dataset
    from dst_trainer.tiny import build_model
    from dst_trainer.train import make_trainer_class

    examples = [parse_example(r, "f", i, need_state=True) for i, r in enumerate(mwz_rows[:6], 1)]
    attach_previous_states(examples)
    data, _ = encode_dataset(tiny_tokenizer, examples, 512, SHORT_UPDATE)
    batch = Collator(tiny_tokenizer.pad_token_id)([data[i] for i in range(len(data))])
    model = build_model(tiny_tokenizer, 512, 1)
    trainer = make_trainer_class()(model=model, args=TrainingArguments(
        output_dir=str(tmp_path), use_cpu=True, report_to="none"))
    calls = []
    forward = model.forward
    model.forward = lambda *a, **kw: calls.append(kw.get("logits_to_keep")) or forward(*a, **kw)
    kept = trainer.compute_loss(model, dict(batch))
    assert calls and 1 < calls[0] < batch["input_ids"].shape[1]  # fewer positions than the sequence
    full = forward(**batch).loss
    assert torch.allclose(kept, full, atol=1e-5), (kept, full)


def test_time_budget_schedule_decays_by_the_deadline(cli, train_file, tmp_path):
    res = cli("train", "--train", train_file, "--out", tmp_path / "m", "--tiny", "--batch-size", "1", "--lr", "3e-3",
              "--max-length", "256", "--max-steps", "100000", "--save-steps", "100000", "--warmup-ratio", "0.03",
              "--time-budget", "8s")
    assert res.rc == 0, res
    lrs = [p["learning_rate"] for p in res.of("progress")]
    assert res.of("done")[0]["stopped_by_time_budget"] and len(lrs) >= 5
    # Planned for 100000 steps the cosine would hardly have moved; fitted to the budget it ends low.
    assert max(lrs) > 2e-3 and lrs[-1] < 0.35 * 3e-3, lrs
    # Progress counts towards the budget's end, not the 100000 planned steps: a true ETA.
    last = res.of("progress")[-1]
    assert last["planned_steps"] == 100000 and last["step"] <= last["total_steps"] < 100000, last
    assert last["eta_seconds"] < 8, last
