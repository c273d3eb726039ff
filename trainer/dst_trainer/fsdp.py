"""``--fsdp``: PyTorch FSDP (FSDP2, ``fully_shard``) through the HF Trainer and accelerate.

``--fsdp full_shard`` shards parameters, gradients and optimizer state over the processes
(ZeRO-3-like); ``shard_grad_op`` keeps parameters gathered between forward and backward
(ZeRO-2-like, more memory, less communication); ``offload`` (with either) keeps them on the
CPU. Each decoder layer is its own FSDP unit: the wrap class is read from the loaded model
(``_no_split_modules``, e.g. ``LlamaDecoderLayer``, checked against the modules it really has;
else the class of its largest repeated layer list). ``--gradient-checkpointing`` becomes
FSDP's own activation checkpointing (the Trainer refuses both at once). ``--fsdp-state-dict``
chooses the checkpoint format (``full``: one gathered file, written by rank 0; ``sharded``:
one file per rank, no gathering — faster and lighter for 7B); the final model in ``--out`` is
always a full, ``from_pretrained``-loadable one. ``--fsdp-config`` (a JSON file or a JSON
object) overrides any of the built ``fsdp_config`` keys.

accelerate only turns FSDP on for accelerators; on CPU (gloo) it silently falls back to DDP.
``hf_trainer`` turns it on there too, so the tests run the real FSDP code path on a CPU.
"""

from __future__ import annotations

import json
import os

from .errors import ConfigError

STRATEGIES = {"full_shard": True, "shard_grad_op": False}  # → FSDP2 reshard_after_forward
WORDS = set(STRATEGIES) | {"auto_wrap", "offload"}
STATE_DICT_TYPES = {"full": "FULL_STATE_DICT", "sharded": "SHARDED_STATE_DICT"}


def parse_fsdp(text: str) -> dict:
    """``"full_shard"``, ``"full_shard auto_wrap"``, ``"shard_grad_op offload"`` → the strategy
    and offload flag; ``""`` → {} (off). Raises ConfigError for anything else."""
    words = [w.strip().lower() for w in str(text or "").replace(",", " ").split() if w.strip()]
    if not words or words in (["false"], ["none"], ["off"]):
        return {}
    unknown = [w for w in words if w not in WORDS]
    if unknown:
        raise ConfigError(f"--fsdp {text!r}: unknown {', '.join(unknown)} "
                          f"(use full_shard or shard_grad_op, optionally with offload)")
    chosen = [w for w in words if w in STRATEGIES]
    if len(chosen) > 1:
        raise ConfigError(f"--fsdp {text!r}: choose one of full_shard, shard_grad_op")
    return {"strategy": chosen[0] if chosen else "full_shard", "offload": "offload" in words}


def wrap_classes(model) -> list[str]:
    """The decoder-layer class names FSDP wraps one by one (e.g. ``["LlamaDecoderLayer"]``)."""
    import torch

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    present = {type(m).__name__ for m in base.modules()}
    declared = [c for c in (getattr(base, "_no_split_modules", None) or []) if c in present]
    if declared:
        return declared
    lists = [m for m in base.modules() if isinstance(m, torch.nn.ModuleList) and len(m) > 0]
    if lists:
        biggest = max(lists, key=lambda ml: sum(p.numel() for p in ml.parameters()))
        return [type(biggest[0]).__name__]
    raise ConfigError(f"--fsdp: cannot tell the layer class of {type(base).__name__} to wrap; "
                      "name it in --fsdp-config transformer_layer_cls_to_wrap")


def read_override(value) -> dict:
    """``--fsdp-config``: a JSON file or an inline JSON object."""
    if not value:
        return {}
    text = str(value).strip()
    try:
        if text.startswith("{"):
            obj = json.loads(text)
        else:
            with open(os.path.expanduser(text), encoding="utf-8") as fh:
                obj = json.load(fh)
    except (OSError, ValueError) as e:
        raise ConfigError(f"--fsdp-config {value}: {e}") from e
    if not isinstance(obj, dict):
        raise ConfigError(f"--fsdp-config {value}: not a JSON object")
    return {k[5:] if k.startswith("fsdp_") else k: v for k, v in obj.items()}


def fsdp_config(args, model) -> dict:
    """The ``TrainingArguments.fsdp_config`` for ``args`` (``fsdp`` itself is passed as True)."""
    choice = parse_fsdp(args.fsdp)
    config = {
        "version": 2,
        "reshard_after_forward": STRATEGIES[choice["strategy"]],
        "auto_wrap_policy": "TRANSFORMER_BASED_WRAP",
        "transformer_layer_cls_to_wrap": wrap_classes(model),
        "state_dict_type": STATE_DICT_TYPES[args.fsdp_state_dict],
        "activation_checkpointing": bool(args.gradient_checkpointing),
        "cpu_offload": choice["offload"],
    }
    config.update(read_override(args.fsdp_config))
    return config


def check_args(args) -> None:
    """What ``--fsdp`` needs, checked before anything is loaded."""
    if not parse_fsdp(args.fsdp):
        return
    if args.deepspeed:
        raise ConfigError("--fsdp and --deepspeed exclude each other")
    if args.lora:
        raise ConfigError("--fsdp with --lora is not supported: LoRA of a 7B model fits one GPU "
                          "(examples/llama2-7b-lora.json); FSDP is for full fine-tuning")
    if int(os.environ.get("WORLD_SIZE", "1")) < 2:
        raise ConfigError("--fsdp needs several processes: start the trainer under "
                          "torchrun --nproc-per-node N (the pipeline does for training.devices > 1)")
