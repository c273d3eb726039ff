"""``--tiny``: a tokenizer and a small causal LM built locally, with no model hub.

The tokenizer is a byte-level BPE (``tokenizers``) trained on the training file's own text
(prompts and targets), so every string is encodable; the model is a 2-layer LLaMA-style
decoder with hidden size 128 (~0.7M parameters with a 2k vocabulary). It exercises the very
code path of the real model — tokenisation, masking, Trainer, checkpoints, generation —
on a CPU in seconds.
"""

from __future__ import annotations

from typing import Iterable

SPECIAL_TOKENS = {"pad_token": "<pad>", "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}

TINY_DEFAULTS = {
    "vocab_size": 2048,
    "hidden_size": 128,
    "intermediate_size": 352,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
}


def train_tokenizer(texts: Iterable[str], vocab_size: int = TINY_DEFAULTS["vocab_size"]):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=list(SPECIAL_TOKENS.values()),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, **SPECIAL_TOKENS)
    fast.model_max_length = 1 << 30
    return fast


def build_model(tokenizer, max_length: int, seed: int):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=TINY_DEFAULTS["hidden_size"],
        intermediate_size=TINY_DEFAULTS["intermediate_size"],
        num_hidden_layers=TINY_DEFAULTS["num_hidden_layers"],
        num_attention_heads=TINY_DEFAULTS["num_attention_heads"],
        num_key_value_heads=TINY_DEFAULTS["num_attention_heads"],
        max_position_embeddings=max(max_length, 64),
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
    torch.manual_seed(seed)
    return LlamaForCausalLM(config)
