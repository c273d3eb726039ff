"""The ``train`` command's arguments: the parser, their checks, and the run's fingerprint
(the hyper-parameters that define a run: a finished run with the same values is not redone)."""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os

from . import PROMPT_FORMAT_VERSION
from .data import Layout
from .errors import ConfigError
from .models import is_gguf, looks_like_path

# Hyper-parameters that define the run; a finished run with the same values is not redone.
FINGERPRINT_KEYS = (
    "init", "tiny", "epochs", "lr", "batch_size", "grad_accum", "max_length", "warmup_ratio",
    "scheduler", "seed", "lora", "lora_r", "lora_alpha", "lora_dropout", "lora_target_modules",
    "max_steps", "weight_decay", "max_grad_norm", "tiny_vocab_size", "prompt", "target", "time_budget",
    "group_by_length",
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--train", required=True, help="training JSON-lines file")
    p.add_argument("--out", required=True, help="output directory (checkpoints and final model)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--init", help="hub name, local model dir, .gguf file, stage-1 --out dir or checkpoint dir")
    src.add_argument("--tiny", action="store_true", help="build a tiny tokenizer+model locally (no hub)")
    p.add_argument("--prompt", default="full", choices=["full", "short"],
                   help="full = instruction + whole history + last user turn (paper); "
                        "short = previous state + last system and user turns (predict carries its own state)")
    p.add_argument("--target", default="json", choices=["json", "pairs", "update"],
                   help="json = full state grouped by domain (paper); pairs = full state as slot=value; ...; "
                        "update = only the turn's changes as slot=value pairs (needs --prompt short)")
    p.add_argument("--time-budget", default=None, type=parse_duration,
                   help="stop training after this long (e.g. 1800, 1800s, 30m, 1.5h; counted from the first "
                        "step, so loading is not included): checkpoint + final model are saved at that step, and "
                        "cosine/linear schedules decay over the steps expected to fit")
    p.add_argument("--epochs", type=float, default=1.0)
    p.add_argument("--lr", type=float, default=2e-5)
    p.add_argument("--batch-size", type=int, default=8, help="per device")
    p.add_argument("--grad-accum", type=int, default=1)
    p.add_argument("--max-length", type=int, default=1024, help="tokens per example (prompt+target)")
    p.add_argument("--warmup-ratio", type=float, default=0.03)
    p.add_argument("--scheduler", default="cosine", help="cosine, linear, constant, constant_with_warmup, ...")
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--max-grad-norm", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--lora", action="store_true", help="train LoRA adapters (merged into the saved model)")
    p.add_argument("--lora-r", type=int, default=16)
    p.add_argument("--lora-alpha", type=int, default=32)
    p.add_argument("--lora-dropout", type=float, default=0.05)
    p.add_argument("--lora-target-modules", default="all-linear", help="comma list or 'all-linear'")
    p.add_argument("--bf16", default="auto", choices=["auto", "true", "false"],
                   help="bf16 mixed precision; auto = on for CUDA GPUs that support it")
    p.add_argument("--fp16", action="store_true", help="fp16 mixed precision (GPUs without bf16)")
    p.add_argument("--dtype", default="auto", choices=["auto", "float32", "bfloat16", "float16"],
                   help="dtype the --init weights are loaded in; auto = bfloat16 for --lora with bf16, else float32")
    p.add_argument("--gradient-checkpointing", action="store_true")
    p.add_argument("--group-by-length", action="store_true",
                   help="batches of examples of similar length (less padding; HF LengthGroupedSampler)")
    p.add_argument("--auto-find-batch-size", action="store_true",
                   help="on CUDA OOM, retry with half the per-device batch size (HF Trainer)")
    p.add_argument("--save-steps", type=int, default=500)
    p.add_argument("--save-total-limit", type=int, default=2, help="checkpoints kept (0 = all)")
    p.add_argument("--logging-steps", type=int, default=1, help="a progress line every N optimizer steps")
    p.add_argument("--max-steps", type=int, default=-1, help="stop after N optimizer steps (-1 = epochs)")
    p.add_argument("--tiny-vocab-size", type=int, default=2048)
    p.add_argument("--tiny-shape", default="tiny", choices=["tiny", "llama2-7b"],
                   help="with --tiny: the random model's dimensions; llama2-7b = LLaMA-2-7B's config "
                        "(measures the paper's model on a GPU without its weights; trains a 32k tokenizer)")
    p.add_argument("--threads", type=int, default=0,
                   help="CPU threads for torch; 0 = auto (1 for --tiny on CPU, else torch's default)")
    p.add_argument("--fsdp", default="",
                   help="FSDP (FSDP2 via the HF Trainer/accelerate; under torchrun): full_shard (parameters, "
                        "gradients and optimizer state sharded) or shard_grad_op, optionally with offload "
                        "(CPU offload); every decoder layer (e.g. LlamaDecoderLayer) is wrapped on its own. "
                        "'full_shard auto_wrap' is accepted too. Empty = off (DDP when several processes)")
    p.add_argument("--fsdp-state-dict", default="full", choices=["full", "sharded"],
                   help="with --fsdp: checkpoint format; full = gathered on rank 0 (model.safetensors + "
                        "pytorch_model_fsdp.bin), sharded = one file per rank (faster, no gathering; resume "
                        "with the same number of processes). The final model is always full")
    p.add_argument("--fsdp-config", default=None,
                   help="with --fsdp: JSON file or inline JSON object overriding keys of the built "
                        "TrainingArguments.fsdp_config (e.g. '{\"cpu_ram_efficient_loading\": true}')")
    p.add_argument("--deepspeed", default=None, help="DeepSpeed config file (needs deepspeed installed)")



