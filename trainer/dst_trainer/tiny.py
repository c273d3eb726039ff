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

# ``--tiny-shape``: the decoder's dimensions. ``llama2-7b`` is LLaMA-2-7B's published config
# (6.7B parameters), randomly initialised: it measures GPU speed and memory of the paper's model
# where its weights cannot be downloaded. ``vocab_size`` is the embedding's row count (at least
# the trained tokenizer's size).
SHAPES = {
    "tiny": {**TINY_DEFAULTS, "num_key_value_heads": 4, "tie_word_embeddings": True, "vocab_size": 0},
    "llama2-7b": {
        "vocab_size": 32000,
        "hidden_size": 4096,
        "intermediate_size": 11008,
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
        "num_key_value_heads": 32,
        "max_position_embeddings": 4096,
        "rms_norm_eps": 1e-5,
        "tie_word_embeddings": False,
    },
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


def build_model(tokenizer, max_length: int, seed: int, shape: str = "tiny", device: str = "cpu",
                dtype: str = "float32"):
    """A randomly initialised LLaMA-style decoder of ``shape``. Large shapes are built directly on
    ``device`` in ``dtype`` (initialising 6.7B parameters on a CPU in float32 takes minutes and 27 GB)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    dims = dict(SHAPES[shape])
    dims["vocab_size"] = max(dims["vocab_size"], len(tokenizer))
    dims["max_position_embeddings"] = max(dims.get("max_position_embeddings", 0), max_length, 64)
    config = LlamaConfig(
        **dims,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    if shape == "tiny":
        return LlamaForCausalLM(config)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(getattr(torch, dtype))
    try:
        with torch.device(device):
            return LlamaForCausalLM(config)
    finally:
        torch.set_default_dtype(previous)
