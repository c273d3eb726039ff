"""Loading the model to fine-tune: hub names, local folders, ``.gguf`` files (dequantised),
the resolved precision and device, CPU threads, padding, LoRA adapters."""

from __future__ import annotations

import os

from .errors import ConfigError, is_oom

def is_gguf(name: str | None) -> bool:
    return bool(name) and name.lower().endswith(".gguf")



def looks_like_path(name: str) -> bool:
    return (
        name.startswith(("/", "./", "../", "~"))
        or name.count("/") > 1
        or os.sep + "checkpoint-" in name
        or name.startswith("checkpoint-")
    )



def resolve_precision(args) -> dict:
    import torch

    cuda = torch.cuda.is_available()
    bf16_ok = cuda and torch.cuda.is_bf16_supported()
    if args.bf16 == "auto":
        bf16 = bf16_ok and not args.fp16
    else:
        bf16 = args.bf16 == "true"
    if bf16 and args.fp16:
        raise ConfigError("--bf16 true and --fp16 exclude each other")
    if args.fp16 and not cuda:
        raise ConfigError("--fp16 needs a CUDA GPU")
    dtype = args.dtype
    if dtype == "auto":
        dtype = "bfloat16" if (args.lora and bf16) else "float32"
    return {
        "device": "cuda" if cuda else "cpu",
        "cuda_devices": torch.cuda.device_count() if cuda else 0,
        "bf16": bf16,
        "fp16": bool(args.fp16),
        "load_dtype": dtype,
        "world_size": int(os.environ.get("WORLD_SIZE", "1")),
        "torch": torch.__version__,
    }


def set_threads(threads: int, *, small: bool, cuda: bool) -> int:
    """Apply --threads. Auto gives tiny CPU models one thread: on a shared 2-core machine
    OpenMP's second thread made tiny steps ~20x slower (waiting on a busy core)."""
    import torch

    if threads == 0 and small and not cuda:
        threads = 1
    if threads > 0:
        torch.set_num_threads(threads)
    return torch.get_num_threads()


def ensure_pad(tokenizer) -> None:
    if tokenizer.pad_token is None:
        if tokenizer.unk_token is not None:
            tokenizer.pad_token = tokenizer.unk_token
        elif tokenizer.eos_token is not None:
            tokenizer.pad_token = tokenizer.eos_token
    if tokenizer.eos_token_id is None:
        raise ConfigError("the tokenizer has no eos token; cannot mark the end of an answer")
    if tokenizer.pad_token_id is None:
        raise ConfigError("the tokenizer has no pad/unk/eos token to pad with")


def load_pretrained(name: str, dtype: str):
    """Tokenizer + causal LM from a hub name, a directory or a ``.gguf`` file (dequantised to
    ``dtype`` by transformers; needs the ``gguf`` package); any failure is a config error."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if is_gguf(name):
        path = os.path.abspath(os.path.expanduser(name))
        if not os.path.isfile(path):
            raise ConfigError(f"--init {name}: no such .gguf file")
        try:
            import gguf  # noqa: F401 - transformers needs it to read the file
        except ImportError:
            raise ConfigError(f"--init {name}: loading a .gguf needs the Python package 'gguf' "
                              "(pip install -r trainer/requirements.txt)") from None
        folder, file = os.path.split(path)
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # a de-quantising bar per tensor group on stderr otherwise
        try:
            tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=file)
            model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=file, dtype=getattr(torch, dtype))
        except Exception as e:  # noqa: BLE001
            if is_oom(e):
                raise
            raise ConfigError(f"--init {name}: cannot load the GGUF model: {type(e).__name__}: {e}") from e
        finally:
            hf_logging.enable_progress_bar()
        return tokenizer, dequantised(model)
    if looks_like_path(name) or os.path.exists(name):
        path = os.path.expanduser(name)
        if not os.path.isdir(path):
            raise ConfigError(f"--init {name}: no such model directory")
        name = path
    try:
        tokenizer = AutoTokenizer.from_pretrained(name)
        model = AutoModelForCausalLM.from_pretrained(name, dtype=getattr(torch, dtype))
    except Exception as e:  # noqa: BLE001 - hub/IO/format errors all mean "bad --init"
        if is_oom(e):
            raise
        raise ConfigError(f"--init {name}: cannot load model/tokenizer: {type(e).__name__}: {e}") from e
    return tokenizer, model


def dequantised(model):
    """A model read from a GGUF holds ordinary float tensors (transformers de-quantises them
    on load) but stays marked as quantized, which makes the Trainer refuse full fine-tuning
    and would write a ``quantization_config`` into the saved ``config.json``. Drop the marks."""
    if getattr(model, "hf_quantizer", None) is not None:
        model.hf_quantizer = None
    if getattr(model, "is_quantized", False):
        model.is_quantized = False
    if getattr(model.config, "quantization_config", None) is not None:
        del model.config.quantization_config
    return model


def count_params(model) -> dict:
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {"parameters": total, "trainable_parameters": trainable}
