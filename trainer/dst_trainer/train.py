"""``train``: fine-tune a causal LM on DST examples with the Hugging Face Trainer.

- ``--tiny`` builds a tokenizer and a tiny model locally; otherwise ``--init`` names a hub
  model, a local model directory, a ``.gguf`` file (dequantised on load; needs the ``gguf``
  package), a previous ``train --out`` directory (stage 2) or a ``checkpoint-N`` directory.
- ``--prompt``/``--target`` choose the text layout (``data.Layout``; default full/json, the
  paper's); ``--time-budget`` stops training cleanly (checkpoint + final model) in time.
- Single process on CPU or one GPU; several GPUs when started by ``torchrun`` or
  ``accelerate launch`` (the Trainer does the distribution: DDP, or FSDP with ``--fsdp``, see
  ``fsdp.py``).
- ``--out`` holds ``checkpoint-N/`` directories (model, optimizer, scheduler, RNG and
  ``trainer_state.json``, written last); a rerun with the same ``--out`` resumes from the
  newest complete one. A rerun of a finished run with identical settings does nothing but
  report ``done`` again.
- ``--out`` finally holds the model + tokenizer (``from_pretrained``-loadable),
  ``training_args.json`` (every hyper-parameter and seed), ``dst_trainer.json`` (data
  hash, sizes, init, outcome) and ``trainer_state.json`` (the log history).
"""


from __future__ import annotations

import json
import math
import os
from datetime import datetime, timezone

from . import PROMPT_FORMAT_VERSION, __version__
from .callbacks import NothingToTrain, gpu_memory, make_progress_callback, make_time_budget_callback
from .checkpoints import (ARGS_FILE, META_FILE, find_checkpoints, read_json, remove_incomplete_checkpoints,
                          write_json)
from .data import Layout, attach_previous_states, file_info, read_examples, training_texts
from .errors import ConfigError, DataError
from .events import emit, is_main_process
from .fsdp import STATE_DICT_TYPES, fsdp_config, parse_fsdp
from .hf_trainer import make_trainer_class
from .models import count_params, ensure_pad, is_gguf, load_pretrained, resolve_precision, set_threads
from .options import add_arguments, fingerprint, validate

# --------------------------------------------------------------------------- command


