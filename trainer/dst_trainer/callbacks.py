"""Trainer callbacks: the ``progress``/``checkpoint`` events, the ``--time-budget`` stop, and the
learning-rate schedule fitted to that budget."""

from __future__ import annotations

import math
import os
import time

from .checkpoints import mark_complete
from .events import emit


def wait_for_all_ranks() -> bool:
    """Barrier over the ranks of a multi-process run; False (and no wait) in one process."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() < 2:
        return False
    dist.barrier()
    return True

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


def make_progress_callback(resumed_from: str | None = None, budget=None):
    """``budget``: the TimeBudget callback, when there is one: progress then counts towards the
    step its deadline is expected at (``total_steps``, and the ETA from it), not the epoch's
    planned steps, which a budgeted run never reaches (``planned_steps``)."""
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
            end = (budget.horizon if budget is not None and budget.horizon else None) or state.max_steps
            eta = (end - state.global_step) * elapsed / steps if steps > 0 else None
            emit({
                "event": "progress",
                "step": state.global_step,
                "total_steps": end,
                **({"planned_steps": state.max_steps} if budget is not None else {}),
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
            path = os.path.join(args.output_dir, f"checkpoint-{state.global_step}")
            # Every rank writes its own RNG file after rank 0's trainer_state.json: without this
            # wait a kill right after the event left rng_state_1.pth empty, and the resumed run
            # died on it (EOFError in rank 1; gloo's "connection closed" in rank 0).
            if wait_for_all_ranks() and state.is_world_process_zero:
                mark_complete(path)
            if state.is_world_process_zero:
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