def parse_duration(text) -> float:
    """``1800``, ``1800s``, ``30m``, ``1.5h`` → seconds (> 0)."""
    t = str(text).strip().lower()
    scale = {"s": 1, "m": 60, "h": 3600}.get(t[-1:], None)
    try:
        value = float(t[:-1] if scale else t) * (scale or 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration (e.g. 1800, 30m, 1.5h)") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: a duration must be > 0")
    return value



def validate(args) -> None:
    checks = [
        (args.epochs > 0, "--epochs must be > 0"),
        (args.lr > 0, "--lr must be > 0"),
        (args.batch_size >= 1, "--batch-size must be >= 1"),
        (args.grad_accum >= 1, "--grad-accum must be >= 1"),
        (args.max_length >= 64, "--max-length must be >= 64"),
        (0 <= args.warmup_ratio < 1, "--warmup-ratio must be in [0, 1)"),
        (args.save_steps >= 1, "--save-steps must be >= 1"),
        (args.logging_steps >= 1, "--logging-steps must be >= 1"),
        (args.max_steps == -1 or args.max_steps >= 1, "--max-steps must be >= 1 or -1"),
        (args.save_total_limit >= 0, "--save-total-limit must be >= 0"),
        (args.tiny_vocab_size >= 300, "--tiny-vocab-size must be >= 300"),
        (args.threads >= 0, "--threads must be >= 0"),
    ]
    for ok, msg in checks:
        if not ok:
            raise ConfigError(msg)
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise ConfigError(f"--out {args.out}: exists and is not a directory")
    try:
        Layout(args.prompt, args.target).check()
    except ValueError as e:
        raise ConfigError(str(e)) from None
    from .fsdp import check_args

    check_args(args)
    if is_gguf(args.init):
        if not os.path.isfile(os.path.expanduser(args.init)):
            raise ConfigError(f"--init {args.init}: no such .gguf file")
    elif args.init and (looks_like_path(args.init) or os.path.exists(args.init)) and not os.path.isdir(
            os.path.expanduser(args.init)):
        raise ConfigError(f"--init {args.init}: no such model directory")



def fingerprint(args, data_sha: str) -> str:
    values = {k: getattr(args, k) for k in FINGERPRINT_KEYS}
    if getattr(args, "tiny_shape", "tiny") != "tiny":  # only when set: old runs keep their fingerprint
        values["tiny_shape"] = args.tiny_shape
    values["data_sha256"] = data_sha
    values["prompt_format"] = PROMPT_FORMAT_VERSION
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()
