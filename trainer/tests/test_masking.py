"""Loss masking: labels are -100 exactly on the prompt and on padding; truncation rules."""

import pytest

from dst_trainer.data import Example, Turn, parse_example, state_to_target
from dst_trainer.features import (
    IGNORE_INDEX,
    Collator,
    encode_dataset,
    encode_example,
    encode_prompt,
    left_pad_batch,
)


@pytest.fixture(scope="module")
def examples(mwz_rows):
    return [parse_example(r, "fixture", i, need_state=True) for i, r in enumerate(mwz_rows, 1)]


def test_labels_cover_exactly_the_target_and_eos(tiny_tokenizer, examples):
    tok = tiny_tokenizer
    for ex in examples:
        enc = encode_example(tok, ex, 4096)
        ids, labels = enc["input_ids"], enc["labels"]
        assert len(ids) == len(labels)
        prompt = encode_prompt(tok, ex, 4096)
        n = len(prompt)
        # The prompt (bos + instruction + history + last utterance + marker) is masked...
        assert ids[:n] == prompt and ids[0] == tok.bos_token_id
        assert labels[:n] == [IGNORE_INDEX] * n
        # ...and every target token, ending with eos, is labelled with itself.
        assert labels[n:] == ids[n:]
        assert IGNORE_INDEX not in labels[n:]
        assert ids[-1] == tok.eos_token_id
        assert tok.decode(ids[n:-1]) == state_to_target(ex.state)
        assert tok.decode(prompt[1:]).endswith(ex.utterance.split()[-1] + "\n\nState:\n")


def test_collator_pads_right_with_ignored_labels(tiny_tokenizer, examples):
    tok = tiny_tokenizer
    feats = [encode_example(tok, ex, 4096) for ex in examples[:5]]
    feats = [{k: v for k, v in f.items() if k != "truncated"} for f in feats]
    batch = Collator(tok.pad_token_id)(feats)
    longest = max(len(f["input_ids"]) for f in feats)
    assert batch["input_ids"].shape == batch["labels"].shape == batch["attention_mask"].shape == (5, longest)
    for row, f in enumerate(feats):
        n = len(f["input_ids"])
        assert batch["input_ids"][row, :n].tolist() == f["input_ids"]
        assert batch["labels"][row, :n].tolist() == f["labels"]
        assert batch["attention_mask"][row, :n].tolist() == [1] * n
        assert batch["input_ids"][row, n:].tolist() == [tok.pad_token_id] * (longest - n)
        assert batch["labels"][row, n:].tolist() == [IGNORE_INDEX] * (longest - n)
        assert batch["attention_mask"][row, n:].tolist() == [0] * (longest - n)
    # Labels are set only where the target is: never on prompt or padding positions.
    target_positions = (batch["labels"] != IGNORE_INDEX).sum().item()
    assert target_positions == sum(sum(1 for x in f["labels"] if x != IGNORE_INDEX) for f in feats)


def test_left_padding_for_generation(tiny_tokenizer):
    ids, mask = left_pad_batch([[5, 6, 7], [8]], pad_token_id=0)
    assert ids.tolist() == [[5, 6, 7], [0, 0, 8]]
    assert mask.tolist() == [[1, 1, 1], [0, 0, 1]]


def test_truncation_drops_oldest_history_keeps_last_utterance_and_target(tiny_tokenizer):
    tok = tiny_tokenizer
    history = []
    for i in range(30):
        history += [Turn("USER", f"old request number {i} about a cheap hotel in the north"),
                     Turn("SYSTEM", f"answer number {i}: there are several options")]
    ex = Example("d", 30, history, "book it for friday please", {"hotel-area": "north", "hotel-bookday": "friday"})
    full = encode_example(tok, ex, 100_000)
    enc = encode_example(tok, ex, 256)
    assert enc["truncated"] and not full["truncated"]
    assert len(enc["input_ids"]) <= 256
    text = tok.decode(enc["input_ids"], skip_special_tokens=True)
    assert "Track the dialogue state" in text                # the instruction stays
    assert "answer number 29" in text                        # the newest history stays
    assert "old request number 0 " not in text               # the oldest goes first
    assert "USER: book it for friday please\n\nState:\n" in text
    n_target = sum(1 for x in enc["labels"] if x != IGNORE_INDEX)
    assert enc["input_ids"][-n_target:] == full["input_ids"][-n_target:]  # target intact


def test_examples_whose_target_cannot_fit_are_skipped_and_counted(tiny_tokenizer, examples):
    tok = tiny_tokenizer
    huge = Example("d", 0, [], "hi", {f"hotel-slot{i}": "a long value " * 5 for i in range(40)})
    assert encode_example(tok, huge, 128) is None
    ds, stats = encode_dataset(tok, [huge, *examples[:3]], 128)
    assert stats["skipped_too_long"] >= 1 and len(ds) == stats["examples"] <= 3
    assert all(len(x["input_ids"]) <= 128 for x in ds.items)
