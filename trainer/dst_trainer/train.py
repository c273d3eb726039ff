"""``train``: fine-tune a causal LM on DST examples with the Hugging Face Trainer.

- ``--tiny`` builds a tokenizer and a tiny model locally; otherwise ``--init`` names a hub
  model, a local model directory, a ``.gguf`` file (dequantised on load; needs the ``gguf``
  package), a previous ``train --out`` directory (stage 2) or a ``checkpoint-N`` directory.
- ``--prompt``/``--target`` choose the text layout (``data.Layout``; default full/json, the
  paper's); ``--time-budget`` stops training cleanly (checkpoint + final model) in time.
- Single process on CPU or one GPU; several GPUs when started by ``torchrun`` or
  ``accelerate launch`` (the Trainer does the distribution).
- ``--out`` holds ``checkpoint-N/`` directories (model, optimizer, scheduler, RNG and
  ``trainer_state.json``, written last); a rerun with the same ``--out`` resumes from the
  newest complete one. A rerun of a finished run with identical settings does nothing but
  report ``done`` again.
- ``--out`` finally holds the model + tokenizer (``from_pretrained``-loadable),
  ``training_args.json`` (every hyper-parameter and seed), ``dst_trainer.json`` (data
  hash, sizes, init, outcome) and ``trainer_state.json`` (the log history).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import re
import shutil
import time
from datetime import datetime, timezone

from . import PROMPT_FORMAT_VERSION, __version__
from .data import Layout, attach_previous_states, file_info, read_examples, training_texts
from .errors import ConfigError, DataError, is_oom
from .events import emit, is_main_process

CHECKPOINT_RE = re.compile(r"^checkpoint-(\d+)$")
META_FILE = "dst_trainer.json"
ARGS_FILE = "training_args.json"

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
    p.add_argument("--fsdp", default="", help="passed to TrainingArguments.fsdp (e.g. 'full_shard auto_wrap')")
    p.add_argument("--fsdp-config", default=None, help="passed to TrainingArguments.fsdp_config")
    p.add_argument("--deepspeed", default=None, help="DeepSpeed config file (needs deepspeed installed)")


# --------------------------------------------------------------------------- helpers


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


def is_gguf(name: str | None) -> bool:
    return bool(name) and name.lower().endswith(".gguf")


def _validate(args) -> None:
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
    if is_gguf(args.init):
        if not os.path.isfile(os.path.expanduser(args.init)):
            raise ConfigError(f"--init {args.init}: no such .gguf file")
    elif args.init and (_looks_like_path(args.init) or os.path.exists(args.init)) and not os.path.isdir(
            os.path.expanduser(args.init)):
        raise ConfigError(f"--init {args.init}: no such model directory")


def _looks_like_path(name: str) -> bool:
    return (
        name.startswith(("/", "./", "../", "~"))
        or name.count("/") > 1
        or os.sep + "checkpoint-" in name
        or name.startswith("checkpoint-")
    )


def find_checkpoints(out: str) -> list[tuple[int, str]]:
    """Complete ``checkpoint-N`` dirs in ``out`` (trainer_state.json readable), oldest first."""
    found = []
    if not os.path.isdir(out):
        return found
    for name in os.listdir(out):
        m = CHECKPOINT_RE.match(name)
        path = os.path.join(out, name)
        if not m or not os.path.isdir(path):
            continue
        try:
            with open(os.path.join(path, "trainer_state.json")) as fh:
                json.load(fh)
        except (OSError, ValueError):
            continue
        found.append((int(m.group(1)), path))
    return sorted(found)


def _remove_incomplete_checkpoints(out: str) -> list[str]:
    complete = {p for _, p in find_checkpoints(out)}
    removed = []
    if not os.path.isdir(out):
        return removed
    for name in os.listdir(out):
        path = os.path.join(out, name)
        if CHECKPOINT_RE.match(name) and os.path.isdir(path) and path not in complete:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _read_json(path: str):
    try:
        with open(path) as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def _write_json(path: str, obj) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(obj, fh, indent=2, ensure_ascii=False, default=str)
        fh.write("\n")
    os.replace(tmp, path)


def fingerprint(args, data_sha: str) -> str:
    values = {k: getattr(args, k) for k in FINGERPRINT_KEYS}
    if getattr(args, "tiny_shape", "tiny") != "tiny":  # only when set: old runs keep their fingerprint
        values["tiny_shape"] = args.tiny_shape
    values["data_sha256"] = data_sha
    values["prompt_format"] = PROMPT_FORMAT_VERSION
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()


def _resolve_precision(args) -> dict:
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


def _ensure_pad(tokenizer) -> None:
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
        return tokenizer, _dequantised(model)
    if _looks_like_path(name) or os.path.exists(name):
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


def _dequantised(model):
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


def _count_params(model) -> dict:
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {"parameters": total, "trainable_parameters": trainable}


# --------------------------------------------------------------------------- progress


class NothingToTrain(Exception):
    """Raised at train begin when the resumed checkpoint is already at the last step.

    (The HF Trainer would otherwise run one extra step past ``max_steps``.) This happens
    when a run was killed after its last checkpoint but before the final save."""


def gpu_memory() -> dict:
    """Peak CUDA memory of this process so far (bytes), as ``gpu_peak_memory_bytes``; {} on CPU."""
    import torch

    if not torch.cuda.is_available():
        return {}
    return {"gpu_peak_memory_bytes": int(torch.cuda.max_memory_allocated()),
            "gpu_peak_reserved_bytes": int(torch.cuda.max_memory_reserved())}


def make_progress_callback(resumed_from: str | None = None):
    from transformers import TrainerCallback

    class ProgressCallback(TrainerCallback):
        """Turns Trainer logs into ``progress``/``checkpoint`` events (main process only)."""

        def __init__(self):
            self.t0 = None
            self.step0 = 0
            self.tok0 = 0
            self.started = False

        def on_train_begin(self, args, state, control, **kw):
            if state.is_world_process_zero and not self.started:
                self.started = True
                emit({"event": "start", "step": state.global_step, "total_steps": state.max_steps,
                      "epochs": args.num_train_epochs, "resumed_from": resumed_from,
                      "world_size": args.world_size})
            if state.global_step >= state.max_steps > 0:
                raise NothingToTrain()

        def on_step_begin(self, args, state, control, **kw):
            if self.t0 is None:
                self.t0 = time.time()
                self.step0 = state.global_step
                self.tok0 = state.num_input_tokens_seen or 0

        def on_log(self, args, state, control, logs=None, **kw):
            if not state.is_world_process_zero or not logs or "loss" not in logs:
                return
            elapsed = max(time.time() - (self.t0 or time.time()), 1e-9)
            steps = state.global_step - self.step0
            tokens = (state.num_input_tokens_seen or 0) - self.tok0
            eta = (state.max_steps - state.global_step) * elapsed / steps if steps > 0 else None
            emit({
                "event": "progress",
                "step": state.global_step,
                "total_steps": state.max_steps,
                "loss": logs.get("loss"),
                "learning_rate": logs.get("learning_rate"),
                "grad_norm": logs.get("grad_norm"),
                "tokens_per_second": round(tokens / elapsed, 1),
                "tokens_seen": tokens,
                "elapsed_seconds": round(elapsed, 3),
                "eta_seconds": round(eta, 1) if eta is not None else None,
                "epoch": round(state.epoch or 0.0, 4),
                **gpu_memory(),
            })

        def on_save(self, args, state, control, **kw):
            if state.is_world_process_zero:
                path = os.path.join(args.output_dir, f"checkpoint-{state.global_step}")
                emit({"event": "checkpoint", "path": os.path.abspath(path), "step": state.global_step})

    return ProgressCallback()


def make_time_budget_callback(seconds: float):
    """Stops training (with a checkpoint, so the final model is saved) once ``seconds`` have
    passed since its first step began; records that in ``stopped``. ``horizon`` is the step at which
    the run is expected to end — ``max_steps``, or fewer when the steps measured so far say
    the deadline comes first (re-estimated every step); the schedule decays towards it."""
    from transformers import TrainerCallback

    class TimeBudget(TrainerCallback):
        def __init__(self):
            self.stopped = False
            self.horizon: int | None = None
            self.t0 = None
            self.step0 = 0

        def on_step_begin(self, args, state, control, **kw):
            if self.t0 is None:
                self.t0, self.step0 = time.time(), state.global_step

        def on_step_end(self, args, state, control, **kw):
            now = time.time()
            deadline = self.t0 + seconds
            done = state.global_step - self.step0
            if done > 0 and self.t0 is not None:
                per_step = (now - self.t0) / done
                fit = state.global_step + int(max(deadline - now, 0) / per_step)
                self.horizon = max(state.global_step, min(state.max_steps, fit))
            if now >= deadline and state.global_step < state.max_steps:
                control.should_training_stop = True
                control.should_save = True
                self.stopped = True

    return TimeBudget()


def budget_schedule(optimizer, kind: str, warmup_ratio: float, max_steps: int, budget):
    """Warm-up then cosine or linear decay over ``budget.horizon`` steps (``max_steps`` until
    measured): with ``--time-budget`` the learning rate reaches its end by the deadline even
    when the machine is slower than planned."""
    from torch.optim.lr_scheduler import LambdaLR

    def factor(step: int) -> float:
        horizon = max(1, budget.horizon or max_steps)
        warmup = math.ceil(warmup_ratio * horizon)
        if step < warmup:
            return (step + 1) / (warmup + 1)
        progress = min(1.0, (step - warmup) / max(1, horizon - warmup))
        if kind == "linear":
            return 1.0 - progress
        return 0.5 * (1.0 + math.cos(math.pi * progress))

    return LambdaLR(optimizer, factor)


def make_trainer_class():
    """The HF Trainer, computing logits only where the loss needs them.

    The loss covers the target tokens, which come after the prompt; so the LM head (a
    vocabulary-sized matrix product, ~20 % of a small model's compute) is applied only from
    the earliest target position of the batch on (``logits_to_keep``), with the labels cut
    to match. Same loss, same gradients; models without ``logits_to_keep`` take the usual path.
    """
    import inspect

    from transformers import Trainer

    class DstTrainer(Trainer):
        time_budget = None  # the TimeBudget callback: its horizon shapes cosine/linear schedules

        def create_scheduler(self, num_training_steps, optimizer=None):
            kind = str(getattr(self.args.lr_scheduler_type, "value", self.args.lr_scheduler_type))
            if self.time_budget is None or kind not in ("cosine", "linear") or self.lr_scheduler is not None:
                return super().create_scheduler(num_training_steps, optimizer)
            self.lr_scheduler = budget_schedule(optimizer or self.optimizer, kind, self.args.warmup_steps,
                                                num_training_steps, self.time_budget)
            return self.lr_scheduler

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            labels = inputs.get("labels")
            if labels is not None and labels.dim() == 2 and self._keeps_logits(model):
                length = labels.shape[1]
                targets = labels.ne(-100)
                if bool(targets.any(dim=1).all()):
                    first = int(targets.float().argmax(dim=1).min())
                    keep = length - first + 1
                    if 1 < keep < length:
                        inputs = {**inputs, "labels": labels[:, length - keep:], "logits_to_keep": keep}
            return super().compute_loss(model, inputs, return_outputs=return_outputs,
                                        num_items_in_batch=num_items_in_batch)

        def _keeps_logits(self, model) -> bool:
            if not hasattr(self, "_logits_to_keep_ok"):
                base = self.accelerator.unwrap_model(model)
                base = base.get_base_model() if hasattr(base, "get_base_model") else base
                self._logits_to_keep_ok = "logits_to_keep" in inspect.signature(type(base).forward).parameters
            return self._logits_to_keep_ok

    return DstTrainer


# --------------------------------------------------------------------------- command


def run(args) -> dict:
    """Train; returns the ``done`` event (also emitted)."""
    _validate(args)
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

    previous = _read_json(meta_path)
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
        _remove_incomplete_checkpoints(out)
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
    precision = _resolve_precision(args)
    precision["threads"] = set_threads(args.threads, small=args.tiny, cuda=precision["device"] == "cuda")
    set_seed(args.seed)

    # ---- tokenizer + model
    if args.tiny:
        from .tiny import SHAPES, build_model, train_tokenizer

        if resume:
            from transformers import AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained(resume)  # same vocabulary as the weights
        else:
            vocab = args.tiny_vocab_size if args.tiny_shape == "tiny" else SHAPES[args.tiny_shape]["vocab_size"]
            tokenizer = train_tokenizer(training_texts(examples, layout), vocab)
        model = build_model(tokenizer, args.max_length, args.seed, args.tiny_shape,
                            device=precision["device"], dtype=precision["load_dtype"])
        init_info = {"kind": "tiny", "shape": args.tiny_shape, "vocab_size": len(tokenizer)}
    else:
        tokenizer, model = load_pretrained(args.init, precision["load_dtype"])
        init_info = {"kind": "gguf" if is_gguf(args.init) else "pretrained", "name": args.init}
        upstream = _read_json(os.path.join(os.path.expanduser(args.init), META_FILE)) if os.path.isdir(
            os.path.expanduser(args.init)) else None
        if upstream:  # stage 2: remember what stage 1 was trained on
            init_info["upstream"] = {k: upstream.get(k) for k in ("init", "data", "train_loss", "global_step")}
    _ensure_pad(tokenizer)
    tokenizer.padding_side = "right"
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
    if args.gradient_checkpointing:  # renamed activation_checkpointing in transformers 5
        key = "activation_checkpointing" if "activation_checkpointing" in accepted else "gradient_checkpointing"
        targs_kwargs[key] = True
        targs_kwargs[key + "_kwargs"] = {"use_reentrant": False}
    if args.fsdp:
        targs_kwargs["fsdp"] = args.fsdp
        if args.fsdp_config:
            targs_kwargs["fsdp_config"] = args.fsdp_config
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
        "model": _count_params(model),
        "precision": precision,
    }
    if is_main_process():
        _write_json(os.path.join(out, ARGS_FILE), {
            "cli": vars(args),
            "seed": args.seed,
            "data_seed": args.seed,
            "resolved": precision,
            "resumed_from": resume,
            "trainer_version": __version__,
            "transformers": transformers.__version__,
            "hf_training_arguments": json.loads(targs.to_json_string()),
        })
        _write_json(meta_path, meta)

    callbacks = [make_progress_callback(resume)]
    budget = None
    if args.time_budget:
        budget = make_time_budget_callback(args.time_budget)
        callbacks.append(budget)
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
        _write_json(meta_path, meta)
    done = {"event": "done", "output": out, "train_loss": train_loss, "global_step": trainer.state.global_step,
            **gpu_memory()}
    if budget and budget.stopped:
        done["stopped_by_time_budget"] = True
        done["planned_steps"] = trainer.state.max_steps
    emit(done)
    return done
