"""Loss masking: labels are -100 exactly on the prompt and on padding; truncation rules."""

import pytest

from dst_trainer.data import parse_example, state_to_target
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


def test_truncation_drops_oldest_history_keeps_last_utterance_and_target(tiny_tokenizer, examples):
    tok = tiny_tokenizer
    ex = max(examples, key=lambda e: len(e.history))  # the longest real dialogue context
    assert len(ex.history) >= 8
    full = encode_example(tok, ex, 100_000)
    n_target = sum(1 for x in full["labels"] if x != IGNORE_INDEX)
    budget = len(full["input_ids"]) - 40  # forces dropping a few history lines
    enc = encode_example(tok, ex, budget)
    assert enc["truncated"] and not full["truncated"]
    assert len(enc["input_ids"]) <= budget
    text = tok.decode(enc["input_ids"], skip_special_tokens=True)
    assert text.startswith("Track the dialogue state")               # the instruction stays
    assert " ".join(ex.history[-1].text.split()) in text              # the newest history stays
    assert "Dialogue:\nUSER: " + " ".join(ex.history[0].text.split()) not in text  # the oldest goes first
    assert text.split("\n\nState:\n")[0].endswith("USER: " + " ".join(ex.utterance.split()))
    assert enc["input_ids"][-n_target:] == full["input_ids"][-n_target:]  # target intact
    assert enc["labels"][-n_target:] == full["labels"][-n_target:]


def test_examples_whose_target_cannot_fit_are_skipped_and_counted(tiny_tokenizer, examples):
    tok = tiny_tokenizer
    big = max(examples, key=lambda e: len(e.state))
    n_target = len(encode_example(tok, big, 100_000)["labels"]) - len(encode_prompt(tok, big, 100_000))
    max_length = n_target + 8  # leaves less than the minimum prompt room
    assert encode_example(tok, big, max_length) is None
    ds, stats = encode_dataset(tok, examples, max_length)
    assert stats["skipped_too_long"] >= 1
    assert len(ds) == stats["examples"] == len(examples) - stats["skipped_too_long"]
    assert all(len(x["input_ids"]) <= max_length for x in ds.items)
