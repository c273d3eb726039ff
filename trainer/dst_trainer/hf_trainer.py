"""The HF Trainer subclass used by ``train``."""

from __future__ import annotations

from .callbacks import budget_schedule

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

        def create_accelerator_and_postprocess(self):
            """accelerate turns FSDP on only for accelerator devices: on CPU (gloo, the tests) it
            silently runs DDP instead. Turn it on there too — FSDP2 works on CPU tensors — in both
            shared states (every ``AcceleratorState()`` re-reads ``PartialState``'s)."""
            super().create_accelerator_and_postprocess()
            if self.args.fsdp_plugin_args is None or self.is_fsdp_enabled:
                return
            from accelerate.state import PartialState
            from accelerate.utils import DistributedType, FullyShardedDataParallelPlugin

            state = self.accelerator.state
            if state.distributed_type != DistributedType.MULTI_CPU:
                return
            plugin = FullyShardedDataParallelPlugin(**self.args.fsdp_plugin_args)
            if state.mixed_precision != "no":
                plugin.set_mixed_precision(state.mixed_precision)
            PartialState._shared_state["distributed_type"] = DistributedType.FSDP
            state.distributed_type = DistributedType.FSDP
            state.fsdp_plugin = plugin
            self.is_fsdp_enabled = True

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