def run(args) -> dict:
    """Train; returns the ``done`` event (also emitted)."""
    validate(args)
    layout = Layout(args.prompt, args.target).check()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    examples = read_examples(args.train, need_state=True)
    if layout.prompt == "short":
        attach_previous_states(examples)
    data = file_info(args.train)
    data["dialogues"] = len({ex.dialogue_id for ex in examples})
    data["lines_used"] = len(examples)
    fp = fingerprint(args, data["sha256"])
    out = os.path.abspath(args.out)
    meta_path = os.path.join(out, META_FILE)

    previous = read_json(meta_path)
    if previous and previous.get("completed") and previous.get("fingerprint") == fp and os.path.exists(
        os.path.join(out, "config.json")
    ):
        done = {"event": "done", "output": out, "train_loss": previous.get("train_loss"),
                "global_step": previous.get("global_step"), "already_complete": True}
        emit(done)
        return done

    try:
        os.makedirs(out, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"--out {args.out}: cannot create: {e.strerror or e}") from e
    if is_main_process():
        remove_incomplete_checkpoints(out)
    checkpoints = find_checkpoints(out)
    resume = checkpoints[-1][1] if checkpoints else None
    if resume and previous and previous.get("data", {}).get("sha256") not in (None, data["sha256"]):
        raise ConfigError(
            f"--out {out} holds checkpoints of a run on other data "
            f"(sha256 {previous['data']['sha256'][:12]}…); use a fresh --out"
        )

    import transformers
    from transformers import SchedulerType, TrainingArguments, set_seed

    try:
        SchedulerType(args.scheduler)
    except ValueError as e:
        raise ConfigError(f"--scheduler {args.scheduler!r}: unknown schedule") from e

    transformers.logging.set_verbosity_warning()
    precision = resolve_precision(args)
    precision["threads"] = set_threads(args.threads, small=args.tiny, cuda=precision["device"] == "cuda")
    set_seed(args.seed)

    # ---- tokenizer + model
    if args.tiny:
        from .tiny import SHAPES, build_model, train_tokenizer

        if resume:
            from transformers import AutoTokenizer

            # Same vocabulary as the weights. FSDP's sharded checkpoints hold no tokenizer: the
            # copy written to --out when the run started (below) is the same one.
            has_tok = os.path.exists(os.path.join(resume, "tokenizer_config.json"))
            tokenizer = AutoTokenizer.from_pretrained(resume if has_tok else out)
        else:
            vocab = args.tiny_vocab_size if args.tiny_shape == "tiny" else SHAPES[args.tiny_shape]["vocab_size"]
            tokenizer = train_tokenizer(training_texts(examples, layout), vocab)
        model = build_model(tokenizer, args.max_length, args.seed, args.tiny_shape,
                            device=precision["device"], dtype=precision["load_dtype"])
        init_info = {"kind": "tiny", "shape": args.tiny_shape, "vocab_size": len(tokenizer)}
    else:
        tokenizer, model = load_pretrained(args.init, precision["load_dtype"])
        init_info = {"kind": "gguf" if is_gguf(args.init) else "pretrained", "name": args.init}
        upstream = read_json(os.path.join(os.path.expanduser(args.init), META_FILE)) if os.path.isdir(
            os.path.expanduser(args.init)) else None
        if upstream:  # stage 2: remember what stage 1 was trained on
            init_info["upstream"] = {k: upstream.get(k) for k in ("init", "data", "train_loss", "global_step")}
    ensure_pad(tokenizer)
    tokenizer.padding_side = "right"
    if args.tiny and parse_fsdp(args.fsdp) and not resume and is_main_process():
        tokenizer.save_pretrained(out)  # what a resume reads when a (sharded) checkpoint has no tokenizer
    if getattr(model.config, "pad_token_id", None) is None:
        model.config.pad_token_id = tokenizer.pad_token_id
    if getattr(model, "generation_config", None) is not None:
        model.generation_config.pad_token_id = tokenizer.pad_token_id
        model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.config.use_cache = False

    if args.lora:
        from peft import LoraConfig, get_peft_model

        targets = args.lora_target_modules
        targets = targets if targets == "all-linear" else [t.strip() for t in targets.split(",") if t.strip()]
        model = get_peft_model(model, LoraConfig(
            r=args.lora_r, lora_alpha=args.lora_alpha, lora_dropout=args.lora_dropout,
            target_modules=targets, task_type="CAUSAL_LM"))

    # ---- data
    from .features import Collator, encode_dataset

    dataset, enc_stats = encode_dataset(tokenizer, examples, args.max_length, layout)
    if len(dataset) == 0:
        raise DataError(f"{args.train}: no example fits in --max-length {args.max_length}")

    # ---- trainer
    targs_kwargs = dict(
        output_dir=out,
        per_device_train_batch_size=args.batch_size,
        gradient_accumulation_steps=args.grad_accum,
        num_train_epochs=args.epochs,
        max_steps=args.max_steps,
        learning_rate=args.lr,
        lr_scheduler_type=args.scheduler,
        warmup_steps=args.warmup_ratio,  # a float in [0, 1) is a ratio of the total steps
        weight_decay=args.weight_decay,
        max_grad_norm=args.max_grad_norm,
        logging_strategy="steps",
        logging_steps=args.logging_steps,
        logging_first_step=True,
        save_strategy="steps",
        save_steps=args.save_steps,
        save_total_limit=args.save_total_limit or None,
        seed=args.seed,
        data_seed=args.seed,
        bf16=precision["bf16"],
        fp16=precision["fp16"],
        report_to="none",
        disable_tqdm=True,
        remove_unused_columns=False,
        include_num_input_tokens_seen="non_padding",
        dataloader_num_workers=0,
        dataloader_pin_memory=precision["device"] == "cuda",
        use_cpu=precision["device"] == "cpu",  # also what makes torchrun work on CPU (gloo DDP)
        auto_find_batch_size=args.auto_find_batch_size,
    )
    if args.group_by_length:
        targs_kwargs["train_sampling_strategy"] = "group_by_length"
    import inspect

    accepted = set(inspect.signature(TrainingArguments.__init__).parameters)
    fsdp = None
    if parse_fsdp(args.fsdp):  # FSDP does its own activation checkpointing (fsdp.py)
        fsdp = fsdp_config(args, model)
        targs_kwargs["fsdp"] = True
        targs_kwargs["fsdp_config"] = dict(fsdp)
        precision["fsdp"] = fsdp
    elif args.gradient_checkpointing:  # renamed activation_checkpointing in transformers 5
        key = "activation_checkpointing" if "activation_checkpointing" in accepted else "gradient_checkpointing"
        targs_kwargs[key] = True
        targs_kwargs[key + "_kwargs"] = {"use_reentrant": False}
    if args.deepspeed:
        targs_kwargs["deepspeed"] = args.deepspeed
    try:
        targs = TrainingArguments(**targs_kwargs)
    except (ValueError, ImportError) as e:  # e.g. --bf16 on unsupported hardware, bad --fsdp
        raise ConfigError(f"invalid training settings: {e}") from e

    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    meta = {
        "trainer_version": __version__,
        "prompt_format": PROMPT_FORMAT_VERSION,
        "format": layout.as_dict(),
        "fingerprint": fp,
        "completed": False,
        "started_at": started,
        "resumed_from": resume,
        "init": init_info,
        "data": {**data, **enc_stats},
        "max_length": args.max_length,
        "model": count_params(model),
        "precision": precision,
    }
    if is_main_process():
        write_json(os.path.join(out, ARGS_FILE), {
            "cli": vars(args),
            "seed": args.seed,
            "data_seed": args.seed,
            "resolved": precision,
            "resumed_from": resume,
            "trainer_version": __version__,
            "transformers": transformers.__version__,
            "hf_training_arguments": json.loads(targs.to_json_string()),
        })
        write_json(meta_path, meta)

    budget = make_time_budget_callback(args.time_budget) if args.time_budget else None
    # The budget first: its horizon is re-estimated at each step end, before progress reports it.
    callbacks = [make_progress_callback(resume, budget)]
    if budget is not None:
        callbacks.insert(0, budget)
    trainer_class = make_trainer_class()
    trainer_class.time_budget = budget
    trainer = trainer_class(
        model=model,
        args=targs,
        train_dataset=dataset,
        data_collator=Collator(tokenizer.pad_token_id),
        processing_class=tokenizer,
        callbacks=callbacks,
    )
    if fsdp and not trainer.is_fsdp_enabled:  # never train under another scheme than asked for
        raise ConfigError("--fsdp: the Trainer did not enable FSDP (accelerate "
                          f"{trainer.accelerator.state.distributed_type}); see stderr")
    try:
        result = trainer.train(resume_from_checkpoint=resume)
        train_loss, metrics = result.training_loss, result.metrics
    except NothingToTrain:  # weights already loaded from the final checkpoint: just save them
        losses = [h["loss"] for h in trainer.state.log_history if isinstance(h.get("loss"), (int, float))]
        train_loss, metrics = (sum(losses) / len(losses) if losses else None), {}
    if isinstance(train_loss, float) and not math.isfinite(train_loss):
        train_loss = None

    # ---- final model
    if args.lora:
        if trainer.is_world_process_zero():
            trainer.model.save_pretrained(os.path.join(out, "adapter"))
            merged = trainer.model.merge_and_unload()
            merged.config.use_cache = True
            merged.save_pretrained(out, safe_serialization=True)
            tokenizer.save_pretrained(out)
    else:
        model.config.use_cache = True
        if fsdp and fsdp["state_dict_type"] != STATE_DICT_TYPES["full"]:
            # Sharded checkpoints, but a final model that from_pretrained (stage 2, predict) loads:
            # the Trainer saves no weights at all for a sharded state dict.
            trainer.accelerator.state.fsdp_plugin.set_state_dict_type(STATE_DICT_TYPES["full"])
        trainer.save_model(out)
    trainer.save_state()

    if trainer.is_world_process_zero():
        meta.update({
            "completed": True,
            "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "train_loss": train_loss,
            "global_step": trainer.state.global_step,
            "metrics": metrics,
            "stopped_by_time_budget": bool(budget and budget.stopped),
            "planned_steps": trainer.state.max_steps,
        })
        write_json(meta_path, meta)
    done = {"event": "done", "output": out, "train_loss": train_loss, "global_step": trainer.state.global_step,
            **gpu_memory()}
    if budget and budget.stopped:
        done["stopped_by_time_budget"] = True
        done["planned_steps"] = trainer.state.max_steps
    emit(done)
    return done
