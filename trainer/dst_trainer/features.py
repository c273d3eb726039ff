"""Token-level encoding: prompt/target ids, label masking, truncation and batching.

Training sequence = ``[bos] + prompt ids + target ids + [eos]`` with labels ``-100`` on the
bos and prompt positions (and on padding), so the loss covers only the target and its eos.
The prompt is encoded segment by segment (header, each history line, tail) with the same
function at training and prediction time; when it is too long the *oldest* history lines
are dropped first, then the header is cut from the left as a last resort. The target is
never truncated: an example whose target alone does not fit is skipped (and counted).
"""

from __future__ import annotations

from dataclasses import dataclass

from .data import DEFAULT_LAYOUT, Example, Layout, prompt_segments, target_text

IGNORE_INDEX = -100


def _ids(tokenizer, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def _bos(tokenizer) -> list[int]:
    return [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []


def encode_prompt(tokenizer, ex: Example, max_tokens: int, layout: Layout = DEFAULT_LAYOUT) -> list[int]:
    """Prompt ids (with bos) of at most ``max_tokens`` tokens, newest history kept."""
    return _encode_prompt(tokenizer, ex, max_tokens, layout)[0]


def _encode_prompt(tokenizer, ex: Example, max_tokens: int, layout: Layout = DEFAULT_LAYOUT) -> tuple[list[int], bool]:
    header, lines, tail = prompt_segments(ex, layout)
    head_ids = _bos(tokenizer) + _ids(tokenizer, header)
    tail_ids = _ids(tokenizer, tail)
    line_ids = [_ids(tokenizer, line) for line in lines]
    budget = max_tokens - len(head_ids) - len(tail_ids)
    kept: list[list[int]] = []
    for ids in reversed(line_ids):  # newest first
        if len(ids) > budget:
            break
        kept.append(ids)
        budget -= len(ids)
    ids = head_ids + [t for seg in reversed(kept) for t in seg] + tail_ids
    truncated = len(kept) < len(line_ids)
    if len(ids) > max_tokens:  # even header + tail do not fit: keep the end
        ids = ids[len(ids) - max_tokens :]
        truncated = True
    return ids, truncated


def encode_target(tokenizer, ex: Example, layout: Layout = DEFAULT_LAYOUT) -> list[int]:
    return _ids(tokenizer, target_text(ex, layout)) + [tokenizer.eos_token_id]


# Room kept for the prompt when deciding that a target is too long to train on.
MIN_PROMPT_TOKENS = 16


def encode_example(tokenizer, ex: Example, max_length: int, layout: Layout = DEFAULT_LAYOUT) -> dict | None:
    """``{"input_ids", "labels"}`` for one training example, or None if it cannot fit."""
    target = encode_target(tokenizer, ex, layout)
    room = max_length - len(target)
    if room < MIN_PROMPT_TOKENS:
        return None
    prompt, truncated = _encode_prompt(tokenizer, ex, room, layout)
    return {
        "input_ids": prompt + target,
        "labels": [IGNORE_INDEX] * len(prompt) + list(target),
        "truncated": truncated,
    }


class EncodedDataset:
    """A map-style dataset of pre-encoded examples (a list is all Trainer needs)."""

    def __init__(self, items: list[dict]):
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict:
        return self.items[i]


def encode_dataset(tokenizer, examples: list[Example], max_length: int,
                   layout: Layout = DEFAULT_LAYOUT) -> tuple[EncodedDataset, dict]:
    items: list[dict] = []
    skipped = 0
    prompt_truncated = 0
    total_tokens = 0
    target_tokens = 0
    for ex in examples:
        enc = encode_example(tokenizer, ex, max_length, layout)
        if enc is None:
            skipped += 1
            continue
        n_target = sum(1 for x in enc["labels"] if x != IGNORE_INDEX)
        prompt_truncated += enc.pop("truncated")
        items.append(enc)
        total_tokens += len(enc["input_ids"])
        target_tokens += n_target
    stats = {
        "examples": len(items),
        "skipped_too_long": skipped,
        "prompt_truncated": prompt_truncated,
        "tokens": total_tokens,
        "target_tokens": target_tokens,
        "mean_length": round(total_tokens / len(items), 1) if items else 0,
        "max_length_seen": max((len(x["input_ids"]) for x in items), default=0),
    }
    return EncodedDataset(items), stats


@dataclass
class Collator:
    """Right-pads a batch for training; labels and attention are 0/-100 on padding."""

    pad_token_id: int
    pad_to_multiple_of: int | None = None

    def __call__(self, features: list[dict]):
        import torch

        longest = max(len(f["input_ids"]) for f in features)
        if self.pad_to_multiple_of:
            m = self.pad_to_multiple_of
            longest = (longest + m - 1) // m * m
        input_ids, labels, attention = [], [], []
        for f in features:
            n = len(f["input_ids"])
            pad = longest - n
            input_ids.append(list(f["input_ids"]) + [self.pad_token_id] * pad)
            labels.append(list(f["labels"]) + [IGNORE_INDEX] * pad)
            attention.append([1] * n + [0] * pad)
        return {
            "input_ids": torch.tensor(input_ids, dtype=torch.long),
            "labels": torch.tensor(labels, dtype=torch.long),
            "attention_mask": torch.tensor(attention, dtype=torch.long),
        }


def left_pad_batch(prompts: list[list[int]], pad_token_id: int):
    """Left-padded ``input_ids``/``attention_mask`` tensors for generation."""
    import torch

    longest = max(len(p) for p in prompts)
    ids = [[pad_token_id] * (longest - len(p)) + p for p in prompts]
    mask = [[0] * (longest - len(p)) + [1] * len(p) for p in prompts]
    return torch.tensor(ids, dtype=torch.long), torch.tensor(mask, dtype=torch.long)
